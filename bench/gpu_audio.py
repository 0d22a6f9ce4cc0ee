"""The GPU check's audio section: the hour of recordings, its plan of windows, and ``--prepare``.

The recordings are decoded with the package's ffmpeg decoding (``DecodedFile``), or read with the
standard library when they are already 16 kHz mono WAVs (what ``--prepare`` writes for a machine
without ffmpeg); the windows are the package's plan (``audiototext.longaudio.plan``).
"""

from __future__ import annotations

import json
import shutil
import time
import wave
from pathlib import Path

import numpy as np
from gpu_measure import decode_options, run_batches
from gpu_report import first_line

from audiototext.media import SAMPLE_RATE

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AUDIO_SUFFIXES = (".opus", ".ogg", ".oga", ".flac", ".wav", ".mp3", ".m4a", ".webm", ".mp4", ".mkv")
DEFAULT_DATA = ROOT.parent / "shared" / "eval" / "data" / "long"


def decode_file(path: Path) -> np.ndarray:
    """16 kHz mono int16 samples of ``path``: a matching WAV through the standard library, else ffmpeg."""
    if path.suffix.lower() == ".wav":
        with wave.open(str(path), "rb") as f:
            if (f.getframerate(), f.getnchannels(), f.getsampwidth()) == (SAMPLE_RATE, 1, 2):
                return np.frombuffer(f.readframes(f.getnframes()), "<i2")
    if shutil.which("ffmpeg") is None:
        raise SystemExit(
            f"{path}: decoding it needs ffmpeg, which is not installed here. Make 16 kHz mono WAVs "
            "where ffmpeg is (python bench/gpu.py --prepare DIR) and pass --data DIR"
        )
    from audiototext.longaudio.source import DecodedFile  # the package's own ffmpeg decoding

    with DecodedFile(path) as source:
        return np.fromfile(source.path, "<i2")


def audio_files(data: Path) -> list[Path]:
    files = sorted(p for p in data.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES) if data.is_dir() else []
    if not files:
        raise SystemExit(
            f"No audio found in {data} (looked for {', '.join(AUDIO_SUFFIXES)}). Give --data the folder "
            "of the long recordings (../shared/eval/data/long), or a folder inside the repo holding "
            "16 kHz WAVs made with --prepare, which the device tool can carry"
        )
    return files


def build_audio(data: Path, seconds: float) -> tuple[np.ndarray, list[str]]:
    """``seconds`` of int16 audio: the recordings of ``data`` in name order, repeated as often as needed."""
    files = audio_files(data)
    need = int(seconds * SAMPLE_RATE)
    parts, used, total, cache, empty = [], [], 0, {}, 0
    while total < need:
        path = files[len(used) % len(files)]
        if path not in cache:
            cache[path] = decode_file(path)
        take = cache[path][: need - total]
        empty = empty + 1 if len(take) == 0 else 0
        if empty >= len(files):
            raise SystemExit(f"The recordings in {data} hold no samples")
        parts.append(take)
        used.append(path.name)
        total += len(take)
    return np.concatenate(parts), used


def write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes(np.ascontiguousarray(samples, "<i2").tobytes())


def prepare(
    data: Path, target: Path, minutes: float, vad: str, *, model: str, language: str | None, engine: str
) -> int:
    """``--prepare``: the recordings of ``data`` as 16 kHz mono WAVs in ``target`` (no ffmpeg needed to read
    them), the plan of ``minutes`` of them (so the GPU machine needs no voice detection either), and the
    number of tokens base writes in each window, decoded here by ``engine`` (so the random large shapes
    can run there without the base weights: ``--skip base``)."""
    target.mkdir(parents=True, exist_ok=True)
    total = 0
    for path in audio_files(data):
        out = target / f"{path.stem}.wav"
        write_wav(out, decode_file(path))
        total += out.stat().st_size
        print(f"{out} ({out.stat().st_size / 2**20:.1f} MiB)")
    samples, used = build_audio(target, minutes * 60)
    from audiototext.longaudio.source import ArraySource

    start = time.perf_counter()
    source = ArraySource(samples.astype(np.float32) / 32768.0)
    windows, vad = plan_windows_of(source, vad)
    saved = {
        "files": used,
        "samples": len(samples),
        "vad": vad,
        "windows": [[[p.start, p.end, p.offset] for p in w.pieces] for w in windows],
    }
    print(f"{len(windows)} windows ({vad}, {time.perf_counter() - start:.0f} s)", flush=True)
    if engine != "none":
        from audiototext.engines import load_engine

        start = time.perf_counter()
        base = load_engine(engine, model)
        language = language or base.detect_language(windows[0].audio(source))
        options = decode_options(language, 5)
        _, results = run_batches(lambda group, audio: base.decode_windows(audio, options), windows, source, 8)
        saved.update(
            language=language,
            tokens=[len(results[w.index].tokens) for w in windows],
            tokens_by=f"base, {engine} on {base.device}",
        )
        print(f"{sum(saved['tokens'])} tokens of base ({engine}, {time.perf_counter() - start:.0f} s)", flush=True)
    path = plan_path(target, minutes)
    path.write_text(json.dumps(saved))
    print(f"Wrote {path}")
    print(f"{total / 2**20:.1f} MiB in {target}: pass --data {target} (and carry it) on a machine without ffmpeg")
    return 0


def plan_path(data: Path, minutes: float) -> Path:
    return data / f"plan-{minutes:g}min.json"


def plan_windows_of(source, vad: str):
    """(windows, detector used): the library's plan; Silero falls back to ``off``, loudly, without faster-whisper."""
    from audiototext.longaudio import SpeechOptions, plan

    if vad == "silero":
        try:
            import faster_whisper.vad  # noqa: F401
        except Exception as e:  # noqa: BLE001
            print(
                f"WARNING: Silero needs faster-whisper ({first_line(e)}): planning with --vad off instead "
                "(more windows than the real run; make the plan with --prepare where faster-whisper is)",
                flush=True,
            )
            vad = "off"
    return plan(source, SpeechOptions(vad=vad)), vad


def saved_plan(data: Path, minutes: float, used: list[str], samples: int):
    """(windows, detector, what was saved) as ``--prepare`` saved them for this audio, or None (none saved,
    or made for other audio)."""
    from audiototext.longaudio.plan import Piece, Window

    path = plan_path(data, minutes)
    if not path.is_file():
        return None
    saved = json.loads(path.read_text())
    if saved["files"] != used or saved["samples"] != samples:
        print(f"  {path} was made for other audio: planning again")
        return None
    windows = [Window(i, tuple(Piece(*piece) for piece in pieces)) for i, pieces in enumerate(saved["windows"])]
    return windows, f"{saved['vad']} (saved by --prepare)", saved


def model_argument(model: str, scratch: Path) -> str:
    """``--model`` as the engines take it; a folder of ``model.bin.part*`` pieces is joined into ``scratch`` first."""
    path = Path(model).expanduser()
    parts = sorted(path.glob("model.bin.part*")) if path.is_dir() else []
    if not parts or (path / "model.bin").is_file():
        return model
    joined = scratch / "model"
    joined.mkdir()
    for other in path.iterdir():
        if other.is_file() and not other.name.startswith("model.bin"):
            shutil.copyfile(other, joined / other.name)
    with open(joined / "model.bin", "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 16 << 20)
    print(f"Joined {len(parts)} pieces of {path}/model.bin into {joined}")
    return str(joined)

"""GPU check of the long-audio fast path (issue 9, point 6): realtime factor, peak GPU memory, WER.

One hour of real speech (the long recordings of the eval data, repeated) is planned into windows
once (Silero voice detection, packed across pauses), then:

1. **base, model loaded**: each engine (faster-whisper float16, openai-whisper fp16 on CUDA) decodes
   every window with ``engine.decode_windows`` in batches (beam 5), after a warm-up batch; the
   same with the whole run (``transcribe_windows``: continuation windows and stitching included).
2. **random large-v3 / large-v3-turbo shapes**: only the base weights exist offline, so models
   of those shapes (``whisper.model.ModelDimensions``) are initialised at random and each window
   is decoded (beam 5) to exactly the number of tokens the real base model wrote there, so the
   work per window is real: encoder, beam search, alignment. openai-whisper forces the lengths
   with a logit filter per row; CTranslate2 (the same random weights, converted) has no such
   hook, so its batches are formed from windows of similar length and decoded to the longest
   (the note says how many more tokens that decodes than the real run).
3. **WER** of the batched text on the first ``--wer-minutes`` against the engine's own sequential
   ``transcribe`` of that audio (a subprocess with a time limit), after whisper's normalisers.
4. **cold**: ``python -m audiototext WAV --model base --engine E -o DIR -f txt`` as a whole
   process (imports, voice detection, model load, decoding, writing).

It prints one table (GPU, versions; per row: engine, model, batch, audio seconds, wall seconds,
x realtime, peak GPU MiB, WER) and the issue's targets, and writes the rows as JSON to ``--out``
(default ``$OUT/gpu.json`` when ``$OUT`` is set, else ``bench/results/gpu-<device>.json``).
Peak GPU memory: ``torch.cuda.max_memory_allocated`` for torch; for CTranslate2 (and the cold
processes) the device's used memory sampled every 50 ms (NVML, else ``nvidia-smi``), above its
level when the row started. Every section is isolated: one that fails becomes a row saying why.

Usage::

    python bench/gpu.py                                        # on a CUDA machine: about 5 minutes
    python bench/gpu.py --device cpu --minutes 1 --shapes tiny # end-to-end check without a GPU
    python bench/gpu.py --check-env                            # what is installed, then stop
    python bench/gpu.py --prepare .gpu/data                    # WAVs, plan and base's token counts, here

On a machine without ffmpeg or faster-whisper (the lent GPU machine has torch, triton, numba and
tiktoken, and none of ffmpeg, faster-whisper, CTranslate2, openai-whisper or the base weights), give
``--data`` a folder made here with ``--prepare``: 16 kHz mono WAVs (read with the standard library)
and ``plan-60min.json`` (the Silero windows of the hour, so no voice detection runs there, and the
number of tokens base writes in each window, so ``--skip base`` times the random shapes without the
base weights). For the base rows give ``--model`` a CTranslate2 directory of the base weights (a
folder of ``model.bin.part*`` pieces plus the three small files also works: they are joined into a
temporary directory). The cold rows need the whole CLI (ffmpeg, faster-whisper); without it they
say so, as every row whose engine is missing does. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

SAMPLE_RATE = 16000
AUDIO_SUFFIXES = (".opus", ".ogg", ".oga", ".flac", ".wav", ".mp3", ".m4a", ".webm", ".mp4", ".mkv")
DEFAULT_DATA = ROOT.parent / "shared" / "eval" / "data" / "long"

#: Official dimensions (openai-whisper's checkpoints); "tiny" is a small model with large-v3's
#: 128 mel bins and 51,866-token vocabulary, to check the large-v3 code path on a CPU.
LARGE_V3 = dict(
    n_mels=128,
    n_audio_ctx=1500,
    n_audio_state=1280,
    n_audio_head=20,
    n_audio_layer=32,
    n_vocab=51866,
    n_text_ctx=448,
    n_text_state=1280,
    n_text_head=20,
    n_text_layer=32,
)
SHAPES: dict[str, dict[str, int]] = {
    "large-v3": LARGE_V3,
    "large-v3-turbo": dict(LARGE_V3, n_text_layer=4),  # large-v3 with 4 decoder layers
    "tiny": dict(
        n_mels=128,
        n_audio_ctx=1500,
        n_audio_state=384,
        n_audio_head=6,
        n_audio_layer=4,
        n_vocab=51866,
        n_text_ctx=448,
        n_text_state=384,
        n_text_head=6,
        n_text_layer=4,
    ),
}

#: The issue's targets on one H100/H200-class GPU, model loaded: x realtime at least.
TARGETS = (("base", 2000.0), ("large-v3-turbo", 1000.0), ("large-v3", 400.0))
ENGINES = ("faster-whisper", "openai-whisper")
#: Windows decoded before timing a random model (kernels, cuBLAS handles); base warms up on a whole batch.
WARM_UP = 4


# --------------------------------------------------------------------------------------------- rows


@dataclass
class Row:
    """One measurement. ``wall_s`` None: it did not run (``error`` says why)."""

    section: str
    engine: str
    model: str
    batch: int | None = None
    audio_s: float = 0.0
    wall_s: float | None = None
    peak_gpu_mib: float | None = None
    wer: float | None = None
    note: str = ""
    error: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def x_realtime(self) -> float | None:
        return self.audio_s / self.wall_s if self.wall_s else None

    def as_json(self) -> dict:
        return {**asdict(self), "x_realtime": self.x_realtime}


class Report:
    """Rows as they come: a line each on stdout, and the JSON file rewritten (a timeout keeps what ran)."""

    def __init__(self, out: Path, env: dict):
        self.out, self.env, self.rows = out, env, []

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        if row.error:
            print(f"  [{row.section}] {row.engine} {row.model}: FAILED: {row.error}", flush=True)
        else:
            rt = f"{row.x_realtime:,.0f}x realtime" if row.x_realtime else "-"
            wall = "-" if row.wall_s is None else f"{row.wall_s:.2f}"
            print(
                f"  [{row.section}] {row.engine} {row.model} batch {row.batch or '-'}: {wall} s for "
                f"{row.audio_s:.0f} s ({rt}), peak GPU {_num(row.peak_gpu_mib)} MiB"
                f"{'' if row.wer is None else f', WER {row.wer:.2f} %'}{'; ' + row.note if row.note else ''}",
                flush=True,
            )
        self.save()
        return row

    def failed(self, section: str, engine: str, model: str, error: BaseException | str, **kw) -> Row:
        text = error if isinstance(error, str) else f"{type(error).__name__}: {_first_line(error)}"
        return self.add(Row(section, engine, model, error=text, **kw))

    def save(self) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.out.write_text(json.dumps({"env": self.env, "rows": [r.as_json() for r in self.rows]}, indent=1))

    def table(self) -> str:
        lines = [
            "| section | engine | model | batch | audio (s) | wall (s) | x realtime | peak GPU (MiB) | WER % | note |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in self.rows:
            rt = f"{r.x_realtime:,.0f}" if r.x_realtime else "-"
            wall = f"{r.wall_s:.2f}" if r.wall_s is not None else "-"
            note = f"**failed**: {r.error}" if r.error else r.note
            lines.append(
                f"| {r.section} | {r.engine} | {r.model} | {r.batch or '-'} | {r.audio_s:.0f} | {wall} "
                f"| {rt} | {_num(r.peak_gpu_mib)} | {'-' if r.wer is None else f'{r.wer:.2f}'} | {note} |"
            )
        return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:300]


# ------------------------------------------------------------------------------------- environment


def environment(device: str) -> dict:
    """Versions and tools, each probed on its own: a missing one is reported, not fatal."""
    import platform

    env: dict = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "device": device,
    }
    try:
        import torch

        env["torch"] = torch.__version__
        env["torch_cuda"] = torch.version.cuda
        if device.startswith("cuda") and torch.cuda.is_available():
            env["gpu"] = torch.cuda.get_device_name(device)
            env["gpu_memory_mib"] = torch.cuda.get_device_properties(device).total_memory // 2**20
    except Exception as e:  # noqa: BLE001 - report whatever is missing
        env["torch"] = f"missing ({_first_line(e)})"
    for label, probe in (
        ("openai-whisper", _whisper_version),
        ("faster-whisper", _fw_version),
        ("ctranslate2", _ct2_version),
        ("jiwer", _jiwer_version),
    ):
        try:
            env[label] = probe()
        except Exception as e:  # noqa: BLE001
            env[label] = f"missing ({_first_line(e)})"
    if device.startswith("cuda"):
        env["libcublas.so.12"] = _loadable("libcublas.so.12")  # what CTranslate2 4.x loads on CUDA
        env["nvml"] = "yes" if _nvml() is not None else "no (nvidia-smi sampling)"
    env["ffmpeg"] = shutil.which("ffmpeg") or "missing"
    env["ffprobe"] = shutil.which("ffprobe") or "missing"
    return env


def _whisper_version() -> str:
    from importlib.metadata import version

    import whisper  # noqa: F401

    return version("openai-whisper")


def _fw_version() -> str:
    import faster_whisper

    return faster_whisper.__version__


def _ct2_version() -> str:
    import ctranslate2

    return f"{ctranslate2.__version__} (CUDA devices: {ctranslate2.get_cuda_device_count()})"


def _jiwer_version() -> str:
    from importlib.metadata import version

    import jiwer  # noqa: F401

    return version("jiwer")


def _loadable(library: str) -> str:
    import ctypes

    try:
        ctypes.CDLL(library)
        return "yes"
    except OSError as e:
        return f"no ({_first_line(e)})"


# ------------------------------------------------------------------------------------------ audio


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
                f"WARNING: Silero needs faster-whisper ({_first_line(e)}): planning with --vad off instead "
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


# ------------------------------------------------------------------------------------ measurement


def _nvml():
    try:
        import pynvml

        pynvml.nvmlInit()
        return pynvml
    except Exception:  # noqa: BLE001 - nvidia-ml-py is optional: nvidia-smi does the same, slower
        return None


class DeviceMemory:
    """Peak used memory of GPU ``index`` above its level at the start, sampled every 50 ms in a thread."""

    def __init__(self, index: int = 0):
        self.index, self.peak, self.base = index, 0, 0
        self.nvml = _nvml()
        self.handle = self.nvml.nvmlDeviceGetHandleByIndex(index) if self.nvml else None
        self.stop = threading.Event()

    def used(self) -> int:
        if self.nvml:
            return int(self.nvml.nvmlDeviceGetMemoryInfo(self.handle).used)
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", str(self.index)],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        return int(float(out.strip().splitlines()[0]) * 2**20)

    def _sample(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(Exception):
                self.peak = max(self.peak, self.used())
            self.stop.wait(0.05)

    def __enter__(self) -> DeviceMemory:
        self.base = self.peak = self.used()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        with contextlib.suppress(Exception):
            self.peak = max(self.peak, self.used())

    @property
    def mib(self) -> float:
        return (self.peak - self.base) / 2**20


class Meter:
    """Peak GPU memory of a block: torch's allocator (``kind="torch"``) or the whole device (``"device"``)."""

    def __init__(self, device: str, kind: str, *, since: int | None = None):
        self.device, self.kind, self.since, self.mib = device, kind, since, None
        self.sampler = None

    def __enter__(self) -> Meter:
        if not self.device.startswith("cuda"):
            return self
        if self.kind == "torch":
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        else:
            try:
                self.sampler = DeviceMemory(torch_index(self.device)).__enter__()
                if self.since is not None:
                    self.sampler.base = self.since
            except Exception as e:  # noqa: BLE001 - no NVML and no nvidia-smi: report no figure
                print(f"  (no device memory sampling: {_first_line(e)})")
        return self

    def __exit__(self, *exc) -> None:
        if not self.device.startswith("cuda"):
            return
        if self.kind == "torch":
            import torch

            torch.cuda.synchronize()
            self.mib = torch.cuda.max_memory_allocated() / 2**20
        elif self.sampler:
            self.sampler.__exit__(*exc)
            self.mib = self.sampler.mib


def device_used(device: str) -> int | None:
    """Bytes in use on the GPU now (every process), or None off a GPU or without NVML and nvidia-smi."""
    if not device.startswith("cuda"):
        return None
    try:
        return DeviceMemory(torch_index(device)).used()
    except Exception:  # noqa: BLE001
        return None


def torch_index(device: str) -> int:
    return int(device.split(":")[1]) if ":" in device else 0


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()


def free_gpu() -> None:
    gc.collect()
    with contextlib.suppress(Exception):
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


@contextlib.contextmanager
def phase_times(cls, device: str):
    """Seconds spent in ``cls``'s encode, generate and align while the block runs (methods wrapped, then
    restored), and ``fallback``: windows decoded again at a higher temperature."""
    names = ("encode", "generate", "align")
    totals = {name: 0.0 for name in names} | {"fallback": 0}
    own = {name: cls.__dict__.get(name) for name in names}

    def timed(name, method):
        def wrapper(self, *args, **kwargs):
            start = time.perf_counter()
            out = method(self, *args, **kwargs)
            synchronize(device)
            totals[name] += time.perf_counter() - start
            if name == "generate" and args[2] > 0:  # generate(encoded, options, temperature, prompt)
                totals["fallback"] += len(args[0])
            return out

        return wrapper

    for name in names:
        setattr(cls, name, timed(name, getattr(cls, name)))
    try:
        yield totals
    finally:
        for name, method in own.items():
            if method is None:
                delattr(cls, name)
            else:
                setattr(cls, name, method)


def phases_note(totals: dict) -> str:
    note = "encode/generate/align " + "/".join(f"{totals[k]:.2f}" for k in ("encode", "generate", "align")) + " s"
    return note + (f"; {totals['fallback']} window decodings at a higher temperature" if totals["fallback"] else "")


# ---------------------------------------------------------------------------------------------- WER


def normalizer(language: str):
    """whisper's normaliser for ``language`` (English: EnglishTextNormalizer), or a plain one without whisper."""
    try:
        from whisper.normalizers import BasicTextNormalizer, EnglishTextNormalizer

        return EnglishTextNormalizer() if language == "en" else BasicTextNormalizer()
    except ImportError:
        import re

        return lambda text: " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def word_error_rate(reference: str, hypothesis: str, language: str) -> float:
    """WER in percent after whisper's normalisers; jiwer when installed, else the same edit distance here."""
    normalize = normalizer(language)
    ref, hyp = normalize(reference), normalize(hypothesis)
    try:
        import jiwer

        return 100 * jiwer.wer(ref, hyp)
    except ImportError:
        r, h = ref.split(), hyp.split()
        previous = list(range(len(h) + 1))
        for i, word in enumerate(r, 1):
            current = [i] + [0] * len(h)
            for j, other in enumerate(h, 1):
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other))
            previous = current
        return 100 * previous[-1] / max(1, len(r))


# -------------------------------------------------------------------------------- base, model loaded


def decode_options(language: str, beam_size: int, *, forced: bool = False):
    """The CLI's decoding options; ``forced`` (random models): no fallback and no thresholds, since a
    random model's text always "fails" them and would be decoded at every temperature."""
    from audiototext.engines import DecodeOptions

    if not forced:
        return DecodeOptions(language=language, beam_size=beam_size)
    return DecodeOptions(
        language=language,
        beam_size=beam_size,
        temperature_increment_on_fallback=None,
        compression_ratio_threshold=None,
        logprob_threshold=None,
        no_speech_threshold=None,
    )


def run_batches(decode, windows, source, batch_size: int) -> tuple[float, dict]:
    """Wall seconds to decode every window in the library's batches, and each window's result by index.

    The batches run one after the other on the decoding thread (see :func:`on_decode_thread`).
    """
    from audiototext.longaudio import batch_groups

    def work() -> dict:
        results = {}
        for group in batch_groups(windows, batch_size):
            out = decode(group, [w.audio(source) for w in group])
            results.update(zip((w.index for w in group), out))
        return results

    start = time.perf_counter()
    results = on_decode_thread(work)
    return time.perf_counter() - start, results


_DECODE_THREAD = None


def on_decode_thread(fn, *args):
    """``fn(*args)`` on the one worker thread every decoding here runs on, warm-ups included.

    A worker thread, as the library's ThreadBackend decodes (on the 2-core benchmark CPU the same
    torch decoding took 48-75 s in the main thread of a process that had run Silero, and 21 s on
    a worker thread); always the same one, so the warm-up creates the per-thread cuBLAS handles
    that the timed batches use.
    """
    global _DECODE_THREAD
    if _DECODE_THREAD is None:
        from concurrent.futures import ThreadPoolExecutor

        _DECODE_THREAD = ThreadPoolExecutor(1, thread_name_prefix="gpu-bench-decode")
    return _DECODE_THREAD.submit(fn, *args).result()


def windows_class(engine_name: str):
    if engine_name == "faster-whisper":
        from audiototext.engines.faster_whisper import _CT2Windows

        return _CT2Windows
    from audiototext.engines.openai_whisper import _TorchWindows

    return _TorchWindows


def base_rows(report: Report, engine_name: str, ctx: SimpleNamespace) -> dict | None:
    """The real base model of one engine: decode_windows batches, then the whole run. Returns its texts and tokens."""
    from audiototext.engines import load_engine
    from audiototext.longaudio import ThreadBackend, transcribe_windows

    # CTranslate2's memory is the device's, above its level before the model was loaded.
    kind = "device" if engine_name == "faster-whisper" else "torch"
    free_gpu()
    before = device_used(ctx.device)
    try:
        start = time.perf_counter()
        engine = load_engine(engine_name, ctx.model, device=ctx.device)
        load_s = time.perf_counter() - start
    except Exception as e:  # noqa: BLE001 - e.g. CTranslate2 without cuBLAS 12
        report.failed("loaded", engine_name, "base", e, audio_s=ctx.duration)
        return None
    if ctx.language is None:
        ctx.language = engine.detect_language(ctx.windows[0].audio(ctx.source))
        print(f"  language detected on the first window: {ctx.language}")
    options = decode_options(ctx.language, ctx.beam_size)
    out: dict = {"load_s": load_s}

    def decode(group, audio):
        return engine.decode_windows(audio, options)

    for batch_size in ctx.batch_sizes:
        try:
            from audiototext.longaudio import batch_groups

            if ctx.device.startswith("cuda"):  # warm-up: kernels, cuBLAS handles, the allocator's pools
                first = batch_groups(ctx.windows, batch_size)[0]
                on_decode_thread(decode, first, [w.audio(ctx.source) for w in first])
                synchronize(ctx.device)
            with (
                Meter(ctx.device, kind, since=before) as meter,
                phase_times(windows_class(engine_name), ctx.device) as phases,
            ):
                wall, results = run_batches(decode, ctx.windows, ctx.source, batch_size)
            row = report.add(
                Row(
                    "loaded",
                    engine_name,
                    "base",
                    batch_size,
                    ctx.duration,
                    wall,
                    meter.mib,
                    note=f"{len(ctx.windows)} windows; {phases_note(phases)}; load {load_s:.1f} s",
                )
            )
            if "results" not in out:
                out.update(results=results, row=row)
        except Exception as e:  # noqa: BLE001
            report.failed("loaded", engine_name, "base", e, batch=batch_size, audio_s=ctx.duration)
            free_gpu()
    if "full" not in ctx.skip and "results" in out:
        batch_size = out["row"].batch
        backend = ThreadBackend(engine)
        try:
            with Meter(ctx.device, kind, since=before) as meter:
                start = time.perf_counter()
                result = transcribe_windows(ctx.source, ctx.windows, options, backend, batch_size=batch_size)
                wall = time.perf_counter() - start
            out["full_row"] = report.add(
                Row(
                    "full run",
                    engine_name,
                    "base",
                    batch_size,
                    ctx.duration,
                    wall,
                    meter.mib,
                    note=f"transcribe_windows: {result.windows} windows + {result.extra_windows} continuation, "
                    f"{len(result.transcript.segments)} cues",
                )
            )
            out["segments"] = result.transcript.segments
        except Exception as e:  # noqa: BLE001
            report.failed("full run", engine_name, "base", e, batch=batch_size, audio_s=ctx.duration)
        finally:
            backend.close()
    del engine
    free_gpu()
    return out if "results" in out else None


# ------------------------------------------------------------------------------- random model shapes


def force_length_filter(targets, sample_begin: int, n_group: int, eot: int, device):
    """A ``whisper.decoding.LogitFilter``: row ``i`` may not end before ``targets[i]`` text tokens and must end
    then; special and timestamp tokens are banned (a random model would write them; base never does)."""
    import torch
    from whisper.decoding import LogitFilter

    class ForceLength(LogitFilter):
        def __init__(self):
            self.targets = torch.tensor(targets, device=device).repeat_interleave(n_group)

        def apply(self, logits, tokens):
            # Random fp16 weights must not stop the beam search; the suppressed tokens' -inf stay.
            torch.nan_to_num_(logits, nan=0.0, posinf=float("inf"), neginf=float("-inf"))
            logits[:, eot + 1 :] = -np.inf
            done = self.targets <= tokens.shape[1] - sample_begin
            logits[~done, eot] = -np.inf
            logits[done] = -np.inf
            logits[done, eot] = 0.0

    return ForceLength()


def forced_torch_windows(engine, options):
    """openai-whisper's window primitives (the engine's own class) with a per-row forced length."""
    from audiototext.engines.openai_whisper import _TorchWindows, batched_decoding_task
    from audiototext.engines.windows import Decoded

    class ForcedTorchWindows(_TorchWindows):
        targets: list[int] = []

        def generate(self, encoded, options, temperature, prompt):
            import torch
            from whisper.decoding import DecodingOptions

            decoding = DecodingOptions(
                task=options.task,
                language=options.language,
                temperature=temperature,
                beam_size=options.beam_size,
                length_penalty=options.length_penalty,
                suppress_tokens=options.suppress_tokens,
                without_timestamps=True,
                fp16=self.engine.fp16,
            )
            task = batched_decoding_task(self.model, decoding)
            task.logit_filters.append(
                force_length_filter(
                    self.targets, task.sample_begin, task.n_group, self.tokenizer.eot, self.model.device
                )
            )
            with torch.no_grad():
                results = task.run(torch.stack(list(encoded)))
            return [
                Decoded(
                    tuple(r.tokens),
                    self.tokenizer.decode(r.tokens),
                    float(r.avg_logprob),
                    float(r.no_speech_prob),
                    temperature,
                )
                for r in results
            ]

    return ForcedTorchWindows(engine, options)


def forced_ct2_windows(ct2_model, tokenizer, n_mels: int, device: str, suppress: list[int]):
    """faster-whisper's window primitives (the engine's own class) over a bare CTranslate2 model, lengths forced.

    CTranslate2's Whisper.generate has no per-row hook: end-of-text is suppressed and each batch is
    decoded to its longest target. Its ``max_length`` counts the prompt and halves (openai's
    ``sample_len``): it generates ``min(max_length // 2, max_length - len(prompt) + 1)`` tokens (measured).
    """
    from faster_whisper.feature_extractor import FeatureExtractor

    from audiototext.engines.faster_whisper import CPU_ENCODE_BATCH, _CT2Windows
    from audiototext.engines.windows import Decoded

    class ForcedCT2Windows(_CT2Windows):
        def __init__(self):
            self.engine = SimpleNamespace(device=device)
            self.model = SimpleNamespace(
                model=ct2_model,
                feature_extractor=FeatureExtractor(feature_size=n_mels),
                max_length=448,
                tokens_per_second=SAMPLE_RATE / 160 / 2,
            )
            self.tokenizer = tokenizer
            self.suppress = suppress
            self.encode_batch = CPU_ENCODE_BATCH if device == "cpu" else 32
            self.targets: list[int] = []
            self.steps = 0

        def generate(self, encoded, options, temperature, prompt):
            t = self.tokenizer
            head = [*t.sot_sequence, t.no_timestamps]
            steps = max(self.targets) + 1  # the real decoding's last step writes end-of-text
            results = self.model.model.generate(
                self._view(encoded),
                [head] * len(encoded),
                beam_size=options.beam_size or 1,
                patience=1,
                length_penalty=1,
                max_length=max(2 * steps, steps + len(head) - 1),
                suppress_blank=True,
                suppress_tokens=self.suppress,
                return_scores=True,
                return_no_speech_prob=True,
            )
            out = []
            for result, target in zip(results, self.targets):
                self.steps += len(result.sequences_ids[0])
                tokens = [tok for tok in result.sequences_ids[0] if tok < t.eot][:target]
                out.append(
                    Decoded(
                        tuple(tokens),
                        t.decode(tokens),
                        float(result.scores[0]),
                        float(result.no_speech_prob),
                        temperature,
                    )
                )
            return out

    return ForcedCT2Windows()


def random_whisper(shape: str, device: str):
    """A randomly initialised ``whisper.model.Whisper`` of ``shape``; fp32 weights, as ``whisper.load_model``
    keeps them (the engine decodes in fp16 on CUDA all the same)."""
    import torch
    import whisper
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(0)
    with torch.device(device):  # initialised where it runs, not built on the host and copied
        model = Whisper(ModelDimensions(**SHAPES[shape]))
    if shape in whisper._ALIGNMENT_HEADS:
        model.set_alignment_heads(whisper._ALIGNMENT_HEADS[shape])
    return model.to(device).eval()


def ct2_from_whisper(model, tokenizer, base_dir: Path, target: Path) -> None:
    """Save ``model`` (openai-whisper) as a float16 CTranslate2 Whisper model in ``target``.

    The inverse of :mod:`audiototext.convert`'s mapping; the vocabulary is base's 50,257 text tokens
    followed by the tokenizer's special and timestamp tokens, so ids match openai-whisper's.
    """
    import torch
    from ctranslate2.specs import whisper_spec

    dims = model.dims
    sd = {k: v.detach().to(torch.float16).cpu().numpy() for k, v in model.state_dict().items()}
    spec = whisper_spec.WhisperSpec(dims.n_audio_layer, dims.n_audio_head, dims.n_text_layer, dims.n_text_head)

    def norm(s, key):
        s.gamma, s.beta = sd[f"{key}.weight"], sd[f"{key}.bias"]

    def linear(s, key, bias=True):
        s.weight = sd[f"{key}.weight"]
        if bias:
            s.bias = sd[f"{key}.bias"]

    def fused(s, key, names):  # openai's key projection has no bias; CTranslate2's fused one has zeros there
        s.weight = np.concatenate([sd[f"{key}.{n}.weight"] for n in names])
        s.bias = np.concatenate(
            [sd.get(f"{key}.{n}.bias", np.zeros(len(sd[f"{key}.{n}.weight"]), np.float16)) for n in names]
        )

    def block(s, key, cross: bool):
        norm(s.self_attention.layer_norm, f"{key}.attn_ln")
        fused(s.self_attention.linear[0], f"{key}.attn", ("query", "key", "value"))
        linear(s.self_attention.linear[1], f"{key}.attn.out")
        if cross:
            norm(s.attention.layer_norm, f"{key}.cross_attn_ln")
            linear(s.attention.linear[0], f"{key}.cross_attn.query")
            fused(s.attention.linear[1], f"{key}.cross_attn", ("key", "value"))
            linear(s.attention.linear[2], f"{key}.cross_attn.out")
        norm(s.ffn.layer_norm, f"{key}.mlp_ln")
        linear(s.ffn.linear_0, f"{key}.mlp.0")
        linear(s.ffn.linear_1, f"{key}.mlp.2")

    encoder, decoder = spec.encoder, spec.decoder
    linear(encoder.conv1, "encoder.conv1")
    linear(encoder.conv2, "encoder.conv2")
    encoder.position_encodings.encodings = sd["encoder.positional_embedding"]
    for i, layer in enumerate(encoder.layer):
        block(layer, f"encoder.blocks.{i}", cross=False)
    norm(encoder.layer_norm, "encoder.ln_post")
    decoder.embeddings.weight = sd["decoder.token_embedding.weight"]
    decoder.position_encodings.encodings = sd["decoder.positional_embedding"]
    for i, layer in enumerate(decoder.layer):
        block(layer, f"decoder.blocks.{i}", cross=True)
    norm(decoder.layer_norm, "decoder.ln")
    decoder.projection.weight = sd["decoder.token_embedding.weight"]
    del sd

    text = (base_dir / "vocabulary.txt").read_text(encoding="utf-8").split("\n")[: tokenizer.eot]
    vocabulary = text + [token for token, _ in sorted(tokenizer.special_tokens.items(), key=lambda kv: kv[1])]
    if len(vocabulary) != dims.n_vocab:
        raise RuntimeError(f"built a vocabulary of {len(vocabulary)} tokens for a model of {dims.n_vocab}")
    spec.register_vocabulary(vocabulary)
    config = json.loads((base_dir / "config.json").read_text())
    spec.config.suppress_ids = [i for i in config.get("suppress_ids", []) if i < tokenizer.eot]
    spec.config.suppress_ids_begin = [220, tokenizer.eot]
    spec.config.lang_ids = list(tokenizer.all_language_tokens)
    spec.config.alignment_heads = [tuple(int(x) for x in pair) for pair in model.alignment_heads.indices().T.tolist()]
    spec.validate()
    spec.optimize(quantization="float16")
    spec.save(str(target))


def shape_rows(report: Report, shape: str, ctx: SimpleNamespace) -> None:
    """Both engines on a random model of ``shape``, each window decoded to base's token count."""
    import torch
    from whisper.tokenizer import get_tokenizer

    from audiototext.engines.openai_whisper import OpenAIWhisperEngine
    from audiototext.engines.windows import decode_windows
    from audiototext.longaudio import batch_groups

    label = f"random {shape}"
    targets = {e: t for e, t in ctx.targets.items()}
    if not targets:
        for engine_name in ctx.engines:
            report.failed(
                "random shape",
                engine_name,
                label,
                "no token counts to decode to: no base run, and --data has none saved by --prepare",
                audio_s=ctx.duration,
            )
        return
    source_note = f"; {ctx.targets_from}" if "saved" in targets else ""
    options = decode_options(ctx.language, ctx.beam_size, forced=True)
    free_gpu()
    try:
        model = random_whisper(shape, ctx.device)
    except Exception as e:  # noqa: BLE001
        for engine_name in ctx.engines:
            report.failed("random shape", engine_name, label, e, audio_s=ctx.duration)
        return
    tokenizer = get_tokenizer(
        model.is_multilingual, num_languages=model.num_languages, language=ctx.language, task="transcribe"
    )
    batch_size = ctx.shape_batch_size

    if "openai-whisper" in ctx.engines:
        want = targets.get("openai-whisper") or next(iter(targets.values()))
        engine = OpenAIWhisperEngine.__new__(OpenAIWhisperEngine)
        engine.device, engine.model, engine.workers, engine.threads = ctx.device, model, 1, os.cpu_count() or 1
        engine.is_multilingual, engine.model_name, engine.spec = model.is_multilingual, label, None
        primitives = forced_torch_windows(engine, options)

        def decode(group, audio):
            primitives.targets = [want[w.index] for w in group]
            return decode_windows(primitives, audio, options)

        size, too_big = batch_size, []
        try:
            first = batch_groups(ctx.windows, size)[0][:WARM_UP]
            on_decode_thread(decode, first, [w.audio(ctx.source) for w in first])
            while True:
                try:
                    with Meter(ctx.device, "torch") as meter, phase_times(type(primitives), ctx.device) as phases:
                        wall, results = run_batches(decode, ctx.windows, ctx.source, size)
                    break
                except torch.cuda.OutOfMemoryError:  # whisper's beam search keeps each beam's cross-attention cache
                    if size == 1:
                        raise
                free_gpu()  # here, once the exception (and the tensors its frames hold) is gone
                too_big.append(size)
                size //= 2
                print(f"  batch {too_big[-1]} ran out of GPU memory: trying {size}", flush=True)
            off = sum(len(results[w.index].tokens) != want[w.index] for w in ctx.windows)
            oom = f"; batch {', '.join(map(str, too_big))} ran out of memory" if too_big else ""
            report.add(
                Row(
                    "random shape",
                    "openai-whisper",
                    label,
                    size,
                    ctx.duration,
                    wall,
                    meter.mib,
                    note=f"{sum(want.values())} tokens as base wrote them ({off} windows off); "
                    f"{phases_note(phases)}{oom}{source_note}",
                )
            )
        except Exception as e:  # noqa: BLE001
            report.failed("random shape", "openai-whisper", label, e, batch=size, audio_s=ctx.duration)
        del engine, primitives
        free_gpu()

    if "faster-whisper" in ctx.engines:
        want = targets.get("faster-whisper") or next(iter(targets.values()))
        scratch = Path(tempfile.mkdtemp(prefix="gpu-bench-ct2-", dir=ctx.scratch))
        try:
            import ctranslate2

            if ctx.base_dir is None:
                raise RuntimeError("the CTranslate2 model is built with base's vocabulary: pass --model")
            start = time.perf_counter()
            ct2_from_whisper(model, tokenizer, ctx.base_dir, scratch)
            convert_s = time.perf_counter() - start
            del model
            free_gpu()
            model = None
            with Meter(ctx.device, "device") as meter:
                ct2 = ctranslate2.models.Whisper(
                    str(scratch),
                    device=ctx.device.split(":")[0],
                    device_index=torch_index(ctx.device),
                    compute_type="float16" if ctx.device.startswith("cuda") else "int8",
                    intra_threads=1 if ctx.device.startswith("cuda") else (os.cpu_count() or 1),
                )
                suppress = sorted(
                    set(ct2_suppress(ctx.base_dir, tokenizer) + list(range(tokenizer.eot, SHAPES[shape]["n_vocab"])))
                )
                primitives = forced_ct2_windows(ct2, tokenizer, SHAPES[shape]["n_mels"], ctx.device, suppress)
                # Batches of windows of similar length (see forced_ct2_windows), in length order.
                ordered = sorted(ctx.windows, key=lambda w: want[w.index])

                def decode(group, audio):
                    primitives.targets = [want[w.index] for w in group]
                    return decode_windows(primitives, audio, options)

                first = batch_groups(ordered, batch_size)[0][:WARM_UP]
                on_decode_thread(decode, first, [w.audio(ctx.source) for w in first])
                primitives.steps = 0
                with phase_times(type(primitives), ctx.device) as phases:
                    wall, _ = run_batches(decode, ordered, ctx.source, batch_size)
            real = sum(want.values()) + len(want)
            report.add(
                Row(
                    "random shape",
                    "faster-whisper",
                    label,
                    batch_size,
                    ctx.duration,
                    wall,
                    meter.mib,
                    note=f"decoded {primitives.steps / real:.2f}x the real run's tokens (batches by length); "
                    f"{phases_note(phases)}; random weights converted in {convert_s:.0f} s{source_note}",
                )
            )
            del ct2, primitives
        except Exception as e:  # noqa: BLE001 - e.g. CTranslate2 without cuBLAS 12 on a CUDA 13 machine
            report.failed("random shape", "faster-whisper", label, e, batch=batch_size, audio_s=ctx.duration)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    model = None
    free_gpu()


def ct2_suppress(base_dir: Path, tokenizer) -> list[int]:
    """The non-speech symbols base suppresses (ids below end-of-text are the same in every vocabulary)."""
    config = json.loads((base_dir / "config.json").read_text())
    return [i for i in config.get("suppress_ids", []) if i < tokenizer.eot]


# ------------------------------------------------------------------------------ subprocess sections


def subprocess_env() -> dict:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)  # keep carried wheels
    return {
        **os.environ,
        "AUDIOTOTEXT_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": path,
        "PYTHONUNBUFFERED": "1",
    }


def wer_rows(report: Report, engine_name: str, base: dict, ctx: SimpleNamespace) -> None:
    """The engine's own sequential transcribe of the first minutes (a subprocess, time-boxed); the WER of the
    batched rows against it."""
    first = [w for w in ctx.windows if w.end <= ctx.wer_seconds] or ctx.windows[:1]
    cutoff = first[-1].end
    result_path = ctx.scratch / f"sequential-{engine_name}.json"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--sequential-worker",
        "--engines",
        engine_name,
        "--model",
        ctx.model,
        "--device",
        ctx.device,
        "--wav",
        str(ctx.wav),
        "--seconds",
        f"{cutoff:.3f}",
        "--language",
        ctx.language,
        "--beam-size",
        str(ctx.beam_size),
        "--out",
        str(result_path),
    ]
    try:
        done = subprocess.run(
            cmd, env=subprocess_env(), cwd=ROOT, capture_output=True, text=True, timeout=ctx.seq_timeout
        )
        if done.returncode != 0:
            raise RuntimeError(_tail(done.stderr or done.stdout))
        sequential = json.loads(result_path.read_text())
    except subprocess.TimeoutExpired:
        report.failed(
            "sequential",
            engine_name,
            "base",
            f"timed out after {ctx.seq_timeout:.0f} s: no WER (raise --seq-timeout or lower --wer-minutes)",
            audio_s=cutoff,
        )
        return
    except Exception as e:  # noqa: BLE001
        report.failed("sequential", engine_name, "base", e, audio_s=cutoff)
        return
    reference = sequential["text"]
    report.add(
        Row(
            "sequential",
            engine_name,
            "base",
            None,
            cutoff,
            sequential["wall_s"],
            note=f"engine.transcribe of the first {cutoff:.0f} s: the WER reference",
            extra={"text": reference},
        )
    )
    batched = " ".join(base["results"][w.index].text.strip() for w in first)
    base["row"].wer = word_error_rate(reference, batched, ctx.language)
    base["row"].extra["text"] = batched  # the JSON keeps both texts, to see what the WER counts
    base["row"].note += f"; WER on the first {cutoff:.0f} s"
    if "full_row" in base:
        full = " ".join(s.text.strip() for s in base["segments"] if s.start < cutoff)
        base["full_row"].wer = word_error_rate(reference, full, ctx.language)
        base["full_row"].extra["text"] = full
    report.save()
    print(
        f"  WER vs sequential, first {cutoff:.0f} s: batched {base['row'].wer:.2f} %"
        + (f", full run {base['full_row'].wer:.2f} %" if "full_row" in base else ""),
        flush=True,
    )


def cold_row(report: Report, engine_name: str, ctx: SimpleNamespace) -> None:
    """The CLI's default path as a whole process, on the whole audio."""
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        report.failed(
            "cold",
            engine_name,
            "base",
            "ffmpeg/ffprobe not installed: the CLI needs them to read its input",
            audio_s=ctx.duration,
        )
        return
    out_dir = ctx.scratch / f"cold-{engine_name}"
    cmd = [
        sys.executable,
        "-m",
        "audiototext",
        str(ctx.wav),
        "--model",
        ctx.model,
        "--engine",
        engine_name,
        "-o",
        str(out_dir),
        "-f",
        "txt",
        "--device",
        ctx.device,
        "--language",
        ctx.language,
    ]
    print(f"  cold: {' '.join(cmd)}", flush=True)
    try:
        with Meter(ctx.device, "device") as meter:
            start = time.perf_counter()
            done = subprocess.run(
                cmd, env=subprocess_env(), cwd=ROOT, capture_output=True, text=True, timeout=ctx.cold_timeout
            )
            wall = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"exit {done.returncode}: {_tail(done.stderr or done.stdout)}")
        report.add(
            Row(
                "cold",
                engine_name,
                "base",
                None,
                ctx.duration,
                wall,
                meter.mib,
                note="python -m audiototext (default path), whole process",
            )
        )
    except subprocess.TimeoutExpired:
        report.failed("cold", engine_name, "base", f"timed out after {ctx.cold_timeout:.0f} s", audio_s=ctx.duration)
    except Exception as e:  # noqa: BLE001
        report.failed("cold", engine_name, "base", e, audio_s=ctx.duration)


def _tail(text: str) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def sequential_worker(args) -> int:
    """``--sequential-worker``: the engine's own sequential decoding of the WAV's first ``--seconds``."""
    from audiototext.engines import load_engine

    with wave.open(str(args.wav), "rb") as f:
        frames = f.readframes(int(args.seconds * SAMPLE_RATE))
    audio = np.frombuffer(frames, "<i2").astype(np.float32) / 32768.0
    engine = load_engine(args.engines, args.model, device=args.device)
    start = time.perf_counter()
    transcript = engine.transcribe(audio, decode_options(args.language, args.beam_size))
    wall = time.perf_counter() - start
    text = " ".join(s.text.strip() for s in transcript.segments)
    Path(args.out).write_text(json.dumps({"text": text, "wall_s": wall}))
    return 0


# --------------------------------------------------------------------------------------------- main


def targets_text(report: Report, device: str) -> str:
    lines = ["Targets (one H100/H200-class GPU, model loaded, issue 9):"]
    for model, target in TARGETS:
        rows = [
            r
            for r in report.rows
            if r.section in ("loaded", "random shape") and not r.error and r.model in (model, f"random {model}")
        ]
        if not device.startswith("cuda"):
            lines.append(f"  {model} >= {target:,.0f}x: not on a GPU")
            continue
        if not rows:
            lines.append(f"  {model} >= {target:,.0f}x: not measured")
            continue
        for r in rows:
            verdict = "met" if r.x_realtime >= target else "NOT met"
            lines.append(f"  {model} >= {target:,.0f}x: {r.engine} batch {r.batch}: {r.x_realtime:,.0f}x -> {verdict}")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder of recordings to repeat (media files need ffmpeg; 16 kHz mono WAVs don't) "
        "(default: ../shared/eval/data/long)",
    )
    p.add_argument("--minutes", type=float, default=60.0, help="length of the test audio (default 60)")
    p.add_argument(
        "--model",
        default="base",
        help="base (the offline bundled weights) or a CTranslate2 directory of them (model.bin may be in "
        "model.bin.part* pieces)",
    )
    p.add_argument("--engines", default=",".join(ENGINES), help="comma list (default: both)")
    p.add_argument("--device", default=None, help="cuda (default when torch sees a GPU) or cpu")
    p.add_argument(
        "--language",
        default="auto",
        help="code for every run, or auto: detected once on the first window, as the CLI does (default auto)",
    )
    p.add_argument("--beam-size", type=int, default=5)
    p.add_argument(
        "--batch-size", default="32", help="windows per batch for base; a comma list measures each (default 32)"
    )
    p.add_argument("--shape-batch-size", type=int, default=32, help="windows per batch for the random shapes")
    p.add_argument(
        "--shapes",
        default="large-v3-turbo,large-v3",
        help=f"random model shapes: comma list of {', '.join(SHAPES)}, or none (default: turbo, large-v3)",
    )
    p.add_argument(
        "--vad",
        default="silero",
        choices=("silero", "silencedetect", "off"),
        help="voice detection for the plan (silero needs faster-whisper; falls back to off, loudly)",
    )
    p.add_argument(
        "--wer-minutes",
        type=float,
        default=10.0,
        help="WER against the sequential run on this many first minutes (default 10)",
    )
    p.add_argument("--seq-timeout", type=float, default=150.0, help="time box of each sequential run, s")
    p.add_argument("--cold-timeout", type=float, default=240.0, help="time box of each cold CLI run, s")
    p.add_argument(
        "--skip",
        default="",
        help="comma list of sections to leave out: base (then the shapes use the "
        "token counts --prepare saved), full, shapes, wer, cold",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON of the rows (default $OUT/gpu.json, else bench/results/gpu-<device>.json)",
    )
    p.add_argument("--check-env", action="store_true", help="print the environment (versions, GPU, tools) and stop")
    p.add_argument(
        "--prepare",
        type=Path,
        default=None,
        metavar="DIR",
        help="write --data's recordings as 16 kHz mono WAVs into DIR, with the plan of --minutes of "
        "them and base's token counts per window (plan-<minutes>min.json), and stop (needs ffmpeg)",
    )
    p.add_argument(
        "--prepare-engine",
        default="faster-whisper",
        choices=(*ENGINES, "none"),
        help="engine that decodes base here for --prepare's token counts (default faster-whisper)",
    )
    p.add_argument("--sequential-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--wav", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    unknown = [s for s in _split(args.shapes) if s not in SHAPES and s != "none"]
    if unknown:
        p.error(f"unknown shapes {unknown}: use {', '.join(SHAPES)}")
    bad = [e for e in _split(args.engines) if e not in ENGINES]
    if bad:
        p.error(f"unknown engines {bad}: use {', '.join(ENGINES)}")
    return args


def _split(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def default_device() -> str:
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("AUDIOTOTEXT_OFFLINE", "1")  # only the bundled weights: never try a download
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import logging

    logging.basicConfig(level=logging.WARNING, format="  log %(name)s: %(message)s")
    if args.prepare:
        return prepare(
            args.data,
            args.prepare,
            args.minutes,
            args.vad,
            model=args.model,
            engine=args.prepare_engine,
            language=None if args.language == "auto" else args.language,
        )
    device = args.device = args.device or default_device()
    if args.sequential_worker:
        return sequential_worker(args)
    env = environment(device)
    print("Environment:\n" + "\n".join(f"  {k}: {v}" for k, v in env.items()), flush=True)
    if args.check_env:
        return 0
    out = args.out or (
        Path(os.environ["OUT"]) / "gpu.json"
        if os.environ.get("OUT")
        else HERE / "results" / f"gpu-{device.split(':')[0]}.json"
    )
    report = Report(out, env)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu-bench-") as tmp:
        scratch = Path(tmp)
        ctx = SimpleNamespace(
            device=device,
            engines=_split(args.engines),
            beam_size=args.beam_size,
            batch_sizes=[int(b) for b in _split(args.batch_size)],
            shape_batch_size=args.shape_batch_size,
            skip=set(_split(args.skip)),
            seq_timeout=args.seq_timeout,
            cold_timeout=args.cold_timeout,
            scratch=scratch,
            wer_seconds=args.wer_minutes * 60,
            targets={},
            targets_from="",
            language=None if args.language == "auto" else args.language,
        )
        ctx.model = model_argument(args.model, scratch)
        env["model"] = ctx.model
        try:
            from audiototext.engines.faster_whisper import ct2_model_dir
            from audiototext.models import resolve

            ctx.base_dir = Path(ct2_model_dir(resolve(ctx.model)))
        except Exception as e:  # noqa: BLE001
            if "base" not in ctx.skip:
                raise SystemExit(
                    f"Could not find the base weights ({_first_line(e)}): pass --model a CTranslate2 "
                    "directory of them, or --skip base with a --prepare'd --data"
                ) from e
            ctx.base_dir = None

        samples, used = build_audio(args.data, args.minutes * 60)
        ctx.wav = scratch / "audio.wav"
        write_wav(ctx.wav, samples)
        from audiototext.longaudio.source import ArraySource

        # In memory: the same windows as DecodedFile would give, without needing ffmpeg on the GPU machine.
        ctx.source = ArraySource(samples.astype(np.float32) / 32768.0)
        saved = saved_plan(args.data, args.minutes, used, len(samples))
        saved_tokens = saved[2].get("tokens") if saved else None
        del samples
        ctx.duration = ctx.source.samples / SAMPLE_RATE
        print(
            f"Audio: {ctx.duration:.0f} s from {len(used)} pieces of {args.data} ({', '.join(sorted(set(used)))})",
            flush=True,
        )
        start = time.perf_counter()
        ctx.windows, vad = saved[:2] if saved else plan_windows_of(ctx.source, args.vad)
        env["vad"] = vad
        speech = sum(p.duration for w in ctx.windows for p in w.pieces)
        report.add(
            Row(
                "plan",
                "-",
                vad,
                None,
                ctx.duration,
                None if saved else time.perf_counter() - start,
                note=f"{len(ctx.windows)} windows, {speech:.0f} s of audio in them (CPU)",
            )
        )

        bases = {}
        for engine_name in ctx.engines if "base" not in ctx.skip else ():
            base = base_rows(report, engine_name, ctx)
            if base:
                bases[engine_name] = base
                ctx.targets[engine_name] = {i: len(r.tokens) for i, r in base["results"].items()}
        if not ctx.targets and saved_tokens:
            ctx.targets["saved"] = dict(enumerate(saved_tokens))
            ctx.targets_from = f"token counts saved by --prepare ({saved[2]['tokens_by']})"
            print(f"  random shapes decode to the {ctx.targets_from}", flush=True)
        if ctx.language is None:
            ctx.language = (saved[2].get("language") if saved else None) or "en"
            print(f"  no engine detected the language: {ctx.language}")
        env["language"] = ctx.language
        if "shapes" not in ctx.skip:
            for shape in _split(args.shapes):
                if shape != "none":
                    shape_rows(report, shape, ctx)
        if "wer" not in ctx.skip:
            for engine_name, base in bases.items():
                wer_rows(report, engine_name, base, ctx)
        if "cold" not in ctx.skip:
            for engine_name in ctx.engines:
                cold_row(report, engine_name, ctx)
    env["total_s"] = round(time.perf_counter() - started, 1)
    report.save()
    print()
    print(
        f"GPU: {env.get('gpu', 'none (' + device + ')')}; torch {env.get('torch')} (CUDA {env.get('torch_cuda')}); "
        f"CTranslate2 {env.get('ctranslate2')}; faster-whisper {env.get('faster-whisper')}; "
        f"openai-whisper {env.get('openai-whisper')}; language {ctx.language}; beam {args.beam_size}; "
        f"{env['total_s']:.0f} s in all"
    )
    print(report.table())
    print()
    print(targets_text(report, device))
    print(f"\nRows as JSON: {out}")
    return 0 if all(r.error is None for r in report.rows) else 1


if __name__ == "__main__":
    sys.exit(main())

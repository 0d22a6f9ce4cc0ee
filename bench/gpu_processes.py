"""The GPU check's sections that run as processes: the engines' own sequential decoding (the WER
reference, time-boxed) and the CLI's default path as a cold whole process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from gpu_audio import SAMPLE_RATE
from gpu_measure import Meter, decode_options, word_error_rate
from gpu_report import Report, Row, tail

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


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
    sequential = sequential_run(report, engine_name, cutoff, ctx)
    if sequential is None:
        return
    reference = sequential["text"]
    note = f"engine.transcribe of the first {cutoff:.0f} s: the WER reference"
    report.add(
        Row("sequential", engine_name, "base", None, cutoff, sequential["wall_s"], note=note, extra={"text": reference})
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


def sequential_run(report: Report, engine_name: str, cutoff: float, ctx) -> dict | None:
    """``gpu.py --sequential-worker`` on the first ``cutoff`` seconds: its text and wall time, or None
    (a failed row says why)."""
    result_path = ctx.scratch / f"sequential-{engine_name}.json"
    cmd = [sys.executable, str(HERE / "gpu.py"), "--sequential-worker", "--engines", engine_name]
    cmd += ["--model", ctx.model, "--device", ctx.device, "--wav", str(ctx.wav), "--seconds", f"{cutoff:.3f}"]
    cmd += ["--language", ctx.language, "--beam-size", str(ctx.beam_size), "--out", str(result_path)]
    try:
        done = subprocess.run(
            cmd, env=subprocess_env(), cwd=ROOT, capture_output=True, text=True, timeout=ctx.seq_timeout
        )
        if done.returncode != 0:
            raise RuntimeError(tail(done.stderr or done.stdout))
        return json.loads(result_path.read_text())
    except subprocess.TimeoutExpired:
        report.failed(
            "sequential",
            engine_name,
            "base",
            f"timed out after {ctx.seq_timeout:.0f} s: no WER (raise --seq-timeout or lower --wer-minutes)",
            audio_s=cutoff,
        )
    except Exception as e:  # noqa: BLE001
        report.failed("sequential", engine_name, "base", e, audio_s=cutoff)
    return None


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
            raise RuntimeError(f"exit {done.returncode}: {tail(done.stderr or done.stdout)}")
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

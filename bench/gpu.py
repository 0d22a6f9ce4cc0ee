"""GPU check of the long-audio fast path (the windows batched on a GPU must beat the references there too):
realtime factor, peak GPU memory, WER.

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
x realtime, peak GPU MiB, WER) and the targets, and writes the rows as JSON to ``--out``
(default ``$OUT/gpu.json`` when ``$OUT`` is set, else ``bench/results/gpu-<device>.json``).
Peak GPU memory: ``torch.cuda.max_memory_allocated`` for torch; for CTranslate2 (and the cold
processes) the device's used memory sampled every 50 ms (NVML, else ``nvidia-smi``), above its
level when the row started. Every section is isolated: one that fails becomes a row saying why.

This file is the command line; each section lives in its own module beside it: ``gpu_env`` (the
environment), ``gpu_audio`` (the hour, its plan, ``--prepare``), ``gpu_base`` (1), ``gpu_shapes``
(2), ``gpu_processes`` (3 and 4), with ``gpu_measure`` (GPU memory, phase times, the decoding
thread, WER) and ``gpu_report`` (the rows) shared by all.

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
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))  # the section modules beside this file, also when imported from elsewhere

from gpu_audio import DEFAULT_DATA, SAMPLE_RATE, build_audio, model_argument, plan_windows_of  # noqa: E402
from gpu_audio import prepare, saved_plan, write_wav  # noqa: E402
from gpu_base import base_rows  # noqa: E402
from gpu_env import environment  # noqa: E402
from gpu_processes import cold_row, sequential_worker, wer_rows  # noqa: E402
from gpu_report import Report, Row, first_line, split  # noqa: E402
from gpu_shapes import SHAPES, shape_rows  # noqa: E402

from audiototext import engines  # noqa: E402
from audiototext.engines import DecodeOptions  # noqa: E402
from audiototext.longaudio.speech import DETECTORS, SpeechOptions  # noqa: E402

#: The targets on one H100/H200-class GPU, model loaded: x realtime at least.
TARGETS = (("base", 2000.0), ("large-v3-turbo", 1000.0), ("large-v3", 400.0))
#: The local engines (a hosted one has no GPU to measure).
ENGINES = tuple(name for name in engines.ENGINES if not engines.engine_class(name).hosted)


def targets_text(report: Report, device: str) -> str:
    lines = ["Targets (one H100/H200-class GPU, model loaded):"]
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
    add_section_arguments(p)
    add_other_arguments(p)
    args = p.parse_args(argv)
    unknown = [s for s in split(args.shapes) if s not in SHAPES and s != "none"]
    if unknown:
        p.error(f"unknown shapes {unknown}: use {', '.join(SHAPES)}")
    bad = [e for e in split(args.engines) if e not in ENGINES]
    if bad:
        p.error(f"unknown engines {bad}: use {', '.join(ENGINES)}")
    return args


def add_section_arguments(p: argparse.ArgumentParser) -> None:
    """What runs and how: data, model, engines, batches, shapes, time boxes."""
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
    p.add_argument("--beam-size", type=int, default=DecodeOptions().beam_size, help="(default: the package's)")
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
        default=SpeechOptions().vad,
        choices=DETECTORS,
        help="voice detection for the plan (default: the package's; silero needs faster-whisper; falls back to "
        "off, loudly)",
    )
    p.add_argument(
        "--wer-minutes",
        type=float,
        default=10.0,
        help="WER against the sequential run on this many first minutes (default 10)",
    )
    p.add_argument("--seq-timeout", type=float, default=150.0, help="time box of each sequential run, s")
    p.add_argument("--cold-timeout", type=float, default=240.0, help="time box of each cold CLI run, s")


def add_other_arguments(p: argparse.ArgumentParser) -> None:
    """Sections to skip, output, --check-env, --prepare and the sequential worker's own options."""
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
        ctx = context(args, device, Path(tmp), env)
        saved = load_audio(args, ctx, env, report)
        run_sections(args, ctx, report, saved)
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


def context(args, device: str, scratch: Path, env: dict) -> SimpleNamespace:
    """What every section reads: the options, the scratch folder, the model and base's CTranslate2 folder."""
    ctx = SimpleNamespace(
        device=device,
        engines=split(args.engines),
        beam_size=args.beam_size,
        batch_sizes=[int(b) for b in split(args.batch_size)],
        shape_batch_size=args.shape_batch_size,
        skip=set(split(args.skip)),
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
                f"Could not find the base weights ({first_line(e)}): pass --model a CTranslate2 "
                "directory of them, or --skip base with a --prepare'd --data"
            ) from e
        ctx.base_dir = None
    return ctx


def load_audio(args, ctx: SimpleNamespace, env: dict, report: Report):
    """The hour as a WAV and in memory, and its windows (saved by ``--prepare``, else planned here): a row.
    Returns what ``--prepare`` saved for this audio, or None."""
    from audiototext.longaudio.source import ArraySource

    samples, used = build_audio(args.data, args.minutes * 60)
    ctx.wav = ctx.scratch / "audio.wav"
    write_wav(ctx.wav, samples)
    # In memory: the same windows as DecodedFile would give, without needing ffmpeg on the GPU machine.
    ctx.source = ArraySource(samples.astype(np.float32) / 32768.0)
    saved = saved_plan(args.data, args.minutes, used, len(samples))
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
    wall = None if saved else time.perf_counter() - start
    note = f"{len(ctx.windows)} windows, {speech:.0f} s of audio in them (CPU)"
    report.add(Row("plan", "-", vad, None, ctx.duration, wall, note=note))
    return saved


def run_sections(args, ctx: SimpleNamespace, report: Report, saved) -> None:
    """base with each engine, the random shapes, the WER against the sequential runs, the cold CLI."""
    bases = {}
    for engine_name in ctx.engines if "base" not in ctx.skip else ():
        base = base_rows(report, engine_name, ctx)
        if base:
            bases[engine_name] = base
            ctx.targets[engine_name] = {i: len(r.tokens) for i, r in base["results"].items()}
    saved_tokens = saved[2].get("tokens") if saved else None
    if not ctx.targets and saved_tokens:
        ctx.targets["saved"] = dict(enumerate(saved_tokens))
        ctx.targets_from = f"token counts saved by --prepare ({saved[2]['tokens_by']})"
        print(f"  random shapes decode to the {ctx.targets_from}", flush=True)
    if ctx.language is None:
        ctx.language = (saved[2].get("language") if saved else None) or "en"
        print(f"  no engine detected the language: {ctx.language}")
    report.env["language"] = ctx.language
    if "shapes" not in ctx.skip:
        for shape in split(args.shapes):
            if shape != "none":
                shape_rows(report, shape, ctx)
    if "wer" not in ctx.skip:
        for engine_name, base in bases.items():
            wer_rows(report, engine_name, base, ctx)
    if "cold" not in ctx.skip:
        for engine_name in ctx.engines:
            cold_row(report, engine_name, ctx)


if __name__ == "__main__":
    sys.exit(main())

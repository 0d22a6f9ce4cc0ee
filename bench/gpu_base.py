"""The GPU check's first section: the real base model of each engine, loaded once.

``engine.decode_windows`` on every window in the library's batches (after a warm-up batch on a GPU),
one row per batch size, then the whole run (``transcribe_windows``: continuation windows and
stitching included) at the first batch size.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

from gpu_measure import (
    Meter,
    decode_options,
    device_used,
    free_gpu,
    on_decode_thread,
    phase_times,
    phases_note,
    run_batches,
    synchronize,
    windows_class,
)
from gpu_report import Report, Row


def base_rows(report: Report, engine_name: str, ctx: SimpleNamespace) -> dict | None:
    """The real base model of one engine: decode_windows batches, then the whole run. Returns its texts and tokens."""
    from audiototext.engines import engine_class, load_engine

    # CTranslate2's memory is the device's, above its level before the model was loaded.
    kind = "device" if engine_class(engine_name).weights == "ct2" else "torch"
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
    out: dict = {"load_s": load_s, "meter": dict(kind=kind, since=before)}
    for batch_size in ctx.batch_sizes:
        batch_row(report, engine_name, engine, options, batch_size, ctx, out)
    if "full" not in ctx.skip and "results" in out:
        full_run_row(report, engine_name, engine, options, ctx, out)
    del engine
    free_gpu()
    return out if "results" in out else None


def batch_row(report: Report, engine_name: str, engine, options, batch_size: int, ctx, out: dict) -> None:
    """Every window decoded in batches of ``batch_size``; the first such row's results go into ``out``."""
    from audiototext.longaudio import batch_groups

    def decode(group, audio):
        return engine.decode_windows(audio, options)

    try:
        if ctx.device.startswith("cuda"):  # warm-up: kernels, cuBLAS handles, the allocator's pools
            first = batch_groups(ctx.windows, batch_size)[0]
            on_decode_thread(decode, first, [w.audio(ctx.source) for w in first])
            synchronize(ctx.device)
        with Meter(ctx.device, **out["meter"]) as meter, phase_times(windows_class(engine_name), ctx.device) as phases:
            wall, results = run_batches(decode, ctx.windows, ctx.source, batch_size)
        note = f"{len(ctx.windows)} windows; {phases_note(phases)}; load {out['load_s']:.1f} s"
        row = report.add(Row("loaded", engine_name, "base", batch_size, ctx.duration, wall, meter.mib, note=note))
        if "results" not in out:
            out.update(results=results, row=row)
    except Exception as e:  # noqa: BLE001
        report.failed("loaded", engine_name, "base", e, batch=batch_size, audio_s=ctx.duration)
        free_gpu()


def full_run_row(report: Report, engine_name: str, engine, options, ctx, out: dict) -> None:
    """The whole run, ``transcribe_windows`` with a thread backend, at the first row's batch size."""
    from audiototext.longaudio import transcribe_windows
    from audiototext.longaudio.backends import ThreadBackend

    batch_size = out["row"].batch
    backend = ThreadBackend(engine)
    try:
        with Meter(ctx.device, **out["meter"]) as meter:
            start = time.perf_counter()
            result = transcribe_windows(ctx.source, ctx.windows, options, backend, batch_size=batch_size)
            wall = time.perf_counter() - start
        note = (
            f"transcribe_windows: {result.windows} windows + {result.extra_windows} continuation, "
            f"{len(result.transcript.segments)} cues"
        )
        row = Row("full run", engine_name, "base", batch_size, ctx.duration, wall, meter.mib, note=note)
        out["full_row"] = report.add(row)
        out["segments"] = result.transcript.segments
    except Exception as e:  # noqa: BLE001
        report.failed("full run", engine_name, "base", e, batch=batch_size, audio_s=ctx.duration)
    finally:
        backend.close()

"""``run.py``'s results: medians over the rounds per runner, the markdown table, the long-audio targets,
and the subtitle timing bounds checked on the default path's srt."""

from __future__ import annotations

import re
import statistics
from pathlib import Path


def silences(audio: str, duration: float) -> tuple[list[tuple[float, float]], float]:
    """Pauses of 10 s or more (ffmpeg ``silencedetect`` at -50 dB) and where the speech ends (the start
    of a silence of 2 s or more that runs to the end, else the end)."""
    from audiototext.media import ffmpeg_path, run_ffmpeg

    args = ["-nostats", "-i", ffmpeg_path(audio), "-af", "silencedetect=noise=-50dB:d=2", "-f", "null", "-"]
    done = run_ffmpeg(args, name=audio, problem="silencedetect failed", fix="check the file", loglevel="info")
    err = done.stderr.decode(errors="replace")
    starts = [float(x) for x in re.findall(r"silence_start: ([0-9.]+)", err)]
    ends = [float(x) for x in re.findall(r"silence_end: ([0-9.]+)", err)]
    spans = [(a, ends[i] if i < len(ends) else duration) for i, a in enumerate(starts)]
    speech_end = spans[-1][0] if spans and spans[-1][1] >= duration - 0.5 else duration
    return [(a, b) for a, b in spans if b - a >= 10], speech_end


def srt_cues(path: Path) -> list[tuple[float, float]]:
    stamp = r"(\d+):(\d+):(\d+),(\d+)"
    cues = []
    for m in re.finditer(stamp + r" --> " + stamp, path.read_text(encoding="utf-8")):
        h, mi, se, ms, h2, mi2, se2, ms2 = map(int, m.groups())
        cues.append((h * 3600 + mi * 60 + se + ms / 1000, h2 * 3600 + mi2 * 60 + se2 + ms2 / 1000))
    return cues


def timing(srt: Path, pauses: list[tuple[float, float]], speech_end: float) -> dict:
    """The long-audio timing bounds on one run's subtitles (what a fast path must not break): cues
    never go backwards, none sits in a pause of 10 s or more (overlap over 1 s), and the last one
    reaches the end of the speech (within 3 s)."""
    cues = srt_cues(srt)
    backwards = sum(1 for i, (a, b) in enumerate(cues) if b < a or (i and a < cues[i - 1][0] - 1e-3))
    in_pause = sum(1 for a, b in cues for p, q in pauses if min(b, q) - max(a, p) > 1.0)
    tail_gap = speech_end - cues[-1][1] if cues else speech_end
    ok = bool(cues) and not backwards and not in_pause and tail_gap <= 3.0
    return dict(cues=len(cues), backwards=backwards, in_pause=in_pause, pauses=len(pauses), tail_gap=tail_gap, ok=ok)


def rotated(names: list[str], k: int) -> list[str]:
    k %= len(names)
    return names[k:] + names[:k]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarise(rows: list[dict], names: list[str]) -> dict[str, dict]:
    """Per runner over the rounds of one file: medians of the successful runs, last WER, failures."""
    out = {}
    for name in names:
        runs = [r for r in rows if r["runner"] == name]
        ok = [r for r in runs if r["status"] == 0]
        wers = [r["wer"] for r in ok if r["wer"] is not None]
        out[name] = dict(
            runs=len(runs),
            ok=len(ok),
            wall=median([r["wall_s"] for r in ok]),
            peak=median([r["peak_mib"] for r in ok]),
            wer=wers[-1] if wers else None,
            wer_spread=(min(wers), max(wers)) if len(set(wers)) > 1 else None,
            failure=next((f"exit {r['status']}: {r['error']}" for r in reversed(runs) if r["status"] != 0), None),
            identical=[r["identical_to_cli"] for r in ok if r.get("identical_to_cli") is not None],
            timing=[r["timing"] for r in ok if r.get("timing")],
        )
    return out


def table(summary: dict[str, dict], duration: float) -> str:
    lines = [
        "| runner | median wall (s) | × realtime | vs whisper-cli | vs fw-batched | median peak RAM (MiB) "
        "| WER % | runs ok |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    cli, fwb = summary.get("whisper-cli", {}).get("wall"), summary.get("fw-batched", {}).get("wall")
    for name, s in summary.items():
        if s["wall"] is None:
            lines.append(f"| {name} | **failed** | | | | | | 0/{s['runs']}: {s['failure']} |")
            continue
        ratio = lambda ref, s=s: f"{ref / s['wall']:.2f}×" if ref else "–"  # noqa: E731
        wer_text = "–" if s["wer"] is None else f"{s['wer']:.2f}"
        if s["wer_spread"]:
            wer_text += f" (runs: {s['wer_spread'][0]:.2f}–{s['wer_spread'][1]:.2f})"
        runs = f"{s['ok']}/{s['runs']}" + (f"; failed: {s['failure']}" if s["ok"] < s["runs"] else "")
        lines.append(
            f"| {name} | {s['wall']:.1f} | {duration / s['wall']:.1f} | {ratio(cli)} | {ratio(fwb)} | "
            f"{s['peak']:.0f} | {wer_text} | {runs} |"
        )
    return "\n".join(lines)


def target_lines(summary: dict[str, dict]) -> list[str]:
    """The long-audio targets for the default path on this machine: speed, accuracy and memory against
    the references."""
    att, cli, fwb = (summary.get(n) or {} for n in ("att", "whisper-cli", "fw-batched"))

    def check(label, needs, test):
        missing = [n for n, s in needs if not s or s.get("wall") is None]
        if missing:
            return f"  {label}: not measured (no successful {', '.join(missing)} run)"
        ok, detail = test()
        return f"  {label}: {'met' if ok else 'NOT met'} ({detail})"

    def speed(ref, factor):
        ratio = ref["wall"] / att["wall"]
        return ratio >= factor, f"{ratio:.2f}×"

    def accuracy():
        refs = [s["wer"] for s in (cli, fwb) if s.get("wer") is not None]
        if att.get("wer") is None or not refs:
            return False, "no WER (reference text missing?)"
        bound = min(refs) + 0.5
        return att["wer"] <= bound, f"{att['wer']:.2f} % vs bound {bound:.2f} %"

    def timed():
        runs = att["timing"]
        if not runs:
            return False, "no subtitles written"
        last = runs[-1]
        detail = (
            f"{sum(t['ok'] for t in runs)}/{len(runs)} runs; last: {last['cues']} cues, {last['backwards']} backwards, "
            f"{last['in_pause']} in the {last['pauses']} pauses of 10 s or more, last cue ends "
            f"{last['tail_gap']:.1f} s before the speech does"
        )
        return all(t["ok"] for t in runs), detail

    def memory():
        return att["peak"] <= 1.2 * fwb["peak"], f"{att['peak']:.0f} MiB vs {1.2 * fwb['peak']:.0f} MiB"

    return [
        check("att >= 1.15× fw-batched", [("att", att), ("fw-batched", fwb)], lambda: speed(fwb, 1.15)),
        check("att >= 10× whisper-cli", [("att", att), ("whisper-cli", cli)], lambda: speed(cli, 10)),
        check(
            "att WER <= min(whisper-cli, fw-batched) + 0.5",
            [("att", att), ("whisper-cli", cli), ("fw-batched", fwb)],
            accuracy,
        ),
        check("att cues in order, none in a pause > 10 s, tail kept", [("att", att)], timed),
        check("att peak RAM <= 1.2× fw-batched", [("att", att), ("fw-batched", fwb)], memory),
    ]


def mark_identical(rows: list[dict], round_: int, f: str) -> None:
    """att-openai's text against whisper-cli's of the same round and file, byte for byte."""
    by = {r["runner"]: r for r in rows if r["round"] == round_ and r["file"] == f}
    a, b = by.get("att-openai"), by.get("whisper-cli")
    if a and b and a["output"] and b["output"]:
        a["identical_to_cli"] = Path(a["output"]).read_bytes() == Path(b["output"]).read_bytes()

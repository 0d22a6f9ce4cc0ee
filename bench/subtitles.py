"""Measure the subtitles several makers write against the reading rules and the true speech times.

Runs each runner (``subtitle_runners.RUNNERS``) on recordings whose speech times are known
(``subtitle_data``), reads the srt it wrote and prints, per recording, one table row per runner:
the share of cues within each reading rule and within all, the cue start error against the speech
onsets, the share of speech time covered, the seconds shown in silence beyond the 1 s linger and
the WER of the srt's text. ``--check-targets`` prints the subtitle targets per file, PASS or FAIL.
The definitions are in ``subtitle_measures`` and ``bench/README.md``.

Usage::

    python3 bench/subtitles.py                                   # every runner on every recording
    python3 bench/subtitles.py --runners att --files es_long_mix # the package again, quickly
    python3 bench/subtitles.py --check-targets                   # att and att-de against the targets

The reference runners are cached (``--fresh`` runs them again); the package's run every time.
Results go to ``bench/results/subtitles/`` (ignored by git); the rows to ``rows.json`` there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import subtitle_data as data
import subtitle_measures as sm
import subtitle_runners as runners
from run import model_paths, wer

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "subtitles"
REFERENCES = ("whisper-cli", "fw-batched")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--files", default=",".join(data.ALL), help=f"comma-separated recordings from: {', '.join(data.ALL)}"
    )
    p.add_argument(
        "--runners",
        default=None,
        help=f"comma-separated from: {', '.join(runners.RUNNERS)} (default: all; with --check-targets: att,att-de)",
    )
    p.add_argument("--model", default="base")
    p.add_argument("--fresh", action="store_true", help="run the cached reference runners again")
    p.add_argument("--check-targets", action="store_true", help="the subtitle targets per file, PASS/FAIL")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"results directory (default {RESULTS})")
    p.add_argument("--cache", type=Path, default=None, help="the reference runners' cache (default OUT/cache)")
    p.add_argument("--verbose", action="store_true", help="also print the speech found in each part")
    args = p.parse_args(argv)
    args.cache = args.cache or args.out / "cache"
    args.files = [f.strip().removesuffix(".opus").removesuffix(".flac") for f in args.files.split(",") if f.strip()]
    args.files = [Path(f).name for f in args.files]
    default = "att,att-de" if args.check_targets else ",".join(runners.RUNNERS)
    args.runners = [r.strip() for r in (args.runners or default).split(",") if r.strip()]
    unknown = [r for r in args.runners if r not in runners.RUNNERS] + [f for f in args.files if f not in data.ALL]
    if unknown:
        p.error(
            f"unknown runners or recordings {unknown}; runners: {', '.join(runners.RUNNERS)}; "
            f"recordings: {', '.join(data.ALL)}"
        )
    return args


def describe(rec: data.Recording, speech: data.Speech, verbose: bool) -> str:
    """The speech totals of one recording, printed so that they can be checked."""
    pauses = speech.pauses
    line = (
        f"{rec.name} ({rec.language}, {speech.duration:.1f} s): {len(rec.parts)} parts, speech "
        f"{speech.speech_s:.1f} s, {len(speech.onsets)} onsets, {len(pauses)} pauses > 1 s "
        f"({sum(q - p for p, q in pauses):.1f} s), pause level {min(speech.thresholds_db):.1f} to "
        f"{max(speech.thresholds_db):.1f} dBFS"
    )
    if verbose:
        for (start, end, _), level in zip(rec.parts, speech.thresholds_db, strict=True):
            inside = [(round(a, 2), round(b, 2)) for a, b in speech.speech if start <= a < end]
            line += f"\n  part {start:.2f}-{end:.2f}: pause level {level} dBFS, speech {inside}"
    return line


def row_for(out: runners.Output, rec: data.Recording, speech: data.Speech) -> dict:
    """The measures of one runner's srt on one recording."""
    row = dict(recording=rec.name, runner=out.runner, status=out.status, wall_s=out.wall_s, cached=out.cached)
    row.update(error=out.error, skipped=out.skipped, srt=str(out.srt) if out.srt else None)
    if out.status != 0 or out.srt is None:
        return row
    cues = sm.parse_srt(out.srt.read_text(encoding="utf-8"))
    translated = runners.TRANSLATED.get(out.runner)
    row.update(sm.measure(cues, speech, translated or rec.language))
    row["wer"] = (
        None if translated else round(100 * wer(rec.reference, " ".join(c.text for c in cues), rec.language), 2)
    )
    return row


def pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def table(rows: list[dict]) -> str:
    head = (
        "| runner | cues | all rules % | 2×42 % | ≤2 lines | ≤42 chars | ≤20 cps | 0.833–7 s | gap ≥83 ms | no pause "
        "| start err med / p90 (signed med) ms | missed onsets | speech covered % | in silence s | WER % | wall s |"
    )
    lines = [head, "|---|" + "---:|" * 15]
    for r in rows:
        if r.get("skipped"):
            lines.append(f"| {r['runner']} | skipped: {r['skipped']} |" + " |" * 14)
            continue
        if "shares" not in r:
            lines.append(f"| {r['runner']} | **failed** (exit {r['status']}): {r['error']} |" + " |" * 14)
            continue
        s = r["shares"]
        start = (
            "–"
            if r["start_median_ms"] is None
            else (f"{r['start_median_ms']} / {r['start_p90_ms']} ({r['start_signed_median_ms']:+d})")
        )
        wall = "–" if r["wall_s"] is None else f"{r['wall_s']:.0f}" + (" (cached)" if r["cached"] else "")
        cells = [r["runner"], r["cues"], pct(s["all"]), pct(s["2x42"]), *(pct(s[k]) for k in sm.RULES), start]
        cells += [f"{r['onsets_missed']}/{r['onsets']}", pct(r["coverage"]), f"{r['silence_s']:.1f}"]
        cells += ["–" if r["wer"] is None else f"{r['wer']:.2f}", wall]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def failing_lines(rows: list[dict]) -> list[str]:
    """For the package's rows: the first cues that break each rule (to look them up in the srt)."""
    out = []
    for r in rows:
        if r["runner"].startswith("att") and r.get("failing"):
            broken = [f"{rule}: {', '.join(map(str, nums))}" for rule, nums in r["failing"].items() if nums]
            if broken:
                out.append(f"  {r['runner']} first cues out of the rules: " + "; ".join(broken))
    return out


def target_lines(rows: list[dict]) -> list[str]:
    by = {r["runner"]: r for r in rows if "shares" in r}
    refs = {name: by[name]["wer"] if name in by else None for name in REFERENCES}
    out = []
    for label, ok, detail in sm.target_checks(by.get("att"), by.get("att-de"), refs):
        verdict = "—" if ok is None else "PASS" if ok else "FAIL"
        out.append(f"  {verdict:4} {label}: {detail}")
    return out


def run_all(args, recs, speeches) -> list[dict]:
    """Every runner on every recording (cached references from the cache), one row each."""
    paths = model_paths(args.model)
    names = list(args.runners)
    if args.check_targets:  # the WER bound needs the references: read them from the cache if they are there
        names += [n for n in REFERENCES if n not in names]
    style = "att-whisper" not in names or runners.subtitle_style_known()
    server = runners.start_longer_deepl() if "att-de" in names else None
    rows = []
    try:
        for rec in recs:
            for name in names:
                if name == "att-whisper" and not style:
                    out = runners.Output(name, None, None, 0, False, skipped="the CLI has no --subtitle-style yet")
                elif name not in args.runners and not runners.is_cached(name, rec, args.model, args.cache):
                    continue
                else:
                    url = server.state.url if server else ""
                    out = runners.run_one(
                        name, rec, args.model, paths, args.out, cache=args.cache, fresh=args.fresh, server=url
                    )
                rows.append(row_for(out, rec, speeches[rec.name]))
                print(f"  {rec.name} {name}: " + short(rows[-1]), flush=True)
                (args.out / "rows.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
    finally:
        if server:
            server.__exit__(None, None, None)
    return rows


def short(row: dict) -> str:
    if row.get("skipped"):
        return f"skipped ({row['skipped']})"
    if "shares" not in row:
        return f"FAILED (exit {row['status']}): {row['error']}"
    wall = "cached" if row["cached"] else f"{row['wall_s']:.0f} s"
    return f"{row['cues']} cues, {pct(row['shares']['all'])} % within all rules, {wall}"


def main(argv=None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    recs = [data.recording(name, args.out / "audio") for name in args.files]
    speeches = {}
    for rec in recs:
        speeches[rec.name] = data.find_speech(rec, args.out / "audio")
        print(describe(rec, speeches[rec.name], args.verbose), flush=True)
    rows = run_all(args, recs, speeches)
    ok = True
    for rec in recs:
        mine = [r for r in rows if r["recording"] == rec.name]
        print(f"\n**{rec.name}** ({rec.language}, {speeches[rec.name].duration:.0f} s, model {args.model})\n")
        print(table(mine))
        print("\n".join(failing_lines(mine)))
        if args.check_targets:
            checks = target_lines(mine)
            print("Targets (readable cues, on the speech, nothing dropped):\n" + "\n".join(checks))
            ok = ok and not any(line.lstrip().startswith("FAIL") for line in checks)
    print(f"\nRows: {args.out / 'rows.json'}")
    failed = [r for r in rows if r["status"] != 0]
    return 0 if ok and not failed else 1


if __name__ == "__main__":
    sys.exit(main())

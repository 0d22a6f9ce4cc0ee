"""Time Whisper runners on several recordings as whole processes, interleaved in rounds, and print medians.

Each run is a fresh process, so model loading, audio decoding and everything else a user waits for
is counted. The runs are **interleaved**: round 1 runs every runner on every file, then round 2,
and so on (``--rounds``, default 3), the runner order rotating from one round to the next, so a
burst of load on the machine spreads over all runners instead of landing on one. Per file it prints
a markdown table: the **median** wall time over the rounds, realtime factor (audio seconds per
wall second: higher is faster), speed relative to ``whisper-cli`` and ``fw-batched`` (their median
over this runner's median), median peak memory of the whole process tree (workers included,
sampled every 0.1 s from /proc), and WER against the reference text after Whisper's normalisers
(English: EnglishTextNormalizer; otherwise BasicTextNormalizer) with jiwer, from the last run
(the table says when the rounds' WERs differ). Every raw run goes to ``rows.json``.

Usage::

    python bench/run.py --files ../shared/eval/data/long/en_long_mix.opus,../shared/eval/data/long/es_long_mix.opus \\
        --runners whisper-cli,fw-seq,fw-batched,att,att-openai --rounds 3 --check-targets

References are ``<stem>.txt`` next to each file. The spoken language of each file comes from
``../shared/eval/data/manifest.json`` when the file is listed there, else from ``--language``; it
is given to **every** runner (``--language`` for the CLIs, ``language=`` for faster-whisper), so
no runner spends time detecting it. The eval data is read where it lies; nothing is copied.
Outputs (texts, logs, ``rows.json``) go to ``bench/results/<name>/`` (ignored by git). Not part of
the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from run_report import mark_identical, rotated, silences, summarise, table, target_lines, timing

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_MANIFEST = ROOT.parent / "shared" / "eval" / "data" / "manifest.json"

# faster-whisper on its own, as its README shows it: sequential, and its BatchedInferencePipeline
# with its own defaults (batch 8, beam 5, VAD chunks). The model directory is the same base model.
FW_SCRIPT = r"""
import sys, time
from faster_whisper import WhisperModel, BatchedInferencePipeline
model_dir, audio, language, out, mode = sys.argv[1:6]
model = WhisperModel(model_dir, device="cpu", compute_type="int8")
language = None if language == "auto" else language
if mode == "batched":
    segments, info = BatchedInferencePipeline(model).transcribe(audio, language=language)
else:
    segments, info = model.transcribe(audio, language=language, beam_size=5)
with open(out, "w", encoding="utf-8") as f:
    f.write("".join(s.text for s in segments))
"""

#: What each runner is, for the help text and the README.
RUNNERS = {
    "whisper-cli": "the whisper command (openai-whisper, fp32 on CPU, its defaults: beam 5, temperature fallback)",
    "fw-seq": "faster-whisper WhisperModel.transcribe, int8, beam 5",
    "fw-batched": "faster-whisper BatchedInferencePipeline with its defaults",
    "att": "audiototext FILE --model base: the default path, no other flag",
    "att-openai": "audiototext --engine openai-whisper --parallel off (must equal whisper-cli byte for byte)",
    "att-faster": "audiototext --engine faster-whisper --parallel off",
    "att-batched": "audiototext --engine faster-whisper --parallel batched",
    "att-batched-greedy": "the same with --beam_size 1",
    "att-processes": "audiototext --engine faster-whisper --parallel processes",
    "att-processes-greedy": "the same with --beam_size 1",
    "att-ray": "audiototext --engine faster-whisper --parallel ray --ray-num-cpus 0.5",
    "att-openai-batched": "audiototext --engine openai-whisper --parallel batched",
}
DEFAULT_RUNNERS = "whisper-cli,fw-seq,fw-batched,att,att-openai"


def model_paths(model: str) -> tuple[str, str]:
    """(CTranslate2 directory, openai-whisper .pt) of ``model``, the offline bundled weights included."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("AUDIOTOTEXT_OFFLINE", "1")
    from audiototext.engines.faster_whisper import ct2_model_dir
    from audiototext.models import openai_checkpoint, resolve

    ct2 = ct2_model_dir(resolve(model))
    return str(ct2), str(openai_checkpoint(ct2))


def commands(audio: str, language: str, model: str, paths: tuple[str, str], out: Path) -> dict[str, list[str]]:
    """Every runner's command line for ``audio``, its outputs under ``out``."""
    ct2, pt = paths
    py = sys.executable
    lang = ["--language", language] if language != "auto" else []

    def att(name, *flags):
        return [
            py,
            "-m",
            "audiototext",
            audio,
            "--model",
            model,
            "-o",
            str(out / name),
            "-f",
            "txt,srt",
            "--no_progress",
            *lang,
            *flags,
        ]

    return {
        "whisper-cli": [
            "whisper",
            audio,
            "--model",
            pt,
            "--device",
            "cpu",
            "--fp16",
            "False",
            "--output_format",
            "txt",
            "--output_dir",
            str(out / "whisper-cli"),
            "--verbose",
            "False",
            *lang,
        ],
        "fw-seq": [py, "-c", FW_SCRIPT, ct2, audio, language, str(out / "fw-seq.txt"), "sequential"],
        "fw-batched": [py, "-c", FW_SCRIPT, ct2, audio, language, str(out / "fw-batched.txt"), "batched"],
        "att": att("att"),
        "att-openai": att("att-openai", "--engine", "openai-whisper", "--parallel", "off"),
        "att-faster": att("att-faster", "--engine", "faster-whisper", "--parallel", "off"),
        "att-batched": att("att-batched", "--engine", "faster-whisper", "--parallel", "batched"),
        "att-batched-greedy": att(
            "att-batched-greedy", "--engine", "faster-whisper", "--parallel", "batched", "--beam_size", "1"
        ),
        "att-processes": att("att-processes", "--engine", "faster-whisper", "--parallel", "processes"),
        "att-processes-greedy": att(
            "att-processes-greedy", "--engine", "faster-whisper", "--parallel", "processes", "--beam_size", "1"
        ),
        "att-ray": att("att-ray", "--engine", "faster-whisper", "--parallel", "ray", "--ray-num-cpus", "0.5"),
        "att-openai-batched": att("att-openai-batched", "--engine", "openai-whisper", "--parallel", "batched"),
    }


def _tree_rss(pid: int) -> int:
    """Resident memory in bytes of ``pid`` and all its descendants."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return total


def measure(cmd: list[str], log: Path) -> tuple[float, int, int]:
    """(wall seconds, peak tree RSS bytes, exit status) of ``cmd``, its output in ``log``."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "AUDIOTOTEXT_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": path}
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        start = time.monotonic()
        try:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        except OSError as e:  # the command itself is missing (no `whisper` on PATH)
            out.write(f"could not start {cmd[0]}: {e}\n")
            return time.monotonic() - start, 0, 127
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.1)
        wall = time.monotonic() - start
    return wall, peak, proc.returncode


def output_path(name: str, out: Path, stem: str) -> Path | None:
    for path in (out / f"{name}.txt", out / name / f"{stem}.txt"):
        if path.is_file():
            return path
    return None


def last_line(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1][:200] if lines else "no output"


def wer(reference: str, hypothesis: str, language: str) -> float:
    import jiwer
    from whisper.normalizers import BasicTextNormalizer, EnglishTextNormalizer

    normalize = EnglishTextNormalizer() if language in ("en", "auto") else BasicTextNormalizer()
    return jiwer.wer(normalize(reference), normalize(hypothesis))


def duration_of(audio: str) -> float:
    from audiototext.media import probe

    return probe(audio).duration


def manifest_languages(manifest: Path) -> dict[str, str]:
    """Resolved audio path (and bare file name) -> language code, from the eval data's manifest."""
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    for entry in entries:
        if entry.get("audio") and entry.get("lang"):
            out[str((manifest.parent / entry["audio"]).resolve())] = entry["lang"]
            out.setdefault(Path(entry["audio"]).name, entry["lang"])
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", required=True, help="comma-separated recordings; references are <stem>.txt beside them")
    p.add_argument(
        "--language",
        default="auto",
        help="language code for files the manifest does not list, given to every runner (default auto)",
    )
    p.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST, help="eval manifest giving each file's language")
    p.add_argument("--model", default="base")
    p.add_argument(
        "--runners",
        default=DEFAULT_RUNNERS,
        help=f"comma-separated (default {DEFAULT_RUNNERS}); any of: {', '.join(RUNNERS)}",
    )
    p.add_argument("--rounds", type=int, default=3, help="rounds of every runner on every file (default 3)")
    p.add_argument(
        "--check-targets",
        action="store_true",
        help="print per file whether att meets the long-audio targets against whisper-cli and fw-batched",
    )
    p.add_argument("--out", type=Path, default=None, help="results directory (default: bench/results/<first file>)")
    args = p.parse_args(argv)

    args.files = [f.strip() for f in args.files.split(",") if f.strip()]
    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        p.error(f"no such files: {', '.join(missing)}")
    args.names = [n.strip() for n in args.runners.split(",") if n.strip()]
    unknown = [n for n in args.names if n not in RUNNERS]
    if unknown:
        p.error(f"unknown runners {unknown}; choose from {', '.join(RUNNERS)}")
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    return args


def describe_files(files: list[str], languages: dict[str, str], default_language: str) -> dict[str, dict]:
    """Per file: stem, duration, long pauses, end of speech, language and reference text (printed)."""
    info = {}
    for f in files:
        stem = Path(f).stem
        ref = Path(f).with_suffix(".txt")
        language = languages.get(str(Path(f).resolve())) or languages.get(Path(f).name) or default_language
        seconds = duration_of(f)
        pauses, speech_end = silences(f, seconds)
        info[f] = dict(
            stem=stem,
            duration=seconds,
            pauses=pauses,
            speech_end=speech_end,
            language=language,
            reference=ref.read_text(encoding="utf-8") if ref.is_file() else None,
        )
        print(
            f"{stem}: {info[f]['duration']:.0f} s, language {language}"
            f"{'' if ref.is_file() else ', no reference text (no WER)'}",
            flush=True,
        )
    return info


def run_once(name: str, cmd: list[str], round_: int, f: str, meta: dict, run_dir: Path) -> dict:
    """One runner's process on one file: its row (wall time, peak memory, status, WER, subtitle timing)."""
    log = run_dir / f"{name}.log"
    wall, peak, status = measure(cmd, log)
    text_path = output_path(name, run_dir, meta["stem"])
    text = text_path.read_text(encoding="utf-8") if text_path else None
    if status == 0 and text is None:
        status = -1  # exited 0 but wrote nothing: a failure all the same
    row = dict(
        round=round_,
        file=f,
        runner=name,
        wall_s=round(wall, 2),
        peak_mib=peak // 2**20,
        status=status,
        error=None if status == 0 else last_line(log),
        log=str(log),
        wer=round(100 * wer(meta["reference"], text, meta["language"]), 2)
        if text is not None and meta["reference"] is not None
        else None,
        language=meta["language"],
        output=str(text_path) if text_path else None,
    )
    srt = run_dir / name / f"{meta['stem']}.srt"
    if status == 0 and srt.is_file():
        row["timing"] = timing(srt, meta["pauses"], meta["speech_end"])
    print(
        f"    {wall:.1f} s, {row['peak_mib']} MiB, WER {row['wer']}"
        + ("" if status == 0 else f", FAILED (exit {status}): {row['error']}"),
        flush=True,
    )
    return row


def run_rounds(args, info: dict[str, dict], out: Path, paths: tuple[str, str]) -> list[dict]:
    """Every runner on every file, round after round, the runner order rotating; rows.json kept up to date."""
    rows: list[dict] = []
    for round_ in range(1, args.rounds + 1):
        order = rotated(args.names, round_ - 1)
        for f in args.files:
            meta = info[f]
            run_dir = out / meta["stem"] / f"round{round_}"
            table_ = commands(f, meta["language"], args.model, paths, run_dir)
            for name in order:
                shown = shlex.join(table_[name]).replace(shlex.quote(FW_SCRIPT), "FW_SCRIPT")
                print(f"  round {round_} {meta['stem']} {name}: {shown}", flush=True)
                rows.append(run_once(name, table_[name], round_, f, meta, run_dir))
                (out / "rows.json").write_text(json.dumps(rows, indent=1))
            mark_identical(rows, round_, f)
            (out / "rows.json").write_text(json.dumps(rows, indent=1))
    return rows


def print_file(args, meta: dict, rows: list[dict]) -> None:
    """One file's table (medians over the rounds), the byte-identity verdict and the targets."""
    summary = summarise(rows, args.names)
    print(
        f"**{meta['stem']}** ({meta['duration']:.0f} s, {meta['language']}; median of {args.rounds} "
        f"round{'s' if args.rounds > 1 else ''}, model {args.model})\n"
    )
    print(table(summary, meta["duration"]))
    if "att-openai" in summary and "whisper-cli" in summary:
        same = summary["att-openai"]["identical"]
        verdict = (
            "not compared (a run failed)"
            if not same
            else "byte-identical in every round"
            if all(same)
            else f"DIFFERENT in {same.count(False)} of {len(same)} rounds"
        )
        print(f"\natt-openai .txt vs whisper-cli .txt: {verdict}")
    if args.check_targets:
        print("\nTargets (long audio: faster and as accurate as the references):")
        print("\n".join(target_lines(summary)))
    print()


def main(argv=None) -> int:
    args = parse_args(argv)
    first = Path(args.files[0]).stem
    out = args.out or HERE / "results" / (first if len(args.files) == 1 else f"{first}+{len(args.files) - 1}")
    out.mkdir(parents=True, exist_ok=True)
    languages = manifest_languages(args.manifest)
    paths = model_paths(args.model)
    info = describe_files(args.files, languages, args.language)
    print(f"model {args.model}, {os.cpu_count()} CPUs, {args.rounds} rounds of {', '.join(args.names)}", flush=True)
    rows = run_rounds(args, info, out, paths)
    print()
    for f in args.files:
        print_file(args, info[f], [r for r in rows if r["file"] == f])
    print(f"Raw runs: {out / 'rows.json'}")
    return 0 if all(r["status"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

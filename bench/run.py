"""Time Whisper runners on one recording as whole processes and print a table.

Each runner is a fresh process, started one after the other in this session, so model loading,
audio decoding and everything else a user waits for is counted. Reported: wall time, realtime
factor (audio seconds per wall second: higher is faster), peak memory of the whole process tree
(workers included, sampled every 0.1 s from /proc), and WER against the reference text after
Whisper's normalisers (English: EnglishTextNormalizer; otherwise BasicTextNormalizer) with jiwer.

Usage::

    python bench/run.py ../shared/eval/data/long/en_long_mix.opus --ref ../shared/eval/data/long/en_long_mix.txt \\
        --language en --runners whisper-cli,fw-seq,fw-batched,att-batched,att-processes

The eval data is read where it lies; nothing is copied. Results (texts and a JSON of the rows)
go to ``bench/results/<name>/`` (ignored by git). Not part of the test suite.
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

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


def model_paths(model: str) -> tuple[str, str]:
    """(CTranslate2 directory, openai-whisper .pt) of ``model``, the offline bundled weights included."""
    sys.path.insert(0, str(ROOT))
    from audiototext.engines.faster_whisper import ct2_model_dir
    from audiototext.models import openai_checkpoint, resolve

    ct2 = ct2_model_dir(resolve(model))
    return str(ct2), str(openai_checkpoint(ct2))


def runners(audio: str, language: str, model: str, out: Path) -> dict[str, list[str]]:
    ct2, pt = model_paths(model)
    py = sys.executable
    att = [py, "-m", "audiototext", audio, "--model", model, "-f", "txt", "--no_progress",
           *(["--language", language] if language != "auto" else [])]

    def a(name, *flags):
        return [*att, "-o", str(out / name), *flags]

    return {
        "whisper-cli": ["whisper", audio, "--model", pt, "--device", "cpu", "--fp16", "False", "--output_format",
                        "txt", "--output_dir", str(out / "whisper-cli"), "--verbose", "False",
                        *(["--language", language] if language != "auto" else [])],
        "fw-seq": [py, "-c", FW_SCRIPT, ct2, audio, language, str(out / "fw-seq.txt"), "sequential"],
        "fw-batched": [py, "-c", FW_SCRIPT, ct2, audio, language, str(out / "fw-batched.txt"), "batched"],
        "att-openai": a("att-openai", "--engine", "openai-whisper", "--parallel", "off"),
        "att-faster": a("att-faster", "--engine", "faster-whisper", "--parallel", "off"),
        "att-batched": a("att-batched", "--engine", "faster-whisper", "--parallel", "batched"),
        "att-batched-greedy": a("att-batched-greedy", "--engine", "faster-whisper", "--parallel", "batched",
                                "--beam_size", "1"),
        "att-processes": a("att-processes", "--engine", "faster-whisper", "--parallel", "processes"),
        "att-processes-greedy": a("att-processes-greedy", "--engine", "faster-whisper", "--parallel", "processes",
                                  "--beam_size", "1"),
        "att-ray": a("att-ray", "--engine", "faster-whisper", "--parallel", "ray", "--ray-num-cpus", "0.5"),
        "att-openai-batched": a("att-openai-batched", "--engine", "openai-whisper", "--parallel", "batched"),
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
    env = {**os.environ, "AUDIOTOTEXT_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    with open(log, "w") as out:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.1)
        wall = time.monotonic() - start
    return wall, peak, proc.returncode


def hypothesis_text(name: str, out: Path, stem: str) -> str:
    for path in (out / f"{name}.txt", out / name / f"{stem}.txt"):
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return ""


def wer(reference: str, hypothesis: str, language: str) -> float:
    import jiwer
    from whisper.normalizers import BasicTextNormalizer, EnglishTextNormalizer

    normalize = EnglishTextNormalizer() if language == "en" else BasicTextNormalizer()
    return jiwer.wer(normalize(reference), normalize(hypothesis))


def duration_of(audio: str) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", audio],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("audio")
    p.add_argument("--ref", required=True, help="reference text (<name>.txt)")
    p.add_argument("--language", default="auto", help="spoken language code given to every runner, or auto")
    p.add_argument("--model", default="base")
    p.add_argument("--runners", default="whisper-cli,fw-seq,fw-batched,att-batched,att-processes",
                   help="comma-separated; any of the names in runners()")
    p.add_argument("--out", type=Path, default=None, help="results directory (default: bench/results/<name>)")
    args = p.parse_args(argv)

    stem = Path(args.audio).stem
    out = args.out or HERE / "results" / stem
    out.mkdir(parents=True, exist_ok=True)
    table = runners(args.audio, args.language, args.model, out)
    names = [n.strip() for n in args.runners.split(",") if n.strip()]
    unknown = [n for n in names if n not in table]
    if unknown:
        p.error(f"unknown runners {unknown}; choose from {', '.join(table)}")
    reference = Path(args.ref).read_text(encoding="utf-8")
    duration = duration_of(args.audio)
    language = args.language if args.language != "auto" else "en"
    rows = []
    print(f"{stem}: {duration:.0f} s, model {args.model}, {os.cpu_count()} CPUs", flush=True)
    for name in names:
        print(f"  running {name}: {shlex.join(table[name])}", flush=True)
        wall, peak, status = measure(table[name], out / f"{name}.log")
        text = hypothesis_text(name, out, stem)
        row = dict(runner=name, wall_s=round(wall, 1), rtf=round(duration / wall, 1), peak_mib=peak // 2**20,
                   wer=round(100 * wer(reference, text, language), 2) if text else None, status=status)
        rows.append(row)
        print(f"    {row}", flush=True)
        (out / "rows.json").write_text(json.dumps(rows, indent=1))
    base = {r["runner"]: r["wall_s"] for r in rows}
    print()
    print("| runner | wall (s) | × realtime | vs whisper CLI | vs fw-batched | peak RAM (MiB) | WER % |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        vs = lambda ref: f"{base[ref] / r['wall_s']:.2f}×" if ref in base else "–"  # noqa: E731
        print(f"| {r['runner']} | {r['wall_s']} | {r['rtf']} | {vs('whisper-cli')} | {vs('fw-batched')} | "
              f"{r['peak_mib']} | {r['wer'] if r['wer'] is not None else 'failed'} |")
    return 0 if all(r["status"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

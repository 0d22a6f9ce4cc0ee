"""Peak memory of the default path on long, mostly silent recordings: does it stay flat with duration?

For each length in ``--hours`` (default 1 and 10) it makes a recording of room tone (low-level
brown noise from ffmpeg's ``anoisesrc``, 16 kHz mono FLAC in Matroska) with a burst of espeak-ng
speech every ``--every`` seconds (default 10 minutes), then runs
``audiototext FILE --model base --engine faster-whisper`` as a whole process and samples the
resident memory of its process tree every 0.1 s (as ``bench/run.py`` does). It prints each peak,
the windows each run decoded, and the ratio of the longest to the shortest; the target is
10 h within 20 % of 1 h.

Why bursts of ``--burst`` sentences (default 6, about 25 s: a window each) rather than a few
seconds: windows pack speech across pauses, so a few seconds every 10 minutes make one window per
hour, and on a CPU the run decodes ``workers`` batches at once. With one window at 1 h and two at
2 h, one decoder is busy in the first run and two in the second, and the peak doubles its decoding
share for that reason alone (measured: 387 vs 643 MiB, every read of the audio a 300 s block).
With a window per burst, every length keeps every worker busy and the peaks compare the part
that should not grow: the audio. Batch sizes still differ: an hour with 5 windows decodes batches
of 3 and 2, ten hours decode batches of 4, and a beam-5 batch costs about 60 MiB per window while it
decodes, so ``--every 150`` (18 windows in an hour, full batches) compares like with like
(measured in bench/README.md: 1.47 at 600 s, 1.43 at 300 s, 1.20 at 150 s).

The recordings are cheap to make: one 10-minute block per sentence is encoded, and the long file
is those blocks joined by ffmpeg's concat demuxer without re-encoding (about 20 MB of FLAC per
hour). Everything lives in a temporary directory that is removed at the end; the CLI's own
temporary PCM copy (115 MB per hour) goes to the system's temporary directory while it runs.

Usage::

    python bench/memory.py                    # 1 h and 10 h (the 10 h run takes several minutes)
    python bench/memory.py --hours 1,2        # a quick check of the script

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import measure  # noqa: E402 - the same process-tree sampling as the speed benchmark

from audiototext.media import SAMPLE_RATE, probe, run_ffmpeg  # noqa: E402

SENTENCES = (
    "The committee will meet again next Tuesday to discuss the budget.",
    "Please remember to close the windows before you leave the building.",
    "The train to the coast was delayed by almost twenty minutes this morning.",
    "She planted tomatoes, beans and a row of sunflowers along the fence.",
    "Our library is open every weekday from nine until half past six.",
    "The old bridge over the river was repaired after the spring floods.",
    "He wrote a long letter to his grandmother and posted it on Friday.",
    "Bring a warm coat, because the evenings in the mountains are cold.",
)
#: Different bursts (sentence orders) before the blocks repeat.
BLOCKS = 4


def ffmpeg(*args: str) -> None:
    """The package's ffmpeg runner (argument list, one error style), writing over earlier blocks."""
    run_ffmpeg(["-y", *args], name="bench/memory.py", problem="ffmpeg could not make the audio", fix="check ffmpeg")


def make_blocks(work: Path, *, every: float, noise: float, burst: int) -> list[Path]:
    """``BLOCKS`` blocks of ``every`` seconds: room tone with ``burst`` sentences spoken in the middle."""
    blocks = []
    for k in range(BLOCKS):
        text = " ".join(SENTENCES[(k * burst + i) % len(SENTENCES)] for i in range(burst))
        speech = work / f"speech{k}.wav"
        subprocess.run(["espeak-ng", "-v", "en", "-w", str(speech), text], check=True, capture_output=True)
        block = work / f"block{k}.flac"
        delay_ms = int(every / 2 * 1000)
        ffmpeg(
            "-f",
            "lavfi",
            "-i",
            f"anoisesrc=d={every}:c=brown:r={SAMPLE_RATE}:a={noise}:seed={k + 1}",
            "-i",
            str(speech),
            "-filter_complex",
            f"[1:a]aresample={SAMPLE_RATE},adelay={delay_ms}:all=1[s];"
            "[0:a][s]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[out]",
            "-map",
            "[out]",
            "-ac",
            "1",
            "-sample_fmt",
            "s16",
            "-c:a",
            "flac",
            str(block),
        )
        blocks.append(block)
    return blocks


def make_recording(work: Path, blocks: list[Path], hours: float, every: float) -> Path:
    """``hours`` of the blocks in turn, joined without re-encoding.

    Into Matroska: a FLAC file joined by stream copy keeps the first block's length in its header.
    """
    count = max(1, round(hours * 3600 / every))
    listing = work / f"list-{hours:g}h.txt"
    listing.write_text("".join(f"file '{blocks[i % len(blocks)]}'\n" for i in range(count)))
    out = work / f"room-{hours:g}h.mka"
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out))
    return out


def duration_of(path: Path) -> float:
    return probe(path).duration


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hours", default="1,10", help="comma list of lengths in hours (default 1,10)")
    p.add_argument("--every", type=float, default=600.0, help="seconds between two bursts of speech (default 600)")
    p.add_argument("--burst", type=int, default=6, help="sentences per burst (default 6: about 25 s, a window)")
    p.add_argument("--noise", type=float, default=0.0005, help="room-tone amplitude, 0..1 (default 0.0005)")
    p.add_argument("--model", default="base")
    p.add_argument("--out", type=Path, default=HERE / "results" / "memory.json", help="JSON of the rows")
    args = p.parse_args(argv)
    hours = [float(h) for h in args.hours.split(",") if h.strip()]
    for tool in ("ffmpeg", "ffprobe", "espeak-ng"):
        if shutil.which(tool) is None:
            p.error(f"{tool} is not installed (apt-get install ffmpeg espeak-ng)")

    rows = []
    with tempfile.TemporaryDirectory(prefix="memory-bench-") as tmp:
        work = Path(tmp)
        start = time.monotonic()
        blocks = make_blocks(work, every=args.every, noise=args.noise, burst=args.burst)
        print(f"{len(blocks)} blocks of {args.every:.0f} s made in {time.monotonic() - start:.1f} s", flush=True)
        for h in hours:
            rows.append(run_length(args, work, blocks, h))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))
    print_rows(rows)
    print(f"Rows as JSON: {args.out}")
    return 0 if all(r["status"] == 0 for r in rows) else 1


def run_length(args, work: Path, blocks: list[Path], h: float) -> dict:
    """The recording of ``h`` hours made, the default path run on it as a whole process: its row."""
    start = time.monotonic()
    audio = make_recording(work, blocks, h, args.every)
    made = time.monotonic() - start
    duration = duration_of(audio)
    size = audio.stat().st_size / 2**20
    print(f"{audio.name}: {duration / 3600:.2f} h, {size:.0f} MiB, made in {made:.1f} s", flush=True)
    out_dir = work / f"out-{h:g}h"
    cmd = [sys.executable, "-m", "audiototext", str(audio), "--model", args.model, "--engine", "faster-whisper"]
    cmd += ["-o", str(out_dir), "-f", "txt", "--no_progress", "--language", "en"]
    wall, peak, status = measure(cmd, work / f"run-{h:g}h.log")
    log = (work / f"run-{h:g}h.log").read_text(errors="replace")
    windows = re.search(r"packed into (\d+) window", log)
    texts = list(out_dir.glob("*.txt"))
    words = len(texts[0].read_text(encoding="utf-8").split()) if texts else 0
    spoken = sum(
        len(SENTENCES[(k % BLOCKS * args.burst + i) % len(SENTENCES)].split())
        for k in range(max(1, round(h * 3600 / args.every)))
        for i in range(args.burst)
    )
    row = dict(
        hours=h,
        audio_s=round(duration, 1),
        wall_s=round(wall, 1),
        peak_mib=peak // 2**20,
        status=status,
        windows=int(windows.group(1)) if windows else None,
        words=words,
        spoken_words=spoken,
    )
    if status != 0:
        lines = log.strip().splitlines()
        row["error"] = lines[-1] if lines else "no output"
    print(f"  {row}", flush=True)
    audio.unlink()  # one long file on disk at a time
    return row


def print_rows(rows: list[dict]) -> None:
    """The table of peaks, and the longest run's peak over the shortest's against the 1.2 target."""
    print()
    print("| hours | audio (s) | wall (s) | peak RAM (MiB) | windows | words written / spoken | status |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(
            f"| {r['hours']:g} | {r['audio_s']:.0f} | {r['wall_s']:.1f} | {r['peak_mib']} | {r['windows'] or '?'} | "
            f"{r['words']} / {r['spoken_words']} | {'ok' if r['status'] == 0 else 'failed: ' + r['error']} |"
        )
    ok = [r for r in rows if r["status"] == 0]
    if len(ok) >= 2:
        first, last = ok[0], ok[-1]
        ratio = last["peak_mib"] / max(1, first["peak_mib"])
        verdict = "met" if ratio <= 1.2 else "NOT met"
        print(
            f"\nPeak at {last['hours']:g} h / at {first['hours']:g} h: {ratio:.2f} "
            f"(target for 10 h vs 1 h: at most 1.20 -> {verdict})"
        )


if __name__ == "__main__":
    sys.exit(main())

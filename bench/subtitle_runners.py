"""The subtitle makers the benchmark compares, their cache, and a DeepL stand-in whose text runs longer.

Every runner writes an srt (and a txt) for one recording with the base model and the language given.
The reference runners (the ``whisper`` CLI, faster-whisper) are cached under
``bench/results/subtitles/cache/<runner>/<recording>-<key>/``, the key a hash of the runner's
options, the model and the file's name and content; the package's own runners run every time.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from run import measure

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: faster-whisper as its README shows it, one srt cue per segment, timestamps as a user writes them.
FW_SRT = r"""
import sys
from faster_whisper import WhisperModel, BatchedInferencePipeline
model_dir, audio, language, out, mode = sys.argv[1:6]
model = WhisperModel(model_dir, device="cpu", compute_type="int8")
if mode == "batched":
    segments, info = BatchedInferencePipeline(model).transcribe(audio, language=language)
else:
    segments, info = model.transcribe(audio, language=language, beam_size=5, vad_filter=True, word_timestamps=True)
segments = list(segments)

def stamp(t):
    ms = round(t * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

with open(out + ".srt", "w", encoding="utf-8") as f:
    for i, s in enumerate(segments, 1):
        f.write(f"{i}\n{stamp(s.start)} --> {stamp(s.end)}\n{s.text.strip()}\n\n")
with open(out + ".txt", "w", encoding="utf-8") as f:
    f.write("".join(s.text for s in segments))
"""

#: Runner -> what it is (help text and README).
RUNNERS = {
    "att": "audiototext FILE --model base --language L -f srt,txt,json: the package's default subtitles",
    "att-whisper": "the same with --subtitle-style whisper (skipped while the CLI lacks the flag)",
    "att-de": "att with --deepl_target de against the 35 %-longer DeepL stand-in: the German srt",
    "whisper-cli": "the whisper command, its defaults (fp32 CPU, beam 5)",
    "whisper-cli-42": "the whisper command with --max_line_width 42 --max_line_count 2 --word_timestamps True",
    "fw-vad-words": "faster-whisper WhisperModel.transcribe(vad_filter=True, word_timestamps=True, beam 5)",
    "fw-batched": "faster-whisper BatchedInferencePipeline with its defaults",
}
CACHED = ("whisper-cli", "whisper-cli-42", "fw-vad-words", "fw-batched")
TRANSLATED = {"att-de": "de"}
FAKE_KEY = "fake-key:fx"


@dataclass
class Output:
    """What one runner wrote for one recording."""

    runner: str
    srt: Path | None
    wall_s: float | None
    status: int
    cached: bool
    error: str | None = None
    skipped: str | None = None


def command(runner: str, audio: Path, language: str, model: str, paths: tuple[str, str], out: Path, server: str):
    """The command line of ``runner`` on ``audio``, writing under ``out``."""
    ct2, pt = paths
    att = [sys.executable, "-m", "audiototext", str(audio), "--model", model, "--language", language]
    att += ["-f", "srt,txt,json", "--no_progress", "-o", str(out)]
    cli = ["whisper", str(audio), "--model", pt, "--device", "cpu", "--fp16", "False", "--output_format", "all"]
    cli += ["--output_dir", str(out), "--verbose", "False", "--language", language]
    fw = [sys.executable, "-c", FW_SRT, ct2, str(audio), language, str(out / audio.stem)]
    return {
        "att": att,
        "att-whisper": [*att, "--subtitle-style", "whisper"],
        "att-de": [*att, "--deepl_target", "de", "--deepl_server_url", server, "--deepl_api_key", FAKE_KEY],
        "whisper-cli": cli,
        "whisper-cli-42": [*cli, "--max_line_width", "42", "--max_line_count", "2", "--word_timestamps", "True"],
        "fw-vad-words": [*fw, "vad-words"],
        "fw-batched": [*fw, "batched"],
    }[runner]


@functools.cache
def content_hash(audio: Path) -> str:
    return hashlib.sha1(audio.read_bytes()).hexdigest()


def cache_key(runner: str, audio: Path, language: str, model: str) -> str:
    """A hash of the runner's options, the model and the file's name and content (not its place, so that
    another checkout can use the same cache)."""
    options = " ".join(command(runner, Path(audio.name), language, model, ("CT2", "PT"), Path("OUT"), "URL")[1:])
    text = f"{runner}|{options}|{audio.name}|{content_hash(audio)}|{model}"
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def subtitle_style_known() -> bool:
    """Whether this tree's CLI takes ``--subtitle-style`` (the att-whisper runner needs it)."""
    help_text = subprocess.run(
        [sys.executable, "-m", "audiototext", "--help"], capture_output=True, text=True, cwd=ROOT
    ).stdout
    return "subtitle-style" in help_text or "subtitle_style" in help_text


def srt_of(runner: str, out: Path, stem: str) -> Path | None:
    """The srt the runner wrote: the translated one for att-de (``<stem>_German.srt``)."""
    if runner in TRANSLATED:
        found = sorted(p for p in out.glob(f"{stem}_*.srt"))
        return found[0] if found else None
    path = out / f"{stem}.srt"
    return path if path.is_file() else None


def cache_dir(runner: str, rec, model: str, cache: Path) -> Path:
    return cache / runner / f"{rec.name}-{cache_key(runner, rec.audio, rec.language, model)}"


def is_cached(runner: str, rec, model: str, cache: Path) -> bool:
    """Whether a successful run of this reference runner on this recording is in the cache."""
    meta = cache_dir(runner, rec, model, cache) / "meta.json"
    return runner in CACHED and meta.is_file() and json.loads(meta.read_text(encoding="utf-8"))["status"] == 0


def run_one(runner: str, rec, model: str, paths, root: Path, *, cache: Path, fresh: bool, server: str) -> Output:
    """Run (or take from ``cache``) one runner on one recording; uncached runs write under ``root/runs``."""
    if runner in CACHED:
        out = cache_dir(runner, rec, model, cache)
        if not fresh and is_cached(runner, rec, model, cache):
            wall = json.loads((out / "meta.json").read_text(encoding="utf-8"))["wall_s"]
            return Output(runner, srt_of(runner, out, rec.audio.stem), wall, 0, True)
    else:
        out = root / "runs" / runner / rec.name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cmd = command(runner, rec.audio, rec.language, model, paths, out, server)
    wall, _, status = measure(cmd, out / "log.txt")
    srt = srt_of(runner, out, rec.audio.stem)
    if status == 0 and srt is None:
        status = -1
    error = None if status == 0 else last_line(out / "log.txt")
    info = dict(runner=runner, recording=rec.name, command=cmd, wall_s=round(wall, 1), status=status, error=error)
    (out / "meta.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    return Output(runner, srt, round(wall, 1), status, False, error)


def last_line(log: Path) -> str:
    lines = [x.strip() for x in log.read_text(errors="replace").splitlines() if x.strip()] if log.is_file() else []
    return lines[-1][:200] if lines else "no output"


# --- the DeepL stand-in -----------------------------------------------------------------------------

LONGER = 0.35
SUFFIX = "enheitlichkeiten"
_WORD = re.compile(r"\w+")


def lengthen(text: str, share: float = LONGER) -> str:
    """``text`` with every word lengthened so that the whole runs ``share`` longer (rounded), spaces kept.

    The extra characters are spread over the words in proportion to their length: deterministic,
    and a cue's translation grows with it, as a German translation of English does.
    """
    words = list(_WORD.finditer(text))
    total = sum(len(m.group()) for m in words)
    extra = round(share * len(text))
    if not words or not extra:
        return text
    out, cursor, done, seen = [], 0, 0, 0
    for m in words:
        seen += len(m.group())
        add = round(extra * seen / total) - done
        done += add
        out.append(text[cursor : m.end()] + (SUFFIX * (add // len(SUFFIX) + 1))[:add])
        cursor = m.end()
    return "".join(out) + text[cursor:]


def start_longer_deepl():
    """The fake DeepL of ``tests/fake_deepl.py`` (real HTTP, XML tags kept) translating by :func:`lengthen`.

    Returns the running server; ``server.state.url`` is its address; ``server.__exit__()`` stops it.
    """
    sys.path.insert(0, str(ROOT / "tests"))
    from fake_deepl import FakeDeepL, FakeDeepLServer

    class LongerDeepL(FakeDeepL):
        def translate_plain(self, text, source, target, entries):
            return lengthen(text)

    server = FakeDeepLServer(LongerDeepL(auth_key=FAKE_KEY))
    server.__enter__()
    return server

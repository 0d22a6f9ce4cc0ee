"""Regenerate examples/ from the current defaults: the examples a user reads are what the code writes today.

    python3 scripts/examples.py            # run every example again (the notebook, base model, offline)
    python3 scripts/examples.py --rewrite  # only write each format again from the kept .json (seconds)
    python3 scripts/examples.py --check    # list what is stale; what tests/test_examples.py checks

Each example keeps its result as ``.json`` beside the other formats; a translation's keeps what
times its cues (Whisper's: ``"task": "translate"``; DeepL's: its source under ``"reference"``), so
the files written from a ``.json`` are the ones the notebook wrote. The full run checks exactly
that, and fails if any differs. ``--rewrite`` writes every other format again with today's writers
(after a change of the subtitle layout) and the excerpts in the examples' README files (marked
``<!-- example: FILE -->`` before a code block).
The full run transcribes again: the Spanish clip by executing AudioToText.ipynb top to bottom with
nbclient (fake DeepL server from tests/fake_deepl.py, since no real key is at hand), kept executed
as examples/spanish-clip/AudioToText.ipynb; the others through the notebook's steps in Python.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("AUDIOTOTEXT_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from audiototext.saving import kept_from_json  # noqa: E402
from audiototext.formats import FORMATS, write  # noqa: E402

EXAMPLES = ROOT / "examples"
#: The executed notebook of the Spanish example: its lines as decoded, its files side by side.
EXECUTED = EXAMPLES / "spanish-clip" / "AudioToText.ipynb"
#: The notebook's fields for the Spanish example (the rest are the notebook's defaults).
SPANISH_FIELDS = {
    "audio_file": "clip_es.mp3",
    "use_model": "base",
    "output_formats": "txt,vtt,srt,json",
    "deepl_target_language": "English (British)",
}
#: A marked excerpt: its opening fence, the file's text, and the closing fence alone on its line.
_BLOCK = re.compile(r"(<!-- example: (?P<file>[^>]+?) -->\n```[^\n]*\n)(?P<body>.*?)(\n```)(?=\n|\Z)", re.S)


def expected_files(root: Path = ROOT) -> dict[Path, str]:
    """Every file the kept ``.json`` results make with today's writers: path -> text."""
    made = {}
    for kept in sorted((root / "examples").glob("*/*/*.json")):
        transcript, reference = kept_from_json(kept)
        for fmt in FORMATS:
            path = kept.with_suffix(f".{fmt}")
            if path.exists():  # the .json too: written again from what it holds, it is the same
                stream = io.StringIO()
                write(transcript, fmt, stream, reference=reference)
                made[path] = stream.getvalue()
    return made


def readme_blocks(root: Path = ROOT) -> dict[Path, str]:
    """Every example README with its marked excerpts set to the files they show: path -> text."""
    made = {}
    for readme in sorted((root / "examples").glob("*/README.md")):
        text = readme.read_text(encoding="utf-8")

        def excerpt(match: re.Match, folder: Path = readme.parent) -> str:
            shown = (folder / match["file"]).read_text(encoding="utf-8").rstrip("\n")
            return match[1] + shown + match[4]

        made[readme] = _BLOCK.sub(excerpt, text)
    return made


def stale(root: Path = ROOT) -> list[Path]:
    """The example files and README files that differ from what today's code makes of the kept results."""
    expected = {**expected_files(root)}
    found = [path for path, text in expected.items() if path.read_text(encoding="utf-8") != text]
    return found + [path for path, text in readme_blocks(root).items() if path.read_text(encoding="utf-8") != text]


def rewrite(root: Path = ROOT) -> list[Path]:
    """Write the formats, then the README excerpts, again; returns what changed."""
    changed = []
    for made in (expected_files, readme_blocks):  # the excerpts show the rewritten files
        for path, text in made(root).items():
            if path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                changed.append(path)
    return changed


def run_spanish_notebook() -> None:
    """AudioToText.ipynb on the Spanish clip, executed top to bottom; the executed copy is kept."""
    import nbclient
    import nbformat

    from fake_deepl import FakeDeepLServer
    from test_notebook import set_params

    folder = EXAMPLES / "spanish-clip"
    with tempfile.TemporaryDirectory() as work, FakeDeepLServer() as deepl:
        shutil.copy(folder / "clip_es.mp3", work)
        os.environ["DEEPL_SERVER_URL"] = deepl.url
        nb = nbformat.read(ROOT / "AudioToText.ipynb", as_version=4)
        set_params(nb, **SPANISH_FIELDS, deepl_api_key=deepl.auth_key)
        where = {"metadata": {"path": work}}
        client = nbclient.NotebookClient(nb, timeout=1800, kernel_name="python3", resources=where)
        client.execute()
        set_params(nb, deepl_api_key="")  # no key is kept in the example
        shutil.rmtree(folder / "audio_transcription", ignore_errors=True)
        shutil.copytree(Path(work) / "audio_transcription", folder / "audio_transcription")
        nbformat.write(nb, EXECUTED)


def run_steps() -> None:
    """The other examples through the notebook's steps in Python (run from each example's folder)."""
    from audiototext import notebook

    runs = [
        ("spanish-clip", "clip_es.mp3", {"task": "Translate to English", "language": "Spanish"}, "whisper_translation"),
        ("english-video", "video_en.mp4", {}, "audio_transcription"),
    ]
    for name, media, fields, output in runs:
        os.chdir(EXAMPLES / name)
        shutil.rmtree(output, ignore_errors=True)
        formats = "all" if name == "english-video" else "txt,vtt,srt,json"
        notebook.transcribe([media], use_model="base", output_dir=output, output_formats=formats, **fields)
    os.chdir(ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--rewrite", action="store_true", help="write the formats again from the kept .json only")
    mode.add_argument("--check", action="store_true", help="list stale files; exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        found = stale()
        for path in found:
            print(f"stale: {path.relative_to(ROOT)}")
        return 1 if found else 0
    if not args.rewrite:
        run_spanish_notebook()
        run_steps()
        differ = [p for p, text in expected_files().items() if p.read_text(encoding="utf-8") != text]
        for path in differ:  # what the notebook wrote must be what its .json gives back
            print(f"differs from what its .json gives: {path.relative_to(ROOT)}", file=sys.stderr)
        if differ:
            return 1
    for path in rewrite():
        print(f"Rewrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Each decoded window on disk as soon as it is done, so a killed run resumes where it stopped.

The directory lives next to the output (``<output_dir>/.audiototext/<stem>-<key>/``; the key
hashes everything a window's text depends on) and is removed once the output files are written.
Writes are atomic (temporary file, then rename): a ``kill -9`` leaves a whole file or none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from collections.abc import Sequence

from ..files import write_text
from ..transcript import Word
from ..engines.windows import WindowText
from .plan import Window

log = logging.getLogger(__name__)

CHECKPOINT_DIR = ".audiototext"


def checkpoint_key(
    fingerprint: str, *, engine: str, model: str, options, windows: Sequence[Window], batching: tuple
) -> str:
    """A hash of what a window's text depends on: audio, engine, model, options, plan, and how the
    windows are batched (batch size and workers; batch composition can move a float, and so a word)."""
    digest = hashlib.sha1(fingerprint.encode())
    plan = [[(p.start, p.end) for p in w.pieces] for w in windows]
    digest.update(repr((engine, model, options, plan, batching)).encode())
    return digest.hexdigest()[:16]


def _to_json(index: int, result: WindowText) -> str:
    return json.dumps(
        {
            "index": index,
            "text": result.text,
            "temperature": result.temperature,
            "silent": result.silent,
            "tokens": list(result.tokens),
            "words": [[w.start, w.end, w.word, w.probability] for w in result.words],
        },
        ensure_ascii=False,
    )


def _from_json(data: dict) -> tuple[int, WindowText]:
    words = tuple(Word(float(s), float(e), str(w), float(p)) for s, e, w, p in data["words"])
    return int(data["index"]), WindowText(
        str(data["text"]),
        words,
        float(data["temperature"]),
        bool(data["silent"]),
        tuple(int(t) for t in data["tokens"]),
    )


class Checkpoints:
    """Finished windows as ``window-00012.json`` files in one directory, plus a ``meta.json``."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def load(self) -> dict[int, WindowText]:
        done: dict[int, WindowText] = {}
        for path in sorted(self.directory.glob("window-*.json")):
            try:
                index, result = _from_json(json.loads(path.read_text(encoding="utf-8")))
                done[index] = result
            except (OSError, ValueError, KeyError, TypeError) as e:
                log.warning("Ignoring the unreadable checkpoint %s (%s)", path, e)
        return done

    def save(self, index: int, result: WindowText) -> None:
        write_text(self.directory / f"window-{index:05d}.json", _to_json(index, result))

    def get_meta(self, name: str) -> str | None:
        try:
            return json.loads((self.directory / "meta.json").read_text(encoding="utf-8")).get(name)
        except (OSError, ValueError):
            return None

    def set_meta(self, name: str, value: str) -> None:
        write_text(self.directory / "meta.json", json.dumps({name: value}))

    def remove(self) -> None:
        """Delete the checkpoints (and ``.audiototext/`` when no other input left any); never raises."""
        shutil.rmtree(self.directory, ignore_errors=True)
        try:
            self.directory.parent.rmdir()
        except OSError:
            pass


__all__ = ["CHECKPOINT_DIR", "Checkpoints", "checkpoint_key"]

"""Files written whole or not at all: a temporary sibling, then one rename.

Every file the library writes for later (subtitles, checkpoints, assembled and converted
weights) goes through :func:`atomic_path`, so a ``kill -9``, a full disk or a read-only folder
leaves either the complete file or none, and never a second error from the clean-up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from pathlib import Path
from collections.abc import Iterator

log = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """A hidden temporary path beside ``target`` to write; renamed onto ``target`` when the block ends
    without error, removed otherwise. Same folder, so the rename is atomic on one file system."""
    target = Path(target)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        try:
            temporary.unlink(missing_ok=True)
        except OSError as e:  # a read-only folder: nothing to remove, and no second error
            log.debug("Could not remove %s (%s)", temporary, e)


def write_text(target: Path | str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically, creating its folder."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as temporary, open(temporary, "x", encoding="utf-8") as f:
        f.write(text)


__all__ = ["atomic_path", "write_text"]

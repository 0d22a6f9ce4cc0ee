"""Files written whole or not at all: a temporary sibling, then one rename.

Every file the library writes for later (subtitles, checkpoints, assembled and converted
weights) goes through :func:`atomic_path`, so a ``kill -9``, a full disk or a read-only folder
leaves either the complete file or none, and never a second error from the clean-up.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import uuid
from pathlib import Path
from collections.abc import Iterator, Sequence

log = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """A hidden temporary path beside ``target`` to write; renamed onto ``target`` when the block ends
    without error, removed otherwise. Same folder, so the rename is atomic on one file system.

    A ``target`` that is a symbolic link is written through: the file it points to is replaced
    and the link stays a link (a user who links the output elsewhere keeps the link). A read-only
    ``target`` is refused, never replaced (:class:`PermissionError`): someone protected it.
    """
    with atomic_paths([target]) as (temporary,):
        yield temporary


@contextlib.contextmanager
def atomic_paths(targets: Sequence[Path | str]) -> Iterator[list[Path]]:
    """:func:`atomic_path` for a set of files: every temporary is written first, then all are
    renamed onto their targets, so a folder that fills up (renames take no room) or turns
    read-only while they are written changes none of the targets: all of the set or nothing.

    Raises:
        OSError: as the system gave it; when a rename itself failed (rare: the folder changed
            between two renames), ``replaced`` lists the targets already replaced.
    """
    reals = [_real(Path(target)) for target in targets]
    for target in reals:
        if target.exists() and not target.stat().st_mode & 0o222:
            raise PermissionError(errno.EACCES, "a read-only file, kept: make it writable or remove it", str(target))
    temporaries = [target.with_name(_temporary_name(target.name)) for target in reals]
    try:
        yield temporaries
        for done, (temporary, target) in enumerate(zip(temporaries, reals)):
            try:
                os.replace(temporary, target)
            except OSError as e:
                e.replaced = reals[:done]
                raise
    finally:
        for temporary in temporaries:
            try:
                temporary.unlink(missing_ok=True)
            except OSError as e:  # a read-only folder: nothing to remove, and no second error
                log.debug("Could not remove %s (%s)", temporary, e)


def _real(target: Path) -> Path:
    """The file a link points to (followed to the end), else ``target`` itself."""
    return Path(os.path.realpath(target)) if target.is_symlink() else target


def _temporary_name(name: str) -> str:
    """``.<name>.<random>.tmp``; for a name near the file system's limit, a hash of it instead."""
    tail = f".{uuid.uuid4().hex[:8]}.tmp"
    if len(os.fsencode(name)) + len(tail) + 1 > 255:
        name = hashlib.sha1(os.fsencode(name)).hexdigest()[:16]
    return f".{name}{tail}"


def write_text(target: Path | str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically, creating its folder."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as temporary, open(temporary, "x", encoding="utf-8") as f:
        f.write(text)


__all__ = ["atomic_path", "atomic_paths", "write_text"]

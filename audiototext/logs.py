"""Where the library's log lines go when a face shows them (issue 19, point 9).

The user's output keeps what the original AudioToText printed, plus progress and warnings: the
faces show INFO and up. Every line, DEBUG included (how the audio was packed into windows, which
package the offline weights came from, DeepL's full language list...), goes to the **debug log**:
``<cache>/debug.log`` (``~/.cache/audiototext/debug.log``; ``$AUDIOTOTEXT_CACHE`` moves it),
written afresh by each command-line run and by each notebook session.
"""

from __future__ import annotations

import logging
from pathlib import Path

#: The package's root logger: every module logs under it.
ROOT = "audiototext"
DEBUG_LOG = "debug.log"


class DebugLog(logging.FileHandler):
    """The debug log's handler (a class of its own, so a face can find the one it attached)."""


def debug_log_path() -> Path:
    """``<cache>/debug.log``."""
    from .models import cache_dir

    return cache_dir() / DEBUG_LOG


def attach_debug_log(logger: logging.Logger | None = None) -> DebugLog | None:
    """Write every line of ``logger`` (default: the package's), DEBUG and up, to :func:`debug_log_path`.

    The file is written afresh; the logger's level becomes DEBUG, so the faces' own handlers must
    set their level. Returns the handler (already attached), or None when the file cannot be
    written (the run goes on without it).
    """
    logger = logger or logging.getLogger(ROOT)
    path = debug_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = DebugLog(path, mode="w", encoding="utf-8")
    except OSError:
        return None
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return handler


__all__ = ["ROOT", "DEBUG_LOG", "DebugLog", "debug_log_path", "attach_debug_log"]

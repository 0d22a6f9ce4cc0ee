"""Where the library's log lines go when a face shows them: one handler for the CLI and the notebook.

The library only logs; a face calls :func:`show_logs` once and its lines are printed by one
:class:`LineHandler`, around any live progress bar. The user's output keeps what the original
AudioToText printed, plus progress and warnings: the faces show INFO and up. Every line, DEBUG
included (how the audio was packed into windows, which package the offline weights came from,
DeepL's full language list...), goes to the **debug log**: ``<cache>/debug.log``
(``~/.cache/audiototext/debug.log``; ``$AUDIOTOTEXT_CACHE`` moves it), written afresh by each
command-line run and by each notebook session, so a report of a problem can include it.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from collections.abc import Callable

#: The package's root logger: every module logs under it.
ROOT = "audiototext"
DEBUG_LOG = "debug.log"


class DebugLog(logging.FileHandler):
    """The debug log's handler (a class of its own, so a face can find the one it attached).

    Written in UTF-8 with ``backslashreplace``: a file name that is not UTF-8 (``caf\\xff.wav``, read
    by Python as ``caf\\udcff.wav``) is written as ``\\udcff`` instead of failing every line naming it.
    """

    def __init__(self, path: Path | str, mode: str = "w"):
        super().__init__(path, mode=mode, encoding="utf-8", errors="backslashreplace")


class LineHandler(logging.Handler):
    """The package's log lines as a face prints them: the message alone, written around any live
    progress bar (``tqdm.write``). With ``marks`` (the notebook), warnings start with ⚠️ and
    errors with ❌. A Ctrl-C landing while the line is written stays a KeyboardInterrupt.

    Args:
        stream: "stderr" (the CLI) or "stdout" (the notebook's cell), looked up when a line is
            written, so a replaced ``sys.stderr`` gets it.
    """

    MARKS = {logging.WARNING: "⚠️ ", logging.ERROR: "❌ ", logging.CRITICAL: "❌ "}

    def __init__(self, stream: str = "stderr", *, marks: bool = False, level: int = logging.INFO):
        super().__init__(level)
        self.stream, self.marks = stream, marks
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        from .events import write_line

        try:
            mark = self.MARKS.get(record.levelno, "") if self.marks else ""
            write_line(printable(mark + self.format(record)), file=getattr(sys, self.stream))
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``"1 entry"``, ``"2 entries"``: a number and its noun, in the singular for one."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def printable(text: str) -> str:
    """``text`` with what no stream can encode (the ``\\udcff`` of a file name that is not UTF-8)
    written as a backslash escape: a notebook's or a replaced stream may encode strictly."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def show_logs(
    level: int = logging.INFO, *, stream: str = "stderr", marks: bool = False, session: bool = False
) -> Callable[[], None]:
    """Print the package's lines at ``level`` and up with one :class:`LineHandler`; write every
    line, DEBUG included, to the debug log (:func:`attach_debug_log`).

    A command-line run (``session=False``) sets the package's logger for the run, the debug log
    written afresh, and gets back a function that restores the logger as it was. A notebook
    (``session=True``) sets it on its first step and keeps it, with the same debug log, for the
    session: later calls change nothing, and the function returned does nothing.
    """
    root = logging.getLogger(ROOT)
    if session:
        if not any(isinstance(h, LineHandler) for h in root.handlers):
            kept = [h for h in root.handlers if isinstance(h, DebugLog)]
            root.handlers[:] = [LineHandler(stream, marks=marks, level=level), *kept]
        root.propagate = False
        if not any(isinstance(h, DebugLog) for h in root.handlers) and attach_debug_log(root) is None:
            root.setLevel(level)
        return lambda: None
    saved = (root.handlers[:], root.level, root.propagate)
    root.handlers[:] = [LineHandler(stream, marks=marks, level=level)]
    root.setLevel(level)
    root.propagate = False
    debug_log = attach_debug_log(root)

    def restore() -> None:
        if debug_log is not None:
            debug_log.close()
        root.handlers[:], root.level, root.propagate = saved

    return restore


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
        handler = DebugLog(path, mode="w")
    except OSError:
        return None
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return handler


__all__ = [
    "ROOT",
    "DEBUG_LOG",
    "DebugLog",
    "LineHandler",
    "printable",
    "show_logs",
    "debug_log_path",
    "attach_debug_log",
]

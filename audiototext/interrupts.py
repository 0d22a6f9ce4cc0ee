"""SIGTERM handled like Ctrl-C, and what an interrupted process leaves behind.

``kill``, ``docker stop``, systemd and job schedulers stop a program with SIGTERM, whose default
action ends the process at once: worker processes, ffmpeg and the temporary decoded audio
(``audiototext-*.s16``, 115 MB per hour of media) were left behind. :func:`terminate_as_interrupt`
makes SIGTERM raise :class:`Terminated`, a ``KeyboardInterrupt``, so the code that cleans up after
Ctrl-C runs for it too. :func:`stop_children` ends what a thread that cannot be interrupted
(the service's workers) left running: the ffmpeg processes and temporary files registered here.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

#: The exit status after SIGTERM: 128 + 15, as a shell reports a process it ended.
SIGTERM_STATUS = 128 + signal.SIGTERM
#: The exit status after Ctrl-C (SIGINT).
SIGINT_STATUS = 128 + signal.SIGINT

_LOCK = threading.Lock()
_PROCESSES: set[subprocess.Popen] = set()
_FILES: set[Path] = set()


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: handled wherever Ctrl-C is."""


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread (elsewhere: no change)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(_signum, _frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def registered(process: subprocess.Popen | None = None, path: Path | None = None) -> Iterator[None]:
    """Keep ``process`` and ``path`` known to :func:`stop_children` while the block runs."""
    with _LOCK:
        if process is not None:
            _PROCESSES.add(process)
        if path is not None:
            _FILES.add(path)
    try:
        yield
    finally:
        with _LOCK:
            _PROCESSES.discard(process)
            _FILES.discard(path)


def keep(path: Path) -> None:
    """Register a temporary file until :func:`forget` (for files that outlive one block)."""
    with _LOCK:
        _FILES.add(path)


def forget(path: Path) -> None:
    with _LOCK:
        _FILES.discard(path)


def stop_children() -> int:
    """Kill the registered ffmpeg processes and remove the registered temporary files; never raises.

    Returns how many processes and files there were.
    """
    with _LOCK:
        processes, files = list(_PROCESSES), list(_FILES)
    for process in processes:
        with contextlib.suppress(OSError):
            process.kill()
    for process in processes:
        with contextlib.suppress(Exception):
            process.wait(timeout=5)
    for path in files:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
    if processes or files:
        log.info("Stopped %d ffmpeg process(es) and removed %d temporary file(s)", len(processes), len(files))
    return len(processes) + len(files)


__all__ = [
    "SIGINT_STATUS",
    "SIGTERM_STATUS",
    "Terminated",
    "forget",
    "keep",
    "registered",
    "stop_children",
    "terminate_as_interrupt",
]

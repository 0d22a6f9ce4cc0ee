"""One server per data dir: an exclusive ``flock`` on ``<data-dir>/.lock``, held for the server's life.

A second ``audiototext serve --data-dir D`` used to open the job store and resume the first one's
running jobs before it failed to bind its port; three such starts marked a healthy job failed.
The lock is taken before anything touches the job store, and the kernel drops it
when the process ends however it ends (``kill -9`` included), so a restart is never blocked by a
stale lock file.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..errors import AudioToTextError


class DataDirBusy(AudioToTextError):
    """Another server holds the data dir; ``pid`` is its process id when known."""


class DataDirLock:
    """``with DataDirLock(data_dir): ...``, or :meth:`acquire` and :meth:`release`.

    Raises:
        DataDirBusy: another process (or another lock in this one) holds ``data_dir``.
    """

    def __init__(self, data_dir: Path | str):
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / ".lock"
        self._fd: int | None = None

    def acquire(self) -> DataDirLock:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # os.open makes the descriptor non-inheritable: processes this server starts (a local Ray)
        # do not keep the lock after it has gone.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip()
            os.close(fd)
            who = f"process {holder}" if holder.isdigit() else "another process"
            raise DataDirBusy(
                f"{self.data_dir} is in use by another audiototext serve ({who}): stop it first, "
                "or give this server another --data-dir",
                data_dir=str(self.data_dir),
                pid=int(holder) if holder.isdigit() else None,
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __del__(self) -> None:  # an app dropped in a test lets go of its data dir
        self.release()

    def __enter__(self) -> DataDirLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


__all__ = ["DataDirLock", "DataDirBusy"]

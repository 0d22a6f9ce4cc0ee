"""The HTTP service's job store: one SQLite table of jobs, embedded, restart-safe.

The database lives at ``<data_dir>/jobs.sqlite3`` in WAL mode (readers never wait for the one
writer), with one connection per thread, as :mod:`sqlite3` requires. Nothing here knows about
HTTP or Whisper: :mod:`audiototext.service` decides what a job means, this module only
remembers it. A job that was queued or running when the process died is still queued or
running here, which is what lets the service resume it on the next start. One server at a time
opens a data dir's store: it holds the dir's lock (:mod:`audiototext.service.lock`) first.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STATUSES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
ACTIVE = (QUEUED, RUNNING)
FINISHED = (DONE, FAILED, CANCELLED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    call_id        TEXT PRIMARY KEY,
    slug           TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    source         TEXT NOT NULL,
    media_path     TEXT,
    params         TEXT NOT NULL DEFAULT '{}',
    total_segments INTEGER NOT NULL DEFAULT 0,
    done_segments  INTEGER NOT NULL DEFAULT 0,
    tasks          INTEGER NOT NULL DEFAULT 0,
    error          TEXT,
    http_status    INTEGER,
    attempts       INTEGER NOT NULL DEFAULT 0,
    created        REAL NOT NULL,
    updated        REAL NOT NULL,
    cancel_asked   INTEGER NOT NULL DEFAULT 0
);
-- At most one queued or running job per slug: the second POST for a slug gets the first's call_id.
CREATE UNIQUE INDEX IF NOT EXISTS one_active_job_per_slug ON jobs (slug) WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS jobs_by_slug ON jobs (slug, status);
CREATE TABLE IF NOT EXISTS lines (
    call_id TEXT NOT NULL,
    n       INTEGER NOT NULL,
    start   REAL NOT NULL,
    "end"   REAL NOT NULL,
    text    TEXT NOT NULL,
    PRIMARY KEY (call_id, n)
);
"""
#: The columns every version of the table has, in order (what a migration copies).
_COLUMNS = (
    "call_id, slug, status, source, media_path, params, total_segments, done_segments, tasks, error,"
    " http_status, attempts, created, updated"
)


@dataclass
class Job:
    """One transcription request as the store keeps it.

    Attributes:
        call_id: the id the client polls ``/api/status/{call_id}`` with.
        slug: the ``title_slug`` naming the result (``<slug>.srt``).
        status: "queued", "running", "done", "failed" or "cancelled".
        source: the URL, or ``upload:<file name>``.
        media_path: the downloaded or uploaded file the job transcribes.
        params: the request's transcription options, as given.
        total_segments, done_segments, tasks: progress, as the pipeline reports it.
        error: why a failed job failed (or how a cancelled one ended).
        http_status: the HTTP status the failed job's status answer carries.
        attempts: how many times a worker started the job (more than 1 after a restart).
        cancel_asked: a client asked to cancel the job while it ran; its worker stops it.
    """

    call_id: str
    slug: str
    status: str
    source: str
    media_path: str | None = None
    params: dict = field(default_factory=dict)
    total_segments: int = 0
    done_segments: int = 0
    tasks: int = 0
    error: str | None = None
    http_status: int | None = None
    attempts: int = 0
    created: float = 0.0
    updated: float = 0.0
    cancel_asked: bool = False

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> Job:
        data = dict(row)
        data["params"] = json.loads(data["params"] or "{}")
        data["cancel_asked"] = bool(data["cancel_asked"])
        return cls(**data)


class SlugBusy(Exception):
    """Another queued or running job already holds this slug (raised by :meth:`JobStore.create`)."""


class JobStore:
    """Jobs in ``<data_dir>/jobs.sqlite3``; safe to use from many threads.

    Args:
        path: the database file (created with its parent directory when missing).
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            _migrate(db)
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # isolation_level=None: autocommit; the few multi-statement changes use explicit BEGIN.
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def _one(self, sql: str, *args) -> Job | None:
        row = self._connect().execute(sql, args).fetchone()
        return Job._from_row(row) if row else None

    def create(
        self,
        slug: str,
        source: str,
        *,
        media_path: str | None = None,
        params: dict | None = None,
        total_segments: int = 0,
        tasks: int = 0,
        call_id: str | None = None,
    ) -> Job:
        """Add a queued job and return it.

        Raises:
            SlugBusy: a queued or running job for ``slug`` exists already.
        """
        now = time.time()
        job = Job(
            call_id or uuid.uuid4().hex,
            slug,
            QUEUED,
            source,
            media_path,
            dict(params or {}),
            total_segments,
            0,
            tasks,
            created=now,
            updated=now,
        )
        try:
            self._connect().execute(
                "INSERT INTO jobs (call_id, slug, status, source, media_path, params, total_segments,"
                " done_segments, tasks, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
                (
                    job.call_id,
                    slug,
                    QUEUED,
                    source,
                    media_path,
                    json.dumps(job.params),
                    total_segments,
                    tasks,
                    now,
                    now,
                ),
            )
        except sqlite3.IntegrityError as e:
            raise SlugBusy(slug) from e
        return job

    def get(self, call_id: str) -> Job | None:
        return self._one("SELECT * FROM jobs WHERE call_id = ?", call_id)

    def active_for_slug(self, slug: str) -> Job | None:
        """The queued or running job for ``slug``, if any."""
        return self._one("SELECT * FROM jobs WHERE slug = ? AND status IN ('queued', 'running')", slug)

    def done_for_slug(self, slug: str) -> Job | None:
        """The latest finished-without-error job for ``slug``, if any."""
        return self._one("SELECT * FROM jobs WHERE slug = ? AND status = 'done' ORDER BY updated DESC LIMIT 1", slug)

    def latest_for_slug(self, slug: str) -> Job | None:
        """The newest job of ``slug`` in any state, if any."""
        return self._one("SELECT * FROM jobs WHERE slug = ? ORDER BY created DESC LIMIT 1", slug)

    def recent(self, limit: int = 50) -> list[Job]:
        """The newest ``limit`` jobs, newest first (the web page's jobs list)."""
        rows = self._connect().execute("SELECT * FROM jobs ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        return [Job._from_row(r) for r in rows]

    def for_slug(self, slug: str) -> list[Job]:
        rows = self._connect().execute("SELECT * FROM jobs WHERE slug = ? ORDER BY created", (slug,)).fetchall()
        return [Job._from_row(r) for r in rows]

    def unfinished(self) -> list[Job]:
        """Queued and running jobs, oldest first: what a restarted service must resume."""
        rows = (
            self._connect()
            .execute("SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY created")
            .fetchall()
        )
        return [Job._from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self._connect().execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {status: 0 for status in STATUSES} | {row[0]: row[1] for row in rows}

    def start(self, call_id: str) -> Job | None:
        """Mark a queued (or interrupted running) job as running; None if it is gone or finished.

        Its lines are forgotten: a resumed run reports them all again.
        """
        db = self._connect()
        db.execute(
            "DELETE FROM lines WHERE call_id = ? AND EXISTS"
            " (SELECT 1 FROM jobs WHERE call_id = ? AND status IN ('queued', 'running'))",
            (call_id, call_id),
        )
        # A running job has a worker on it: tasks is at least 1 until the pipeline reports more.
        db.execute(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, tasks = MAX(tasks, 1), updated = ?"
            " WHERE call_id = ? AND status IN ('queued', 'running')",
            (time.time(), call_id),
        )
        job = self.get(call_id)
        return job if job and job.status == RUNNING else None

    def progress(self, call_id: str, *, total_segments: int, done_segments: int, tasks: int) -> None:
        """Record progress of a running job (ignored once the job is finished).

        ``done_segments`` never goes back (a late or repeated report cannot undo progress a client
        has seen) and never passes ``total_segments``.
        """
        self._connect().execute(
            "UPDATE jobs SET total_segments = ?, done_segments = MIN(MAX(done_segments, ?), ?), tasks = ?,"
            " updated = ? WHERE call_id = ? AND status = 'running'",
            (total_segments, done_segments, total_segments, tasks, time.time(), call_id),
        )

    def finish(self, call_id: str) -> None:
        """Mark a queued or running job done; its progress reads complete (a finished job stays as it is)."""
        db = self._connect()
        db.execute(
            "UPDATE jobs SET status = 'done', error = NULL, http_status = NULL,"
            " total_segments = MAX(total_segments, done_segments, 1),"
            " done_segments = MAX(total_segments, done_segments, 1),"
            " tasks = MAX(tasks, 1), updated = ? WHERE call_id = ? AND status IN ('queued', 'running')",
            (time.time(), call_id),
        )

    def fail(self, call_id: str, error: str, *, http_status: int = 500) -> None:
        """Mark a queued or running job failed with a message for the client."""
        self._connect().execute(
            "UPDATE jobs SET status = 'failed', error = ?, http_status = ?, updated = ?"
            " WHERE call_id = ? AND status IN ('queued', 'running')",
            (error, http_status, time.time(), call_id),
        )

    def cancel(self, call_id: str) -> Job | None:
        """Cancel a job: a queued one is cancelled at once; a running one is asked to stop
        (``cancel_asked``), which its worker does at its next window (:meth:`cancelled`).

        Returns the job as it is now (None: no such job); a finished job is left as it is.
        """
        db = self._connect()
        now = time.time()
        db.execute(
            "UPDATE jobs SET status = 'cancelled', error = 'cancelled before it started', updated = ?"
            " WHERE call_id = ? AND status = 'queued'",
            (now, call_id),
        )
        db.execute(
            "UPDATE jobs SET cancel_asked = 1, updated = ? WHERE call_id = ? AND status = 'running'", (now, call_id)
        )
        return self.get(call_id)

    def cancelled(self, call_id: str, message: str) -> None:
        """Mark a job whose worker stopped on a cancel request as cancelled."""
        self._connect().execute(
            "UPDATE jobs SET status = 'cancelled', error = ?, updated = ? WHERE call_id = ? AND status = 'running'",
            (message, time.time(), call_id),
        )

    def add_line(self, call_id: str, n: int, start: float, end: float, text: str) -> None:
        """Keep line ``n`` of a job as it is decoded (a repeated ``n`` replaces the earlier one)."""
        self._connect().execute(
            'INSERT OR REPLACE INTO lines (call_id, n, start, "end", text) VALUES (?, ?, ?, ?, ?)',
            (call_id, n, start, end, text),
        )

    def lines(self, call_id: str, start: int = 0) -> list[dict]:
        """A job's lines from number ``start`` on: ``{"start", "end", "text"}`` in time order."""
        rows = (
            self._connect()
            .execute('SELECT start, "end", text FROM lines WHERE call_id = ? AND n >= ? ORDER BY n', (call_id, start))
            .fetchall()
        )
        return [{"start": r[0], "end": r[1], "text": r[2]} for r in rows]

    def delete(self, call_id: str) -> None:
        db = self._connect()
        db.execute("DELETE FROM lines WHERE call_id = ?", (call_id,))
        db.execute("DELETE FROM jobs WHERE call_id = ?", (call_id,))

    def delete_slug(self, slug: str) -> int:
        """Forget every finished job of ``slug`` and their lines; returns how many jobs went."""
        db = self._connect()
        finished = "SELECT call_id FROM jobs WHERE slug = ? AND status IN ('done', 'failed', 'cancelled')"
        db.execute(f"DELETE FROM lines WHERE call_id IN ({finished})", (slug,))
        cursor = db.execute("DELETE FROM jobs WHERE slug = ? AND status IN ('done', 'failed', 'cancelled')", (slug,))
        return cursor.rowcount

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a jobs table made by an earlier version up to this schema (the ``cancelled`` state and
    ``cancel_asked``): SQLite cannot change a CHECK constraint in place, so the table is copied."""
    row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'jobs'").fetchone()
    if row is None or "'cancelled'" in row[0]:
        return
    log.info("Updating the job store to this version (jobs can now be cancelled)")
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("ALTER TABLE jobs RENAME TO jobs_before_cancel")
        db.execute("DROP INDEX IF EXISTS one_active_job_per_slug")
        db.execute("DROP INDEX IF EXISTS jobs_by_slug")
        for statement in _SCHEMA.split(";"):
            if "CREATE TABLE IF NOT EXISTS jobs" in statement:
                db.execute(statement)
        db.execute(f"INSERT INTO jobs ({_COLUMNS}) SELECT {_COLUMNS} FROM jobs_before_cancel")
        db.execute("DROP TABLE jobs_before_cancel")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


__all__ = [
    "Job",
    "JobStore",
    "SlugBusy",
    "QUEUED",
    "RUNNING",
    "DONE",
    "FAILED",
    "CANCELLED",
    "ACTIVE",
    "FINISHED",
    "STATUSES",
]

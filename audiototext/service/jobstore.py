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

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATUSES = (QUEUED, RUNNING, DONE, FAILED)
ACTIVE = (QUEUED, RUNNING)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    call_id        TEXT PRIMARY KEY,
    slug           TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
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
    updated        REAL NOT NULL
);
-- At most one queued or running job per slug: the second POST for a slug gets the first's call_id.
CREATE UNIQUE INDEX IF NOT EXISTS one_active_job_per_slug ON jobs (slug) WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS jobs_by_slug ON jobs (slug, status);
"""


@dataclass
class Job:
    """One transcription request as the store keeps it.

    Attributes:
        call_id: the id the client polls ``/api/status/{call_id}`` with.
        slug: the ``title_slug`` naming the result (``<slug>.srt``).
        status: "queued", "running", "done" or "failed".
        source: the URL, or ``upload:<file name>``.
        media_path: the downloaded or uploaded file the job transcribes.
        params: the request's transcription options, as given.
        total_segments, done_segments, tasks: progress, as the pipeline reports it.
        error: why a failed job failed.
        http_status: the HTTP status the failed job's status answer carries.
        attempts: how many times a worker started the job (more than 1 after a restart).
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

    @property
    def finished(self) -> bool:
        return self.status in (DONE, FAILED)

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> Job:
        data = dict(row)
        data["params"] = json.loads(data["params"] or "{}")
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

    def _update(self, call_id: str, **values) -> None:
        values["updated"] = time.time()
        columns = ", ".join(f"{name} = ?" for name in values)
        self._connect().execute(f"UPDATE jobs SET {columns} WHERE call_id = ?", (*values.values(), call_id))

    def start(self, call_id: str) -> Job | None:
        """Mark a queued (or interrupted running) job as running; None if it is gone or finished."""
        db = self._connect()
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
        """Mark a job done; its progress reads complete."""
        db = self._connect()
        db.execute(
            "UPDATE jobs SET status = 'done', error = NULL, http_status = NULL,"
            " total_segments = MAX(total_segments, done_segments, 1),"
            " done_segments = MAX(total_segments, done_segments, 1),"
            " tasks = MAX(tasks, 1), updated = ? WHERE call_id = ?",
            (time.time(), call_id),
        )

    def fail(self, call_id: str, error: str, *, http_status: int = 500) -> None:
        """Mark a job failed with a message for the client."""
        self._update(call_id, status=FAILED, error=error, http_status=http_status)

    def delete(self, call_id: str) -> None:
        self._connect().execute("DELETE FROM jobs WHERE call_id = ?", (call_id,))

    def delete_slug(self, slug: str) -> int:
        """Forget every finished job of ``slug``; returns how many rows went."""
        cursor = self._connect().execute("DELETE FROM jobs WHERE slug = ? AND status IN ('done', 'failed')", (slug,))
        return cursor.rowcount

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


__all__ = ["Job", "JobStore", "SlugBusy", "QUEUED", "RUNNING", "DONE", "FAILED", "ACTIVE", "STATUSES"]

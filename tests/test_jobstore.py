"""The service's SQLite job store: states, the one-active-job-per-slug rule, surviving a reopen."""

from __future__ import annotations

import threading

import pytest

from audiototext.service.jobstore import CANCELLED, DONE, FAILED, QUEUED, RUNNING, JobStore, SlugBusy


@pytest.fixture()
def store(tmp_path):
    return JobStore(tmp_path / "jobs.sqlite3")


def test_lifecycle_and_progress(store):
    job = store.create(
        "talk", "http://x/a.wav", media_path="/m/a.wav", params={"task": "transcribe"}, total_segments=3, tasks=3
    )
    assert (job.status, job.finished, job.params) == (QUEUED, False, {"task": "transcribe"})
    running = store.start(job.call_id)
    assert (running.status, running.attempts, running.tasks) == (RUNNING, 1, 3)
    store.progress(job.call_id, total_segments=4, done_segments=2, tasks=4)
    got = store.get(job.call_id)
    assert (got.total_segments, got.done_segments, got.tasks) == (4, 2, 4)
    store.finish(job.call_id)
    done = store.get(job.call_id)
    assert (done.status, done.finished, done.done_segments, done.total_segments) == (DONE, True, 4, 4)
    store.progress(job.call_id, total_segments=9, done_segments=0, tasks=9)  # late report: ignored
    assert store.get(job.call_id).done_segments == 4
    assert store.start(job.call_id) is None  # a finished job never runs again
    assert store.done_for_slug("talk").call_id == job.call_id


def test_one_active_job_per_slug(store):
    first = store.create("talk", "a")
    with pytest.raises(SlugBusy):
        store.create("talk", "b")
    assert store.active_for_slug("talk").call_id == first.call_id
    store.fail(first.call_id, "not media", http_status=422)
    failed = store.get(first.call_id)
    assert (failed.status, failed.error, failed.http_status) == (FAILED, "not media", 422)
    second = store.create("talk", "b")  # a failed job frees the slug
    assert store.active_for_slug("talk").call_id == second.call_id


def test_unfinished_jobs_survive_a_reopen(tmp_path):
    path = tmp_path / "jobs.sqlite3"
    store = JobStore(path)
    a, b, c = (store.create(slug, "src") for slug in ("a", "b", "c"))
    store.start(b.call_id)
    store.start(c.call_id)
    store.finish(c.call_id)
    store.close()
    reopened = JobStore(path)
    assert [j.call_id for j in reopened.unfinished()] == [a.call_id, b.call_id]
    assert reopened.start(b.call_id).attempts == 2
    assert reopened.counts() == {QUEUED: 1, RUNNING: 1, DONE: 1, FAILED: 0, CANCELLED: 0}


def test_delete_slug_keeps_active_jobs(store):
    old = store.create("talk", "a")
    store.start(old.call_id)
    store.finish(old.call_id)
    new = store.create("talk", "b")
    assert store.delete_slug("talk") == 1
    assert store.get(old.call_id) is None and store.get(new.call_id) is not None


def test_many_threads_write_at_once(store):
    jobs = [store.create(f"s{i}", "src") for i in range(20)]

    def work(call_id):
        store.start(call_id)
        for n in range(10):
            store.progress(call_id, total_segments=10, done_segments=n, tasks=10)
        store.finish(call_id)

    threads = [threading.Thread(target=work, args=(j.call_id,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.counts()[DONE] == 20


def test_progress_never_goes_back(store):
    """A late or repeated report (a re-sent batch, a resumed run) cannot undo progress seen."""
    job = store.create("talk", "src", total_segments=3)
    store.start(job.call_id)
    store.progress(job.call_id, total_segments=6, done_segments=4, tasks=2)
    store.progress(job.call_id, total_segments=6, done_segments=2, tasks=1)  # late
    got = store.get(job.call_id)
    assert (got.total_segments, got.done_segments, got.tasks) == (6, 4, 1)
    store.progress(job.call_id, total_segments=3, done_segments=1, tasks=1)  # the plan shrank
    assert store.get(job.call_id).done_segments == 3  # never more than the total


def test_cancel_a_queued_or_a_running_job(store):
    queued, running, done = (store.create(slug, "src") for slug in ("q", "r", "d"))
    assert store.cancel(queued.call_id).status == CANCELLED  # at once: no worker has it
    assert store.start(queued.call_id) is None  # and no worker ever will
    store.start(running.call_id)
    asked = store.cancel(running.call_id)
    assert (asked.status, asked.cancel_asked, asked.finished) == (RUNNING, True, False)  # its worker stops it
    store.cancelled(running.call_id, "cancelled by a client after 1 of 3 windows")
    store.finish(running.call_id)  # a late finish or failure does not undo a cancel
    store.fail(running.call_id, "late")
    got = store.get(running.call_id)
    assert (got.status, got.error, got.finished) == (CANCELLED, "cancelled by a client after 1 of 3 windows", True)
    store.start(done.call_id)
    store.finish(done.call_id)
    assert store.cancel(done.call_id).status == DONE  # a finished job stays as it is
    assert store.cancel("no-such-job") is None
    assert store.create("q", "again").status == QUEUED  # a cancelled job frees its slug
    assert store.delete_slug("r") == 1 and store.get(running.call_id) is None


def test_lines_are_kept_per_job_and_restart_with_the_job(store):
    job, other = store.create("talk", "src"), store.create("other", "src")
    store.start(job.call_id)
    for n, text in enumerate(["one", "two", "three"]):
        store.add_line(job.call_id, n, n * 2.0, n * 2.0 + 1.5, text)
    store.add_line(other.call_id, 0, 0.0, 1.0, "elsewhere")
    assert [line["text"] for line in store.lines(job.call_id)] == ["one", "two", "three"]
    assert store.lines(job.call_id, 2) == [{"start": 4.0, "end": 5.5, "text": "three"}]
    store.start(job.call_id)  # a resumed run reports its lines again: the old ones go
    assert store.lines(job.call_id) == [] and len(store.lines(other.call_id)) == 1
    store.add_line(job.call_id, 0, 0.0, 1.0, "one")
    store.finish(job.call_id)
    assert store.start(job.call_id) is None and len(store.lines(job.call_id)) == 1  # a finished job keeps them
    store.delete_slug("talk")
    assert store.lines(job.call_id) == []


def test_recent_and_latest(store):
    first, second = store.create("a", "src"), store.create("b", "src")
    store.fail(first.call_id, "bad", http_status=422)
    third = store.create("a", "src")
    assert [j.call_id for j in store.recent()] == [third.call_id, second.call_id, first.call_id]
    assert [j.call_id for j in store.recent(1)] == [third.call_id]
    assert store.latest_for_slug("a").call_id == third.call_id and store.latest_for_slug("zzz") is None


#: The table as the service made it before jobs could be cancelled.
OLD_SCHEMA = """
CREATE TABLE jobs (
    call_id TEXT PRIMARY KEY, slug TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    source TEXT NOT NULL, media_path TEXT, params TEXT NOT NULL DEFAULT '{}',
    total_segments INTEGER NOT NULL DEFAULT 0, done_segments INTEGER NOT NULL DEFAULT 0,
    tasks INTEGER NOT NULL DEFAULT 0, error TEXT, http_status INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL, updated REAL NOT NULL
);
CREATE UNIQUE INDEX one_active_job_per_slug ON jobs (slug) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_by_slug ON jobs (slug, status);
INSERT INTO jobs (call_id, slug, status, source, params, created, updated)
    VALUES ('old-done', 'talk', 'done', 'upload:talk.wav', '{"task": "transcribe"}', 1, 1);
INSERT INTO jobs (call_id, slug, status, source, params, attempts, created, updated)
    VALUES ('old-running', 'lecture', 'running', 'http://x/l.mp3', '{}', 1, 2, 2);
"""


def test_a_store_of_the_previous_version_is_migrated(tmp_path):
    import sqlite3

    path = tmp_path / "jobs.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    store = JobStore(path)
    done, running = store.get("old-done"), store.get("old-running")
    assert (done.status, done.params, done.cancel_asked) == (DONE, {"task": "transcribe"}, False)
    assert (running.status, running.attempts) == (RUNNING, 1)
    assert [j.call_id for j in store.unfinished()] == ["old-running"]
    assert store.cancel("old-running").cancel_asked
    store.cancelled("old-running", "cancelled")
    assert store.get("old-running").status == CANCELLED  # the new state passes the new CHECK
    store.create("x", "src")
    with pytest.raises(SlugBusy):  # the one-active-job index came back
        store.create("x", "src")
    store.close()
    assert JobStore(path).get("old-done").status == DONE  # opening it again changes nothing

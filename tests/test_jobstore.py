"""The service's SQLite job store: states, the one-active-job-per-slug rule, surviving a reopen."""

from __future__ import annotations

import threading

import pytest

from audiototext.service.jobstore import DONE, FAILED, QUEUED, RUNNING, JobStore, SlugBusy


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
    assert reopened.counts() == {QUEUED: 1, RUNNING: 1, DONE: 1, FAILED: 0}


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
    """Issue 10: a late or repeated report (a re-sent batch, a resumed run) cannot undo progress seen."""
    job = store.create("talk", "src", total_segments=3)
    store.start(job.call_id)
    store.progress(job.call_id, total_segments=6, done_segments=4, tasks=2)
    store.progress(job.call_id, total_segments=6, done_segments=2, tasks=1)  # late
    got = store.get(job.call_id)
    assert (got.total_segments, got.done_segments, got.tasks) == (6, 4, 1)
    store.progress(job.call_id, total_segments=3, done_segments=1, tasks=1)  # the plan shrank
    assert store.get(job.call_id).done_segments == 3  # never more than the total

"""A server killed mid-job resumes on restart; a second server on the same data dir touches no job.

Both on a ~75 s espeak-ng clip decoded window by window (``--batch-size 1``: every window is
checkpointed as soon as it is decoded): the kill on the fake engine taking a second per window
(``python -m fake_engine serve``, tests/fake_engine.py); the second servers with the bundled base
model, whose job outlasts three server starts without a fake told to sleep through them.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import time

import pytest
from conftest import ENGLISH_TEXT, speak
from fake_engine import PACE, heard
from test_service_support import Server, serve_folder, words

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """A short clip and ~75 s of speech (long enough to be caught mid-job), served on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("served")
    speak("I would like a cup of coffee.", "en-us", folder / "coffee.wav")
    speak(" ".join([ENGLISH_TEXT] * 6), "en-us", folder / "long.wav", speed=170)
    base, http = serve_folder(folder)
    yield base
    http.shutdown()


def attempts(data_dir, call_id: str) -> int:
    """How many times a server started the job, read without writing to the live store."""
    with sqlite3.connect(f"file:{data_dir / 'jobs.sqlite3'}?mode=ro", uri=True, timeout=30) as db:
        return db.execute("SELECT attempts FROM jobs WHERE call_id = ?", (call_id,)).fetchone()[0]


@pytest.mark.slow  # seconds of real processes: the full suite's, not the fast tier's
def test_kill_9_and_restart_resumes(tmp_path, media):
    data = tmp_path / "data"
    server = Server(data, "--engine", "faster-whisper", "--batch-size", "1", env={PACE: "1"}, fake=True).start()
    try:
        short = server.submit("short-one", f"{media}/coffee.wav")
        server.wait(short)
        short_files = {p.name: p.stat().st_mtime_ns for p in (data / "audio" / "short-one").iterdir()}

        long_id = server.submit("long-one", f"{media}/long.wav", language="en")
        body = server.wait_until(long_id, lambda b: b["finished"] or b["done_segments"] > 0, what="progress")
        assert not body["finished"], "the job finished before it could be interrupted"
        server.kill9()

        server.env[PACE] = "0"
        server.start()  # same port, same data dir: the lock died with the killed process
        final = server.wait(long_id)
        assert final["status"] == "done" and final["done_segments"] == final["total_segments"] >= 2
        log = server.log_text(tail=None)
        assert "Resuming 1 unfinished job" in log
        # The windows decoded before the kill were not decoded again.
        assert re.search(r"Resuming: [1-9]\d* windows? already transcribed", log), log
        assert not list((data / "audio" / "long-one" / ".audiototext").glob("*/window-*"))  # cleaned up
        # The finished job was neither redone nor lost.
        assert server.status(short)["status"] == "done"
        assert {p.name: p.stat().st_mtime_ns for p in (data / "audio" / "short-one").iterdir()} == short_files
        assert server.submit("short-one", f"{media}/coffee.wav") == short
        # The resumed job wrote what one run of its own writes.
        again = server.submit("long-again", f"{media}/long.wav", language="en")
        assert server.wait(again)["status"] == "done"
        assert heard(server.text("long-one")) and server.text("long-one") == server.text("long-again")
    finally:
        server.stop()


@pytest.mark.slow
def test_second_server_on_the_data_dir_exits_touching_no_job(tmp_path, media):
    """A second ``serve`` on a live data dir used to resume its running jobs before failing to
    bind; three such starts marked a healthy job failed. Now it exits at once and the job goes on."""
    data = tmp_path / "data"
    first = Server(data, "--engine", "faster-whisper", "--batch-size", "1").start()
    try:
        call_id = first.submit("long-one", f"{media}/long.wav", language="en")
        first.wait_until(call_id, lambda b: b["finished"] or b["status"] == "running", what="running")
        # Same port and another port, three times: the old bug's "three starts".
        for other in (Server(data, port=first.port), Server(data), Server(data, port=first.port)):
            started = time.monotonic()
            try:
                code = other.launch().wait(120)
            except subprocess.TimeoutExpired:
                other.stop()
                pytest.fail(f"the second server did not exit:\n{other.log_text()}")
            log = other.log_text(tail=None)
            assert code == 1, log
            assert f"is in use by another audiototext serve (process {first.proc.pid})" in log
            assert "Resuming" not in log and "Uvicorn running" not in log
            assert time.monotonic() - started < 120
            body = first.status(call_id)
            assert body["status"] == "running", "the job finished before the second servers could be tried"
            assert attempts(data, call_id) == 1  # no other server started it
        final = first.wait(call_id)
        assert final["status"] == "done", final
        assert words(first.text("long-one")).count("newspaper") >= 4
        assert "Resuming" not in first.log_text(tail=None)
        assert first.proc.poll() is None  # the first server is alive and well
    finally:
        first.stop()

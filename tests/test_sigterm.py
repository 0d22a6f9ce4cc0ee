"""SIGTERM handled like Ctrl-C: the CLI, ``--parallel processes`` and the
service stop their workers and ffmpeg, remove their temporary decoded audio, and say what is kept.
Real subprocesses, real signals, on the fake engine at a second per window (tests/fake_engine.py, as
``python -m fake_engine``: the signal comes mid-run); the temporary folder is one of the test's, to
see what is left."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_engine import PACE


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _wait_gone(pids: list[int], seconds: float = 10.0) -> list[int]:
    """The processes of ``pids`` still alive after ``seconds`` (a grace for exiting ones, not a speed test)."""
    deadline = time.monotonic() + seconds
    while (left := [p for p in pids if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _wait_for(path: Path, predicate, seconds: float = 300.0) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace") if path.exists() else ""
        if predicate(text):
            return text
        time.sleep(0.1)
    pytest.fail(f"never happened in {seconds} s:\n{path.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def longer_speech(long_speech, media_dir) -> Path:
    """The long speech four times (about 5 minutes): many windows, still running when the signal comes."""
    from conftest import ffmpeg

    path = media_dir / "longer-speech.wav"
    ffmpeg("-stream_loop", "3", "-i", str(long_speech[0]), "-c", "copy", str(path))
    return path


@pytest.mark.parametrize("mode", [pytest.param("processes", marks=pytest.mark.slow), "batched"])
def test_sigterm_stops_the_cli_like_ctrl_c(longer_speech, tmp_path, mode):
    path = longer_speech
    temp, out, log = tmp_path / "tmp", tmp_path / "out", tmp_path / "log.txt"
    temp.mkdir()
    env = {**os.environ, "AUDIOTOTEXT_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", PACE: "1"}
    env["TMPDIR"] = str(temp)
    argv = ["--engine", "faster-whisper", "--model", "tiny.en", "--parallel", mode, "--batch-size", "1"]
    argv += ["--workers", "2", "-o", str(out), "--no-progress"]
    command = [sys.executable, "-m", "fake_engine", str(path), *argv]
    with open(log, "w") as sink:  # a file, not a pipe: orphaned workers kept a pipe open forever
        cli = subprocess.Popen(command, env=env, stdout=sink, stderr=sink)
    try:
        _wait_for(log, lambda text: "\n[" in text or text.startswith("["))  # a first line: work under way
        assert list(temp.glob("audiototext-*.s16")), "the decoded audio is where the test looks"
        below = _descendants(cli.pid)
        if mode == "processes":
            assert below, "the worker processes run"
        cli.send_signal(signal.SIGTERM)
        status = cli.wait(120)
    finally:
        if cli.poll() is None:
            cli.kill()
    said = log.read_text(errors="replace")
    assert status == 143, said
    assert [line for line in said.splitlines() if line.startswith("Interrupted: the files already written are kept")]
    assert not _wait_gone(below), f"processes left running: {below}"
    assert not list(temp.glob("audiototext-*")), "temporary files left"


@pytest.mark.slow  # seconds of real processes: the full suite's, not the fast tier's
def test_sigterm_stops_the_service_and_its_jobs_resume(tmp_path, longer_speech):
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from test_service_support import Server

    path = longer_speech
    temp, data = tmp_path / "tmp", tmp_path / "data"
    temp.mkdir()
    env = {"TMPDIR": str(temp), PACE: "1"}
    server = Server(data, "--engine", "faster-whisper", "--batch-size", "1", env=env, fake=True).start()
    try:
        call_id = server.upload("long-one", path, model="tiny.en", language="en")
        server.wait_until(call_id, lambda b: b["finished"] or b["done_segments"] > 0, what="progress")
        assert list(temp.glob("audiototext-*.s16")), "the decoded audio is where the test looks"
        below = _descendants(server.proc.pid)
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(120) == 143, server.log_text()  # as the CLI: 128 + 15, after a clean stop
        assert not _wait_gone(below), f"processes left running: {below}"
        assert not list(temp.glob("audiototext-*")), "temporary files left"
        log = server.log_text(tail=None)
        assert "Stopping: jobs still running resume on the next start" in log
        assert "Stopped (SIGTERM): exit status 143" in log
        assert "cancelled by a client" not in log and "the server is stopping (SIGTERM or Ctrl-C)" in log
        with sqlite3.connect(f"file:{data / 'jobs.sqlite3'}?mode=ro", uri=True) as db:
            (status,) = db.execute("SELECT status FROM jobs WHERE call_id = ?", (call_id,)).fetchone()
        assert status in ("queued", "running"), status  # not failed: it resumes
        server.env[PACE] = "0"
        server.start()
        assert server.wait(call_id)["status"] == "done"
    finally:
        server.stop()

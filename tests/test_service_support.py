"""Helpers of the slow service tests (no tests here): a real ``audiototext serve`` subprocess, a
local media server, and the status checks every poll makes.

Waits are event-based with long deadlines (the suite must pass on a loaded machine):
they poll until a state is reached and only fail after minutes, never after a fixed sleep.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from collections.abc import Callable

import pytest

httpx = pytest.importorskip("httpx")

#: Fast decoding for the test clips: greedy.
FAST = {"engine": "faster-whisper", "beam_size": 1}
#: Query parameters the service refuses with 400, and a piece of its message: checked through a real
#: server (test_service.py) and, with more cases, in process (test_service_unit.py).
BAD_OPTIONS = [
    ({}, "either as src_url"),
    ({"model": "/root/secret.pt"}, "Unknown model"),
    ({"language": "Klingon"}, "Unknown language"),
    ({"output_formats": "docx"}, "Unknown output format"),
    ({"task": "summarize"}, "Unknown task"),
]
#: Deadlines, generous: a loaded machine is slow, a passing test does not wait for them.
START_TIMEOUT = 300.0
JOB_TIMEOUT = 900.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def words(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalpha() or c == " ")


class MediaHandler(SimpleHTTPRequestHandler):
    """Files of a folder; ``/slow/...`` stalls far longer than any ``--download-timeout`` of the tests."""

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self):
        if self.path.startswith("/slow"):
            time.sleep(30)
        return super().do_GET()


def serve_folder(folder: Path) -> tuple[str, ThreadingHTTPServer]:
    """``folder`` over HTTP on 127.0.0.1 in a thread; returns (base URL, server)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(MediaHandler, directory=str(folder)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def check_status_shape(body: dict) -> None:
    assert isinstance(body["finished"], bool)
    for key in ("total_segments", "done_segments", "tasks"):
        assert isinstance(body[key], int) and body[key] >= 0, body
    assert body["done_segments"] <= body["total_segments"], body
    if body["finished"] and "error" not in body:
        assert body["done_segments"] == body["total_segments"] >= 1, body
    if not body["finished"]:
        assert body["status"] in ("queued", "running") and "error" not in body


class Server:
    """``python -m audiototext serve`` as a subprocess on a free port, its stdout and stderr in two
    files; with ``fake``, ``python -m fake_engine serve``: the same service on the fake engine."""

    def __init__(
        self,
        data_dir: Path,
        *args: str,
        token: str | None = None,
        env: dict | None = None,
        port: int | None = None,
        preexec: Callable[[], None] | None = None,
        fake: bool = False,
    ):
        self.data_dir, self.args, self.token, self.env, self.preexec = data_dir, args, token, env or {}, preexec
        self.fake = fake  # the fake engine stands in for the local engines (tests/fake_engine.py)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"{data_dir.name}-{self.port}-server.log"
        self.out = data_dir.parent / f"{data_dir.name}-{self.port}-server.out"
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "fake_engine" if self.fake else "audiototext",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *self.args,
        ]

    def environment(self) -> dict:
        # The media servers of the tests are on 127.0.0.1: a trusted deployment's opt-in.
        env = {**os.environ, "AUDIOTOTEXT_OFFLINE": "1", "AUDIOTOTEXT_ALLOW_PRIVATE_URLS": "1", **self.env}
        env.pop("AUDIOTOTEXT_TOKEN", None)
        if self.token:
            env["AUDIOTOTEXT_TOKEN"] = self.token
        return env

    def launch(self) -> subprocess.Popen:
        with open(self.log, "a") as err, open(self.out, "a") as out:
            self.proc = subprocess.Popen(
                self.command(), stdout=out, stderr=err, env=self.environment(), preexec_fn=self.preexec
            )
        return self.proc

    def start(self, timeout: float = START_TIMEOUT) -> Server:
        self.launch()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                if httpx.get(self.url + "/openapi.json", timeout=5).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"server did not start in {timeout} s:\n{self.log_text()}")

    def log_text(self, tail: int | None = 5000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text[-tail:] if tail else text

    def stdout_text(self) -> str:
        return self.out.read_text(errors="replace") if self.out.exists() else ""

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(60)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return httpx.request(method, self.url + path, headers=headers, timeout=120, **kwargs)

    def submit(self, slug: str, src_url: str | None = None, *, fast: bool = True, **params) -> str:
        query = {"title_slug": slug, **(FAST if fast else {}), **params}
        if src_url is not None:
            query["src_url"] = src_url
        response = self.request("POST", "/api/transcribe", params=query)
        assert response.status_code == 200, response.text
        return response.json()["call_id"]

    def upload(self, slug: str, path: Path, **params) -> str:
        with open(path, "rb") as f:
            response = self.request(
                "POST",
                "/api/transcribe",
                params={"title_slug": slug, **params},
                files={"file": (path.name, f, "audio/wav")},
            )
        assert response.status_code == 200, response.text
        return response.json()["call_id"]

    def status(self, call_id: str) -> dict:
        response = self.request("GET", f"/api/status/{call_id}")
        body = response.json()
        check_status_shape(body)
        assert response.status_code == (200 if "error" not in body else response.status_code)
        return body

    def wait_until(
        self, call_id: str, done: Callable[[dict], bool], timeout: float = JOB_TIMEOUT, what: str = "the expected state"
    ) -> dict:
        """Poll the status until ``done(body)``; every answer is checked, progress never goes back."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            body = self.status(call_id)
            if last is not None:
                assert body["done_segments"] >= last["done_segments"] or body["status"] == "failed", (last, body)
                assert not last["finished"] or body["finished"], "a finished job went back to unfinished"
            last = body
            if done(body):
                return body
            time.sleep(0.2)
        pytest.fail(f"job {call_id} did not reach {what} in {timeout} s (last {last}):\n{self.log_text()}")

    def wait(self, call_id: str, timeout: float = JOB_TIMEOUT) -> dict:
        """Poll until finished."""
        return self.wait_until(call_id, lambda body: body["finished"], timeout, "finished")

    def text(self, slug: str) -> str:
        return " ".join(s["text"] for s in self.request("GET", f"/api/audio/{slug}").json()["segments"])

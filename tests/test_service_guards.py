"""What the service refuses and says, in process and as a started server: links to private addresses
(and redirects to them) unless the server opts in, the API docs served without a CDN, a start that
would fail every job (bad device, unwritable cache, a DeepL URL without a scheme), the words of a
DeepL key fault and of a missing media, a model download in a job's status, and the stop words.

TestClient without its lifespan (no worker); real HTTP servers on 127.0.0.1 for the redirects; real
``audiototext serve`` subprocesses for the refused starts (they exit before binding a port).
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from test_service_web import client, finished_job, make_app  # noqa: F401 - the fixture and helpers

from audiototext.errors import MediaError, OptionsError, TranslationError
from audiototext.events import Download
from audiototext.service import JobRunner, JobStore, Settings, progress_callbacks
from audiototext.service.checks import public_message
from audiototext.service.cli import build_parser, settings_from_args
from audiototext.service.fetching import check_public, fetch_url, private_address
from audiototext.service.runner import SERVER_STOPPING, JobCancelled
from audiototext.transcript import Segment

# --- links to private addresses -------------------------------------------------------------------


@pytest.mark.parametrize(
    "host, kind",
    [
        ("127.0.0.1", "loopback"),
        ("localhost", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.7", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # a cloud's metadata service
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not a public address"),  # shared address space
    ],
)
def test_private_addresses_are_named(host, kind):
    assert kind in private_address(host)


@pytest.mark.parametrize("host", ["8.8.8.8", "2606:4700:4700::1111", "no-such-host.invalid"])
def test_public_or_unresolvable_hosts_pass(host):
    assert private_address(host) is None  # an unresolvable one fails at the download, saying so


def test_a_link_to_this_server_is_refused_unless_allowed(client):  # noqa: F811
    response = client.post("/api/transcribe", params={"title_slug": "x", "src_url": "http://localhost:9/a.wav"})
    detail = response.json()["detail"]
    assert response.status_code == 400, response.text
    assert "its host is localhost (127.0.0.1, a loopback address)" in detail
    assert "--allow-private-urls or AUDIOTOTEXT_ALLOW_PRIVATE_URLS=1" in detail
    assert client.app.state.store.counts()["queued"] == 0
    with pytest.raises(OptionsError, match="10.0.0.1, a private address"):
        check_public("http://10.0.0.1/a.wav", allow_private=False)
    check_public("http://localhost:9/a.wav", allow_private=True)  # the opt-in


def test_the_opt_in_lets_the_server_fetch_a_private_link(tmp_path):
    app, web = make_app(tmp_path, allow_private_urls=True)
    try:
        response = web.post("/api/transcribe", params={"title_slug": "x", "src_url": "http://127.0.0.1:9/a.wav"})
        assert response.status_code == 422 and "download failed" in response.json()["detail"]  # fetched: port 9 refused
    finally:
        app.state.lock.release()


def test_the_opt_in_is_a_flag_or_the_environment(monkeypatch):
    monkeypatch.delenv("AUDIOTOTEXT_ALLOW_PRIVATE_URLS", raising=False)
    assert settings_from_args(build_parser().parse_args([])).allow_private_urls is False
    assert settings_from_args(build_parser().parse_args(["--allow-private-urls"])).allow_private_urls is True
    monkeypatch.setenv("AUDIOTOTEXT_ALLOW_PRIVATE_URLS", "1")
    assert settings_from_args(build_parser().parse_args([])).allow_private_urls is True
    assert settings_from_args(build_parser().parse_args(["--no-allow-private-urls"])).allow_private_urls is False


class Redirect(BaseHTTPRequestHandler):
    """Every path redirects to ``target``; ``/ok`` answers a few bytes."""

    def __init__(self, *args, target: str, **kwargs):
        self.target = target
        super().__init__(*args, **kwargs)

    def do_GET(self):
        if self.path == "/ok":
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"RIFF")
            return
        self.send_response(302)
        self.send_header("Location", self.target)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def redirecting():
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Redirect, target="http://127.0.0.1:1/secret"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_redirect_to_a_private_address_is_refused(redirecting, tmp_path):
    with pytest.raises(MediaError, match=r"redirects to http://127\.0\.0\.1:1/secret, refused: its host is 127"):
        fetch_url(f"{redirecting}/talk.wav", tmp_path, "talk", is_video=False, max_bytes=10**6, timeout=10)
    assert not list(tmp_path.iterdir())  # nothing fetched
    path = fetch_url(f"{redirecting}/ok", tmp_path, "ok", is_video=False, max_bytes=100, timeout=10)
    assert path.read_bytes() == b"RIFF"  # no redirect: the (allowed) link itself


# --- the API docs, from this server only ---------------------------------------------------------


def test_the_api_docs_load_nothing_from_elsewhere(client):  # noqa: F811
    docs = client.get("/docs")
    assert docs.status_code == 200 and "default-src 'self'" in docs.headers["content-security-policy"]
    loads = re.findall(r'(?:src|href)="([^"]*)"', docs.text)
    assert loads and all(url.startswith(("/", "data:")) for url in loads), loads  # no CDN: this server only
    assert "<script" not in docs.text and "cdn" not in docs.text
    for endpoint in ("POST /api/transcribe", "GET /api/status/{call_id}", "DELETE /api/audio/{slug}", "GET /api/jobs"):
        assert f"<code>{endpoint}</code>" in docs.text, endpoint
    assert "<code>deepl_target</code>" in docs.text and "multipart/form-data" in docs.text
    redoc = client.get("/redoc", follow_redirects=False)
    assert redoc.status_code == 307 and redoc.headers["location"] == "/docs"
    assert client.get("/openapi.json").json()["paths"]["/api/transcribe"]


# --- what a client reads ----------------------------------------------------------------------------


def test_a_deepl_key_fault_is_the_server_s_to_fix():
    for error in (
        TranslationError("DeepL rejected the key: check deepl_api_key / DEEPL_AUTH_KEY", kind="auth"),
        TranslationError("No DeepL API key: pass --deepl-api-key, set deepl_api_key in the notebook", kind="config"),
    ):
        message = public_message(error, media_path="/srv/data/x.wav", source="upload:talk.wav")
        assert message.startswith("talk.wav: ") and "DEEPL_AUTH_KEY in its environment" in message
        assert "deepl_api_key" not in message and "--deepl-api-key" not in message
    other = TranslationError("DeepL refused the request (bad glossary): check the target", kind="config")
    assert public_message(other, media_path=None, source="x") == str(other)


def test_the_player_note_says_why_there_is_no_media(client):  # noqa: F811
    app = client.app
    finished_job(app, "failed-one", status="failed", error="DeepL: quota exceeded")
    body = client.get("/api/audio/failed-one").json()
    assert body["media"] is None and body["media_note"].startswith("This job failed: the server removed its media")
    assert "does not keep" not in body["media_note"]
    finished_job(app, "done-one")
    assert client.get("/api/audio/done-one").json()["media_note"] is None
    missing = client.get("/api/media/failed-one")
    assert missing.status_code == 404 and "This job failed" in missing.json()["detail"]


def test_the_status_names_the_file_and_a_model_download(tmp_path):
    app, web = make_app(tmp_path)
    try:
        settings, store = app.state.settings, app.state.store
        job = store.create("talk", "upload:my talk.wav", total_segments=3)
        store.start(job.call_id)
        runner: JobRunner = app.state.runner
        from audiototext.service.joboptions import job_options

        pipeline = runner._pipeline({}, job_options({}, settings, tmp_path / "out"), [job.call_id])
        pipeline.callbacks.on_download(Download("small", 1000, 4000))  # as fetch_weights reports it
        body = web.get(f"/api/status/{job.call_id}").json()
        assert body["source"] == "my talk.wav"
        assert body["download"] == {"model": "small", "done_bytes": 1000, "total_bytes": 4000}
        assert web.get("/api/jobs").json()["jobs"][0]["download"]["model"] == "small"
        pipeline.callbacks.on_download(Download("small", 4000, 4000, finished=True))
        assert "download" not in web.get(f"/api/status/{job.call_id}").json()
    finally:
        app.state.lock.release()


def test_a_job_stopped_with_the_server_is_not_said_cancelled_by_a_client(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    job = store.create("talk", "src", total_segments=4)
    store.start(job.call_id)
    runner = JobRunner(Settings(data_dir=tmp_path), store)
    callbacks = progress_callbacks(store, job.call_id, lambda: runner._stop_reason(job.call_id))
    runner._stopping.set()
    with pytest.raises(JobCancelled) as stopped:
        callbacks.segment(Segment(0.0, 1.0, " x"))
    assert str(stopped.value) == SERVER_STOPPING and "client" not in str(stopped.value)


# --- a start that would fail every job --------------------------------------------------------------


def _start(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "audiototext", "serve", "--data-dir", str(tmp_path / "data"), "--port", "0"]
    environment = {k: v for k, v in os.environ.items() if k != "DEEPL_SERVER_URL"}
    environment.update(AUDIOTOTEXT_OFFLINE="1", **env)
    return subprocess.run(
        [*argv, "--model", "tiny.en", *args], env=environment, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    "args, env, status, message",
    [
        (("--device", "tpu"), {}, 2, "Unknown --device 'tpu': use cpu or cuda"),
        ((), {"DEEPL_SERVER_URL": "foo.com"}, 2, "DEEPL_SERVER_URL 'foo.com' is not an http(s) URL"),
        ((), {"AUDIOTOTEXT_CACHE": "/proc/audiototext-cache"}, 1, "AUDIOTOTEXT_CACHE /proc/audiototext-cache cannot"),
    ],
    ids=["device-tpu", "deepl-url", "read-only-cache"],
)
def test_a_start_that_would_fail_every_job_is_refused(tmp_path, args, env, status, message):
    done = _start(tmp_path, *args, **env)
    assert done.returncode == status and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "data").exists()  # touched nothing


def test_cuda_without_a_gpu_is_refused_at_start(tmp_path):
    from audiototext.engines.device import cuda_available

    if cuda_available("faster-whisper"):
        pytest.skip("this machine has a CUDA GPU")
    done = _start(tmp_path, "--device", "cuda", "--engine", "faster-whisper")
    assert done.returncode == 2 and "--device cuda asks for a CUDA GPU, but faster-whisper sees none" in done.stderr
    assert not (tmp_path / "data").exists()

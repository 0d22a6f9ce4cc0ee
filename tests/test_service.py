"""The HTTP contract of the service against a real uvicorn on 127.0.0.1, on the fake engine.

Media is served by a local ``http.server``; jobs run on 1-3 s espeak-ng clips. Each server is a
subprocess started as a user starts it, through ``python -m fake_engine serve ...`` (the CLI's
``main`` with the fake engine standing in for the local ones: tests/fake_engine.py), so nothing
here waits for a model. Real models answering through the service (phrases checked) are in
test_service_engines.py, restarts and the data dir's lock in test_service_restart.py, Ray in
test_service_ray.py, and the pure checks (milliseconds, no server) in test_service_unit.py.
"""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import ffmpeg, speak
from fake_engine import heard
from test_service_support import BAD_OPTIONS, FAST, JOB_TIMEOUT, Server, httpx, serve_folder

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("multipart")

CLIPS = {
    "morning": "Good morning everyone.",
    "weather": "The weather is nice today.",
    "window": "Please open the window.",
    "coffee": "I would like a cup of coffee.",
}
SMALL_LIMIT_MB = 0.5  # the module server's download/upload limit


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """Clips and non-media files, served on 127.0.0.1; yields (base_url, folder)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    folder = tmp_path_factory.mktemp("served")
    for name, text in CLIPS.items():
        speak(text, "en-us", folder / f"{name}.wav")
    (folder / "page.html").write_text("<html><body>no media here</body></html>")
    ffmpeg("-f", "lavfi", "-i", "anoisesrc=r=16000:a=0.05", "-t", "30", "-ac", "1", str(folder / "big.wav"))
    base, http = serve_folder(folder)
    yield base, folder
    http.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(
        tmp_path_factory.mktemp("service") / "data",
        "--workers",
        "2",
        "--engine",
        "faster-whisper",
        "--max-download-mb",
        str(SMALL_LIMIT_MB),
        "--download-timeout",
        "2",
        fake=True,
    ).start()
    yield server
    server.stop()


# --- the flow ------------------------------------------------------------------------------------


def test_transcribe_status_audio_delete(server, media):
    base, _ = media
    call_id = server.submit("morning-talk", f"{base}/morning.wav", language="en")
    first = server.status(call_id)
    assert first["finished"] is False or first["status"] == "done"
    final = server.wait(call_id)
    assert final == {
        "finished": True,
        "status": "done",
        "title_slug": "morning-talk",
        "source": f"{base}/morning.wav",
        "total_segments": 1,
        "done_segments": 1,
        "tasks": 1,
    }

    audio = server.request("GET", "/api/audio/morning-talk")
    assert audio.status_code == 200
    body = audio.json()
    assert body["language"] == "en"
    assert body["segments"] and set(body["segments"][0]) == {"text", "start", "end"}
    assert heard(" ".join(s["text"] for s in body["segments"]))
    assert all(0 <= s["start"] <= s["end"] <= 3.5 for s in body["segments"])

    srt = server.request("GET", "/api/audio/morning-talk.srt")
    assert srt.status_code == 200 and srt.text.startswith("1\n00:00:00,000 --> ")
    assert srt.headers["content-type"].startswith("application/x-subrip")
    vtt = server.request("GET", "/api/audio/morning-talk.vtt")
    assert vtt.text.startswith("WEBVTT\n\n00:00.000 --> ")
    txt = server.request("GET", "/api/audio/morning-talk.txt")
    assert heard(txt.text) == heard(" ".join(s["text"] for s in body["segments"]))
    missing = server.request("GET", "/api/audio/morning-talk.tsv")
    assert missing.status_code == 404 and "output_formats" in missing.json()["detail"]

    deleted = server.request("DELETE", "/api/audio/morning-talk")
    assert deleted.status_code == 200 and deleted.json() == {"deleted": "morning-talk"}
    assert server.request("GET", "/api/audio/morning-talk").status_code == 404
    assert server.request("GET", f"/api/status/{call_id}").status_code == 404
    assert server.request("DELETE", "/api/audio/morning-talk").status_code == 404


def test_upload_flow(server, media):
    _, folder = media
    with open(folder / "window.wav", "rb") as f:
        response = server.request(
            "POST",
            "/api/transcribe",
            params={"title_slug": "uploaded", **FAST},
            files={"file": ("my window.wav", f, "audio/wav")},
        )
    assert response.status_code == 200, response.text
    assert server.wait(response.json()["call_id"])["status"] == "done"
    text = " ".join(s["text"] for s in server.request("GET", "/api/audio/uploaded").json()["segments"])
    assert heard(text)


def test_video_page_via_yt_dlp(server, media):
    pytest.importorskip("yt_dlp")
    base, _ = media
    # yt-dlp's generic extractor takes a direct media link as a one-video page.
    call_id = server.submit("as-video", f"{base}/coffee.wav", is_video="true")
    assert server.wait(call_id)["status"] == "done"
    text = " ".join(s["text"] for s in server.request("GET", "/api/audio/as-video").json()["segments"])
    assert heard(text)
    bad = server.request(
        "POST",
        "/api/transcribe",
        params={"title_slug": "bad-page", "src_url": f"{base}/nothing-here", "is_video": "true"},
    )
    assert bad.status_code == 422 and "could not get the video" in bad.json()["detail"]


def test_same_slug_reuses_the_job(server, media):
    base, _ = media
    url = f"{base}/weather.wav"
    first = server.submit("weather", url)
    # While it is queued or running, the same slug answers the same call_id.
    assert server.submit("weather", url) == first
    server.wait(first)
    before = server.request("GET", "/api/health").json()["jobs"]
    # Finished: the result is reused, even with another source; nothing is queued.
    assert server.submit("weather", f"{base}/coffee.wav") == first
    assert server.request("GET", "/api/health").json()["jobs"] == before
    # Deleted: the next submission transcribes again under a new call_id.
    assert server.request("DELETE", "/api/audio/weather").status_code == 200
    again = server.submit("weather", url)
    assert again != first
    assert server.wait(again)["status"] == "done"


@pytest.mark.slow  # seconds of real processes: the full suite's, not the fast tier's
def test_twenty_concurrent_jobs(server, media):
    base, _ = media
    names = list(CLIPS)
    slugs = {f"many-{i:02d}": names[i % len(names)] for i in range(20)}

    def post(item):
        slug, clip = item
        return slug, server.submit(slug, f"{base}/{clip}.wav", language="en")

    with ThreadPoolExecutor(20) as pool:
        call_ids = dict(pool.map(post, slugs.items()))
    assert len(set(call_ids.values())) == 20

    seen_finished: set[str] = set()
    deadline = time.monotonic() + JOB_TIMEOUT
    while len(seen_finished) < 20 and time.monotonic() < deadline:
        for slug, call_id in call_ids.items():
            body = server.status(call_id)  # shape and invariants checked on every poll
            if slug in seen_finished:
                assert body["finished"], "a finished job went back to unfinished"
            elif body["finished"]:
                assert body["status"] == "done", body
                seen_finished.add(slug)
        time.sleep(0.3)
    assert len(seen_finished) == 20, server.log_text()
    # Each job got its own clip's words: the jobs of one clip agree, word for word.
    texts: dict[str, set[str]] = {}
    for slug, clip in slugs.items():
        text = server.text(slug)
        assert heard(text), (slug, text)
        texts.setdefault(clip, set()).add(text)
    assert all(len(found) == 1 for found in texts.values()), texts


def test_failed_job_reports_its_error(server, media):
    base, _ = media
    # An official model this offline machine has no weights for: the job fails when it runs.
    call_id = server.submit("no-weights", f"{base}/window.wav", model="small")
    body = server.wait(call_id)
    response = server.request("GET", f"/api/status/{call_id}")
    assert response.status_code == 500
    assert body["finished"] is True and body["status"] == "failed"
    assert "Could not download model small" in body["error"]
    # Its files say that it failed, and why, not just "not found".
    for name in ("no-weights", "no-weights.srt", "no-weights.zip"):
        response = server.request("GET", f"/api/audio/{name}")
        assert response.status_code == 404
        assert "the job of no-weights failed: Could not download model small" in response.json()["detail"]
    # A failed slug is not a cached result: the next submission is a new job.
    assert server.submit("no-weights", f"{base}/window.wav", model="small") != call_id


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["../../etc/passwd", "..", "a/b", "a.b", "", "x" * 101, "naïve", "a b"])
def test_bad_slugs_are_refused(server, media, slug):
    base, _ = media
    response = server.request("POST", "/api/transcribe", params={"title_slug": slug, "src_url": f"{base}/window.wav"})
    assert response.status_code == 400
    assert "title_slug must be 1 to 100 characters" in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/audio/..%2F..%2Fjobs.sqlite3",
        "/api/audio/..%2Fjobs",
        "/api/audio/%2e%2e",
        "/api/audio/a%2F..%2F..%2Fx.srt",
    ],
)
def test_traversal_paths_are_refused(server, path):
    response = httpx.get(server.url + path, timeout=10)  # httpx sends the path as given
    assert response.status_code == 400
    assert "title_slug must be" in response.json()["detail"]


@pytest.mark.parametrize(
    "url, status, message",
    [
        ("file:///etc/passwd", 400, "must be an http:// or https:// link"),
        ("/etc/passwd", 400, "must be an http:// or https:// link"),
        ("ftp://127.0.0.1/a.wav", 400, "must be an http:// or https:// link"),
        ("{base}/no-such-file.wav", 422, "HTTP 404"),
        ("{base}/page.html", 422, "not an audio or video file ffmpeg can read"),
        ("{base}/big.wav", 413, "limit of 524288 bytes"),
        ("{base}/slow/window.wav", 422, "timed out"),
    ],
)
def test_bad_sources_are_refused_before_queuing(server, media, url, status, message):
    base, _ = media
    before = server.request("GET", "/api/health").json()["jobs"]
    response = server.request(
        "POST", "/api/transcribe", params={"title_slug": "bad-source", "src_url": url.format(base=base)}
    )
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert message in detail
    assert str(server.data_dir) not in detail  # no server paths in messages
    assert server.request("GET", "/api/health").json()["jobs"] == before
    assert not any((server.data_dir / "downloads").glob("*/bad-source*"))


def test_oversize_upload_is_refused(server, media):
    _, folder = media
    with open(folder / "big.wav", "rb") as f:
        response = server.request(
            "POST", "/api/transcribe", params={"title_slug": "big-upload"}, files={"file": ("big.wav", f, "audio/wav")}
        )
    assert response.status_code == 413 and "limit of 524288 bytes" in response.json()["detail"]


@pytest.mark.parametrize("params, message", BAD_OPTIONS)
def test_bad_options_are_refused(server, media, params, message):
    base, _ = media
    query = {"title_slug": "bad-options", **params}
    if params:
        query["src_url"] = f"{base}/window.wav"
    response = server.request("POST", "/api/transcribe", params=query)
    assert response.status_code == 400 and message in response.json()["detail"]


@pytest.mark.parametrize(
    "query, message",
    [
        ({"temperatur": "5"}, "'temperatur' is not a parameter (did you mean temperature?)"),
        ({"output_dir": "/etc"}, "'output_dir' cannot be set here"),
    ],
)
def test_unknown_parameters_are_refused(server, media, query, message):
    """They were silently ignored, and the job ran without them."""
    base, _ = media
    response = server.request(
        "POST", "/api/transcribe", params={"title_slug": "unknown-param", "src_url": f"{base}/window.wav", **query}
    )
    assert response.status_code == 422 and message in response.json()["detail"], response.text
    jobs = server.request("GET", "/api/jobs").json()["jobs"]
    assert not [job for job in jobs if job["title_slug"] == "unknown-param"]


def test_two_files_are_refused(server, media):
    """Only the last of two ``file`` parts was transcribed."""
    _, folder = media
    with open(folder / "window.wav", "rb") as a, open(folder / "coffee.wav", "rb") as b:
        response = server.request(
            "POST",
            "/api/transcribe",
            params={"title_slug": "two-files"},
            files=[("file", ("window.wav", a, "audio/wav")), ("file", ("coffee.wav", b, "audio/wav"))],
        )
    assert response.status_code == 422
    assert "2 parts named 'file' (window.wav, coffee.wav)" in response.json()["detail"]
    assert not any((server.data_dir / "downloads").glob("*/two-files*"))


def test_unknown_call_id_and_slug(server):
    response = server.request("GET", "/api/status/0123456789abcdef")
    assert response.status_code == 404 and "unknown call_id" in response.json()["detail"]
    response = server.request("GET", "/api/audio/never-made.srt")
    assert response.status_code == 404 and "no transcript for 'never-made'" in response.json()["detail"]


def test_docs_and_the_page_are_served(server):
    assert server.request("GET", "/docs").status_code == 200
    spec = server.request("GET", "/openapi.json").json()
    assert {"/api/transcribe", "/api/status/{call_id}", "/api/audio/{name}", "/api/cancel/{call_id}"} <= set(
        spec["paths"]
    )
    page = server.request("GET", "/")
    assert page.status_code == 200 and "<title>audiototext</title>" in page.text


# --- token, queue, restart -----------------------------------------------------------------------


def test_token_guards_every_endpoint_but_the_docs(tmp_path):
    server = Server(tmp_path / "data", token="s3cret", fake=True).start()
    try:
        for method, path in [
            ("POST", "/api/transcribe?title_slug=a&src_url=http://127.0.0.1:9/a.wav"),
            ("GET", "/api/status/abc"),
            ("GET", "/api/audio/a"),
            ("GET", "/api/audio/a.srt"),
            ("DELETE", "/api/audio/a"),
            ("GET", "/api/health"),
            ("GET", "/api/jobs"),
            ("GET", "/api/options"),
            ("POST", "/api/cancel/abc"),
            ("GET", "/api/media/a"),
            ("GET", "/api/audio/a.zip"),
            ("GET", "/api/audio/a_German.srt"),
        ]:
            missing = httpx.request(method, server.url + path, timeout=10)
            assert missing.status_code == 401, (method, path)
            assert missing.json() == {"detail": "missing bearer token: send 'Authorization: Bearer <token>'"}
            assert missing.headers["www-authenticate"].startswith("Bearer")
            wrong = httpx.request(method, server.url + path, headers={"Authorization": "Bearer nope"}, timeout=10)
            assert wrong.status_code == 401 and wrong.json() == {"detail": "wrong bearer token"}
        assert server.request("GET", "/api/health").status_code == 200  # with the token
        assert server.request("GET", "/api/status/abc").status_code == 404
        for path in ("/docs", "/openapi.json", "/", "/static/app.js"):  # no data in them
            assert httpx.get(server.url + path, timeout=10).status_code == 200
    finally:
        server.stop()


def test_full_queue_answers_429(tmp_path, media):
    """In-process, without starting the workers: the queue fills and stays full."""
    from fastapi.testclient import TestClient

    from audiototext.service import Settings, create_app

    base, _ = media
    app = create_app(Settings(data_dir=tmp_path / "data", queue_size=1, allow_private_urls=True))  # 127.0.0.1
    client = TestClient(app)  # no `with`: the lifespan, and so the workers, never start
    ok = client.post("/api/transcribe", params={"title_slug": "one", "src_url": f"{base}/window.wav"})
    assert ok.status_code == 200
    full = client.post("/api/transcribe", params={"title_slug": "two", "src_url": f"{base}/window.wav"})
    assert full.status_code == 429 and "queue is full" in full.json()["detail"]
    assert full.headers["retry-after"]
    # The first is still queued and reported so; the second left nothing behind.
    assert client.get(f"/api/status/{ok.json()['call_id']}").json()["status"] == "queued"
    assert app.state.store.counts()["queued"] == 1
    app.state.lock.release()

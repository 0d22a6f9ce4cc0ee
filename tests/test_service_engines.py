"""Engines behind the service: two openai-whisper jobs at once keep their own data (never mixed;
real models, phrases checked), and the openai-api engine with the server's key against a fake
OpenAI server (no model)."""

from __future__ import annotations

import re
import time

import pytest
from test_service_support import JOB_TIMEOUT, Server, words

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("multipart")

#: What openai-whisper prints when it is left verbose: timed lines and its language guess.
WHISPER_OUTPUT = re.compile(r"\[\d{2}:\d{2}[.:]\d{3} --> |Detected language|Detecting language")
TIMED_LINE = re.compile(r"\[\d{2}:\d{2}[.:]\d{3} --> ")


@pytest.mark.slow
def test_two_openai_whisper_jobs_at_once_keep_their_own_data(tmp_path, english_wav, spanish_wav):
    """Each job's language and text are its own, and nothing of whisper reaches the server's stdout."""
    pytest.importorskip("whisper")
    server = Server(tmp_path / "data", "--engine", "openai-whisper", "--workers", "2").start()
    try:
        jobs = {
            "english": server.upload("english", english_wav, beam_size=1),
            "spanish": server.upload("spanish", spanish_wav, beam_size=1),
        }
        together, deadline = False, time.monotonic() + JOB_TIMEOUT
        while True:
            finished = {slug: server.status(call_id) for slug, call_id in jobs.items()}
            together = together or all(body["status"] == "running" for body in finished.values())
            if all(body["finished"] for body in finished.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert all(body["status"] == "done" for body in finished.values()), (finished, server.log_text())
        assert together, "the two jobs never ran at the same time"
        english = server.request("GET", "/api/audio/english").json()
        spanish = server.request("GET", "/api/audio/spanish").json()
        assert (english["language"], spanish["language"]) == ("en", "es")
        english_text = words(" ".join(s["text"] for s in english["segments"]))
        spanish_text = words(" ".join(s["text"] for s in spanish["segments"]))
        assert "coffee" in english_text and "newspaper" in english_text and "gracias" not in english_text
        assert "gracias" in spanish_text and "coffee" not in spanish_text and "newspaper" not in spanish_text
        assert not WHISPER_OUTPUT.search(server.stdout_text()), server.stdout_text()[-2000:]
        assert not TIMED_LINE.search(server.log_text(tail=None))  # the log says "Detected language" itself
    finally:
        server.stop()


@pytest.fixture()
def fake_openai():
    pytest.importorskip("openai")
    from fake_openai import FakeOpenAIServer

    with FakeOpenAIServer() as state:
        yield state


def test_openai_api_engine_uses_the_servers_key(tmp_path, fake_openai, english_wav):
    """Engine=openai-api, the key from the server's OPENAI_API_KEY (never from the request),
    $OPENAI_BASE_URL honoured; a piece the API refuses fails the job with 422."""
    server = Server(
        tmp_path / "data", env={"OPENAI_API_KEY": fake_openai.api_key, "OPENAI_BASE_URL": fake_openai.base_url}
    ).start()
    try:
        # An api_key in the request is no parameter of the service: refused, saying why,
        # and never used nor echoed.
        with open(english_wav, "rb") as f:
            refused = server.request(
                "POST",
                "/api/transcribe",
                params={"title_slug": "api-key", "engine": "openai-api", "api_key": "sk-not-this"},
                files={"file": (english_wav.name, f, "audio/wav")},
            )
        assert refused.status_code == 422 and "'api_key' cannot be set here" in refused.json()["detail"]
        assert "sk-not-this" not in refused.text
        call_id = server.upload("api-talk", english_wav, engine="openai-api", language="en")
        final = server.wait(call_id)
        assert final["status"] == "done" and final["done_segments"] == final["total_segments"] >= 1, final
        result = server.request("GET", "/api/audio/api-talk").json()
        assert result["language"] == "en" and "speech at" in words(" ".join(s["text"] for s in result["segments"]))
        assert server.request("GET", "/api/audio/api-talk.srt").text.startswith("1\n00:00:")
        assert [(r.path, r.model) for r in fake_openai.requests] == [("/v1/audio/transcriptions", "whisper-1")]
        assert "sk-not-this" not in server.log_text(tail=None)

        fake_openai.reject_request = len(fake_openai.requests) + 1
        rejected = server.upload("api-rejected", english_wav, engine="openai-api")
        body = server.wait(rejected)
        response = server.request("GET", f"/api/status/{rejected}")
        assert body["status"] == "failed" and response.status_code == 422, body
        assert fake_openai.api_key not in body["error"] and str(server.data_dir) not in body["error"], body
    finally:
        server.stop()

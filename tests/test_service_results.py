"""What a job leaves, against a real ``audiototext serve`` on the fake engine (``python -m
fake_engine serve``, tests/fake_engine.py) and a fake DeepL server: every written file served and
listed, translations included, and a running job cancelled midway
keeping its lines, then leaving the worker free.

The server decodes one window at a time (``--batch-size 1``), the fake engine taking half a second
for each, and the long clip has about twenty windows, so a cancel sent after the first line lands
many windows before the end.
"""

from __future__ import annotations

import io
import shutil
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import speak, write_wav
from fake_engine import PACE, heard
from test_service_support import JOB_TIMEOUT, Server, serve_folder

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("multipart")
pytest.importorskip("deepl")

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module")
def media(tmp_path_factory, long_speech):
    """A short clip and about eight minutes of speech (the long-speech fixture seven times), served."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    from audiototext.media import load_audio

    folder = tmp_path_factory.mktemp("served")
    speak("Good morning everyone. The weather is nice today.", "en-us", folder / "morning.wav")
    audio = load_audio(long_speech[0])
    pause = np.zeros(16000, np.float32)
    write_wav(folder / "long.wav", np.concatenate([audio, pause] * 6 + [audio]))
    base, http = serve_folder(folder)
    yield base, folder
    http.shutdown()


@pytest.fixture(scope="module")
def deepl_server():
    from fake_deepl import FakeDeepLServer

    with FakeDeepLServer() as state:
        yield state


@pytest.fixture(scope="module")
def server(tmp_path_factory, deepl_server):
    env = {"DEEPL_AUTH_KEY": deepl_server.auth_key, "DEEPL_SERVER_URL": deepl_server.url, PACE: "0.5"}
    data = tmp_path_factory.mktemp("results") / "data"
    server = Server(
        data, "--model", "tiny.en", "--engine", "faster-whisper", "--batch-size", "1", env=env, fake=True
    ).start()
    yield server
    server.stop()


def test_translations_are_served_and_listed(server, media):
    base, _ = media
    call_id = server.submit("talk", f"{base}/morning.wav", fast=False, deepl_target="German", output_formats="srt,vtt")
    assert server.wait(call_id)["status"] == "done"
    folder = server.data_dir / "audio" / "talk"
    written = sorted(p.name for p in folder.iterdir() if p.is_file())
    assert "talk_German.srt" in written and "talk_German.vtt" in written

    german = server.request("GET", "/api/audio/talk_German.srt")  # was 404: written, never served
    assert german.status_code == 200 and german.headers["content-type"].startswith("application/x-subrip")
    assert german.content == (folder / "talk_German.srt").read_bytes() and "-->" in german.text
    body = server.request("GET", "/api/audio/talk").json()
    assert [f["name"] for f in body["files"]] == written  # every file the job wrote, nothing else
    for name in written:
        response = server.request("GET", f"/api/audio/{name}")
        assert response.status_code == 200 and response.content == (folder / name).read_bytes(), name
    assert [(t["label"], t["language"], t["format"]) for t in body["tracks"]] == [
        ("English", "en", "vtt"),
        ("German", "de", "vtt"),
    ]
    for name in ("talk.srt", "talk.vtt", "talk_German.srt", "talk_German.vtt"):  # how each file measures
        assert "% within the reading rules" in body["subtitles"][name]["summary"], body["subtitles"]
    archive = zipfile.ZipFile(io.BytesIO(server.request("GET", body["zip"]).content))
    assert sorted(archive.namelist()) == written
    media_file = server.request("GET", body["media"], headers={"Range": "bytes=0-3"})
    assert media_file.status_code == 206 and media_file.content == b"RIFF"  # a player can seek in it
    assert heard(server.text("talk"))


def test_cancel_a_running_job(server, media):
    base, _ = media
    call_id = server.submit("long-talk", f"{base}/long.wav", fast=False, language="en")
    # Cancel once the first lines are in: the job is midway.
    first = server.wait_until(
        call_id, lambda body: body["finished"] or bool(lines(server, call_id)), what="its first decoded line"
    )
    assert not first["finished"], "the job ended before it could be cancelled"
    answer = server.request("POST", f"/api/cancel/{call_id}")
    assert answer.status_code == 200 and answer.json() == {"call_id": call_id, "status": "cancelling"}
    body = server.wait(call_id)
    assert body["status"] == "cancelled" and body["done_segments"] < body["total_segments"], body
    assert body["error"].startswith("cancelled by a client after"), body
    kept = lines(server, call_id)
    assert kept and heard(kept[0]["text"]) and kept[0]["start"] < 1.0  # from the first sentence on
    assert all(a["end"] <= b["start"] + 0.5 for a, b in zip(kept, kept[1:]))

    again = server.request("POST", f"/api/cancel/{call_id}")
    assert again.status_code == 409
    missing = server.request("GET", "/api/audio/long-talk.srt")
    assert missing.status_code == 404 and "was cancelled by a client" in missing.json()["detail"]
    jobs = server.request("GET", "/api/jobs").json()["jobs"]
    assert next(j for j in jobs if j["call_id"] == call_id)["status"] == "cancelled"
    assert not (server.data_dir / "downloads" / call_id).exists()  # the input of an unfinished job goes
    assert "Traceback" not in server.log_text(tail=None)

    # The worker is free, and the slug can be sent again.
    after = server.submit("after-cancel", f"{base}/morning.wav")
    assert server.wait(after)["status"] == "done"
    assert server.submit("long-talk", f"{base}/morning.wav") != call_id


def lines(server: Server, call_id: str) -> list[dict]:
    return server.request("GET", f"/api/status/{call_id}", params={"lines_from": 0}).json()["lines"]


def test_a_queued_job_is_cancelled_before_it_starts(server, media):
    base, _ = media
    running = server.submit("busy", f"{base}/long.wav", language="en")
    queued = server.submit("waiting", f"{base}/morning.wav")
    assert server.status(queued)["status"] == "queued"  # one worker, busy with the long job
    assert server.request("POST", f"/api/cancel/{queued}").json()["status"] == "cancelled"
    assert server.request("POST", f"/api/cancel/{running}").json()["status"] in ("cancelling", "cancelled")
    assert server.wait(running)["status"] == "cancelled"
    deadline = time.monotonic() + JOB_TIMEOUT
    while time.monotonic() < deadline and server.request("GET", "/api/health").json()["queued"]:
        time.sleep(0.2)
    body = server.status(queued)
    assert (body["status"], body["done_segments"], body["error"]) == ("cancelled", 0, "cancelled before it started")
    assert not (server.data_dir / "audio" / "waiting").exists()


def test_whisper_s_translation_is_named_as_the_cli_names_it(server, media):
    """task=translate writes <slug>_English.*, as the CLI and the notebook name it (names.task_suffix),
    and the result, its files and its track are served under the job's slug."""
    from audiototext.names import task_suffix

    base, _ = media
    stem = "talk-en" + task_suffix("translate")
    call_id = server.submit("talk-en", f"{base}/morning.wav", model="base", task="translate", output_formats="srt,vtt")
    assert server.wait(call_id)["status"] == "done"
    folder = server.data_dir / "audio" / "talk-en"
    written = sorted(p.name for p in folder.iterdir() if p.is_file())
    assert stem == "talk-en_English" and written == [f"{stem}.json", f"{stem}.srt", f"{stem}.vtt"]
    body = server.request("GET", "/api/audio/talk-en").json()
    assert [f["name"] for f in body["files"]] == written and heard(" ".join(s["text"] for s in body["segments"]))
    assert [(t["label"], t["language"], t["format"]) for t in body["tracks"]] == [
        ("English (Whisper's translation)", "en", "vtt")
    ]
    srt = server.request("GET", f"/api/audio/{stem}.srt")
    assert srt.status_code == 200 and srt.content == (folder / f"{stem}.srt").read_bytes()


def test_a_deepl_failure_after_the_transcript_reports_every_window(server, media, deepl_server):
    """DeepL refuses the key once the transcript is written: the job failed (502), its windows all
    decoded (not 0), its transcript kept and served, and the message says the server's key is at fault."""
    base, _ = media
    deepl_server.fail_status, deepl_server.fail_path = 403, "/v2/translate"
    try:
        call_id = server.submit("refused-key", f"{base}/morning.wav", fast=False, deepl_target="German")
        body = server.wait(call_id)
    finally:
        deepl_server.fail_status = deepl_server.fail_path = None
    assert body["status"] == "failed" and body["done_segments"] == body["total_segments"] >= 1, body
    assert server.request("GET", f"/api/status/{call_id}").status_code == 502
    error = body["error"]
    assert error.startswith(f"{base}/morning.wav: DeepL rejected this server's key") and "DEEPL_AUTH_KEY" in error
    assert "deepl_api_key" not in error
    kept = server.request("GET", "/api/audio/refused-key.srt")
    assert kept.status_code == 200 and heard(kept.text.split("\n")[2])

"""A full data dir, for real: uploads and downloads that do not fit are answered
507 naming the server's disk (before: 500 and a traceback for an upload, and a 422 that blamed the
client's link for a download), nothing partly written is left behind, and the next upload that
fits is transcribed.

Two ways to fill the disk, each a real ``audiototext serve`` subprocess on the fake engine
(``python -m fake_engine serve``, tests/fake_engine.py):

* ``tmpfs``: the data dir on a 4 MiB tmpfs (needs root: ``mount -t tmpfs``; skipped otherwise):
  writes fail with ENOSPC, as on a full disk;
* ``fsize``: the server runs under ``RLIMIT_FSIZE`` = 4 MiB: any file it writes past that fails
  with EFBIG (Python ignores SIGXFSZ), its temporary upload file included. Works for any user.
"""

from __future__ import annotations

import resource
import shutil
import subprocess

import pytest
from conftest import ffmpeg, speak
from fake_engine import heard
from test_service_support import Server, serve_folder

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("multipart")

LIMIT = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """A 6 MiB recording (more than the disk takes) and a short clip, served on 127.0.0.1."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    folder = tmp_path_factory.mktemp("served")
    ffmpeg("-f", "lavfi", "-i", "anoisesrc=r=16000:a=0.05", "-t", "200", "-ac", "1", str(folder / "big.wav"))
    speak("Please open the window.", "en-us", folder / "window.wav")
    base, http = serve_folder(folder)
    yield base, folder
    http.shutdown()


def limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


@pytest.fixture(params=["tmpfs", "fsize"])
def full_server(request, tmp_path):
    """A server whose data dir cannot take 6 MiB; yields (server, how)."""
    mount = tmp_path / "small"
    mount.mkdir()
    preexec = None
    if request.param == "tmpfs":
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={LIMIT}", "tmpfs", str(mount)], capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}); the fsize case runs")
    else:
        preexec = limit_file_size
    server = Server(mount / "data", "--model", "tiny.en", "--engine", "faster-whisper", preexec=preexec, fake=True)
    try:
        yield server.start(), request.param
    finally:
        server.stop()
        if request.param == "tmpfs":
            subprocess.run(["umount", str(mount)], check=False)


def leftovers(server: Server) -> list[str]:
    downloads = server.data_dir / "downloads"
    return sorted(str(p.relative_to(downloads)) for p in downloads.rglob("*")) if downloads.exists() else []


def test_a_full_data_dir_is_the_servers_problem(full_server, media):
    server, how = full_server
    base, folder = media
    assert (folder / "big.wav").stat().st_size > 1.5 * LIMIT

    with open(folder / "big.wav", "rb") as f:
        upload = server.request(
            "POST", "/api/transcribe", params={"title_slug": "big-upload"}, files={"file": ("big.wav", f, "audio/wav")}
        )
    assert upload.status_code == 507, upload.text
    detail = upload.json()["detail"]
    assert "the server's disk is full" in detail and "nothing is wrong with your file" in detail
    if how == "tmpfs":  # under the size limit, the upload fails earlier, in its temporary file
        assert detail.startswith("big.wav: could not be saved on the server")
    assert leftovers(server) == []  # no .part left to fill the disk

    link = server.request("POST", "/api/transcribe", params={"title_slug": "big-link", "src_url": f"{base}/big.wav"})
    assert link.status_code == 507, link.text
    detail = link.json()["detail"]
    assert detail.startswith(f"{base}/big.wav: could not be saved on the server") and "disk is full" in detail
    assert "check the link" not in detail
    assert leftovers(server) == []

    if pytest.importorskip("yt_dlp"):
        page = server.request(
            "POST",
            "/api/transcribe",
            params={"title_slug": "big-page", "src_url": f"{base}/big.wav", "is_video": "true"},
        )
        assert page.status_code == 507, page.text
        assert "disk is full" in page.json()["detail"] and "check the link" not in page.json()["detail"]
        assert leftovers(server) == []

    # The space is free again: an upload that fits is transcribed.
    call_id = server.upload("small-upload", folder / "window.wav")
    body = server.wait(call_id)
    assert body["status"] == "done", body
    assert heard(server.text("small-upload"))
    assert server.request("GET", "/api/jobs").json()["jobs"][0]["title_slug"] == "small-upload"  # only it
    assert "Traceback" not in server.log_text(tail=None)

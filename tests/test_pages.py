"""Links to video pages: YouTube and other sites' pages are read with yt-dlp
(audiototext.pages, shared with the service's is_video) in the CLI and the notebook, instead of
being refused as "not an audio or video file". The sites are out of reach here, so a page on
127.0.0.1 with an HTML5 <video> stands in (yt-dlp's generic extractor reads it)."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading

import pytest

from audiototext import media, pages
from audiototext.errors import MediaError
from fake_engine import heard

pytest.importorskip("yt_dlp")
PAGE = """<!DOCTYPE html><html><head><title>A short talk</title></head>
<body><h1>A short talk</h1><video controls><source src="talk.mp4" type="video/mp4"></video></body></html>"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, english_mp4):
    """A web site on 127.0.0.1: ``/watch.html`` shows ``talk.mp4`` in a <video>; ``/about.html`` has no video."""
    root = tmp_path_factory.mktemp("site")
    shutil.copy(english_mp4, root / "talk.mp4")
    (root / "watch.html").write_text(PAGE, encoding="utf-8")
    (root / "about.html").write_text("<html><body>No video here.</body></html>", encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


@pytest.mark.parametrize(
    "url, page",
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", True),
        ("https://youtu.be/dQw4w9WgXcQ", True),
        ("https://m.youtube.com/shorts/abc", True),
        ("https://vimeo.com/123456", True),
        ("https://example.org/talk.mp3", False),
        ("https://notyoutube.com/watch", False),
    ],
)
def test_video_sites_are_known_by_name(url, page):
    assert pages.is_page(url) is page


def test_a_page_s_video_is_downloaded_instead_of_the_page(site, tmp_path):
    base, root = site
    with media.fetched(f"{base}/watch.html", progress=False) as item:
        assert item.path.suffix == ".mp4" and item.path.read_bytes() == (root / "talk.mp4").read_bytes()
        assert media.probe(item.path).audio_streams == 1
    assert not item.path.exists(), "downloaded into a temporary folder, removed after"


def test_a_page_without_video_is_still_refused_clearly(site, tmp_path):
    base, _ = site
    item = media.resolve(f"{base}/about.html", download_dir=tmp_path, progress=False)
    with pytest.raises(MediaError, match="not an audio or video file"):
        media.load_audio(item.path)


def test_a_video_site_out_of_reach_names_the_link(tmp_path, monkeypatch):
    """What a YouTube link gives without a network, on a port that refuses at once."""
    monkeypatch.setattr(pages, "is_page", lambda link: True)
    with pytest.raises(MediaError, match=r"^http://127\.0\.0\.1:9/watch: could not get the video \("):
        media.resolve("http://127.0.0.1:9/watch", download_dir=tmp_path, progress=False)


def test_without_yt_dlp_a_video_site_says_how_to_get_it(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "yt_dlp", None)
    with pytest.raises(MediaError, match=r"links to video pages need yt-dlp: pip install yt-dlp"):
        media.resolve("https://youtu.be/dQw4w9WgXcQ", download_dir=tmp_path, progress=False)


def test_the_notebook_keeps_a_page_s_video_beside_it(site, tmp_path, monkeypatch, capsys):
    from audiototext import notebook

    base, root = site
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pages, "is_page", lambda url: url.startswith(base))  # the local site as a video site
    (tmp_path / "A short talk.mp4").write_bytes(b"mine")  # a file of the same name is never replaced
    [local] = notebook.choose_input(f"{base}/watch.html").resolve()
    assert local.endswith(".mp4") and (tmp_path / local).read_bytes() == (root / "talk.mp4").read_bytes()
    assert (tmp_path / "A short talk.mp4").read_bytes() == b"mine"
    assert f"{base}/watch.html -> {local}" in capsys.readouterr().out
    assert not list(tmp_path.glob(".audiototext-download-*"))


def test_the_cli_transcribes_a_page_s_video(site, tmp_path, fake_engine):
    from audiototext.cli import main

    base, _ = site
    out = tmp_path / "out"
    assert main([f"{base}/watch.html", "--model", "base", "--language", "en", "-o", str(out), "-f", "txt"]) == 0
    [written] = out.iterdir()
    assert written.suffix == ".txt" and heard(written.read_text(encoding="utf-8"))

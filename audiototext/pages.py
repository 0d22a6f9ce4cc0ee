"""Video pages — YouTube, Vimeo, anything yt-dlp reads — as media inputs: users paste the page's link,
not the media file's, which such sites do not show.

A link to a media file is downloaded as it is (:func:`audiototext.links.download`); a link to a
page that shows a video is handed to yt-dlp (the ``pages`` extra), which downloads the best audio
(or, failing that, the video). :func:`is_page` knows the common video sites by name; a link to
another site that answers with a web page is tried with yt-dlp too (:func:`looks_like_html`).
The CLI and the notebook (:func:`audiototext.media.resolve`) and the HTTP service's ``is_video``
(:mod:`audiototext.service.fetching`) share :func:`download_page`.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from pathlib import Path

from .errors import MediaError

log = logging.getLogger(__name__)

#: Sites whose links are pages, never media files.
VIDEO_SITES = (
    "youtube.com",
    "youtu.be",
    "youtube-nocookie.com",
    "vimeo.com",
    "dailymotion.com",
    "twitch.tv",
    "soundcloud.com",
    "tiktok.com",
    "facebook.com",
    "instagram.com",
    "twitter.com",
    "x.com",
    "bilibili.com",
    "ted.com",
)
#: How yt-dlp names what it downloads when no name is given: the page's title.
TITLE_TEMPLATE = "%(title).120B"
INSTALL = "links to video pages need yt-dlp: pip install yt-dlp (or 'audiototext[pages]')"


def is_page(url: str) -> bool:
    """Whether ``url`` is on a video site of :data:`VIDEO_SITES` (``www.``, ``m.``, ``music.`` included)."""
    host = (urllib.parse.urlsplit(str(url)).hostname or "").lower()
    return any(host == site or host.endswith("." + site) for site in VIDEO_SITES)


def looks_like_html(path: Path) -> bool:
    """Whether a downloaded file is a web page rather than media (its first bytes)."""
    try:
        with open(path, "rb") as f:
            head = f.read(512).lstrip().lower()
    except OSError:
        return False
    return head.startswith(b"<!doctype html") or b"<html" in head


class _YtdlpLog:
    """yt-dlp's messages into our log; remembers them to explain a missing file."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def debug(self, msg: str) -> None:
        self.lines.append(msg)
        log.debug("yt-dlp: %s", msg)

    info = debug

    def warning(self, msg: str) -> None:  # "Falling back on generic information extractor"...
        self.lines.append(msg)
        log.debug("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:  # repeated in the MediaError raised, which names the link
        self.lines.append(msg)
        log.debug("yt-dlp: %s", msg)


def download_page(
    url: str,
    dest_dir: Path,
    stem: str | None = None,
    *,
    max_bytes: int | None = None,
    timeout: float = 60.0,
    progress: bool = False,
    install: str = INSTALL,
) -> Path:
    """The best audio (or video) of the page at ``url``, via yt-dlp, as ``dest_dir/<stem>.<ext>``
    (default name: the page's title).

    Args:
        install: what to tell the user when yt-dlp is missing, after the link (each face installs
            it its way).

    Raises:
        MediaError: yt-dlp is missing, failed, found nothing, or the file passed ``max_bytes``
            (then with ``limit``); the message names the link.
    """
    try:
        import yt_dlp
    except ImportError as e:
        raise MediaError(f"{url}: {install}", source=url) from e
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    logger = _YtdlpLog()
    options = {
        "outtmpl": str(dest_dir / f"{stem or TITLE_TEMPLATE}.%(ext)s"),
        "format": "bestaudio/best",
        "noplaylist": True,
        "playlist_items": "1",
        "socket_timeout": timeout,
        "logger": logger,
        "quiet": True,
        "no_warnings": False,
        "noprogress": not progress,
        "overwrites": True,
        "cachedir": False,
        "windowsfilenames": True,
    }
    if max_bytes is not None:
        options["max_filesize"] = max_bytes
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=True) or {}
    except yt_dlp.utils.DownloadError as e:
        reason = re.sub(r"^ERROR:\s*", "", str(e)).strip()
        raise MediaError(f"{url}: could not get the video ({reason}); check the link", source=url) from e
    done = [Path(d["filepath"]) for d in info.get("requested_downloads") or () if d.get("filepath")]
    files = [p for p in done if p.is_file()]
    if not files:
        if any("max-filesize" in line for line in logger.lines):
            too_big = f"{url}: the video is more than the limit of {max_bytes} bytes"
            raise MediaError(too_big, source=url, limit=max_bytes)
        raise MediaError(f"{url}: the page has no video or audio to download; check the link", source=url)
    log.debug("yt-dlp downloaded %s to %s", url, files[0])
    return files[0]


__all__ = ["VIDEO_SITES", "is_page", "looks_like_html", "download_page"]

"""Media input: resolve local paths and URLs, probe, decode to 16 kHz mono float32 with ffmpeg.

ffmpeg is driven through ffmpeg-python, which builds an argument list (never a shell string).
Every failure becomes a :class:`MediaError` that names the input and says what to do.
"""

from __future__ import annotations

import contextlib
import email.message
import logging
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator

import numpy as np

from .errors import MediaError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000

_INSTALL_FFMPEG = (
    "ffmpeg is not installed or not on PATH: install it (Debian/Ubuntu/Colab: "
    "`apt-get install -y ffmpeg`; macOS: `brew install ffmpeg`; Windows: `winget install ffmpeg`)"
)


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says about a file."""

    path: Path
    duration: float
    audio_streams: int
    video_streams: int
    format_name: str


@dataclass(frozen=True)
class MediaInput:
    """An input resolved to a local file.

    Attributes:
        source: the argument as the user gave it (path or URL).
        path: the local file to decode.
        stem: the name output files take (``<stem>.srt``).
    """

    source: str
    path: Path
    stem: str


def is_url(source: str) -> bool:
    return urllib.parse.urlsplit(str(source)).scheme.lower() in ("http", "https")


def require_ffmpeg() -> None:
    """Raise :class:`MediaError` with install instructions when ffmpeg/ffprobe are missing."""
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            raise MediaError(_INSTALL_FFMPEG, tool=tool)


def resolve(
    source: str | os.PathLike,
    *,
    download_dir: Path | None = None,
    progress: bool = True,
    max_bytes: int | None = None,
    timeout: float = 60.0,
) -> MediaInput:
    """Turn a path or an ``http(s)://`` link into a :class:`MediaInput` with a local file.

    Raises:
        MediaError: the path is missing or a directory, or the download failed.
    """
    source = str(source)
    if is_url(source):
        target_dir = Path(download_dir) if download_dir else Path(tempfile.mkdtemp(prefix="audiototext-"))
        try:
            path = _fetch_link(source, target_dir, progress=progress, max_bytes=max_bytes, timeout=timeout)
        except BaseException:
            if not download_dir:
                shutil.rmtree(target_dir, ignore_errors=True)
            raise
        return MediaInput(source, path, path.stem)
    if "://" in source:
        raise MediaError(f"{source}: only http:// and https:// links can be downloaded", source=source)
    path = Path(source).expanduser()
    if not path.exists():
        raise MediaError(f"{source}: no such file; check the path (relative to {os.getcwd()})", source=source)
    if path.is_dir():
        raise MediaError(f"{source}: is a directory; give the audio or video files inside it", source=source)
    return MediaInput(source, path, path.stem)


def _fetch_link(url: str, target_dir: Path, *, progress: bool, max_bytes: int | None, timeout: float) -> Path:
    """A media link downloaded; a video page (YouTube...) through yt-dlp (:mod:`audiototext.pages`)."""
    from . import pages

    if pages.is_page(url):
        return pages.download_page(url, target_dir, max_bytes=max_bytes, timeout=timeout, progress=progress)
    path = download(url, target_dir, progress=progress, max_bytes=max_bytes, timeout=timeout)
    if not pages.looks_like_html(path):
        return path
    try:  # a web page on another site: its video, if yt-dlp finds one; else the page, which ffmpeg refuses
        found = pages.download_page(url, target_dir, max_bytes=max_bytes, timeout=timeout, progress=progress)
    except MediaError as e:
        log.debug("%s is a web page without a video yt-dlp can get (%s)", url, e)
        return path
    path.unlink(missing_ok=True)
    return found


@contextlib.contextmanager
def fetched(
    source: str | os.PathLike, *, progress: bool = True, max_bytes: int | None = None, timeout: float = 60.0
) -> Iterator[MediaInput]:
    """:func:`resolve` ``source``; a link is downloaded into a temporary folder, removed on exit.

    The folder goes also when the download or the decoding fails, or on Ctrl-C (issue 10, point 8).

    Raises:
        MediaError: as :func:`resolve`.
    """
    if not is_url(str(source)):
        yield resolve(source, progress=progress)
        return
    folder = Path(tempfile.mkdtemp(prefix="audiototext-"))
    try:
        yield resolve(source, download_dir=folder, progress=progress, max_bytes=max_bytes, timeout=timeout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def natural_stem(source: str) -> str | None:
    """The name a local source's output files take (its stem); None for a link, whose name is
    known only once downloaded (``Content-Disposition``, else the link's last path part)."""
    if is_url(str(source)):
        return None
    return Path(str(source)).expanduser().stem or None


def _filename_from(response, url: str) -> str:
    disposition = response.headers.get("Content-Disposition")
    if disposition:
        msg = email.message.Message()
        msg["content-disposition"] = disposition
        name = msg.get_filename()
        if name:
            return name
    name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    return name or "download"


def _safe_name(name: str) -> str:
    name = os.path.basename(name.replace("\\", "/")).strip().lstrip(".")
    return re.sub(r"[\x00-\x1f/]", "_", name)[:200] or "download"


def download(
    url: str, dest_dir: Path, *, progress: bool = True, max_bytes: int | None = None, timeout: float = 60.0
) -> Path:
    """Download ``url`` into ``dest_dir`` with a progress bar; return the file's path.

    The file appears under its final name only when complete (written to a temporary name first).

    Raises:
        MediaError: HTTP error, network failure, timeout, or more than ``max_bytes``.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(url, headers={"User-Agent": "audiototext"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            if max_bytes is not None and total is not None and total > max_bytes:
                raise MediaError(
                    f"{url}: {total} bytes is more than the limit of {max_bytes} bytes",
                    source=url,
                    size=total,
                    limit=max_bytes,
                )
            path = dest_dir / _safe_name(_filename_from(response, url))
            partial = path.with_name(path.name + ".part")
            done = _save_body(response, partial, total=total, max_bytes=max_bytes, url=url, progress=progress)
            os.replace(partial, path)
    except urllib.error.HTTPError as e:
        raise MediaError(
            f"{url}: the server answered HTTP {e.code} {e.reason}; check the link", source=url, status=e.code
        ) from e
    except (urllib.error.URLError, OSError) as e:
        if isinstance(e, MediaError):
            raise
        reason = getattr(e, "reason", e)
        raise MediaError(f"{url}: download failed ({reason}); check the link and your network", source=url) from e
    log.debug("Downloaded %s (%d bytes) to %s", url, done, path)
    return path


def _save_body(response, partial: Path, *, total: int | None, max_bytes: int | None, url: str, progress: bool) -> int:
    """Write a download's body to ``partial`` with a progress bar; the bytes written. Over ``max_bytes``
    the partial file is removed and MediaError raised."""
    from tqdm.auto import tqdm

    done = 0
    with (
        open(partial, "wb") as out,
        tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"Downloading {partial.name.removesuffix('.part')}",
            disable=not progress,
            leave=False,
        ) as bar,
    ):
        while chunk := response.read(1 << 16):
            done += len(chunk)
            if max_bytes is not None and done > max_bytes:
                out.close()
                partial.unlink(missing_ok=True)
                raise MediaError(f"{url}: download exceeds the limit of {max_bytes} bytes", source=url, limit=max_bytes)
            out.write(chunk)
            bar.update(len(chunk))
    return done


def probe(path: Path | str, *, name: str | None = None) -> MediaInfo:
    """Duration and stream counts of a media file.

    Args:
        path: the local file.
        name: how messages name it (the link the user gave, not a temporary download).

    Raises:
        MediaError: ffmpeg missing, the file is not media, or it has no audio stream.
    """
    import ffmpeg

    require_ffmpeg()
    name = name or str(path)
    try:
        info = ffmpeg.probe(str(path))
    except ffmpeg.Error as e:
        detail = _ffmpeg_reason(e).replace(str(path), name)
        raise MediaError(f"{name}: not an audio or video file ffmpeg can read ({detail})", source=name) from e
    streams = info.get("streams", [])
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    video = [
        s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    fmt = info.get("format", {})
    if not audio:
        what = "a video with no audio stream" if video else "no audio stream"
        raise MediaError(f"{name}: {what}; nothing to transcribe", source=name)
    duration = _float(fmt.get("duration")) or max((_float(s.get("duration")) for s in audio), default=0.0)
    return MediaInfo(Path(path), duration, len(audio), len(video), fmt.get("format_name", ""))


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _ffmpeg_reason(error) -> str:
    lines = (error.stderr or b"").decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "unknown ffmpeg error"


def load_audio(path: Path | str, *, sample_rate: int = SAMPLE_RATE, name: str | None = None) -> np.ndarray:
    """Decode the first audio stream of any media file to mono float32 at ``sample_rate``.

    Args:
        path: the local file.
        sample_rate: samples per second of the result.
        name: how messages name it (the link the user gave, not a temporary download).

    Raises:
        MediaError: not media, no audio stream, or no samples at all.
    """
    import ffmpeg

    name = name or str(path)
    probe(path, name=name)  # clear errors for "not media" / "no audio" before decoding
    try:
        out, _ = (
            ffmpeg.input(str(path), threads=0)
            .output("-", format="s16le", acodec="pcm_s16le", ac=1, ar=sample_rate, map="0:a:0")
            .run(cmd="ffmpeg", capture_stdout=True, capture_stderr=True, quiet=True)
        )
    except ffmpeg.Error as e:
        detail = _ffmpeg_reason(e).replace(str(path), name)
        raise MediaError(f"{name}: ffmpeg could not decode the audio ({detail})", source=name) from e
    audio = np.frombuffer(out, np.int16).astype(np.float32) / 32768.0
    if audio.size == 0:
        raise MediaError(f"{name}: the audio is empty (0 samples); nothing to transcribe", source=name)
    return audio

"""Links: an http(s) link downloaded with a progress bar, or a video page's media through yt-dlp.

The file appears under its final name only when complete; every failure is a :class:`MediaError`
naming the link and saying what to do. :func:`audiototext.media.resolve` calls this for a link.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.message
import logging
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import MediaError

log = logging.getLogger(__name__)

#: A check of each address a download is redirected to (:func:`checking_redirects`); None: none.
_REDIRECT_CHECK: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "audiototext_redirect_check", default=None
)


@contextlib.contextmanager
def checking_redirects(check: Callable[[str], None]) -> Iterator[None]:
    """Within the block (this thread or task), :func:`download` calls ``check(url)`` on every URL it
    is redirected to before following it; whatever ``check`` raises ends the download. The HTTP
    service refuses private addresses this way, so a public link cannot redirect it to one."""
    token = _REDIRECT_CHECK.set(check)
    try:
        yield
    finally:
        _REDIRECT_CHECK.reset(token)


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check = _REDIRECT_CHECK.get()
        if check is not None:
            check(urllib.parse.urljoin(req.full_url, newurl))
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_CheckedRedirects)


def is_url(source: str) -> bool:
    """An http(s) link with a host; ``https:clip.wav`` is a local file's name."""
    parts = urllib.parse.urlsplit(str(source))
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def fetch_link(url: str, target_dir: Path, *, progress: bool, max_bytes: int | None, timeout: float) -> Path:
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
        with _OPENER.open(request, timeout=timeout) as response:
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


__all__ = ["is_url", "fetch_link", "download", "checking_redirects"]

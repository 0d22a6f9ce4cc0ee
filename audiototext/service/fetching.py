"""Getting a job's media onto this server before it is queued: a link, a video page, or an upload.

Everything is fetched into ``<data-dir>/downloads/<call_id>/`` with a size limit and a stall
timeout, then probed by ffmpeg, so a bad link or a file that is not media is answered at once
(:func:`fetch_media`). yt-dlp (the ``service`` extra) is imported only for ``is_video=true``.
A full data dir is the server's problem, never blamed on the client's file or link: it is a
:class:`~.checks.StorageError` (507), and what was partly written is removed at once, so the
space is free again for the next request.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import socket
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .. import links, media, pages
from ..errors import MediaError, OptionsError
from .checks import DISK_FULL, StorageError, disk_error, safe_suffix, storage_error

log = logging.getLogger(__name__)

#: How a server is allowed to fetch links to private addresses (off by default).
PRIVATE_OPT_IN = "--allow-private-urls or AUDIOTOTEXT_ALLOW_PRIVATE_URLS=1"


#: The kinds of address a client may not make the server fetch, as :mod:`ipaddress` names them.
_NOT_PUBLIC = {
    "loopback": "a loopback address",
    "link_local": "a link-local address",
    "multicast": "a multicast address",
    "reserved": "a reserved address",
    "unspecified": "an unspecified address",
    "private": "a private address",
}


def private_address(host: str) -> str | None:
    """Which non-public address ``host`` is or resolves to ("127.0.0.1, a loopback address"), or None
    when all its addresses are public (or it does not resolve: the download then says so).

    Any address that is not globally routable counts: loopback, private, link-local (cloud
    metadata at 169.254.169.254), shared, multicast, reserved, unspecified.
    """
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return None
    for text in sorted(found):
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        for kind, words in _NOT_PUBLIC.items():
            if getattr(address, f"is_{kind}"):
                return f"{address}, {words}"
        if not address.is_global:
            return f"{address}, not a public address"
    return None


def check_public(url: str, *, allow_private: bool, redirect: bool = False) -> None:
    """Refuse a link to this server's own or its network's addresses, unless ``allow_private``:
    a client must not make the server fetch what only the server can reach (its admin pages,
    a cloud's metadata). Hosts are resolved, so a name pointing at 127.0.0.1 is refused too.

    Raises:
        OptionsError: the link's host is not public (MediaError for a redirect to one).
    """
    host = urllib.parse.urlsplit(url).hostname
    if allow_private or not host or (kind := private_address(host)) is None:
        return
    where = kind if host == kind.split(",")[0] else f"{host} ({kind})"
    why = (
        f"its host is {where}: this server fetches only public addresses "
        f"(its admin can allow private ones with {PRIVATE_OPT_IN})"
    )
    if redirect:
        raise MediaError(f"the link redirects to {url[:200]}, refused: {why}", source=url)
    raise OptionsError(f"src_url {url[:200]!r} is refused: {why}", source=url)


@dataclass(frozen=True)
class Fetched:
    """A job's media on this server: where it is, what the client called it, how long it lasts."""

    path: Path
    source: str
    duration: float


def fetch_media(
    dest_dir: Path,
    stem: str,
    *,
    src_url: str | None = None,
    is_video: bool = False,
    upload: BinaryIO | None = None,
    filename: str | None = None,
    max_bytes: int,
    timeout: float,
    allow_private: bool = False,
) -> Fetched:
    """Download ``src_url`` (or save ``upload``) as ``dest_dir/<stem>.<ext>`` and probe it with ffmpeg.

    On failure ``dest_dir`` is removed and the message names what the client sent (the link, or
    the uploaded file's name), never this server's paths.

    Raises:
        MediaError: the download failed or timed out, the file passed ``max_bytes`` (then with
            ``limit``), or ffmpeg cannot read it.
        StorageError: this server could not store it (a full data dir: ``status`` 507).
    """
    source = src_url if src_url is not None else f"upload:{filename or 'file'}"
    shown = src_url if src_url is not None else (filename or "the uploaded file")
    path = None
    try:
        if src_url is not None:
            path = fetch_url(
                src_url,
                dest_dir,
                stem,
                is_video=is_video,
                max_bytes=max_bytes,
                timeout=timeout,
                allow_private=allow_private,
            )
        else:
            path = save_upload(upload, dest_dir, stem, filename=filename, max_bytes=max_bytes)
        return Fetched(path, source, media.probe(path).duration)
    except (MediaError, OSError) as e:
        shutil.rmtree(dest_dir, ignore_errors=True)  # the partial file goes: the space is free again
        full = e if isinstance(e, OSError) else disk_error(e)
        if full is not None:
            raise storage_error(f"{shown}: could not be saved on the server", full) from e
        if isinstance(e, OSError):  # not a full disk, but still this server's own folder refusing
            raise storage_error(f"{shown}: could not be saved on the server", e) from e
        message = str(e).replace(str(path), shown) if path else str(e)
        if "not an audio or video file" in message:
            if not is_video and src_url is not None:
                message += "; if it is a web page with a video, send is_video=true"
            else:
                message += "; choose an audio or video file instead"
        raise MediaError(message, source=source, limit=getattr(e, "limit", None)) from e


def fetch_url(
    url: str, dest_dir: Path, stem: str, *, is_video: bool, max_bytes: int, timeout: float, allow_private: bool = False
) -> Path:
    """Download ``url`` (a media link, or with ``is_video`` a video page via yt-dlp) as ``<stem>.<ext>``;
    a redirect to a private address is refused unless ``allow_private`` (:func:`check_public`).

    Raises:
        MediaError: the download failed, timed out or passed ``max_bytes`` (then with ``limit``).
    """
    if is_video:
        return fetch_video_page(url, dest_dir, stem, max_bytes=max_bytes, timeout=timeout)
    with links.checking_redirects(lambda to: check_public(to, allow_private=allow_private, redirect=True)):
        item = media.resolve(url, download_dir=dest_dir, progress=False, max_bytes=max_bytes, timeout=timeout)
    path = dest_dir / f"{stem}{safe_suffix(item.path.name)}"
    os.replace(item.path, path)
    return path


def fetch_video_page(url: str, dest_dir: Path, stem: str, *, max_bytes: int, timeout: float) -> Path:
    """The best audio (or video) of the page at ``url``, via yt-dlp, as ``<stem>.<ext>``
    (:func:`audiototext.pages.download_page`, shared with the CLI and the notebook).

    Raises:
        MediaError: yt-dlp is missing, failed, found nothing, or the file passed ``max_bytes``.
    """
    try:
        return pages.download_page(
            url,
            dest_dir,
            stem,
            max_bytes=max_bytes,
            timeout=timeout,
            install="is_video=true needs yt-dlp: pip install 'audiototext[service]'",
        )
    except MediaError as e:  # the server's full disk is the server's error, not the link's
        if full := disk_error(e.__cause__) or _disk_full_text(str(e)):
            raise full from e
        raise


def _disk_full_text(reason: str) -> OSError | None:
    """yt-dlp reports a full disk as text only ("unable to write data: [Errno 28] No space left on device")."""
    for number in DISK_FULL:
        if f"[Errno {number}]" in reason:
            return OSError(number, os.strerror(number))
    return None


def save_upload(stream: BinaryIO, dest_dir: Path, stem: str, *, filename: str | None, max_bytes: int) -> Path:
    """Copy an uploaded file to ``<dest_dir>/<stem>.<ext>``, refusing more than ``max_bytes``.

    Raises:
        MediaError: the upload is larger than ``max_bytes`` (with ``limit``).
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{stem}{safe_suffix(filename)}"
    partial = path.with_name(path.name + ".part")
    done = 0
    with open(partial, "wb") as out:
        while chunk := stream.read(1 << 20):
            done += len(chunk)
            if done > max_bytes:
                out.close()
                partial.unlink(missing_ok=True)
                raise MediaError(
                    f"upload {filename!r}: more than the limit of {max_bytes} bytes", source=filename, limit=max_bytes
                )
            out.write(chunk)
    os.replace(partial, path)
    return path


__all__ = [
    "Fetched",
    "StorageError",
    "check_public",
    "private_address",
    "fetch_media",
    "fetch_url",
    "fetch_video_page",
    "save_upload",
]

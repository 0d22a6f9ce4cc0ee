"""The service's pure checks: slugs, links, and which HTTP status a failed job answers with.

Every input is untrusted: a slug becomes a file name, a link is fetched by this server. No heavy
imports, no I/O: these run in microseconds and are unit-tested without a server.
"""

from __future__ import annotations

import re
import sys
import urllib.parse
from pathlib import PurePath

from ..errors import MediaError, OptionsError, TranslationError

SLUG_PATTERN = r"[A-Za-z0-9_-]{1,100}"
SLUG_RE = re.compile(SLUG_PATTERN)
SLUG_MESSAGE = "title_slug must be 1 to 100 characters from A-Z, a-z, 0-9, '_' and '-'"
#: Files ``GET /api/audio/{slug}.<ext>`` serves, with their media types.
FILE_TYPES = {
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "json": "application/json",
}


def check_slug(slug: str) -> str:
    """``slug`` when it is a safe file stem; OptionsError otherwise (no traversal, no dots)."""
    if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
        raise OptionsError(f"{SLUG_MESSAGE}; got {slug!r}"[:300], slug=slug)
    return slug


def split_result_name(name: str) -> tuple[str, str]:
    """``"talk.srt"`` -> ``("talk", "srt")``, ``"talk"`` -> ``("talk", "")``, for ``GET /api/audio/{name}``.

    Raises:
        OptionsError: not a slug, or a file type the service does not serve.
    """
    slug, _, ext = name.partition(".")
    if not SLUG_RE.fullmatch(slug):
        raise OptionsError(
            f"{SLUG_MESSAGE}, optionally followed by .srt, .vtt, .txt, .tsv or .json; got {name[:200]!r}",
            slug=name[:200],
        )
    if ext and ext not in FILE_TYPES:
        raise OptionsError(f"unknown file type {ext[:20]!r}: ask for {slug}.srt, .vtt, .txt, .tsv or .json", slug=slug)
    return slug, ext


def check_url(url: str) -> str:
    """``url`` when it is an ``http(s)://`` link with a host; OptionsError otherwise."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise OptionsError(
            f"src_url must be an http:// or https:// link; {url[:200]!r} is refused "
            "(file://, local paths and other schemes are never read)",
            source=url,
        )
    return url


def safe_suffix(name: str | None) -> str:
    """The lower-case extension of a client's file name when it is a plain one (``.wav``), else ""."""
    suffix = PurePath(name or "").suffix
    return suffix.lower() if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", suffix) else ""


def failure_status(error: BaseException) -> int:
    """The HTTP status a failed job's status answer carries.

    422: the job's own input or options cannot be processed (including media OpenAI's API
    refused); 502: an upstream service failed (DeepL, OpenAI's API); 500: anything else, this
    server's fault (a model it cannot load, a full disk).
    """
    if isinstance(error, (MediaError, OptionsError)):
        return 422
    if isinstance(error, TranslationError):
        return 502
    api = sys.modules.get("audiototext.engines.openai_api")  # loaded whenever one of its errors exists
    if api is not None and isinstance(error, api.APIError):
        return 422 if getattr(error, "kind", None) == "rejected" else 502
    return 500


def public_message(error: BaseException, *, media_path: str | None, source: str) -> str:
    """The error's message with this server's file path of the media replaced by what the client sent."""
    message = str(error)
    if media_path:
        message = message.replace(str(media_path), source)
    return message


__all__ = [
    "SLUG_PATTERN",
    "SLUG_RE",
    "SLUG_MESSAGE",
    "FILE_TYPES",
    "check_slug",
    "split_result_name",
    "check_url",
    "safe_suffix",
    "failure_status",
    "public_message",
]

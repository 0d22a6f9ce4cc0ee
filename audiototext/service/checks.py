"""The service's pure checks: slugs, links, and which HTTP status a failed job answers with.

Every input is untrusted: a slug becomes a file name, a link is fetched by this server. No heavy
imports, no I/O: these run in microseconds and are unit-tested without a server.
"""

from __future__ import annotations

import difflib
import errno
import re
import sys
import urllib.parse
from collections.abc import Iterable
from pathlib import PurePath

from ..errors import AudioToTextError, MediaError, OptionsError, TranslationError
from ..formats import FORMATS, get

SLUG_PATTERN = r"[A-Za-z0-9_-]{1,100}"
SLUG_RE = re.compile(SLUG_PATTERN)
SLUG_MESSAGE = "title_slug must be 1 to 100 characters from A-Z, a-z, 0-9, '_' and '-'"
#: Files ``GET /api/audio/{slug}.<ext>`` serves, with their media types: the output formats'.
FILE_TYPES = {fmt.extension: fmt.media_type for fmt in map(get, FORMATS)}
#: ``GET /api/audio/{slug}.zip``: every file of the result in one archive.
ZIP_TYPE = "application/zip"
#: The errors of a full disk (or of a file-size limit), the server's problem, answered 507.
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: A written file's name after ``<slug>_`` (a translation: ``talk_English (British).srt``).
_SUFFIX_RE = re.compile(r"[^/\\\x00-\x1f]{1,120}")


class StorageError(AudioToTextError):
    """This server could not store something (its data dir is full, or refuses to be written).

    Attributes:
        status: the HTTP status: 507 for a full disk, 500 otherwise.
    """


def check_slug(slug: str) -> str:
    """``slug`` when it is a safe file stem; OptionsError otherwise (no traversal, no dots)."""
    if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
        raise OptionsError(f"{SLUG_MESSAGE}; got {slug!r}"[:300], slug=slug)
    return slug


def split_result_name(name: str) -> tuple[str, str]:
    """``"talk.srt"`` -> ``("talk", "srt")``, ``"talk"`` -> ``("talk", "")``, for ``GET /api/audio/{name}``.

    A file's stem may carry more after the slug and a ``_`` (``talk_German.srt``, a translation):
    :func:`slug_candidates` says which slugs it may belong to.

    Raises:
        OptionsError: not a slug (with an optional suffix), or a file type the service does not serve.
    """
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if not slug_candidates(stem) or ".." in stem:
        raise OptionsError(
            f"{SLUG_MESSAGE}, optionally followed by .srt, .vtt, .txt, .tsv, .json or .zip; got {name[:200]!r}",
            slug=name[:200],
        )
    if ext and ext not in FILE_TYPES and ext != "zip":
        raise OptionsError(
            f"unknown file type {ext[:20]!r}: ask for {stem}.srt, .vtt, .txt, .tsv, .json or .zip", slug=stem
        )
    return stem, ext


def slug_candidates(stem: str) -> list[str]:
    """The slugs a file stem may belong to, longest first: ``"my_talk_German"`` -> the whole stem,
    ``"my_talk"``, ``"my"`` (the stem itself only when it is a slug)."""
    found = [stem] if SLUG_RE.fullmatch(stem) else []
    for i in range(len(stem) - 1, 0, -1):
        if stem[i] == "_" and SLUG_RE.fullmatch(stem[:i]) and _SUFFIX_RE.fullmatch(stem[i + 1 :]):
            found.append(stem[:i])
    return found


def unknown_parameters(given: Iterable[str], known: Iterable[str], why: dict[str, str]) -> str | None:
    """The message refusing query parameters the endpoint does not take (None: all are known).

    ``why`` says why an option of the registry is not a parameter here (``output_dir``: the
    service keeps each job's files under --data-dir); other names get the closest known one.
    """
    known = sorted(set(known))
    parts = []
    for name in sorted(set(given) - set(known)):
        shown = repr(name[:60])
        if name in why:
            parts.append(f"{shown} cannot be set here ({why[name]})")
        elif close := difflib.get_close_matches(name, known, n=1):
            parts.append(f"{shown} is not a parameter (did you mean {close[0]}?)")
        else:
            parts.append(f"{shown} is not a parameter")
    if not parts:
        return None
    return "unknown query parameter: " + "; ".join(parts) + f". The parameters are: {', '.join(known)}"


def option_messages(errors: Iterable[dict]) -> list[dict]:
    """FastAPI's validation ``errors`` with the registry's message for an option's value (the one the
    CLI and the notebook give: "beam_size must be between 1 and 20, not 0"), not pydantic's."""
    from .. import options as registry

    fixed = []
    for error in errors:
        loc = tuple(error.get("loc") or ())
        option = registry.REGISTRY.get(loc[-1]) if len(loc) == 2 and loc[0] == "query" else None
        if option is not None and "service" in option.faces and "input" in error:
            try:
                option.parse(error["input"], face="service")
            except OptionsError as e:
                error = {**error, "msg": str(e)}
        fixed.append(error)
    return fixed


def disk_error(error: BaseException | None) -> OSError | None:
    """The OSError of a full disk (or a file-size limit) behind ``error`` (its causes followed), if any."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, OSError) and error.errno in DISK_FULL:
            return error
        exc_info = getattr(error, "exc_info", None)  # yt-dlp's DownloadError keeps the original there
        inner = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) > 1 else None
        if isinstance(inner, OSError) and inner.errno in DISK_FULL:
            return inner
        error = error.__cause__ or error.__context__
        seen += 1
    return None


def storage_error(what: str, error: OSError) -> StorageError:
    """The error for this server failing to store ``what``: 507 for a full disk, else 500; never the client's fault."""
    reason = error.strerror or str(error)
    if error.errno in DISK_FULL:
        return StorageError(
            f"{what}: the server's disk is full ({reason}); nothing is wrong with your file or link. "
            "Ask the server's admin to free space in its --data-dir, then send it again",
            status=507,
        )
    return StorageError(
        f"{what}: the server could not write to its --data-dir ({reason}); nothing is wrong with your "
        "file or link. Ask the server's admin to check the folder, then send it again",
        status=500,
    )


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


def upload_name(name: str | None) -> str | None:
    """An uploaded file's name as its user called it: browsers send ``"``, CR and LF in a multipart
    file name as ``%22``, ``%0D`` and ``%0A`` (the HTML standard's form encoding), so ``"talk".wav``
    would be listed as ``%22talk%22.wav``."""
    if not name:
        return name
    return name.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")


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


#: The DeepL key of a service is its environment's: what a client reads instead of the CLI's and
#: notebook's ways to give one (``--deepl-api-key``, ``deepl_api_key``), which a request cannot use.
SERVER_DEEPL_KEY = {
    "auth": "DeepL rejected this server's key: the server's admin must set a valid DEEPL_AUTH_KEY in its "
    "environment and restart it (a request never carries a key)",
    "config": "this server has no DeepL key: the server's admin must set DEEPL_AUTH_KEY in its environment "
    "and restart it (a request never carries a key); or send the job without deepl_target",
}


def public_message(error: BaseException, *, media_path: str | None, source: str) -> str:
    """The error's message with this server's file path of the media replaced by what the client sent,
    and a DeepL key fault said as the server's (its DEEPL_AUTH_KEY), not as a flag the client lacks."""
    kind = getattr(error, "kind", None)
    if isinstance(error, TranslationError) and (kind == "auth" or str(error).startswith("No DeepL API key")):
        return f"{source.removeprefix('upload:')}: {SERVER_DEEPL_KEY[kind]}"
    message = str(error)
    if media_path:
        message = message.replace(str(media_path), source)
    return message


__all__ = [
    "upload_name",
    "option_messages",
    "SLUG_PATTERN",
    "SLUG_RE",
    "SLUG_MESSAGE",
    "FILE_TYPES",
    "ZIP_TYPE",
    "DISK_FULL",
    "StorageError",
    "check_slug",
    "split_result_name",
    "slug_candidates",
    "unknown_parameters",
    "disk_error",
    "storage_error",
    "check_url",
    "safe_suffix",
    "failure_status",
    "public_message",
    "SERVER_DEEPL_KEY",
]

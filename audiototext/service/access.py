"""Who may read what: the bearer token, and signed links for what a browser fetches without headers.

With ``--token`` every route needs ``Authorization: Bearer <token>``, but a ``<video src>``,
a ``<track src>`` or a download link cannot send a header. For those the service hands out
signed links (:func:`signed`): the path, an expiry and an HMAC of both keyed by the token, valid
for GET on the result files and the media only, and only until they expire. The token itself
never appears in a URL. The page and its static files are open: they hold no data.
No heavy imports: this is unit-tested without a server.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.parse

#: Paths that stay open when a token is set: the API docs.
OPEN_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"})
#: The web page and its static files: open, they hold no data (the page asks for the token).
PAGE_PATHS = frozenset({"/", "/index.html"})
STATIC_PREFIX = "/static/"
#: What a signed link may open (GET only): result files and the kept media.
SIGNED_PREFIXES = ("/api/audio/", "/api/media/")
#: How long a signed link works, in seconds: a long video may be paused and resumed for hours.
LINK_SECONDS = 24 * 3600


def is_open(path: str) -> bool:
    """A path served without the token: the docs, the page, its static files."""
    return path in OPEN_PATHS or path in PAGE_PATHS or path.startswith(STATIC_PREFIX)


def check_bearer(header: str, token: str) -> str | None:
    """None when the ``Authorization`` header carries ``token``; else what is wrong, for the 401."""
    scheme, _, given = header.partition(" ")
    if not given or scheme.lower() != "bearer":
        return "missing bearer token: send 'Authorization: Bearer <token>'"
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return "wrong bearer token"
    return None


def _signature(path: str, expires: int, token: str) -> str:
    return hmac.new(token.encode(), f"GET {path} {expires}".encode(), hashlib.sha256).hexdigest()


def signed(path: str, token: str | None, *, now: float | None = None) -> str:
    """The URL of ``path`` (unquoted, as the server sees it) that opens without the header.

    Without a token the path itself (quoted); with one, ``?expires=...&signature=...`` added.
    """
    url = urllib.parse.quote(path)
    if not token:
        return url
    expires = int(now if now is not None else time.time()) + LINK_SECONDS
    return f"{url}?expires={expires}&signature={_signature(path, expires, token)}"


def check_signed(method: str, path: str, query: dict[str, str], token: str, *, now: float | None = None) -> bool:
    """True when ``query`` holds a valid, unexpired signature of ``path`` for a GET of a result or media."""
    if method not in ("GET", "HEAD") or not path.startswith(SIGNED_PREFIXES):
        return False
    expires, signature = query.get("expires", ""), query.get("signature", "")
    if not expires.isdigit() or not signature:
        return False
    if int(expires) < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(signature.encode(), _signature(path, int(expires), token).encode())


__all__ = [
    "OPEN_PATHS",
    "PAGE_PATHS",
    "STATIC_PREFIX",
    "SIGNED_PREFIXES",
    "LINK_SECONDS",
    "is_open",
    "check_bearer",
    "signed",
    "check_signed",
]

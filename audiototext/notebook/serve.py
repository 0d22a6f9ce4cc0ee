"""Media streamed to the notebook's player instead of embedded in it.

Colab's page cannot read the runtime's files, so the player used to carry the whole video inside
the notebook as base64 (up to 50 MB, saved with it). Instead, :class:`MediaServer` serves the files
the player needs from this kernel — only those, each under an unguessable token — with HTTP range
requests, so the player streams and seeks; in Colab the page reaches it through Colab's own proxy
of the runtime's ports (``google.colab.kernel.proxyPort``, :func:`audiototext.notebook.colab.proxy_url`).
"""

from __future__ import annotations

import http.server
import mimetypes
import re
import secrets
import threading
import urllib.parse
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class MediaServer:
    """An HTTP server in a daemon thread serving the files given to :meth:`add`, by token."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.files: dict[str, Path] = {}
        served = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served._answer(self, head=False)

            def do_HEAD(self) -> None:
                served._answer(self, head=True)

            def log_message(self, *args) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="audiototext-media", daemon=True).start()

    def add(self, path: str | Path) -> str:
        """Serve ``path``; returns its address on this server, relative: ``<token>/<name>``."""
        path = Path(path).resolve()
        token = next((t for t, known in self.files.items() if known == path), None)
        if token is None:
            token = secrets.token_urlsafe(16)
            self.files[token] = path
        return f"{token}/{urllib.parse.quote(path.name)}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, handler, *, head: bool) -> None:
        token = urllib.parse.urlsplit(handler.path).path.lstrip("/").split("/", 1)[0]
        path = self.files.get(token)
        if path is None or not path.is_file():
            handler.send_error(404)
            return
        size = path.stat().st_size
        start, end = 0, size - 1
        match = _RANGE.match(handler.headers.get("Range", "").strip())
        if match and (match[1] or match[2]):
            if match[1]:
                start, end = int(match[1]), min(int(match[2]) if match[2] else size - 1, size - 1)
            else:  # "bytes=-N": the last N bytes
                start = max(0, size - int(match[2]))
            if start >= size or start > end:
                handler.send_response(416)
                handler.send_header("Content-Range", f"bytes */{size}")
                handler.end_headers()
                return
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        else:
            handler.send_response(200)
        handler.send_header("Content-Type", mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        handler.send_header("Content-Length", str(end - start + 1))
        handler.send_header("Accept-Ranges", "bytes")
        handler.send_header("Access-Control-Allow-Origin", "*")
        handler.end_headers()
        if head:
            return
        with open(path, "rb") as f:
            f.seek(start)
            _copy(f, handler.wfile, end - start + 1)


def _copy(source, target, count: int) -> None:
    try:
        while count > 0:
            chunk = source.read(min(1 << 20, count))
            if not chunk:
                return
            target.write(chunk)
            count -= len(chunk)
    except (BrokenPipeError, ConnectionResetError):  # the player seeks elsewhere: it drops the request
        return


_SERVERS: list[MediaServer] = []


def media_server(host: str = "127.0.0.1") -> MediaServer:
    """This kernel's media server, started on first use."""
    if not _SERVERS:
        _SERVERS.append(MediaServer(host))
    return _SERVERS[0]


__all__ = ["MediaServer", "media_server"]

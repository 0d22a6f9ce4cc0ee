"""A Hugging Face hub and a file host on 127.0.0.1, for the model download tests.

:class:`FakeHub` answers what ``huggingface_hub.snapshot_download`` asks (``/api/models/<repo>/revision/
main``, the ``tree`` listing, then ``HEAD``/``GET`` of ``/<repo>/resolve/<commit>/<file>``) for one
repository whose files are given as bytes; the real ``huggingface_hub`` talks to it through
``endpoint`` / ``HF_ENDPOINT``. Any other path (``/<sha256>/<name>.pt``: an openai-whisper checkpoint
URL) is served from :attr:`FakeHub.blobs`. Every request is recorded.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    """The server; use as a context manager. ``url`` is its endpoint."""

    def __init__(self, repo: str = "", files: dict[str, bytes] | None = None) -> None:
        self.repo = repo
        self.files = dict(files or {})
        self.blobs: dict[str, Path] = {}
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hub._answer(self, head=False)

            def do_HEAD(self) -> None:
                hub._answer(self, head=True)

            def log_message(self, *args) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> FakeHub:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, handler, *, head: bool) -> None:
        self.requests.append((handler.command, handler.path))
        path = handler.path.split("?")[0]
        api = f"/api/models/{self.repo}/"
        resolve = f"/{self.repo}/resolve/"
        if path in (f"{api}revision/main", f"{api}revision/{COMMIT}"):
            siblings = [{"rfilename": name, "size": len(data)} for name, data in self.files.items()]
            info = {"id": self.repo, "sha": COMMIT, "siblings": siblings}
            return _send(handler, 200, json.dumps(info).encode(), head)
        if path.startswith(f"{api}tree/"):
            tree = [
                {"type": "file", "path": name, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                for name, data in self.files.items()
            ]
            return _send(handler, 200, json.dumps(tree).encode(), head)
        if path.startswith(resolve) and path[len(resolve) :].split("/", 1)[-1] in self.files:
            data = self.files[path[len(resolve) :].split("/", 1)[1]]
            headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{hashlib.sha1(data).hexdigest()}"'}
            return _send(handler, 200, data, head, headers)
        if path in self.blobs:
            return _send(handler, 200, self.blobs[path].read_bytes(), head)
        _send(handler, 404, b"Not Found", head)


def _send(handler, status: int, body: bytes, head: bool, headers: dict | None = None) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if not head:
        handler.wfile.write(body)

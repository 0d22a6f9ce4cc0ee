"""A fake OpenAI speech-to-text API on 127.0.0.1 that the real ``openai`` package talks to (``base_url=``).

It behaves like OpenAI where the ``openai-api`` engine depends on it:

* ``POST /v1/audio/transcriptions`` and ``/v1/audio/translations``, multipart uploads parsed;
  a body over 25 MB answers 413, a file extension OpenAI does not accept answers 400;
* the upload is decoded with ffmpeg and "transcribed" deterministically: one segment per stretch
  of sound (frames above -40 dBFS, gaps under 0.6 s merged), its times exact to 10 ms and its text
  naming its start in the piece (" Speech at 12.34 seconds."), words spread evenly when asked;
* ``whisper-1`` answers ``verbose_json`` (language as a name, like "english"); the gpt-4o models
  refuse ``verbose_json`` as OpenAI does and answer ``json`` with text only: one sentence per
  stretch of sound, its length in proportion to the stretch's duration;
* 401 for a key other than ``api_key`` (the message echoes the key, as a leak test needs).

Switches (attributes, set per test): ``fail_status`` with ``fail_code``/``fail_message`` (answer
that error), ``fail_after`` (requests served before failing starts; also for ``close_connection``),
``fail_count`` (how many failures, None = all); ``reject_request`` (the n-th request, 1-based,
answers 400 "corrupted"); ``close_connection`` (hang up without answering); ``no_segments``
(answer text only, whatever the model); ``delay`` (seconds before answering, to see requests
overlap). Every request is recorded in ``requests`` (:class:`Recorded`); ``max_in_flight`` is the
most requests served at once.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

LIMIT = 25 * 1024 * 1024
ACCEPTED = {"flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm"}
LANGUAGE_NAMES = {"en": "english", "es": "spanish", "de": "german", "fr": "french"}


@dataclass
class Recorded:
    """One request as the server saw it."""

    path: str
    model: str | None
    response_format: str | None
    language: str | None
    prompt: str | None
    temperature: str | None
    granularities: tuple[str, ...]
    filename: str | None
    size: int
    body_size: int


def sound_regions(audio: np.ndarray, rate: int = 16000) -> list[tuple[float, float]]:
    """Stretches of sound: 10 ms frames above -40 dBFS, gaps under 0.6 s merged, under 0.1 s dropped."""
    frame = rate // 100
    n = len(audio) // frame
    if n == 0:
        return []
    rms = np.sqrt(np.mean(np.square(audio[: n * frame].reshape(n, frame), dtype=np.float64), axis=1))
    loud = rms > 10 ** (-40 / 20)
    regions: list[list[float]] = []
    for i in np.flatnonzero(loud):
        start, end = i * 0.01, (i + 1) * 0.01
        if regions and start - regions[-1][1] < 0.6:
            regions[-1][1] = end
        else:
            regions.append([start, end])
    return [(round(s, 2), round(e, 2)) for s, e in regions if e - s >= 0.1]


def decode(data: bytes, filename: str) -> np.ndarray:
    suffix = Path(filename or "upload").suffix or ".bin"
    with tempfile.NamedTemporaryFile(suffix=suffix) as f:
        f.write(data)
        f.flush()
        out = subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", f.name, "-f", "s16le", "-ac", "1", "-ar", "16000", "-"],
            capture_output=True,
            check=True,
        ).stdout
    return np.frombuffer(out, np.int16).astype(np.float32) / 32768.0


def _error(message: str, kind: str, code: str | None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class FakeOpenAI:
    """State and behaviour of the fake server; attributes are the switches."""

    def __init__(self, api_key: str = "sk-test-4f9a1c2e7b") -> None:
        self.api_key = api_key
        self.url = ""
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.fail_status: int | None = None
        self.fail_code: str | None = None
        self.fail_message: str = "fake failure"
        self.fail_after = 0
        self.fail_count: int | None = None
        self.reject_request: int | None = None
        self.close_connection = False
        self.no_segments = False
        self.delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self._failures = 0

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def sizes(self) -> list[int]:
        return [r.size for r in self.requests]

    # --- answers --------------------------------------------------------------------------------

    def respond(
        self, path: str, fields: dict, upload: tuple[str, bytes] | None, auth: str, number: int
    ) -> tuple[int, object, dict]:
        """(status, body, extra headers) for request ``number`` (1-based)."""
        if auth != f"Bearer {self.api_key}":
            key = auth.removeprefix("Bearer ")
            return (
                401,
                _error(
                    f"Incorrect API key provided: {key}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
                {},
            )
        with self.lock:
            failing = (
                self.fail_status is not None
                and number > self.fail_after
                and (self.fail_count is None or self._failures < self.fail_count)
            )
            self._failures += failing
        if failing:
            kind = (
                "insufficient_quota"
                if self.fail_code == "insufficient_quota"
                else ("requests" if self.fail_status == 429 else "server_error")
            )
            # retry-after-ms keeps the client's retries fast; OpenAI sends such headers too.
            return self.fail_status, _error(self.fail_message, kind, self.fail_code), {"retry-after-ms": "5"}
        if self.reject_request == number:
            return (
                400,
                _error(
                    "Audio file might be corrupted or unsupported", "invalid_request_error", "invalid_value", "file"
                ),
                {},
            )
        if path not in ("/v1/audio/transcriptions", "/v1/audio/translations"):
            return 404, _error(f"Invalid URL (POST {path})", "invalid_request_error", None), {}
        if upload is None:
            return 400, _error("1 validation error: file is required", "invalid_request_error", None, "file"), {}
        model = fields.get("model")
        if model not in ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"):
            return 404, _error(f"The model `{model}` does not exist", "invalid_request_error", "model_not_found"), {}
        translate = path.endswith("/translations")
        if translate and model != "whisper-1":
            return 400, _error(f"model {model} is not supported for translations", "invalid_request_error", None), {}
        name, data = upload
        if name.rsplit(".", 1)[-1].lower() not in ACCEPTED:
            return (
                400,
                _error(f"Invalid file format. Supported formats: {sorted(ACCEPTED)}", "invalid_request_error", None),
                {},
            )
        fmt = fields.get("response_format", "json")
        text_only = self.no_segments or model != "whisper-1"
        if model != "whisper-1" and fmt not in ("json", "text"):
            return (
                400,
                _error(
                    f"response_format '{fmt}' is not compatible with model '{model}'. Use 'json' or 'text' instead.",
                    "invalid_request_error",
                    "unsupported_value",
                    "response_format",
                ),
                {},
            )
        audio = decode(data, name)
        duration = len(audio) / 16000
        regions = sound_regions(audio)
        language = "english" if translate else LANGUAGE_NAMES.get(fields.get("language") or "en", "english")
        segments, words = [], []
        for i, (start, end) in enumerate(regions):
            text = f" Speech at {start:.2f} seconds."
            segments.append(
                {
                    "id": i,
                    "seek": 0,
                    "start": start,
                    "end": end,
                    "text": text,
                    "tokens": [1, 2, 3],
                    "temperature": 0.0,
                    "avg_logprob": -0.2,
                    "compression_ratio": 1.2,
                    "no_speech_prob": 0.01,
                }
            )
            tokens = text.split()
            step = (end - start) / len(tokens)
            words += [
                {"word": w, "start": round(start + k * step, 3), "end": round(start + (k + 1) * step, 3)}
                for k, w in enumerate(tokens)
            ]
        if text_only:
            sentences = [f"Speech {i}" + " la" * max(1, round((e - s) * 4)) + "." for i, (s, e) in enumerate(regions)]
            body: dict = {"text": " ".join(sentences)}
            if fmt == "text":
                return 200, body["text"], {}
            return 200, body, {}
        if fmt != "verbose_json":
            return 200, {"text": "".join(s["text"] for s in segments)}, {}
        body = {
            "task": "translate" if translate else "transcribe",
            "language": language,
            "duration": duration,
            "text": "".join(s["text"] for s in segments),
            "segments": segments,
        }
        if "word" in fields.get("timestamp_granularities", ()):
            body["words"] = words
        return 200, body, {}


def _parse_multipart(content_type: str, raw: bytes) -> tuple[dict, tuple[str, bytes] | None]:
    """Form fields and the uploaded (filename, bytes) of a multipart/form-data body (bytes split directly:
    the email parser takes seconds on a 25 MB upload)."""
    boundary = re.search(r'boundary="?([^";]+)"?', content_type).group(1).encode()
    fields: dict = {}
    upload = None
    for part in raw.split(b"--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, value = part.partition(b"\r\n\r\n")
        value = value.removesuffix(b"\r\n")
        disposition = head.decode("utf-8", "replace")
        name = re.search(r'\bname="([^"]*)"', disposition).group(1)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if filename or name == "file":
            upload = (filename.group(1) if filename else "", value)
        else:
            fields.setdefault(name.removesuffix("[]"), []).append(value.decode())
    granularities = fields.pop("timestamp_granularities", [])
    fields = {k: v[-1] for k, v in fields.items()}
    fields["timestamp_granularities"] = granularities
    return fields, upload


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _handler(state: FakeOpenAI):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            raw = _read_body(self)
            content_type = self.headers.get("Content-Type") or ""
            fields, upload = _parse_multipart(content_type, raw) if "multipart" in content_type else ({}, None)
            with state.lock:
                state.requests.append(
                    Recorded(
                        self.path,
                        fields.get("model"),
                        fields.get("response_format"),
                        fields.get("language"),
                        fields.get("prompt"),
                        fields.get("temperature"),
                        tuple(fields.get("timestamp_granularities", ())),
                        upload[0] if upload else None,
                        len(upload[1]) if upload else 0,
                        len(raw),
                    )
                )
                number = len(state.requests)
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                if state.delay:
                    time.sleep(state.delay)
                if state.close_connection and number > state.fail_after:
                    self.close_connection = True
                    return
                if len(raw) > LIMIT:
                    status, body, headers = (
                        413,
                        _error(
                            f"Maximum content size limit ({LIMIT}) exceeded ({len(raw)} bytes read)",
                            "server_error",
                            None,
                        ),
                        {},
                    )
                else:
                    status, body, headers = state.respond(
                        self.path, fields, upload, self.headers.get("Authorization", ""), number
                    )
            finally:
                with state.lock:
                    state.in_flight -= 1
            if isinstance(body, str):
                payload, ctype = body.encode(), "text/plain"
            else:
                payload, ctype = json.dumps(body).encode(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler


class FakeOpenAIServer:
    """Runs a :class:`FakeOpenAI` on 127.0.0.1 in a thread: ``with FakeOpenAIServer() as fake: ...``."""

    def __init__(self, state: FakeOpenAI | None = None) -> None:
        self.state = state or FakeOpenAI()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self._server.daemon_threads = True
        self.state.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self.state

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

"""What the OpenAI API offers and costs, how its key is found, and its one error type."""

from __future__ import annotations

import logging
import os
import re
import urllib.parse

from ...errors import AudioToTextError, ModelError

log = logging.getLogger(__name__)

MODELS = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
DEFAULT_MODEL = "whisper-1"

#: US dollars per minute of audio. Source: https://openai.com/api/pricing/ ("Transcription":
#: whisper-1 $0.006/min; gpt-4o-transcribe "estimated cost" $0.006/min and gpt-4o-mini-transcribe
#: $0.003/min, both billed in audio tokens), checked 2026-05. The gpt-4o figures are estimates.
PRICES_PER_MINUTE = {"whisper-1": 0.006, "gpt-4o-transcribe": 0.006, "gpt-4o-mini-transcribe": 0.003}

#: The API's upload limit (https://platform.openai.com/docs/guides/speech-to-text: "File uploads
#: are currently limited to 25 MB"); the server answers 413 above 26,214,400 bytes.
MAX_BYTES = 25 * 1024 * 1024

#: Extensions the API accepts (the same guide's list, plus oga/ogg).
ACCEPTED_FORMATS = frozenset({"flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm"})

#: Models that answer ``verbose_json`` with timed segments (and words); the others give only text.
SEGMENT_MODELS = frozenset({"whisper-1"})

#: Longest piece per request for models whose answer is capped: the gpt-4o transcribe models write
#: at most 2,000 output tokens (https://platform.openai.com/docs/models/gpt-4o-transcribe), about
#: 10 minutes of fast speech, and refuse audio over 1,500 s; 5 minutes keeps every answer whole
#: and gives the text-only cues a fresh time anchor at each piece boundary.
MAX_PIECE_SECONDS = {"gpt-4o-transcribe": 300.0, "gpt-4o-mini-transcribe": 300.0}

#: Pieces are written as 16 kHz mono 16-bit FLAC, which never exceeds raw PCM (32,000 B/s) by
#: more than its frame headers, so planning with this rate and a 5% margin keeps every piece
#: under the limit without encoding it first.
_BYTES_PER_SECOND = 32000
_SIZE_MARGIN = 0.95
#: OpenAI refuses audio shorter than 0.1 s; a cut never leaves less than this at the end.
_MIN_PIECE_SECONDS = 1.0
_CHECKPOINT_VERSION = 1


class APIError(AudioToTextError):
    """OpenAI's API failed for an input; ``kind`` says how.

    Attributes:
        kind: "auth" (key rejected or no access), "quota" (no credit), "rate" (429 after the
            client's retries), "server" (5xx), "network" (unreachable, timeout) or "rejected"
            (the server refused a piece, e.g. 400 or 413).
        source: the input file.
        piece: index of the piece that failed (0-based).
    """


# --- key, prices ----------------------------------------------------------------------------------


#: Where the key is read from when none is given (``OpenAIAPIEngine.key_env``).
KEY_ENV = "OPENAI_API_KEY"


def resolve_api_key(explicit: str | None, env: str = KEY_ENV) -> str | None:
    """The OpenAI key: ``explicit``, else the variable ``env`` (``$OPENAI_API_KEY``); blank values count as missing.

    A face with other sources resolves them and passes the value (the notebook: its ``api_key``
    field, else the Colab secret ``OPENAI_API_KEY``).
    """
    if explicit and explicit.strip():
        return explicit.strip()
    value = os.environ.get(env, "").strip()
    return value or None


def check_model(model: str) -> str:
    """``model`` if it is one of :data:`MODELS`.

    Raises:
        ModelError: another name; the message lists the three models.
    """
    if model not in MODELS:
        raise ModelError(f"Unknown OpenAI model {model!r}: use one of {', '.join(MODELS)}", model=model)
    return model


def estimate_cost(model: str, duration_seconds: float) -> float:
    """US dollars OpenAI charges for ``duration_seconds`` of audio with ``model`` (:data:`PRICES_PER_MINUTE`)."""
    return PRICES_PER_MINUTE[check_model(model)] * max(0.0, duration_seconds) / 60.0


def _redact(text: str, key: str | None) -> str:
    if key:
        text = text.replace(key, "***")
    return re.sub(r"\b(sk-[A-Za-z0-9_*.-]{0,8})[A-Za-z0-9_*.-]+", r"\1***", text)


def _public_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"

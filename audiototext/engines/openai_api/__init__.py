"""The ``openai-api`` engine: OpenAI's hosted speech-to-text, for users with no GPU (the large
models are slow on a CPU).

The API takes files, so the entry point is :meth:`OpenAIAPIEngine.transcribe_file`:

1. probe the input; a format the API refuses (or a video) is converted with ffmpeg to 16 kHz mono
   FLAC;
2. a file over the 25 MB upload limit (or longer than a gpt-4o model can answer in one request)
   is cut at pauses into pieces under it, found with the same voice detection as local long
   audio: the caller hands the engine that detector (``find_speech``:
   :func:`audiototext.longaudio.speech_regions`), as engines sit below the long-audio package;
3. up to ``max_parallel`` pieces are sent at a time; every finished piece is checkpointed
   (atomically, as JSON) when a ``checkpoint_dir`` is given, so a re-run sends only the rest;
4. each answer is converted into a :class:`~audiototext.transcript.Transcript` in exactly one
   function (:func:`.answers.response_to_transcript`) and the pieces are stitched in order, each re-based
   by :meth:`Segment.shifted` onto the whole file.

Every failure (bad key, no credit, rate limit, server error, network, a rejected piece) becomes
one :class:`APIError` that says what to do; the key never appears in a message or a log line.
Removing the checkpoint directory once the outputs are written is the pipeline's job.

Heavy imports (``openai``, numpy decoding, voice detection) happen inside the functions that
need them, so importing this module costs nothing.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import tempfile
from pathlib import Path
from collections.abc import Callable

import numpy as np

from ...errors import OptionsError
from ...events import Callbacks
from ...transcript import Transcript
from .. import DecodeOptions, EngineFacts
from .answers import cues_from_text, response_to_transcript, split_sentences
from .catalog import (
    ACCEPTED_FORMATS,
    DEFAULT_MODEL,
    KEY_ENV,
    MAX_BYTES,
    MAX_PIECE_SECONDS,
    MODELS,
    PRICES_PER_MINUTE,
    SEGMENT_MODELS,
    APIError,
    _public_url,
    _redact,
    check_model,
    estimate_cost,
    resolve_api_key,
)
from .pieces import Piece, _Checkpoints, _Job, plan_pieces, write_flac

log = logging.getLogger(__name__)


class OpenAIAPIEngine(EngineFacts):
    """OpenAI's speech-to-text API (``whisper-1``, ``gpt-4o-transcribe``, ``gpt-4o-mini-transcribe``).

    Args:
        model: one of :data:`MODELS`.
        api_key: the key; None reads ``$OPENAI_API_KEY`` (:func:`resolve_api_key`).
        base_url: another OpenAI-compatible server; default ``$OPENAI_BASE_URL``, else OpenAI's.
        max_parallel: pieces sent at the same time.
        max_bytes: the upload limit; larger files are split.
        max_retries: the ``openai`` client's own retries of 408/409/429/5xx and connection errors.
        timeout: seconds per request (upload and answer).
        find_speech: 16 kHz mono audio -> speech regions in seconds, to cut pieces at pauses and time
            text-only answers (:func:`audiototext.longaudio.speech_regions`, which ``audiototext.loaded``
            hands over; None: pieces are cut at fixed lengths, with a warning).
        device, threads, workers: ignored (accepted so ``load_engine`` can build it like the local ones).

    Raises:
        ModelError: unknown model.
        OptionsError: no key anywhere, or the ``openai`` package is missing.
    """

    name = "openai-api"
    title = "OpenAI's API"
    #: Takes the file, a model name and a key, not a Whisper checkpoint (see ``engines.load_engine``).
    hosted = True
    default_model = DEFAULT_MODEL
    models = MODELS
    #: What a request carries (:meth:`_request`), the audio track sent, and the pieces' checkpoints;
    #: OpenAI decodes and finds the speech itself, so the other decoding and long-audio options do nothing.
    honours = frozenset(
        {"task", "language", "initial_prompt", "temperature", "word_timestamps", "audio_track", "resume"}
    )
    key_option = "api_key"
    key_env = KEY_ENV
    #: The models that translate (``/audio/translations``): the options' rules refuse the others up front.
    translate_models = frozenset({"whisper-1"})
    device = "api"
    is_multilingual = True
    workers = 1

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_parallel: int = 4,
        max_bytes: int = MAX_BYTES,
        max_retries: int = 2,
        timeout: float = 600.0,
        find_speech: Callable[[np.ndarray], list[tuple[float, float]]] | None = None,
        device: str | None = None,
        threads: int | None = None,
        workers: int | None = None,
    ) -> None:
        self.model_name = check_model(model)
        key = self.check_key(api_key)
        if max_parallel < 1:
            raise OptionsError("max_parallel must be at least 1", max_parallel=max_parallel)
        try:
            import openai
        except ImportError as e:
            raise OptionsError("The openai-api engine needs the openai package: pip install 'audiototext[api]'") from e
        self._key = key
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.max_parallel = max_parallel
        self.max_bytes = max_bytes
        self.max_retries = max_retries
        self.find_speech = find_speech
        self._client = openai.OpenAI(api_key=key, base_url=self.base_url, max_retries=max_retries, timeout=timeout)

    @classmethod
    def check_key(cls, api_key: str | None) -> str:
        """The key (``api_key``, else the engine's ``key_env`` variable); the pipeline's preflight asks once per run.

        Raises:
            OptionsError: there is none, saying where to give it.
        """
        key = resolve_api_key(api_key, cls.key_env)
        if not key:
            raise OptionsError(
                "No OpenAI API key: pass --api_key, fill the notebook's api_key field or add the "
                f"Colab secret {cls.key_env}, or set ${cls.key_env}",
                option="api_key",
            )
        return key

    def __repr__(self) -> str:  # never the key
        url = _public_url(self.base_url) if self.base_url else None
        return f"OpenAIAPIEngine(model={self.model_name!r}, base_url={url!r})"

    # -- the local engines' interface --

    def transcribe(self, audio, options: DecodeOptions, callbacks: Callbacks = Callbacks()) -> Transcript:
        """In-memory 16 kHz mono float32 audio: written to a temporary FLAC and sent like a file."""
        with tempfile.TemporaryDirectory(prefix="audiototext-api-") as tmp:
            return self.transcribe_file(write_flac(audio, Path(tmp) / "audio.flac"), options, callbacks)

    def detect_language(self, audio) -> str:
        """Not offered: the API detects the language while transcribing (whisper-1 reports it).

        Raises:
            OptionsError: always.
        """
        raise OptionsError(
            "The openai-api engine detects the language itself while transcribing; leave the "
            "language on auto, or use a local engine to detect it without transcribing"
        )

    # -- files --

    def transcribe_file(
        self,
        path: Path,
        options: DecodeOptions,
        callbacks: Callbacks = Callbacks(),
        *,
        checkpoint_dir: Path | None = None,
        audio_track: int | None = None,
    ) -> Transcript:
        """Transcribe (or translate to English) one media file of any size and format.

        Args:
            path: any file ffmpeg reads.
            options: task, language, initial_prompt, temperature and word_timestamps are used.
            callbacks: segments in time order, the language, and progress counted in pieces sent.
            checkpoint_dir: keep each finished piece here; a re-run with the same file and options
                sends only the missing pieces. The caller removes it once the outputs are written.
            audio_track: the audio track to send, from 1 (None: the one flagged default, else the first).

        Raises:
            OptionsError: translate asked of a model other than whisper-1.
            MediaError: the file is not media or ffmpeg failed.
            APIError: the API failed; finished pieces stay in ``checkpoint_dir``.
        """
        from ...media import probe, track_order

        path = Path(path)
        if options.task == "translate" and self.model_name != "whisper-1":
            raise OptionsError(
                f"OpenAI translates to English only with whisper-1, not {self.model_name}: use "
                "model whisper-1, or task transcribe",
                model=self.model_name,
            )
        if options.word_timestamps and self.model_name not in SEGMENT_MODELS:
            log.warning("%s gives no word times; cues are timed from voice activity", self.model_name)
        info = probe(path)
        with tempfile.TemporaryDirectory(prefix="audiototext-api-") as tmp:
            job = _Job(self, path, info.duration, options, callbacks, Path(tmp))
            job.track = track_order(info, audio_track, str(path))[0].number
            job.prepare(info.video_streams > 0, info.audio_streams)
            store = None
            if checkpoint_dir is not None:
                store = _Checkpoints(Path(checkpoint_dir), job.key())
            return job.run(store)

    # -- one request --

    def _request(self, piece: Piece, options: DecodeOptions) -> dict:
        """Send one piece; the answer as a dict (``verbose_json`` for whisper-1, else ``json``)."""
        kwargs: dict = {"model": self.model_name}
        if options.initial_prompt:
            kwargs["prompt"] = options.initial_prompt
        if options.temperature:
            kwargs["temperature"] = float(options.temperature)
        if self.model_name in SEGMENT_MODELS:
            kwargs["response_format"] = "verbose_json"
        else:
            kwargs["response_format"] = "json"
        mime = mimetypes.guess_type(piece.path.name)[0] or "application/octet-stream"
        with open(piece.path, "rb") as f:
            upload = (piece.path.name, f, mime)
            if options.task == "translate":
                # /audio/translations: whisper-1 only, English out, no language or timestamp options.
                answer = self._client.audio.translations.create(file=upload, **kwargs)
            else:
                if options.language:
                    kwargs["language"] = options.language
                if self.model_name in SEGMENT_MODELS:
                    kwargs["timestamp_granularities"] = ["segment", "word"] if options.word_timestamps else ["segment"]
                answer = self._client.audio.transcriptions.create(file=upload, **kwargs)
        if isinstance(answer, str):
            return {"text": answer}
        return answer.model_dump() if hasattr(answer, "model_dump") else dict(answer)

    def _error(self, e: Exception, source: Path, piece: Piece, pieces: int, kept: str) -> APIError | None:
        """An ``openai`` exception as one :class:`APIError` that says what to do (never with the key)."""
        explained = self._explain(e)
        if explained is None:
            return None  # not the API's (e.g. ffmpeg's MediaError): raised as it is
        where = f"{source.name}: " + (f"piece {piece.index + 1} of {pieces} ({piece.span}): " if pieces > 1 else "")
        kind, text = explained
        status = getattr(e, "status_code", None)
        return APIError(f"{where}{text}; {kept}", kind=kind, source=str(source), piece=piece.index, status=status)

    def _explain(self, e: Exception) -> tuple[str, str] | None:
        """(kind, what happened and what to do) for an ``openai`` exception; None for any other."""
        import openai

        body = getattr(e, "body", None)
        detail = _redact(str(body.get("message") or "") if isinstance(body, dict) else str(body or ""), self._key)
        status = getattr(e, "status_code", None)
        retried = f" after {self.max_retries} retr{'y' if self.max_retries == 1 else 'ies'}" if self.max_retries else ""
        if isinstance(e, openai.AuthenticationError):
            return "auth", (
                f"OpenAI rejected the API key: check --api_key / ${self.key_env} (notebook: the "
                "api_key field or the Colab secret OPENAI_API_KEY)"
            )
        if isinstance(e, openai.PermissionDeniedError):
            return "auth", (
                f"OpenAI refused access (403: {detail or 'permission denied'}): check that the "
                f"key's project may use {self.model_name} and that your region is supported"
            )
        if isinstance(e, openai.RateLimitError) and getattr(e, "code", None) == "insufficient_quota":
            return "quota", (
                "OpenAI says the account has no credit left (insufficient_quota): add credit or "
                "raise the limit at https://platform.openai.com/settings/organization/billing, then re-run"
            )
        if isinstance(e, openai.RateLimitError):
            return (
                "rate",
                f"rate limited by OpenAI (429){retried}: wait a minute and re-run, or send fewer pieces at a time",
            )
        if isinstance(e, openai.InternalServerError) or (status or 0) >= 500:
            return (
                "server",
                f"OpenAI's server failed (HTTP {status}){retried}: try again later (https://status.openai.com)",
            )
        if isinstance(e, openai.APIConnectionError):
            what = "timed out" if isinstance(e, openai.APITimeoutError) else "could not connect"
            url = _public_url(str(self._client.base_url))
            return "network", f"{what} reaching {url}{retried}: check the network connection and re-run"
        if isinstance(e, openai.NotFoundError):
            return "rejected", (
                f"the server does not offer model {self.model_name} here (HTTP 404: "
                f"{detail or 'not found'}): check the model and OPENAI_BASE_URL"
            )
        if status == 413:
            return "rejected", (
                "the upload is over the server's size limit (HTTP 413): lower max_bytes "
                f"(now {self.max_bytes} bytes) so the file is sent in smaller pieces"
            )
        if isinstance(e, openai.APIStatusError):
            return "rejected", (
                f"the server rejected the audio (HTTP {status}: {detail or 'no reason given'});"
                " check that the file plays, or convert it to mp3 or flac and re-run"
            )
        return None


__all__ = [
    "OpenAIAPIEngine",
    "APIError",
    "MODELS",
    "DEFAULT_MODEL",
    "PRICES_PER_MINUTE",
    "MAX_BYTES",
    "ACCEPTED_FORMATS",
    "SEGMENT_MODELS",
    "MAX_PIECE_SECONDS",
    "resolve_api_key",
    "check_model",
    "estimate_cost",
    "plan_pieces",
    "response_to_transcript",
    "cues_from_text",
    "split_sentences",
    "Piece",
]

"""The ``openai-api`` engine: OpenAI's hosted speech-to-text, for users with no GPU (issue 13).

The API takes files, so the entry point is :meth:`OpenAIAPIEngine.transcribe_file`:

1. probe the input; a format the API refuses (or a video) is converted with ffmpeg to 16 kHz mono
   FLAC;
2. a file over the 25 MB upload limit (or longer than a gpt-4o model can answer in one request)
   is cut at pauses into pieces under it, found with the same voice detection as local long
   audio (:func:`speech_regions`, the one place this module uses :mod:`audiototext.longaudio.speech`);
3. up to ``max_parallel`` pieces are sent at a time; every finished piece is checkpointed
   (atomically, as JSON) when a ``checkpoint_dir`` is given, so a re-run sends only the rest;
4. each answer is converted into a :class:`~audiototext.transcript.Transcript` in exactly one
   function (:func:`response_to_transcript`) and the pieces are stitched in order, each re-based
   by :meth:`Segment.shifted` onto the whole file.

Every failure (bad key, no credit, rate limit, server error, network, a rejected piece) becomes
one :class:`APIError` that says what to do; the key never appears in a message or a log line.
Removing the checkpoint directory once the outputs are written is the pipeline's job.

Heavy imports (``openai``, numpy decoding, voice detection) happen inside the functions that
need them, so importing this module costs nothing.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import json
import logging
import math
import mimetypes
import os
import re
import subprocess
import tempfile
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..errors import AudioToTextError, ModelError, OptionsError
from ..events import Callbacks, Progress
from ..transcript import Segment, Transcript, Word
from . import DecodeOptions

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


def resolve_api_key(explicit: str | None) -> str | None:
    """The OpenAI key: ``explicit``, else the Colab secret ``OPENAI_API_KEY``, else ``$OPENAI_API_KEY``.

    Blank values count as missing. The Colab secret is read only when ``google.colab`` is importable;
    any failure there (secret absent, notebook access not granted) means no key from Colab.
    """
    if explicit and explicit.strip():
        return explicit.strip()
    try:
        from google.colab import userdata  # type: ignore[import-not-found]

        value = userdata.get("OPENAI_API_KEY")
        if value and str(value).strip():
            return str(value).strip()
    except Exception:  # noqa: BLE001 - not Colab (ImportError), or SecretNotFoundError / NotebookAccessError
        pass
    value = os.environ.get("OPENAI_API_KEY", "").strip()
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


# --- pieces -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """``[start, end)`` seconds of the input, sent in one request.

    ``path`` is the file to upload; None for a piece cut from the decoded audio when it is sent
    (in halves if its FLAC comes out over the limit).
    """

    index: int
    start: float
    end: float
    path: Path | None = None

    @property
    def span(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


def _clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes):02d}:{rest:04.1f}"


def speech_regions(audio) -> list[tuple[float, float]]:
    """Speech in 16 kHz mono ``audio`` as (start, end) seconds: the one use of the segmentation module.

    Silero (as local long audio uses) when faster-whisper is installed, else ffmpeg's
    silencedetect, so the ``api`` extra alone works.
    """
    from ..longaudio.source import ArraySource
    from ..longaudio.speech import detect_speech

    try:
        return list(detect_speech(ArraySource(audio)))
    except OptionsError:
        log.info("Silero voice detection is not installed; finding pauses with ffmpeg's silencedetect")
        return list(detect_speech(ArraySource(audio), vad="silencedetect"))


def plan_pieces(regions: Sequence[tuple[float, float]], duration: float,
                max_seconds: float) -> list[tuple[float, float]]:
    """Contiguous pieces covering ``[0, duration]``, each at most ``max_seconds``, cut in pauses.

    Each cut lies in the second half of its piece's allowed span, in the pause (the audio between
    speech regions) that is longest, counting any pause of a second or more as equally good and
    then preferring the latest, so pieces stay few. Without a pause there, the cut falls at the
    longest allowed point (it may split a word; logged). The last piece is at least 1 s long.
    """
    if max_seconds <= 2 * _MIN_PIECE_SECONDS:
        raise OptionsError(f"Pieces of {max_seconds:.1f} s are too short to send; raise max_bytes")
    speech = sorted((max(0.0, s), min(duration, e)) for s, e in regions if e > s)
    pauses, cursor = [], 0.0
    for s, e in speech:
        if s > cursor:
            pauses.append((cursor, s))
        cursor = max(cursor, e)
    if cursor < duration:
        pauses.append((cursor, duration))
    pieces, start = [], 0.0
    while duration - start > max_seconds:
        lo, hi = start + max_seconds / 2, min(start + max_seconds, duration - _MIN_PIECE_SECONDS)
        best = None
        for ps, pe in pauses:
            a, b = max(ps, lo), min(pe, hi)
            if b >= a:
                candidate = (min(pe - ps, 1.0), (a + b) / 2)
                best = max(best, candidate) if best else candidate
        if best is None:
            log.warning("No pause between %s and %s: cutting there may split a word", _clock(lo), _clock(hi))
        cut = best[1] if best else hi
        pieces.append((start, cut))
        start = cut
    pieces.append((start, duration))
    return pieces


def _run_ffmpeg(args: list[str], *, data: bytes | None = None, what: str) -> None:
    from ..errors import MediaError
    from ..media import require_ffmpeg

    require_ffmpeg()
    try:
        subprocess.run(["ffmpeg", "-hide_banner", *(["-nostdin"] if data is None else []), "-y", "-loglevel", "error",
                        *args], input=data, capture_output=True, check=True)
    except subprocess.CalledProcessError as e:
        tail = e.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["unknown ffmpeg error"]
        raise MediaError(f"{what}: ffmpeg failed ({tail[0]})") from e


# 16 kHz mono FLAC: lossless for everything Whisper uses (it resamples any input to 16 kHz mono),
# about half the size of 16-bit WAV, and accepted by the API; Opus would be smaller but lossy.
_FLAC = ["-ac", "1", "-ar", "16000", "-c:a", "flac", "-sample_fmt", "s16"]


def convert_to_flac(path: Path, out: Path) -> Path:
    """The first audio stream of ``path`` as 16 kHz mono FLAC at ``out`` (ffmpeg, argument list)."""
    _run_ffmpeg(["-i", str(path), "-map", "0:a:0", "-vn", *_FLAC, str(out)], what=str(path))
    return out


def write_flac(audio, out: Path) -> Path:
    """16 kHz mono float32 samples as a FLAC file (sample-exact, so piece offsets are exact)."""
    import numpy as np

    data = np.ascontiguousarray(audio, dtype=np.float32).tobytes()
    _run_ffmpeg(["-f", "f32le", "-ar", "16000", "-ac", "1", "-i", "pipe:0", *_FLAC, str(out)], data=data,
                what=str(out))
    return out


# --- converting an answer --------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？])")
_CLAUSE_MARK = re.compile(r"[,;:，、；：]\s*")


def split_sentences(text: str, max_chars: int = 84) -> list[str]:
    """Text cut into sentences, and sentences longer than ``max_chars`` into clauses (a subtitle's two lines)."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        out.extend(_split_long(sentence.strip(), max_chars))
    return [s for s in out if s]


def _split_long(text: str, max_chars: int) -> list[str]:
    if len(text) <= max_chars:
        return [text]
    middle = len(text) / 2
    cuts = [m.end() for m in _CLAUSE_MARK.finditer(text) if 0 < m.end() < len(text)]
    if not cuts:
        cuts = [m.start() + 1 for m in re.finditer(r"\s", text)]
    if not cuts:
        cuts = [int(middle)]
    cut = min(cuts, key=lambda c: abs(c - middle))
    return _split_long(text[:cut].strip(), max_chars) + _split_long(text[cut:].strip(), max_chars)


def cues_from_text(text: str, speech: Sequence[tuple[float, float]], duration: float) -> list[Segment]:
    """Cues for text that came without times: sentences spread over the speech in proportion to characters.

    Timing quality: the model gives no times, so they come from voice activity. The n-th character
    of the text is placed at the same fraction of the piece's speech time (pauses do not count),
    and a boundary between sentences that falls near a pause (within 30% of the shorter sentence,
    at most 2 s of speech) moves onto it. Every cue starts and ends inside detected speech. When
    sentences end at pauses, as they mostly do, cues start and end with the speech, to about
    0.1 s; where the pace changes, a cue can be off by a few seconds, never beyond its piece (at
    most 5 minutes for the gpt-4o models), and the error does not carry into later pauses. There
    are no word times. Good for reading along; use whisper-1 or a local engine for subtitles that
    must follow the lips.
    """
    sentences = split_sentences(text)
    if not sentences:
        return []
    regions = [(max(0.0, s), min(duration, e)) for s, e in sorted(speech)]
    regions = [(s, e) for s, e in regions if e > s] or [(0.0, max(duration, 0.0))]
    lengths = [e - s for s, e in regions]
    pauses = [sum(lengths[: j + 1]) for j in range(len(regions) - 1)]  # region ends, in speech time
    scale = sum(lengths) / sum(len(s) for s in sentences)
    spans = [len(s) * scale for s in sentences]
    bounds = [sum(spans[: i + 1]) for i in range(len(sentences) - 1)]
    for i, bound in enumerate(bounds):
        reach = min(2.0, 0.3 * min(spans[i], spans[i + 1]))
        lo = bounds[i - 1] if i else 0.0
        hi = bounds[i + 1] if i + 1 < len(bounds) else math.inf
        near = [x for x in pauses if abs(x - bound) <= reach and lo < x < hi]
        if near:
            bounds[i] = min(near, key=lambda x: abs(x - bound))

    def at(x: float, opening: bool) -> float:
        # Speech time x -> audio time; a cue opening at a region's end opens at the next region's start.
        for (s, e), length in zip(regions, lengths):
            if x < length - 1e-9 or (not opening and x <= length + 1e-9):
                return s + min(max(x, 0.0), length)
            x -= length
        return regions[-1][1]

    edges = [0.0, *bounds, sum(lengths)]
    cues = []
    for sentence, a, b in zip(sentences, edges, edges[1:]):
        start = at(a, True)
        cues.append(Segment(start, max(start, at(b, False)), " " + sentence))
    return cues


def _language_code(value: str | None) -> str | None:
    from ..languages import resolve_language

    try:
        return resolve_language(value) if value else None
    except OptionsError:
        log.debug("OpenAI reported a language Whisper does not list: %r", value)
        return None


def _attach_words(segments: list[dict], words: list[dict]) -> list[list[Word]]:
    """Top-level verbose_json words, each given to the segment its middle falls in (else the last one before it)."""
    owned: list[list[Word]] = [[] for _ in segments]
    starts = [float(s["start"]) for s in segments]
    for w in words:
        start, end = float(w["start"]), float(w["end"])
        middle = (start + end) / 2
        index = max([i for i, s in enumerate(starts) if s <= middle] or [0])
        text = str(w["word"])
        owned[index].append(Word(start, end, text if text.startswith(" ") else " " + text))
    return owned


def response_to_transcript(response: dict, *, duration: float, task: str, language: str | None = None,
                           speech: Callable[[], Sequence[tuple[float, float]]] | None = None) -> Transcript:
    """One API answer (``verbose_json`` or ``json``, as a dict) as a Transcript in the piece's own time.

    The one place an answer is converted. Segments (and top-level words, each given to its segment)
    are taken as they are; an answer with only text (the gpt-4o models, or a compatible server)
    gets cues from :func:`cues_from_text` over ``speech()``, the piece's voice activity. The
    language is the given one, else the answer's (OpenAI reports names like "english").
    """
    code = language or _language_code(response.get("language"))
    raw = [s for s in response.get("segments") or () if str(s.get("text", "")).strip()]
    if raw:
        words = _attach_words(raw, response.get("words") or [])
        segments = [Segment(float(s["start"]), float(s["end"]), str(s["text"]), tuple(w))
                    for s, w in zip(raw, words)]
        segments = [s if s.text.startswith(" ") else dataclasses.replace(s, text=" " + s.text) for s in segments]
    elif str(response.get("text", "")).strip():
        segments = cues_from_text(str(response["text"]), speech() if speech else (), duration)
    else:
        segments = []
    return Transcript(tuple(segments), language=code, duration=duration, task=task)


# --- checkpoints -------------------------------------------------------------------------------


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class _Checkpoints:
    """Finished pieces of one job as JSON files, written atomically; a job is one key's directory."""

    def __init__(self, root: Path, key: str):
        self.dir = Path(root) / f"openai-api-{key[:24]}"

    def load(self, piece: Piece) -> Transcript | None:
        try:
            data = json.loads((self.dir / f"piece-{piece.index:04d}.json").read_text(encoding="utf-8"))
            return Transcript.from_dict(data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.warning("Ignoring the unreadable checkpoint of piece %d (%s); sending it again", piece.index + 1, e)
            return None

    def save(self, piece: Piece, result: Transcript) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        target = self.dir / f"piece-{piece.index:04d}.json"
        fd, temp = tempfile.mkstemp(dir=self.dir, prefix=target.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(result.to_json())
        os.replace(temp, target)

    def count(self) -> int:
        return len(list(self.dir.glob("piece-*.json"))) if self.dir.is_dir() else 0


# --- errors ---------------------------------------------------------------------------------------


def _redact(text: str, key: str | None) -> str:
    if key:
        text = text.replace(key, "***")
    return re.sub(r"\b(sk-[A-Za-z0-9_*.-]{0,8})[A-Za-z0-9_*.-]+", r"\1***", text)


def _public_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


# --- the engine ---------------------------------------------------------------------------------


class OpenAIAPIEngine:
    """OpenAI's speech-to-text API (``whisper-1``, ``gpt-4o-transcribe``, ``gpt-4o-mini-transcribe``).

    Args:
        model: one of :data:`MODELS`.
        api_key: the key; None reads the Colab secret or ``$OPENAI_API_KEY`` (:func:`resolve_api_key`).
        base_url: another OpenAI-compatible server; default ``$OPENAI_BASE_URL``, else OpenAI's.
        max_parallel: pieces sent at the same time.
        max_bytes: the upload limit; larger files are split.
        max_retries: the ``openai`` client's own retries of 408/409/429/5xx and connection errors.
        timeout: seconds per request (upload and answer).
        device, threads, workers: ignored (accepted so ``load_engine`` can build it like the local ones).

    Raises:
        ModelError: unknown model.
        OptionsError: no key anywhere, or the ``openai`` package is missing.
    """

    name = "openai-api"
    device = "api"
    is_multilingual = True
    #: Takes a model name and a key, not a Whisper checkpoint (see ``engines.load_engine``).
    hosted = True
    workers = 1

    def __init__(self, model: str = DEFAULT_MODEL, *, api_key: str | None = None, base_url: str | None = None,
                 max_parallel: int = 4, max_bytes: int = MAX_BYTES, max_retries: int = 2, timeout: float = 600.0,
                 device: str | None = None, threads: int | None = None, workers: int | None = None) -> None:
        self.model_name = check_model(model)
        key = resolve_api_key(api_key)
        if not key:
            raise OptionsError("No OpenAI API key: pass --api_key, fill the notebook's api_key field or add the "
                               "Colab secret OPENAI_API_KEY, or set $OPENAI_API_KEY")
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
        self._client = openai.OpenAI(api_key=key, base_url=self.base_url, max_retries=max_retries, timeout=timeout)

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
        raise OptionsError("The openai-api engine detects the language itself while transcribing; leave the "
                           "language on auto, or use a local engine to detect it without transcribing")

    # -- files --

    def transcribe_file(self, path: Path, options: DecodeOptions, callbacks: Callbacks = Callbacks(), *,
                        checkpoint_dir: Path | None = None) -> Transcript:
        """Transcribe (or translate to English) one media file of any size and format.

        Args:
            path: any file ffmpeg reads.
            options: task, language, initial_prompt, temperature and word_timestamps are used.
            callbacks: segments in time order, the language, and progress counted in pieces sent.
            checkpoint_dir: keep each finished piece here; a re-run with the same file and options
                sends only the missing pieces. The caller removes it once the outputs are written.

        Raises:
            OptionsError: translate asked of a model other than whisper-1.
            MediaError: the file is not media or ffmpeg failed.
            APIError: the API failed; finished pieces stay in ``checkpoint_dir``.
        """
        from ..media import probe

        path = Path(path)
        if options.task == "translate" and self.model_name != "whisper-1":
            raise OptionsError(f"OpenAI translates to English only with whisper-1, not {self.model_name}: use "
                               "model whisper-1, or task transcribe", model=self.model_name)
        if options.word_timestamps and self.model_name not in SEGMENT_MODELS:
            log.warning("%s gives no word times; cues are timed from voice activity", self.model_name)
        info = probe(path)
        with tempfile.TemporaryDirectory(prefix="audiototext-api-") as tmp:
            job = _Job(self, path, info.duration, options, callbacks, Path(tmp))
            job.prepare(info.video_streams > 0)
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
        import openai

        where = f"{source.name}: " + (f"piece {piece.index + 1} of {pieces} ({piece.span}): " if pieces > 1 else "")
        body = getattr(e, "body", None)
        detail = _redact(str(body.get("message") or "") if isinstance(body, dict) else str(body or ""), self._key)
        status = getattr(e, "status_code", None)
        retried = f" after {self.max_retries} retr{'y' if self.max_retries == 1 else 'ies'}" if self.max_retries else ""
        if isinstance(e, openai.AuthenticationError):
            kind, text = "auth", ("OpenAI rejected the API key: check --api_key / OPENAI_API_KEY (notebook: the "
                                  "api_key field or the Colab secret OPENAI_API_KEY)")
        elif isinstance(e, openai.PermissionDeniedError):
            kind, text = "auth", (f"OpenAI refused access (403: {detail or 'permission denied'}): check that the "
                                  f"key's project may use {self.model_name} and that your region is supported")
        elif isinstance(e, openai.RateLimitError) and getattr(e, "code", None) == "insufficient_quota":
            kind, text = "quota", ("OpenAI says the account has no credit left (insufficient_quota): add credit or "
                                   "raise the limit at https://platform.openai.com/settings/organization/billing, "
                                   "then re-run")
        elif isinstance(e, openai.RateLimitError):
            kind, text = "rate", f"rate limited by OpenAI (429){retried}: wait a minute and re-run, or send fewer " \
                                 f"pieces at a time"
        elif isinstance(e, openai.InternalServerError) or (status or 0) >= 500:
            kind, text = "server", (f"OpenAI's server failed (HTTP {status}){retried}: try again later "
                                    "(https://status.openai.com)")
        elif isinstance(e, openai.APIConnectionError):
            what = "timed out" if isinstance(e, openai.APITimeoutError) else "could not connect"
            url = _public_url(str(self._client.base_url))
            kind, text = "network", f"{what} reaching {url}{retried}: check the network connection and re-run"
        elif isinstance(e, openai.NotFoundError):
            kind, text = "rejected", (f"the server does not offer model {self.model_name} here (HTTP 404: "
                                      f"{detail or 'not found'}): check the model and OPENAI_BASE_URL")
        elif status == 413:
            kind, text = "rejected", ("the upload is over the server's size limit (HTTP 413): lower max_bytes "
                                      f"(now {self.max_bytes} bytes) so the file is sent in smaller pieces")
        elif isinstance(e, openai.APIStatusError):
            kind, text = "rejected", (f"the server rejected the audio (HTTP {status}: {detail or 'no reason given'});"
                                      " check that the file plays, or convert it to mp3 or flac and re-run")
        else:
            return None  # not the API's (e.g. ffmpeg's MediaError): raised as it is
        return APIError(f"{where}{text}; {kept}", kind=kind, source=str(source), piece=piece.index, status=status)


class _Job:
    """One file's run: its pieces, the requests in flight, checkpoints and the ordered stitch."""

    def __init__(self, engine: OpenAIAPIEngine, source: Path, duration: float, options: DecodeOptions,
                 callbacks: Callbacks, tmp: Path):
        self.engine, self.source, self.duration = engine, source, duration
        self.options, self.callbacks, self.tmp = options, callbacks, tmp
        self.pieces: list[Piece] = []
        self._audio = None
        self._speech: list[tuple[float, float]] | None = None
        self._lock = threading.Lock()

    # -- audio, lazily: only splitting and text-only answers need the samples --

    def audio(self):
        from ..media import load_audio

        with self._lock:
            if self._audio is None:
                self._audio = load_audio(self.source)
            return self._audio

    def speech(self) -> list[tuple[float, float]]:
        audio = self.audio()
        with self._lock:
            if self._speech is None:
                self._speech = speech_regions(audio)
            return self._speech

    def speech_in(self, piece: Piece) -> list[tuple[float, float]]:
        return [(max(s, piece.start) - piece.start, min(e, piece.end) - piece.start)
                for s, e in self.speech() if e > piece.start and s < piece.end]

    # -- plan --

    def prepare(self, has_video: bool) -> None:
        """Decide what is uploaded: the file itself, a FLAC of it, or FLAC pieces cut at pauses."""
        engine = self.engine
        upload = self.source
        if has_video or self.source.suffix.lower().lstrip(".") not in ACCEPTED_FORMATS:
            upload = convert_to_flac(self.source, self.tmp / f"{_safe_stem(self.source)}.flac")
            log.info("Converted %s to FLAC for the API (%d bytes)", self.source.name, upload.stat().st_size)
        if self.duration <= 0:  # some containers do not state a duration
            self.duration = len(self.audio()) / 16000
        cap = MAX_PIECE_SECONDS.get(engine.model_name)
        if upload.stat().st_size <= engine.max_bytes and (cap is None or self.duration <= cap):
            self.pieces = [Piece(0, 0.0, self.duration, upload)]
            return
        max_seconds = engine.max_bytes * _SIZE_MARGIN / _BYTES_PER_SECOND
        if cap is not None:
            max_seconds = min(max_seconds, cap)
        self.duration = len(self.audio()) / 16000
        spans = plan_pieces(self.speech(), self.duration, max_seconds)
        self.pieces = [Piece(i, start, end) for i, (start, end) in enumerate(spans)]
        log.info("%s is over %d MB: sending it in %d pieces cut at pauses", self.source.name,
                 engine.max_bytes // (1024 * 1024), len(self.pieces))

    def uploads(self, piece: Piece):
        """The files to send for ``piece``, written when needed (one, unless it came out over the limit)."""
        if piece.path is not None:
            yield piece
            return
        audio, spans = self.audio(), [(piece.start, piece.end)]
        while spans:
            start, end = spans.pop(0)
            path = self.tmp / f"piece-{piece.index:04d}-{int(start * 1000)}.flac"
            write_flac(audio[int(round(start * 16000)):int(round(end * 16000))], path)
            if path.stat().st_size > self.engine.max_bytes and end - start > 4 * _MIN_PIECE_SECONDS:
                # Denser than planned (FLAC stays within the PCM bound, so only a guard): send it in halves.
                path.unlink()
                part = Piece(piece.index, start, end)
                halves = plan_pieces(self.speech_in(part), end - start, (end - start) / 2 + 1e-6)
                spans[:0] = [(start + a, start + b) for a, b in halves]
                continue
            try:
                yield Piece(piece.index, start, end, path)
            finally:
                path.unlink(missing_ok=True)

    def key(self) -> str:
        """What the answers depend on: the file's bytes, the model, the options and the piece plan."""
        o = self.options
        data = {"version": _CHECKPOINT_VERSION, "file": _file_digest(self.source), "model": self.engine.model_name,
                "task": o.task, "language": o.language, "prompt": o.initial_prompt, "temperature": o.temperature,
                "words": o.word_timestamps, "pieces": [(round(p.start, 3), round(p.end, 3)) for p in self.pieces]}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    # -- send --

    def run(self, store: _Checkpoints | None) -> Transcript:
        engine, pieces = self.engine, self.pieces
        results: dict[int, Transcript] = {}
        if store is not None:
            for piece in pieces:
                found = store.load(piece)
                if found is not None:
                    results[piece.index] = found
            if results:
                log.info("Resuming %s: %d of %d pieces already done", self.source.name, len(results), len(pieces))
        todo = [p for p in pieces if p.index not in results]
        minutes = sum(p.end - p.start for p in todo) / 60
        if minutes > 1:
            log.info("Sending %.1f min to OpenAI model %s: about $%.2f", minutes, engine.model_name,
                     estimate_cost(engine.model_name, minutes * 60))
        stitch = _Stitcher(self, len(pieces))
        stitch.add(results)
        self._progress(len(results), len(todo))
        errors: dict[int, Exception] = {}
        with cf.ThreadPoolExecutor(max_workers=engine.max_parallel, thread_name_prefix="openai-api") as pool:
            waiting, running = list(todo), {}
            while waiting or running:
                while waiting and not errors and len(running) < engine.max_parallel:
                    piece = waiting.pop(0)
                    running[pool.submit(self._send, piece)] = piece
                if not running:
                    break
                done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    piece = running.pop(future)
                    try:
                        result = future.result()
                    except Exception as e:  # noqa: BLE001 - mapped below, after the in-flight pieces finish
                        errors[piece.index] = e
                        continue
                    if store is not None:
                        store.save(piece, result)
                    results[piece.index] = result
                    stitch.add({piece.index: result})
                    self._progress(len(results), len(waiting) + len(running))
        if errors:
            first = min(errors)
            if store is not None and store.count():
                kept = (f"{store.count()} finished piece(s) of {len(pieces)} are kept in {store.dir}; re-running "
                        "sends only the rest")
            elif store is not None:
                kept = "no piece was finished"
            else:
                kept = "re-running sends the whole file again"
            error = errors[first]
            mapped = engine._error(error, self.source, pieces[first], len(pieces), kept)
            if mapped is None:
                raise error
            # A 401's body echoes the key (OpenAI masks most of it, other servers may not): no traceback shows it.
            raise mapped from (None if mapped.kind == "auth" else error)
        self.callbacks.progress(Progress(len(pieces), len(pieces), 0, True))
        return stitch.transcript()

    def _send(self, piece: Piece) -> Transcript:
        """One planned piece's answer(s) as a Transcript in the piece's own time."""
        options, segments, language = self.options, [], None
        for part in self.uploads(piece):
            answer = self.engine._request(part, options)
            result = response_to_transcript(answer, duration=part.end - part.start, task=options.task,
                                            language=options.language if options.task == "transcribe" else None,
                                            speech=lambda: self.speech_in(part))
            language = language or result.language
            segments += [s.shifted(part.start - piece.start) for s in result.segments]
        return Transcript(tuple(segments), language=language, duration=piece.end - piece.start, task=options.task)

    def _progress(self, done: int, remaining: int) -> None:
        self.callbacks.progress(Progress(len(self.pieces), done, min(self.engine.max_parallel, remaining)))


class _Stitcher:
    """Pieces' transcripts joined in order; segments reach the callbacks as soon as every earlier piece is in."""

    def __init__(self, job: _Job, count: int):
        self.job, self.count = job, count
        self.parts: dict[int, Transcript] = {}
        self.segments: list[Segment] = []
        self.next = 0
        self.language: str | None = None

    def add(self, results: dict[int, Transcript]) -> None:
        self.parts.update(results)
        while self.next in self.parts:
            part, piece = self.parts[self.next], self.job.pieces[self.next]
            if self.next == 0:
                self.language = self.job.options.language if self.job.options.task == "transcribe" else None
                self.language = self.language or part.language
                if self.language:
                    self.job.callbacks.language(self.language)
            hi = piece.end if piece.end > piece.start else math.inf
            for segment in part.segments:
                # The one re-basing (Segment.shifted), kept inside the piece and never going backwards.
                segment = segment.shifted(piece.start).clamped(piece.start, hi)
                if self.segments:
                    segment = segment.clamped(self.segments[-1].end, max(hi, self.segments[-1].end))
                self.segments.append(segment)
                self.job.callbacks.segment(segment)
            self.next += 1

    def transcript(self) -> Transcript:
        languages = [p.language for _, p in sorted(self.parts.items()) if p.language]
        language = self.language or (languages[0] if languages else None)
        engine = self.job.engine
        return Transcript(tuple(self.segments), language=language, duration=self.job.duration,
                          task=self.job.options.task,
                          extra={"engine": engine.name, "model": engine.model_name, "pieces": self.count,
                                 "estimated_cost": estimate_cost(engine.model_name, self.job.duration)})


def _safe_stem(path: Path) -> str:
    return re.sub(r"[^\w.-]", "_", path.stem)[:100] or "audio"


__all__ = ["OpenAIAPIEngine", "APIError", "MODELS", "DEFAULT_MODEL", "PRICES_PER_MINUTE", "MAX_BYTES",
           "ACCEPTED_FORMATS", "resolve_api_key", "estimate_cost", "check_model", "plan_pieces",
           "response_to_transcript", "cues_from_text", "split_sentences", "speech_regions"]

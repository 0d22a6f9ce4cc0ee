"""A file's trip to the API: what is uploaded (the file, a FLAC of it, or pieces cut at pauses), the
requests in flight, each finished piece checkpointed, and the pieces stitched in order."""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import logging
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, Protocol
from collections.abc import Callable, Sequence

import numpy as np

from ...errors import OptionsError
from ...events import Callbacks, Progress
from ...files import write_text
from ...media import SAMPLE_RATE
from ...transcript import Segment, Transcript
from .. import DecodeOptions
from .answers import response_to_transcript
from .catalog import (
    _BYTES_PER_SECOND,
    _CHECKPOINT_VERSION,
    _MIN_PIECE_SECONDS,
    _SIZE_MARGIN,
    ACCEPTED_FORMATS,
    MAX_PIECE_SECONDS,
    APIError,
    estimate_cost,
)

log = logging.getLogger(__name__)


class _Sender(Protocol):
    """What a :class:`_Job` needs of the engine (``OpenAIAPIEngine``, which imports this module)."""

    name: str
    model_name: str
    max_bytes: int
    max_parallel: int
    find_speech: Callable[[np.ndarray], list[tuple[float, float]]] | None

    def _request(self, piece: Piece, options: DecodeOptions) -> dict: ...

    def _error(self, e: Exception, source: Path, piece: Piece, pieces: int, kept: str) -> APIError | None: ...


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


def plan_pieces(
    regions: Sequence[tuple[float, float]], duration: float, max_seconds: float
) -> list[tuple[float, float]]:
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


# 16 kHz mono FLAC: lossless for everything Whisper uses (it resamples any input to 16 kHz mono),
# about half the size of 16-bit WAV, and accepted by the API; Opus would be smaller but lossy.
_FLAC = ["-ac", "1", "-ar", str(SAMPLE_RATE), "-c:a", "flac", "-sample_fmt", "s16"]
#: What to do when a FLAC for the API cannot be written.
_FLAC_FIX = "check that the temporary folder has room (or set TMPDIR to one that has), then run again"


def convert_to_flac(path: Path, out: Path, track: int = 1) -> Path:
    """Audio track ``track`` (from 1) of ``path`` as 16 kHz mono FLAC at ``out``, on the media's
    timeline (ffmpeg, argument list; the path as a ``file:`` path, never an option or protocol)."""
    from ...media import DECODE_FIX, KEEP_GAPS, KEEP_TIMELINE, ffmpeg_path, run_ffmpeg

    args = ["-y", *KEEP_GAPS, "-i", ffmpeg_path(path), "-map", f"0:a:{track - 1}", "-vn", "-af", KEEP_TIMELINE]
    args += [*_FLAC, str(out)]
    run_ffmpeg(args, name=str(path), problem="ffmpeg could not convert the audio to FLAC", fix=DECODE_FIX, path=path)
    return out


def write_flac(audio, out: Path) -> Path:
    """16 kHz mono float32 samples as a FLAC file (sample-exact, so piece offsets are exact)."""
    import numpy as np

    from ...media import run_ffmpeg

    data = np.ascontiguousarray(audio, dtype=np.float32).tobytes()
    args = ["-y", "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0", *_FLAC, str(out)]
    run_ffmpeg(args, name=str(out), problem="ffmpeg could not write a FLAC piece", fix=_FLAC_FIX, data=data)
    return out


# --- converting an answer --------------------------------------------------------------------------


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
        write_text(self.dir / f"piece-{piece.index:04d}.json", result.to_json())

    def count(self) -> int:
        return len(list(self.dir.glob("piece-*.json"))) if self.dir.is_dir() else 0


class _Job:
    """One file's run: its pieces, the requests in flight, checkpoints and the ordered stitch."""

    def __init__(
        self, engine: _Sender, source: Path, duration: float, options: DecodeOptions, callbacks: Callbacks, tmp: Path
    ):
        self.engine, self.source, self.duration = engine, source, duration
        self.options, self.callbacks, self.tmp = options, callbacks, tmp
        self.pieces: list[Piece] = []
        self._audio = None
        self.track = 1  # the audio track sent, from 1
        self._speech: list[tuple[float, float]] | None = None
        self._lock = threading.Lock()

    # -- audio, lazily: only splitting and text-only answers need the samples --

    def audio(self):
        from ...media import load_audio

        with self._lock:
            if self._audio is None:
                self._audio = load_audio(self.source, track=self.track)
            return self._audio

    def speech(self) -> list[tuple[float, float]]:
        audio = self.audio()
        with self._lock:
            if self._speech is None:
                self._speech = self._find_speech(audio)
            return self._speech

    def _find_speech(self, audio) -> list[tuple[float, float]]:
        find = self.engine.find_speech
        if find is not None:
            return list(find(audio))
        log.warning(
            "%s: no voice detector was given to the engine (find_speech): pieces are cut without looking "
            "for pauses and text-only answers are spread over whole pieces",
            self.source.name,
        )
        return []

    def speech_in(self, piece: Piece) -> list[tuple[float, float]]:
        return [
            (max(s, piece.start) - piece.start, min(e, piece.end) - piece.start)
            for s, e in self.speech()
            if e > piece.start and s < piece.end
        ]

    # -- plan --

    def prepare(self, has_video: bool, tracks: int = 1) -> None:
        """Decide what is uploaded: the file itself, a FLAC of it (of its chosen track, when it has
        several), or FLAC pieces cut at pauses."""
        engine = self.engine
        upload = self.source
        if has_video or tracks > 1 or self.source.suffix.lower().lstrip(".") not in ACCEPTED_FORMATS:
            upload = convert_to_flac(self.source, self.tmp / f"{_safe_stem(self.source)}.flac", self.track)
            log.debug("Converted %s to FLAC for the API (%d bytes)", self.source.name, upload.stat().st_size)
        if self.duration <= 0:  # some containers do not state a duration
            self.duration = len(self.audio()) / SAMPLE_RATE
        cap = MAX_PIECE_SECONDS.get(engine.model_name)
        if upload.stat().st_size <= engine.max_bytes and (cap is None or self.duration <= cap):
            self.pieces = [Piece(0, 0.0, self.duration, upload)]
            return
        max_seconds = engine.max_bytes * _SIZE_MARGIN / _BYTES_PER_SECOND
        if cap is not None:
            max_seconds = min(max_seconds, cap)
        self.duration = len(self.audio()) / SAMPLE_RATE
        spans = plan_pieces(self.speech(), self.duration, max_seconds)
        self.pieces = [Piece(i, start, end) for i, (start, end) in enumerate(spans)]
        log.info(
            "%s is over %d MB: sending it in %d pieces cut at pauses",
            self.source.name,
            engine.max_bytes // (1024 * 1024),
            len(self.pieces),
        )

    def uploads(self, piece: Piece):
        """The files to send for ``piece``, written when needed (one, unless it came out over the limit)."""
        if piece.path is not None:
            yield piece
            return
        audio, spans = self.audio(), [(piece.start, piece.end)]
        while spans:
            start, end = spans.pop(0)
            path = self.tmp / f"piece-{piece.index:04d}-{int(start * 1000)}.flac"
            write_flac(audio[int(round(start * SAMPLE_RATE)) : int(round(end * SAMPLE_RATE))], path)
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
        data = {
            "version": _CHECKPOINT_VERSION,
            "file": _file_digest(self.source),
            "model": self.engine.model_name,
            "task": o.task,
            "language": o.language,
            "prompt": o.initial_prompt,
            "temperature": o.temperature,
            "words": o.word_timestamps,
            "pieces": [(round(p.start, 3), round(p.end, 3)) for p in self.pieces],
            **({"track": self.track} if self.track != 1 else {}),  # keys made before tracks were chosen hold
        }
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
            log.info(
                "Sending %.1f min to OpenAI model %s: about $%.2f",
                minutes,
                engine.model_name,
                estimate_cost(engine.model_name, minutes * 60),
            )
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
            self._fail(errors, store)
        self.callbacks.progress(Progress(len(pieces), len(pieces), 0, True))
        return stitch.transcript()

    def _fail(self, errors: dict[int, Exception], store: _Checkpoints | None) -> NoReturn:
        """Raise the first failed piece's error as one :class:`APIError` saying what was kept."""
        pieces, first = self.pieces, min(errors)
        if store is not None and store.count():
            kept = f"{store.count()} finished piece(s) of {len(pieces)} are kept in {store.dir}"
            kept += "; re-running sends only the rest"
        elif store is not None:
            kept = "no piece was finished"
        else:
            kept = "re-running sends the whole file again"
        error = errors[first]
        mapped = self.engine._error(error, self.source, pieces[first], len(pieces), kept)
        if mapped is None:
            raise error
        # A 401's body echoes the key (OpenAI masks most of it, other servers may not): no traceback shows it.
        raise mapped from (None if mapped.kind == "auth" else error)

    def _send(self, piece: Piece) -> Transcript:
        """One planned piece's answer(s) as a Transcript in the piece's own time."""
        options, segments, language = self.options, [], None
        for part in self.uploads(piece):
            answer = self.engine._request(part, options)
            result = response_to_transcript(
                answer,
                duration=part.end - part.start,
                task=options.task,
                language=options.language if options.task == "transcribe" else None,
                speech=lambda part=part: self.speech_in(part),
            )
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
        return Transcript(
            tuple(self.segments),
            language=language,
            duration=self.job.duration,
            task=self.job.options.task,
            extra={
                "engine": engine.name,
                "model": engine.model_name,
                "pieces": self.count,
                "estimated_cost": estimate_cost(engine.model_name, self.job.duration),
            },
        )


def _safe_stem(path: Path) -> str:
    return re.sub(r"[^\w.-]", "_", path.stem)[:100] or "audio"

"""Where the speech is, and where to cut long audio into pieces Whisper can decode side by side.

Two detectors find the speech: Silero voice-activity detection (the ONNX model that
faster-whisper ships, run with onnxruntime; nothing is downloaded) and ffmpeg's
``silencedetect``. The planner then cuts in the middle of silences and groups the speech into
chunks of at most ``max_chunk`` seconds (Whisper's window is 30 s), preferring the longest pause
once a chunk holds ``min_chunk`` seconds. Every detected second of speech lands in exactly one
chunk, the first and the last included (the original notebook dropped the final < 30 s).

Time is float seconds; chunk bounds are re-based onto the whole audio only through
:meth:`audiototext.transcript.Segment.shifted` (in :mod:`audiototext.parallel`).
"""

from __future__ import annotations

import logging
import math
import re
import subprocess
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import MediaError, OptionsError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
DETECTORS = ("silero", "silencedetect")

#: A region of speech, (start, end) in seconds.
Region = tuple[float, float]


@dataclass(frozen=True)
class SegmentationOptions:
    """How speech is found and how the audio is cut.

    Attributes:
        vad: "silero" (voice activity, ignores noise and music) or "silencedetect" (ffmpeg, by level).
        threshold: Silero speech probability above which a 32 ms frame is speech.
        noise_db: silencedetect level in dBFS below which audio is silence. None: 30 dB under
            the recording's loud frames (clamped to -70..-25 dBFS), so quiet recordings work too;
            the original notebook's fixed -10 dB called most quiet speech silence.
        min_silence: shortest pause, in seconds, that counts as a place to cut.
        min_chunk: once a chunk holds this many seconds, cut at the longest pause before max_chunk.
        max_chunk: longest chunk in seconds (at most 30: Whisper's window).
        pad: seconds of the surrounding silence kept on each side of the speech.
    """

    vad: str = "silero"
    threshold: float = 0.5
    noise_db: float | None = None
    min_silence: float = 0.3
    min_chunk: float = 20.0
    max_chunk: float = 30.0
    pad: float = 0.5

    def __post_init__(self):
        if self.vad not in DETECTORS:
            raise OptionsError(f"Unknown voice detector {self.vad!r}: use one of {', '.join(DETECTORS)}",
                               vad=self.vad)
        if not 0 < self.max_chunk <= 30:
            raise OptionsError(f"max_chunk must be in (0, 30] seconds (Whisper's window), not {self.max_chunk}",
                               max_chunk=self.max_chunk)
        if not 0 <= self.min_chunk <= self.max_chunk:
            raise OptionsError(f"min_chunk must be between 0 and max_chunk ({self.max_chunk}), "
                               f"not {self.min_chunk}", min_chunk=self.min_chunk)
        if self.pad < 0 or self.min_silence < 0:
            raise OptionsError("pad and min_silence must not be negative")


@dataclass(frozen=True)
class Chunk:
    """One piece of the audio to decode: ``[start, end)`` in seconds of the whole audio."""

    index: int
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    def samples(self, sample_rate: int = SAMPLE_RATE) -> slice:
        """The slice of a sample array at ``sample_rate`` this chunk covers."""
        return slice(int(round(self.start * sample_rate)), int(round(self.end * sample_rate)))


# --- detectors -------------------------------------------------------------------------------------


def silero_speech(audio: np.ndarray, *, threshold: float = 0.5, min_silence: float = 0.3,
                  max_speech: float = 30.0) -> list[Region]:
    """Speech regions found by Silero VAD (faster-whisper's bundled ONNX model, on onnxruntime).

    Raises:
        OptionsError: faster-whisper (which ships the model) or onnxruntime is not installed.
    """
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError as e:
        raise OptionsError("Silero voice detection needs faster-whisper: pip install 'audiototext[faster]', "
                           "or use vad='silencedetect'") from e
    # No padding here: the planner pads, knowing where the neighbouring speech is.
    options = VadOptions(threshold=threshold, min_silence_duration_ms=int(min_silence * 1000),
                         speech_pad_ms=0, max_speech_duration_s=max_speech)
    return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE)
            for r in get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE)]


_SILENCE_START = re.compile(rb"silence_start: (-?[\d.]+)")
_SILENCE_END = re.compile(rb"silence_end: (-?[\d.]+)")


def auto_noise_db(audio: np.ndarray) -> float:
    """A silencedetect level 30 dB under the recording's loud (95th percentile) 50 ms frames."""
    frame = SAMPLE_RATE // 20
    n = len(audio) // frame
    if n == 0:
        return -50.0
    rms = np.sqrt(np.mean(np.square(audio[: n * frame].reshape(n, frame), dtype=np.float64), axis=1))
    loud = 20 * math.log10(max(float(np.percentile(rms, 95)), 1e-6))
    return float(min(max(loud - 30.0, -70.0), -25.0))


def silencedetect_speech(audio: np.ndarray, *, noise_db: float | None = None,
                         min_silence: float = 0.3) -> list[Region]:
    """Speech regions: everything ffmpeg's ``silencedetect`` does not call silence.

    Raises:
        MediaError: ffmpeg is missing or failed.
    """
    from .media import require_ffmpeg

    require_ffmpeg()
    level = auto_noise_db(audio) if noise_db is None else noise_db
    duration = len(audio) / SAMPLE_RATE
    cmd = ["ffmpeg", "-hide_banner", "-nostats", "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1",
           "-i", "pipe:0", "-af", f"silencedetect=noise={level:.1f}dB:d={min_silence}", "-f", "null", "-"]
    try:
        done = subprocess.run(cmd, input=np.ascontiguousarray(audio, np.float32).tobytes(),
                              capture_output=True, check=True)
    except subprocess.CalledProcessError as e:
        tail = e.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        raise MediaError(f"ffmpeg silencedetect failed ({tail[0]})") from e
    starts = [float(m) for m in _SILENCE_START.findall(done.stderr)]
    ends = [float(m) for m in _SILENCE_END.findall(done.stderr)]
    ends += [duration] * (len(starts) - len(ends))  # a silence running to the end has no end line
    speech, cursor = [], 0.0
    for s, e in zip(starts, ends):
        if s > cursor:
            speech.append((cursor, min(s, duration)))
        cursor = max(cursor, e)
    if cursor < duration:
        speech.append((cursor, duration))
    log.debug("silencedetect at %.1f dBFS found %d speech regions", level, len(speech))
    return speech


def split_long_regions(regions: Sequence[Region], audio: np.ndarray | None, max_len: float) -> list[Region]:
    """Split regions longer than ``max_len`` at their quietest 100 ms (or evenly without audio).

    silencedetect reports one region for a minute of continuous talk; Whisper needs <= 30 s.
    """
    out: list[Region] = []
    for start, end in regions:
        while end - start > max_len:
            cut = _quietest_point(audio, start + max_len / 2, start + max_len) if audio is not None else None
            if cut is None:
                cut = start + max_len
            out.append((start, cut))
            start = cut
        out.append((start, end))
    return out


def _quietest_point(audio: np.ndarray, lo: float, hi: float) -> float | None:
    frame = SAMPLE_RATE // 10
    a, b = int(lo * SAMPLE_RATE), int(hi * SAMPLE_RATE)
    n = (b - a) // frame
    if n < 1:
        return None
    energy = np.square(audio[a: a + n * frame].reshape(n, frame), dtype=np.float64).sum(axis=1)
    best = int(np.argmin(energy))
    return (a + best * frame + frame // 2) / SAMPLE_RATE


def detect_speech(audio: np.ndarray, options: SegmentationOptions = SegmentationOptions()) -> list[Region]:
    """Speech regions of 16 kHz mono audio, none longer than ``options.max_chunk``."""
    if options.vad == "silero":
        regions = silero_speech(audio, threshold=options.threshold, min_silence=options.min_silence,
                                max_speech=options.max_chunk)
    else:
        regions = silencedetect_speech(audio, noise_db=options.noise_db, min_silence=options.min_silence)
    return split_long_regions(regions, audio, options.max_chunk)


# --- planner ---------------------------------------------------------------------------------------


def normalize_regions(regions: Sequence[Region], duration: float, max_len: float) -> list[Region]:
    """Regions clipped to the audio, sorted, overlaps merged, none longer than ``max_len``."""
    clipped = sorted((max(0.0, float(s)), min(float(duration), float(e))) for s, e in regions)
    merged: list[list[float]] = []
    for s, e in clipped:
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out: list[Region] = []
    for s, e in merged:
        # Last resort, when no detector split it: cut evenly (logged, as it may cut a word).
        pieces = max(1, math.ceil((e - s) / max_len - 1e-9))
        if pieces > 1:
            log.debug("Speech from %.2f to %.2f s has no pause; cutting it into %d pieces", s, e, pieces)
        step = (e - s) / pieces
        out.extend((s + i * step, e if i == pieces - 1 else s + (i + 1) * step) for i in range(pieces))
    return out


def plan_chunks(regions: Sequence[Region], duration: float, *, min_chunk: float = 20.0,
                max_chunk: float = 30.0, pad: float = 0.5) -> list[Chunk]:
    """Group speech regions into chunks, cutting in the middle of silences.

    Guarantees (property-tested): chunks are in time order, do not overlap, lie within
    ``[0, duration]``, are at most ``max_chunk`` long, each holds speech, and together they cover
    every region (so nothing is dropped at the start or the end). Once a chunk holds
    ``min_chunk`` seconds it ends at the longest pause that keeps it within ``max_chunk``.

    Args:
        regions: speech as (start, end) seconds, in any order, possibly overlapping.
        duration: length of the audio in seconds.
        min_chunk: length from which the longest pause is preferred over filling the window.
        max_chunk: longest chunk in seconds.
        pad: silence kept on each side of the speech; a pause shorter than two pads is cut in
            its middle, a longer one keeps ``pad`` on each side and its inside is not decoded.
    """
    speech = normalize_regions(regions, duration, max_chunk)
    groups: list[Region] = []
    i, n = 0, len(speech)
    while i < n:
        start = speech[i][0]
        j = i
        while j + 1 < n and speech[j + 1][1] - start <= max_chunk:
            j += 1
        if j == n - 1:
            k = j
        else:
            # Among the ends that make a chunk of at least min_chunk, take the longest pause after it.
            candidates = [c for c in range(i, j + 1) if speech[c][1] - start >= min_chunk] or [j]
            k = max(candidates, key=lambda c: (speech[c + 1][0] - speech[c][1], c))
        groups.append((start, speech[k][1]))
        i = k + 1

    chunks: list[Chunk] = []
    for index, (s, e) in enumerate(groups):
        before = groups[index - 1][1] if index else None
        after = groups[index + 1][0] if index + 1 < len(groups) else None
        lo = max(0.0, s - pad) if before is None else max(s - pad, (before + s) / 2)
        hi = min(duration, e + pad) if after is None else min(e + pad, (e + after) / 2)
        room = max(0.0, max_chunk - (e - s))
        if (s - lo) + (hi - e) > room:
            scale = room / ((s - lo) + (hi - e))  # > 0: it exceeds room >= 0
            lo, hi = s - (s - lo) * scale, e + (hi - e) * scale
        lo, hi = max(0.0, min(lo, s)), min(duration, max(hi, e))
        chunks.append(Chunk(index, lo, hi))
    return chunks


def plan(audio: np.ndarray, options: SegmentationOptions = SegmentationOptions()) -> list[Chunk]:
    """Detect the speech in 16 kHz mono ``audio`` and plan its chunks (empty when there is none)."""
    duration = len(audio) / SAMPLE_RATE
    regions = detect_speech(audio, options)
    chunks = plan_chunks(regions, duration, min_chunk=options.min_chunk, max_chunk=options.max_chunk,
                         pad=options.pad)
    speech = sum(e - s for s, e in regions)
    log.info("Found %.0f s of speech in %.0f s of audio (%s); cut into %d chunks of at most %.0f s",
             speech, duration, options.vad, len(chunks), options.max_chunk)
    return chunks


__all__ = ["SegmentationOptions", "Chunk", "Region", "DETECTORS", "detect_speech", "silero_speech",
           "silencedetect_speech", "auto_noise_db", "split_long_regions", "normalize_regions",
           "plan_chunks", "plan"]

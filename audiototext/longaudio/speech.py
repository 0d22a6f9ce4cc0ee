"""Where the speech is: Silero voice activity, ffmpeg's ``silencedetect``, or everything ("off").

Silero is the ONNX model faster-whisper ships (run with onnxruntime; nothing is downloaded): it
finds voices and ignores noise and most music. ``silencedetect`` cuts by level (for recordings
where Silero misses speech). ``off`` decodes every second (songs, music videos: nothing is
skipped). Detection reads the audio block by block, so memory stays flat with duration.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import OptionsError
from ..media import SAMPLE_RATE
from ..models import import_whole
from ..records import check, value
from .source import ArraySource, AudioSource, blocks, duration_of

log = logging.getLogger(__name__)

DETECTORS = ("silero", "silencedetect", "off")

#: A region of speech, (start, end) in seconds.
Region = tuple[float, float]


@dataclass(frozen=True)
class SpeechOptions:
    """How speech is found and packed.

    Attributes:
        vad: "silero" (voice activity, ignores noise and music), "silencedetect" (ffmpeg, by
            level) or "off" (decode every second: songs, music).
        threshold: Silero speech probability above which a 32 ms frame is speech.
        noise_db: silencedetect level in dBFS (None: 30 dB under the recording's loud parts).
        min_silence: shortest pause, in seconds, that separates two stretches of speech.
        pause: longest pause kept inside a window; longer ones are shortened to this.
    """

    vad: str = value("silero", choices=DETECTORS)
    threshold: float = value(0.5, min=0.0, max=1.0)
    noise_db: float | None = value(None, min=-100.0, max=0.0)
    min_silence: float = value(0.16, min=0.0, max=10.0)
    pause: float = value(0.4, min=0.0, max=5.0)

    def __post_init__(self):
        check(self)


def _silero():
    """faster-whisper's Silero functions: ``(VadOptions, get_speech_timestamps)``.

    Raises:
        OptionsError: faster-whisper (which ships the model) or onnxruntime is not installed.
    """
    try:
        import_whole("faster_whisper")
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError as e:
        raise OptionsError(
            "Silero voice detection needs faster-whisper: pip install 'audiototext[faster]', or use vad='silencedetect'"
        ) from e
    return VadOptions, get_speech_timestamps


def silero_speech(audio: np.ndarray, *, threshold: float, min_silence: float, max_speech: float) -> list[Region]:
    """Speech regions of an array found by Silero VAD (no padding: the planner pads).

    Raises:
        OptionsError: faster-whisper (which ships the model) or onnxruntime is not installed.
    """
    VadOptions, get_speech_timestamps = _silero()
    options = VadOptions(
        threshold=threshold,
        min_silence_duration_ms=int(min_silence * 1000),
        speech_pad_ms=0,
        max_speech_duration_s=max_speech,
    )
    return [
        (r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE)
        for r in get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE)
    ]


_SILENCE_START = re.compile(rb"silence_start: (-?[\d.]+)")
_SILENCE_END = re.compile(rb"silence_end: (-?[\d.]+)")


def frame_levels(audio: np.ndarray, frame: int = SAMPLE_RATE // 20) -> np.ndarray:
    """RMS of consecutive 50 ms frames."""
    n = len(audio) // frame
    return np.sqrt(np.mean(np.square(audio[: n * frame].reshape(n, frame), dtype=np.float64), axis=1))


def auto_noise_db(levels: np.ndarray | None) -> float:
    """A silencedetect level 30 dB under the recording's loud (95th percentile) 50 ms frames.

    Clamped to -70..-25 dBFS, so quiet recordings work too (the original notebook's fixed -10 dB
    called most quiet speech silence).
    """
    if levels is None or len(levels) == 0:
        return -50.0
    loud = 20 * math.log10(max(float(np.percentile(levels, 95)), 1e-6))
    return float(min(max(loud - 30.0, -70.0), -25.0))


def silencedetect_speech(audio: np.ndarray, *, noise_db: float, min_silence: float) -> list[Region]:
    """Speech regions of an array: everything ffmpeg's ``silencedetect`` does not call silence.

    Raises:
        MediaError: ffmpeg is missing or failed.
    """
    from ..media import run_ffmpeg

    duration = len(audio) / SAMPLE_RATE
    args = ["-nostats", "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0"]
    args += ["-af", f"silencedetect=noise={noise_db:.1f}dB:d={min_silence}", "-f", "null", "-"]
    done = run_ffmpeg(
        args,
        name="the decoded audio",
        problem="ffmpeg's silencedetect failed",
        fix="choose another voice detection (vad silero or off)",
        data=np.ascontiguousarray(audio, np.float32).tobytes(),
        loglevel="info",  # silencedetect reports at level info
    )
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
    return speech


def quietest_point(source: AudioSource, lo: float, hi: float) -> float | None:
    """The middle of the quietest 100 ms between ``lo`` and ``hi`` seconds."""
    frame = SAMPLE_RATE // 10
    audio = source.read(lo, hi)
    n = len(audio) // frame
    if n < 1:
        return None
    energy = np.square(audio[: n * frame].reshape(n, frame), dtype=np.float64).sum(axis=1)
    return lo + (int(np.argmin(energy)) * frame + frame // 2) / SAMPLE_RATE


def split_long_regions(regions: Sequence[Region], source: AudioSource | None, max_len: float) -> list[Region]:
    """Regions longer than ``max_len`` cut at their quietest 100 ms (or evenly without audio)."""
    out: list[Region] = []
    for start, end in regions:
        while end - start > max_len:
            cut = quietest_point(source, start + max_len / 2, start + max_len) if source is not None else None
            cut = cut if cut is not None and start < cut < end else start + max_len
            out.append((start, cut))
            start = cut
        out.append((start, end))
    return out


def merge_touching(regions: Sequence[Region], tolerance: float = 0.02) -> list[Region]:
    """Sorted regions with those that touch or overlap (block edges) joined."""
    merged: list[list[float]] = []
    for s, e in sorted(regions):
        if merged and s <= merged[-1][1] + tolerance:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


#: Silero runs on one core per block; blocks of this many seconds go to two threads at once. Each
#: block starts Silero afresh: over long stretches its state drifts with the room noise and it
#: misses quiet speech after loud noise (measured: 120 s blocks lost 9 s of a 654 s recording,
#: 7 s of them one sentence, that 30 s blocks find).
SILERO_BLOCK = 30.0
#: Blocks overlap by this much, so that speech at a block's start is heard with what came before.
SILERO_OVERLAP = 1.0


def _silero_in_blocks(source: AudioSource, *, threads: int = 2, **options) -> list[Region]:
    """Silero over consecutive blocks, two at a time (each call uses one core; onnxruntime frees the
    GIL). Each block is read by its own task, so at most ``threads`` blocks are in memory."""
    from concurrent.futures import ThreadPoolExecutor

    duration = duration_of(source)
    spans = [
        (max(0.0, t - SILERO_OVERLAP), min(t + SILERO_BLOCK, duration)) for t in np.arange(0.0, duration, SILERO_BLOCK)
    ]

    def find(span: tuple[float, float]) -> list[Region]:
        return [(span[0] + s, span[0] + e) for s, e in silero_speech(source.read(*span), **options)]

    _silero()  # imported once here, not by each of the pool's threads
    with ThreadPoolExecutor(threads, thread_name_prefix="audiototext-vad") as pool:
        return [region for found in pool.map(find, spans) for region in found]


def detect_speech(
    source: AudioSource, speech: SpeechOptions = SpeechOptions(), *, max_len: float = 28.0
) -> list[Region]:
    """Speech regions of the whole source, found as ``speech`` says, none longer than ``max_len``
    seconds, read block by block.

    Raises:
        OptionsError: Silero without faster-whisper.
        MediaError: ffmpeg failed (silencedetect).
    """
    vad, min_silence = speech.vad, speech.min_silence
    duration = duration_of(source)
    if vad == "off":
        regions = [(0.0, duration)] if duration > 0 else []
    elif vad == "silero":
        regions = _silero_in_blocks(source, threshold=speech.threshold, min_silence=min_silence, max_speech=max_len)
    else:  # silencedetect
        level = (
            speech.noise_db
            if speech.noise_db is not None
            else auto_noise_db(np.concatenate([frame_levels(block) for _, block in blocks(source)] or [np.zeros(0)]))
        )
        regions = [
            (offset + s, offset + e)
            for offset, block in blocks(source)
            for s, e in silencedetect_speech(block, noise_db=level, min_silence=min_silence)
        ]
        log.debug("silencedetect at %.1f dBFS found %d speech regions", level, len(regions))
    return split_long_regions(merge_touching(regions), source, max_len)


def speech_regions(audio: np.ndarray) -> list[Region]:
    """Speech in 16 kHz mono ``audio`` as (start, end) seconds, for an engine that cuts a file at
    pauses (the hosted one: it is handed this function, as engines sit below this package).

    Silero when faster-whisper is installed, else ffmpeg's silencedetect, so the ``api`` extra alone works.
    """
    try:
        return list(detect_speech(ArraySource(audio)))
    except OptionsError:
        log.info("Silero voice detection is not installed; finding pauses with ffmpeg's silencedetect")
        return list(detect_speech(ArraySource(audio), SpeechOptions(vad="silencedetect")))


__all__ = [
    "DETECTORS",
    "speech_regions",
    "SpeechOptions",
    "Region",
    "detect_speech",
    "silero_speech",
    "silencedetect_speech",
    "auto_noise_db",
    "frame_levels",
    "split_long_regions",
    "merge_touching",
    "quietest_point",
]

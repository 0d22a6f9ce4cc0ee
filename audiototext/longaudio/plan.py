"""Windows packed across pauses, each with a time map back to the recording.

Speech regions (:mod:`.speech`) are packed in time order into windows of at most 30 s (Whisper's
window), the way faster-whisper's batched pipeline and WhisperX pack them: a pause inside a
window is shortened to at most ``pause`` seconds (half of it kept after the speech before, half
before the speech after: real background audio, no inserted zeros), so the encoder runs as few
windows as the speech needs. Each window keeps its :class:`Piece` list — where every stretch of
its audio came from — and maps any time in the window back onto the recording exactly
(:meth:`Window.to_source`): monotonic, inside the speech, the ends kept.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np

from .source import AudioSource
from .speech import Region

log = logging.getLogger(__name__)

#: Whisper's window, in seconds.
WINDOW = 30.0


@dataclass(frozen=True)
class Piece:
    """``[start, end)`` seconds of the recording, placed at ``offset`` seconds into its window."""

    start: float
    end: float
    offset: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Window:
    """One window to decode: pieces of the recording, in order, back to back.

    Attributes:
        index: the window's number (first-pass windows in time order, then continuations).
        pieces: where its audio comes from.
        speech: the speech voice detection found in it, in recording time (empty: unknown, as
            with ``vad off``, where every second counts as speech).
    """

    index: int
    pieces: tuple[Piece, ...]
    speech: tuple[Region, ...] = ()

    @property
    def duration(self) -> float:
        last = self.pieces[-1]
        return last.offset + last.duration

    @property
    def start(self) -> float:
        return self.pieces[0].start

    @property
    def end(self) -> float:
        return self.pieces[-1].end

    def audio(self, source: AudioSource) -> np.ndarray:
        """The window's samples: its pieces read from ``source`` and joined."""
        parts = [source.read(p.start, p.end) for p in self.pieces]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def piece_at(self, t: float) -> int:
        """Index of the piece window time ``t`` falls in (the last one for times past the end)."""
        offsets = [p.offset for p in self.pieces]
        return max(0, bisect.bisect_right(offsets, t) - 1)

    def to_source(self, t: float) -> float:
        """Window time -> recording time: exact inside a piece, clamped to the window's speech."""
        piece = self.pieces[self.piece_at(t)]
        return min(max(piece.start + (t - piece.offset), piece.start), piece.end)

    def speech_between(self, a: float, b: float = float("inf")) -> float | None:
        """Seconds of detected speech the window holds between window times ``a`` and ``b``
        (None: unknown, as with ``vad off``)."""
        if not self.speech:
            return None
        total = 0.0
        for p in self.pieces:
            lo, hi = max(p.start, p.start + (a - p.offset)), min(p.end, p.start + (b - p.offset))
            total += sum(max(0.0, min(e, hi) - max(s, lo)) for s, e in self.speech)
        return total

    def speech_spans(self) -> list[Region]:
        """The detected speech it holds, in window time (joined where pieces join)."""
        spans: list[list[float]] = []
        for p in self.pieces:
            for s, e in self.speech:
                lo, hi = max(s, p.start), min(e, p.end)
                if lo < hi:
                    a, b = p.offset + lo - p.start, p.offset + hi - p.start
                    if spans and a - spans[-1][1] < 1e-6:
                        spans[-1][1] = b
                    else:
                        spans.append([a, b])
        return [(a, b) for a, b in spans]

    def between(self, a: float, b: float = float("inf")) -> list[Region]:
        """The recording's stretches this window holds between window times ``a`` and ``b``."""
        out = []
        for p in self.pieces:
            lo, hi = max(p.start, p.start + (a - p.offset)), min(p.end, p.start + (b - p.offset))
            if lo < hi:
                out.append((lo, hi))
        return out


def padded_pieces(regions: Sequence[Region], duration: float, pause: float) -> list[Region]:
    """Each speech region widened by up to ``pause / 2`` on each side, never past half the gap to a neighbour."""
    half = pause / 2
    out = []
    for i, (s, e) in enumerate(regions):
        lo = max(0.0, s - half) if i == 0 else max(s - half, (regions[i - 1][1] + s) / 2)
        hi = min(duration, e + half) if i == len(regions) - 1 else min(e + half, (e + regions[i + 1][0]) / 2)
        out.append((min(lo, s), max(hi, e)))
    return out


def pack(stretches: Sequence[Region], *, window: float = WINDOW, first_index: int = 0) -> list[Window]:
    """Consecutive stretches of the recording packed into windows of at most ``window`` seconds.

    A stretch longer than a window is cut into equal parts (the detectors already cut speech longer
    than that at its quietest point; this is the last resort for hand-made regions).
    """
    windows: list[Window] = []
    current: list[Piece] = []
    used = 0.0

    def close() -> None:
        nonlocal current, used
        if current:
            windows.append(Window(first_index + len(windows), tuple(current)))
        current, used = [], 0.0

    for s, e in stretches:
        parts = max(1, int(np.ceil((e - s) / window - 1e-9)))
        step = (e - s) / parts
        for k in range(parts):
            lo, hi = s + k * step, (e if k == parts - 1 else s + (k + 1) * step)
            if current and used + (hi - lo) > window + 1e-9:
                close()
            current.append(Piece(lo, hi, used))
            used += hi - lo
    close()
    return windows


#: Pauses are shortened below ``pause`` only when that saves a whole window, and never below this.
PAUSE_FLOOR = 0.2


def plan_windows(
    regions: Sequence[Region], duration: float, *, pause: float, window: float = WINDOW, known_speech: bool = True
) -> list[Window]:
    """Speech regions -> windows: pauses shortened to ``pause`` seconds, packed up to ``window`` seconds.

    Every window costs a full encoder pass however little it holds, so when shorter pauses (down
    to :data:`PAUSE_FLOOR`) pack the same speech into fewer windows, they are used: a recording
    whose last window would hold 3 s is not given a sixth encoder pass for it.

    Guarantees (property-tested): windows in time order and not overlapping, each at most
    ``window`` long, their pieces inside ``[0, duration]`` and covering every region entirely.
    Each window keeps the speech it holds (unless ``known_speech`` is False: regions that are not
    speech found by voice detection, as with ``vad off``).
    """
    clipped = sorted((max(0.0, float(s)), min(float(duration), float(e))) for s, e in regions)
    merged: list[list[float]] = []
    for s, e in clipped:
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    speech = [(s, e) for s, e in merged]
    windows = pack(padded_pieces(speech, duration, pause), window=window)
    shorter = pause - 0.05
    while len(windows) > 1 and shorter >= min(PAUSE_FLOOR, pause) - 1e-9:
        tighter = pack(padded_pieces(speech, duration, shorter), window=window)
        if len(tighter) < len(windows):
            log.debug("Pauses shortened to %.2f s: %d windows instead of %d", shorter, len(tighter), len(windows))
            windows = tighter
            break
        shorter -= 0.05
    return [with_speech(w, speech) for w in windows] if known_speech else windows


def with_speech(window: Window, speech: Sequence[Region]) -> Window:
    """``window`` knowing the parts of ``speech`` its pieces hold."""
    held = []
    for p in window.pieces:
        held += [(max(s, p.start), min(e, p.end)) for s, e in speech if s < p.end and e > p.start]
    return dataclasses.replace(window, speech=tuple(held))


def continuation(
    windows: Sequence[tuple[Window, float, float]], *, window: float = WINDOW, first_index: int
) -> list[Window]:
    """Windows for the audio that decoded windows left untranscribed.

    Args:
        windows: (window, start, end) of the window time whose audio was not transcribed.
        first_index: the index of the first new window.
    """
    ordered = sorted(windows, key=lambda wt: wt[0].start)
    rests = [stretch for w, a, b in ordered for stretch in w.between(a, b)]
    speech = [region for w, _, _ in ordered for region in w.speech]
    packed = pack(rests, window=window, first_index=first_index)
    return [with_speech(w, speech) for w in packed] if speech else packed


__all__ = [
    "WINDOW",
    "PAUSE_FLOOR",
    "Piece",
    "Window",
    "padded_pieces",
    "pack",
    "plan_windows",
    "continuation",
    "with_speech",
]

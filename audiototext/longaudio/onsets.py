"""Where a word said after a pause really starts: its time read from the audio.

Whisper's alignment times a word to its 20 ms attention frames, and the first word after a pause
comes out up to a few hundred milliseconds early or late. A subtitle appears when its first word
starts, so those starts are refined from the recording itself, as a subtitle editor snaps a cue to
the waveform: the first 10 ms from which the level stays, for :data:`HOLD` seconds, above both
the room's noise (measured in the pause before) by :data:`ABOVE_NOISE` dB and the word's loudest
moment less :data:`BELOW_PEAK` dB, after at least as long under it. Words inside running speech,
and words where no such rise out of a pause is heard, keep the alignment's times.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ..media import SAMPLE_RATE
from .source import AudioSource
from .stitch import Placed

#: A word this long after the previous one's end follows a pause, and gets its start refined.
AFTER_PAUSE = 0.25
#: The start is looked for this far before the aligned one, and this far after it.
BEFORE, AFTER = 1.0, 0.4
#: The voice starts where the level is this far under the word's peak, and this far over the noise.
BELOW_PEAK, ABOVE_NOISE = 20.0, 10.0
#: ... and stays there this long (a click or a lip smack does not).
HOLD = 0.05
_HOP = SAMPLE_RATE // 100  # 10 ms


def _levels(samples: np.ndarray) -> np.ndarray:
    """dB of 20 ms frames every 10 ms."""
    size = 2 * _HOP
    if len(samples) < size:
        return np.zeros(0)
    energy = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    starts = np.arange(0, len(samples) - size + 1, _HOP)
    return 10 * np.log10(np.maximum((energy[starts + size] - energy[starts]) / size, 1e-12))


def voice_onset(source: AudioSource, t: float, earliest: float) -> float:
    """When the voice of a word aligned at ``t`` starts, never before ``earliest`` (``t`` when unsure)."""
    lo = max(0.0, earliest, t - BEFORE)
    if t - lo < 0.05:
        return t
    db = _levels(source.read(lo, t + AFTER + 0.6))
    last = int(round((t + AFTER - lo) * 100))  # the last frame a start may be found at
    before = db[: max(0, int((t - 0.1 - lo) * 100))]
    if len(db) <= last or len(before) < 5:
        return t
    noise = float(np.percentile(before, 20))
    level = max(float(db[: last + 60].max()) - BELOW_PEAK, noise + ABOVE_NOISE)
    hold = int(HOLD * 100)
    loud = db >= level
    quiet = 0  # frames under the level just before frame k: the voice starts out of a pause
    for k in range(last):
        if quiet >= hold and loud[k : k + hold].all():
            return lo + k / 100
        quiet = 0 if loud[k] else quiet + 1
    return t


def refine_onsets(words: Sequence[Placed], source: AudioSource, previous_end: float | None) -> list[Placed]:
    """``words`` (in time order) with the start of each word said after a pause read from the audio;
    ``previous_end``: when the word before the first one ended (None: nothing before it)."""
    out, before = [], previous_end
    for p in words:
        w = p.word
        if before is None or w.start - before >= AFTER_PAUSE:
            start = voice_onset(source, w.start, before if before is not None else 0.0)
            start = min(start, max(w.start, w.end - 0.02))
            p = dataclasses.replace(p, word=dataclasses.replace(w, start=start))
        out.append(p)
        before = w.end
    return out


__all__ = ["AFTER_PAUSE", "BELOW_PEAK", "ABOVE_NOISE", "HOLD", "voice_onset", "refine_onsets"]

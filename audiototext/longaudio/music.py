"""Songs that voice detection calls silent.

Silero is trained to ignore music, and with it, often, a voice singing over it: a song came out
as "Found 0 s of speech", empty files and no hint. :func:`music_without_speech` tells such audio
(audible, tonal — spectral peaks rather than noise's flat spectrum — with a changing pitch) from
the noise and hum that must still never reach the model, so that :func:`audiototext.longaudio.plan`
can decode it all, as ``vad off`` would, and say so. It reads the audio block by block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..media import SAMPLE_RATE
from .source import AudioSource, blocks, duration_of

#: Analysis frames of 2048 samples (128 ms), Hann-windowed; the spectrum between these frequencies.
FRAME = 2048
BAND = (100.0, 4000.0)
#: A frame at or above this level (dBFS) is audible.
AUDIBLE_DB = -50.0
#: A frame whose spectral flatness (geometric over arithmetic mean power) is below this is tonal:
#: measured 0.005 on a song, 0.02 on speech, 0.10 on brown noise, 0.37 on pink, 0.56 on white noise.
TONAL_FLATNESS = 0.05
#: Music: at least this share of the audible frames tonal, and at least this many different
#: strongest pitches (semitones), each in at least 2 % of the tonal frames (a test tone has one).
TONAL_SHARE = 0.5
PITCHES = 3
#: At least this much audible audio, and speech found in less than this share of it.
MIN_AUDIBLE = 5.0
ALMOST_NOTHING = 0.1


@dataclass(frozen=True)
class Sound:
    """What the audio sounds like, over the whole source.

    Attributes:
        audible: seconds at or above :data:`AUDIBLE_DB`.
        tonal: share of the audible frames that are tonal.
        pitches: different strongest pitches among the tonal frames (semitones, each in >= 2 %).
    """

    audible: float
    tonal: float
    pitches: int

    @property
    def is_music(self) -> bool:
        return self.audible >= MIN_AUDIBLE and self.tonal >= TONAL_SHARE and self.pitches >= PITCHES


def frame_features(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame of ``audio``: level (dBFS), spectral flatness in :data:`BAND`, strongest frequency (Hz)."""
    n = len(audio) // FRAME
    if n == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    frames = np.asarray(audio[: n * FRAME], np.float64).reshape(n, FRAME)
    level = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-9)
    power = np.abs(np.fft.rfft(frames * np.hanning(FRAME), axis=1)) ** 2 + 1e-12
    freqs = np.fft.rfftfreq(FRAME, 1 / SAMPLE_RATE)
    band = (freqs >= BAND[0]) & (freqs <= BAND[1])
    power, freqs = power[:, band], freqs[band]
    flatness = np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)
    return level, flatness, freqs[np.argmax(power, axis=1)]


def describe(source: AudioSource) -> Sound:
    """The :class:`Sound` of ``source``, read block by block."""
    levels, flatness, peaks = [], [], []
    step = 256 * FRAME  # 33 s at a time: the spectra stay small (memory flat with duration)
    for _, block in blocks(source):
        for start in range(0, len(block), step):
            level, flat, peak = frame_features(block[start : start + step])
            levels.append(level), flatness.append(flat), peaks.append(peak)
    level, flat, peak = (np.concatenate(x) if x else np.zeros(0) for x in (levels, flatness, peaks))
    audible = level >= AUDIBLE_DB
    if not audible.any():
        return Sound(0.0, 0.0, 0)
    tonal = audible & (flat < TONAL_FLATNESS)
    semitones = np.round(12 * np.log2(peak[tonal] / 440.0)).astype(int)
    values, counts = np.unique(semitones, return_counts=True)
    pitches = int(np.sum(counts >= max(1, 0.02 * len(semitones))))
    return Sound(float(audible.sum() * FRAME / SAMPLE_RATE), float(tonal.sum() / audible.sum()), pitches)


def music_without_speech(source: AudioSource, speech_seconds: float) -> Sound | None:
    """The source's :class:`Sound` when it is music in which voice detection found (almost) no speech:
    less than :data:`ALMOST_NOTHING` of its audible time; else None. Speech files are not read again."""
    if speech_seconds >= ALMOST_NOTHING * duration_of(source):  # the audible time is at most the duration
        return None
    sound = describe(source)
    if sound.is_music and speech_seconds < ALMOST_NOTHING * sound.audible:
        return sound
    return None


__all__ = ["Sound", "frame_features", "describe", "music_without_speech"]

"""A word said after a pause starts where its voice does (longaudio/onsets.py), on real speech
(espeak-ng) after room noise and on synthesized bursts; words in running speech keep their times."""

from __future__ import annotations

import numpy as np
import pytest

from audiototext.longaudio.onsets import refine_onsets, voice_onset
from audiototext.longaudio.source import ArraySource
from audiototext.longaudio.stitch import Placed
from audiototext.transcript import Word
from conftest import speak, trimmed

RATE = 16000


def noise(seconds: float, db: float, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * 10 ** (db / 20)).astype(np.float32)


@pytest.fixture(scope="module")
def word_after_noise(media_dir):
    """1.5 s of room noise at -55 dBFS, then espeak-ng saying a sentence from 1.5 s on (with the noise under it)."""
    from audiototext.media import load_audio

    voice = trimmed(load_audio(speak("Good morning everyone.", "en-us", media_dir / "onset.wav")))
    audio = noise(1.5 + len(voice) / RATE + 0.5, -55)
    audio[int(1.5 * RATE) : int(1.5 * RATE) + len(voice)] += voice
    return ArraySource(audio)


@pytest.mark.parametrize("aligned", [1.2, 1.35, 1.5, 1.7, 1.85])
def test_a_word_after_a_pause_starts_where_its_voice_does(word_after_noise, aligned):
    assert voice_onset(word_after_noise, aligned, 0.0) == pytest.approx(1.5, abs=0.03)


def test_a_click_in_the_pause_is_not_the_voice():
    audio = noise(3.0, -60)
    audio[int(0.8 * RATE) : int(0.81 * RATE)] += 0.3  # 10 ms click
    audio[int(1.5 * RATE) : int(2.5 * RATE)] += (0.2 * np.sin(np.arange(RATE) * 2 * np.pi * 220 / RATE)).astype(
        np.float32
    )
    assert voice_onset(ArraySource(audio), 1.3, 0.0) == pytest.approx(1.5, abs=0.03)


def test_words_in_running_speech_and_unclear_starts_keep_their_times():
    tone = (0.2 * np.sin(np.arange(3 * RATE) * 2 * np.pi * 220 / RATE)).astype(np.float32)
    source = ArraySource(tone)  # loud all along: no rise out of a pause anywhere
    assert voice_onset(source, 1.4, 0.0) == 1.4
    words = [Placed(Word(1.0, 1.3, " a"), 0, 0), Placed(Word(1.35, 1.6, " b"), 0, 0)]
    refined = refine_onsets(words, source, previous_end=0.9)
    assert [p.word.start for p in refined] == [1.0, 1.35], "0.1 s after the previous word: running speech"

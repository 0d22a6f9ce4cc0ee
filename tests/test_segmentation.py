"""Speech detection and chunk planning: property tests of the planner, detectors on real audio."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiototext.errors import OptionsError
from audiototext.media import load_audio
from audiototext.segmentation import (SegmentationOptions, auto_noise_db, detect_speech, normalize_regions, plan,
                                      plan_chunks, split_long_regions)

EPS = 1e-6


@st.composite
def speech_layouts(draw):
    """Random speech regions (possibly overlapping, possibly long) on an audio of random length."""
    duration = draw(st.floats(1.0, 600.0))
    n = draw(st.integers(0, 40))
    regions = []
    for _ in range(n):
        start = draw(st.floats(0.0, duration))
        length = draw(st.one_of(st.floats(0.05, 5.0), st.floats(5.0, 80.0)))
        regions.append((start, min(duration, start + length)))
    max_chunk = draw(st.floats(2.0, 30.0))
    min_chunk = draw(st.floats(0.0, max_chunk))
    pad = draw(st.floats(0.0, 2.0))
    return regions, duration, min_chunk, max_chunk, pad


def _covered(chunks, start, end) -> bool:
    """[start, end] lies inside the union of the chunks."""
    cursor = start
    for c in chunks:
        if c.start <= cursor + EPS and c.end > cursor:
            cursor = c.end
    return cursor >= end - EPS


@settings(max_examples=300, deadline=None)
@given(speech_layouts())
def test_plan_chunks_properties(layout):
    regions, duration, min_chunk, max_chunk, pad = layout
    chunks = plan_chunks(regions, duration, min_chunk=min_chunk, max_chunk=max_chunk, pad=pad)
    speech = normalize_regions(regions, duration, max_chunk)

    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert bool(chunks) == bool(speech)
    for a, b in zip(chunks, chunks[1:]):
        assert a.end <= b.start + EPS  # in order, no overlap: no word decoded twice
    for c in chunks:
        assert 0.0 <= c.start < c.end <= duration + EPS
        assert c.duration <= max_chunk + EPS
        assert any(s < c.end and e > c.start for s, e in speech)  # no chunk of pure silence
    for s, e in speech:
        assert _covered(chunks, s, e)  # every second of speech, the first and the last included
    if speech:
        # Padding at the ends, where the window allows it: nothing clipped at the start or the end.
        assert chunks[0].start <= speech[0][0]
        assert chunks[-1].end >= speech[-1][1] - EPS


@settings(max_examples=200, deadline=None)
@given(speech_layouts())
def test_cuts_fall_in_silence_unless_speech_had_no_pause(layout):
    regions, duration, min_chunk, max_chunk, pad = layout
    merged = normalize_regions(regions, duration, float("inf"))  # speech as detected, unsplit
    chunks = plan_chunks(regions, duration, min_chunk=min_chunk, max_chunk=max_chunk, pad=pad)
    for a, b in zip(chunks, chunks[1:]):
        for s, e in merged:
            if s + EPS < a.end < e - EPS:  # a cut inside speech is only allowed in a too-long region
                assert e - s > max_chunk


def test_prefers_the_longest_pause_once_min_chunk_is_reached():
    # Pauses after 12 s (short) and 18 s (long), both within 20 s: the long one wins.
    regions = [(0, 12), (12.2, 18), (19.5, 25), (25.1, 28)]
    chunks = plan_chunks(regions, 28, min_chunk=10, max_chunk=20, pad=0.3)
    assert [(c.start, c.end) for c in chunks] == [(0, pytest.approx(18.3)), (pytest.approx(19.2), 28)]
    # A short pause is cut in its middle.
    chunks = plan_chunks(regions, 28, min_chunk=10, max_chunk=20, pad=1.0)
    assert chunks[0].end == pytest.approx(18.75) and chunks[1].start == pytest.approx(18.75)


def test_tail_shorter_than_a_window_is_kept():
    # The original notebook dropped the final < 30 s; here it is its own chunk.
    chunks = plan_chunks([(0, 29), (31, 35)], 35.5, max_chunk=30)
    assert [round(c.end, 2) for c in chunks][-1] == 35.5
    assert len(chunks) == 2


def test_long_speech_without_pause_is_split_evenly():
    assert normalize_regions([(0, 70)], 70, 30) == [(0, 70 / 3), (70 / 3, 140 / 3), (140 / 3, 70)]


def test_split_long_regions_cuts_at_the_quietest_point():
    audio = np.random.default_rng(0).normal(0, 0.1, 16000 * 40).astype(np.float32)
    audio[16000 * 22: 16000 * 22 + 1600] = 0  # a 100 ms dip at 22 s
    pieces = split_long_regions([(0.0, 40.0)], audio, 30.0)
    assert pieces[0] == (0.0, pytest.approx(22.05, abs=0.06))
    assert all(e - s <= 30 for s, e in pieces)


def test_options_are_checked():
    with pytest.raises(OptionsError, match="silero"):
        SegmentationOptions(vad="webrtc")
    with pytest.raises(OptionsError, match="30"):
        SegmentationOptions(max_chunk=40)
    with pytest.raises(OptionsError, match="min_chunk"):
        SegmentationOptions(min_chunk=25, max_chunk=20)


@pytest.mark.parametrize("vad", ["silero", "silencedetect"])
def test_detectors_find_every_sentence(long_speech, vad):
    path, sentences, times = long_speech
    audio = load_audio(path)
    regions = detect_speech(audio, SegmentationOptions(vad=vad))
    for start, end in times:
        middle = (start + end) / 2
        assert any(s <= middle <= e for s, e in regions), (vad, start, end, regions)
    # Pauses of 0.7 s are found: more regions than a handful.
    assert len(regions) >= len(sentences) // 2
    chunks = plan(audio, SegmentationOptions(vad=vad, min_chunk=8, max_chunk=15))
    assert chunks[0].start <= times[0][0] + 0.05 and chunks[-1].end >= times[-1][1] - 0.05
    assert all(c.duration <= 15 + EPS for c in chunks)


@pytest.mark.parametrize("vad", ["silero", "silencedetect"])
def test_silence_has_no_speech(silence_wav, vad):
    assert plan(load_audio(silence_wav), SegmentationOptions(vad=vad)) == []


def test_silero_ignores_noise(noise_wav):
    assert plan(load_audio(noise_wav), SegmentationOptions(vad="silero")) == []


def test_auto_noise_level_follows_the_recording():
    rng = np.random.default_rng(1)
    loud = rng.normal(0, 0.3, 16000 * 5).astype(np.float32)
    quiet = loud * 0.01  # 40 dB quieter
    assert auto_noise_db(quiet) == pytest.approx(auto_noise_db(loud) - 40, abs=1) or auto_noise_db(quiet) == -70
    assert -70 <= auto_noise_db(quiet) <= -25

"""Speech that runs on across a window boundary: every word arrives once (real model, espeak-ng)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import LONG_SENTENCES, speak, trimmed, write_wav

pytestmark = pytest.mark.slow

#: Words every sentence of LONG_SENTENCES says, which tell nothing about where a word went.
COMMON = {"the", "a", "in", "of", "to", "on", "by", "is", "was", "were", "from", "with", "than", "over", "far", "my"}


def distinctive(sentence: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", sentence.lower()) if w not in COMMON and len(w) > 2]


@pytest.fixture(scope="module")
def run_on_speech(media_dir):
    """About 40 s of espeak-ng English with no pause anywhere: the sentences of LONG_SENTENCES said
    back to back without punctuation. Voice detection finds one region longer than a window, so it
    is cut at its quietest point, in the middle of the talk. Returns (path, [(sentence, start, end)])."""
    from audiototext.media import load_audio

    spans, pieces, cursor = [], [], 0.0
    for i, sentence in enumerate(LONG_SENTENCES):
        plain = sentence.rstrip(".").lower()
        audio = trimmed(load_audio(speak(plain, "en-us", media_dir / f"seam-{i:02d}.wav", speed=160)))
        spans.append((sentence, cursor, cursor + len(audio) / 16000))
        pieces.append(audio)
        cursor += len(audio) / 16000
    return write_wav(media_dir / "run-on.wav", np.concatenate(pieces)), spans


def test_every_word_said_across_a_window_boundary_arrives_once(run_on_speech, tmp_path):
    from audiototext import options
    from audiototext.longaudio import plan
    from audiototext.longaudio.source import DecodedFile
    from audiototext.pipeline import run

    path, spans = run_on_speech
    with DecodedFile(path) as source:
        windows = plan(source)
    assert len(windows) >= 2, "the run-on speech must not fit one window"
    seams = [w.end for w in windows[:-1]]
    assert all(windows[0].start < t < spans[-1][2] - 5 for t in seams), "the boundary is inside the talk"

    built = options.build({"model": "base", "language": "en", "output_dir": str(tmp_path), "output_formats": "txt"})
    [result] = run([path], built)
    assert result.ok, result.error
    said = re.findall(r"[a-z]+", result.transcript.text.lower())
    expected = [w for sentence, _, _ in spans for w in distinctive(sentence)]
    doubled = [w for w in set(expected) if said.count(w) > 1]
    missing = [w for w in expected if w not in said]
    assert not doubled, f"said twice around a seam: {doubled}\n{result.transcript.text}"
    assert len(missing) <= len(expected) // 10, f"lost: {missing}\n{result.transcript.text}"
    around = [
        w
        for sentence, start, end in spans
        if any(start - 2 < t < end + 2 for t in seams)
        for w in distinctive(sentence)
    ]
    lost_at_seam = [w for w in around if w not in said]
    assert len(lost_at_seam) <= 1, f"lost at the boundary {seams}: {lost_at_seam}\n{result.transcript.text}"

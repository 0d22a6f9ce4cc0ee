"""The fast tier stays honest: a test without the ``slow`` mark that loads a real Whisper model fails
(tests/model_guard.py), in-process, from the session's engine cache and in a subprocess; a slow
test is let through. And the fake engine (tests/fake_engine.py) keeps the engine interface."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

import fake_engine as fake
from guard.real_models import REFUSALS
from audiototext.engines import DecodeOptions, engine_class
from audiototext.events import Callbacks

TESTS = Path(__file__).resolve().parent

INNER = """
import subprocess
import sys
from pathlib import Path

import pytest

WAV = {wav!r}


def test_unmarked_in_process():
    from audiototext.engines import load_engine

    load_engine("faster-whisper", "tiny.en")


def test_unmarked_in_a_subprocess_even_when_the_test_looks_away(tmp_path):
    subprocess.run([sys.executable, "-m", "audiototext", WAV, "-o", str(tmp_path), "--model", "tiny.en",
                    "--no-progress", "-f", "txt"], capture_output=True)


def test_unmarked_from_the_session_cache(load_engine):
    load_engine("openai-whisper", "tiny.en")


def test_unmarked_on_the_fake_engine(tmp_path, fake_engine):
    from audiototext.cli import main

    assert main([WAV, "-o", str(tmp_path), "--model", "tiny.en", "--no-progress", "-f", "txt"]) == 0


@pytest.mark.slow
def test_slow_reaches_the_real_engine():
    from audiototext.engines.faster_whisper import FasterWhisperEngine
    from audiototext.errors import ModelError
    from audiototext.models import ModelSpec

    with pytest.raises(ModelError, match="faster-whisper could not load the model"):
        FasterWhisperEngine(ModelSpec("nowhere", Path("/nonexistent"), "ct2"))
"""


@pytest.mark.slow  # a pytest session of its own, whose slow test loads a real model (about 15 s)
def test_an_unmarked_test_that_loads_a_real_model_fails(tmp_path, english_wav):
    (tmp_path / "conftest.py").write_text((TESTS / "conftest.py").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "test_inner.py").write_text(INNER.format(wav=str(english_wav)), encoding="utf-8")
    report = tmp_path / "report.xml"
    # A pytest session of its own: not under this test's refusal (which its guard could not lift).
    env = {k: v for k, v in os.environ.items() if k != REFUSALS}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)]
        + [f"--junitxml={report}", str(tmp_path / "test_inner.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout
    problems: dict[str, list[str]] = {}
    for case in ElementTree.parse(report).iter("testcase"):
        problems[case.get("name")] = [p.get("message", "") for p in case if p.tag in ("failure", "error")]
    refused = "would load a real Whisper model in a test not marked slow: mark the test @pytest.mark.slow"
    for name in ("in_process", "in_a_subprocess_even_when_the_test_looks_away", "from_the_session_cache"):
        assert any(refused in message for message in problems[f"test_unmarked_{name}"]), (name, problems)
    assert problems["test_unmarked_on_the_fake_engine"] == [], problems
    assert problems["test_slow_reaches_the_real_engine"] == [], problems


def test_the_fake_engine_answers_the_engine_interface(fake_engine, english_wav):
    from audiototext.engines import load_engine
    from audiototext.media import load_audio

    engine = load_engine("faster-whisper", "base", workers=2)
    assert isinstance(engine, fake_engine) and engine.workers == 2 and engine.is_multilingual
    # Each stand-in keeps the facts of the engine it replaces, so the options and the preflight treat it as that engine.
    for name in ("faster-whisper", "openai-whisper"):
        stand_in = engine_class(name)
        assert issubclass(stand_in, fake_engine) and stand_in.name == name
    assert engine_class("openai-whisper").weights == "openai-pt" and not engine_class("faster-whisper").hosted
    audio = load_audio(english_wav)
    lines = []
    transcript = engine.transcribe(audio, DecodeOptions(word_timestamps=True), Callbacks(on_segment=lines.append))
    assert transcript.language == "en" and list(transcript.segments) == lines and len(lines) >= 2
    loud = fake.voiced(audio)
    for segment in transcript.segments:
        assert fake.heard(segment.text) and segment.text.endswith(".")
        assert all(any(a - 1e-6 <= w.start < w.end <= b + 1e-6 for a, b in loud) for w in segment.words)
    times = [t for s in transcript.segments for w in s.words for t in (w.start, w.end)]
    assert times == sorted(times)
    # Windows: the same audio gives the same words as one window, encoded then decoded in halves.
    halves = [audio[: len(audio) // 2], audio[len(audio) // 2 :]]
    whole = engine.decode_windows(halves, DecodeOptions(language="en"))
    split = engine.decode_encoded(engine.encode_windows(halves), DecodeOptions(language="en"))
    assert whole == split and all(fake.heard(w.text) for w in whole)
    silent = engine.decode_windows([np.zeros(16000, np.float32)], DecodeOptions(language="en"))
    assert silent[0].silent and silent[0].words == ()


def test_an_english_only_model_stays_english_on_the_fake(fake_engine, spanish_wav, caplog):
    from audiototext.engines import load_engine
    from audiototext.media import load_audio

    engine = load_engine("faster-whisper", "tiny.en")
    transcript = engine.transcribe(load_audio(spanish_wav), DecodeOptions(language="es"))
    assert transcript.language == "en" and "English-only model; ignoring language 'es'" in caplog.text


def test_a_model_without_weights_fails_on_the_fake_as_on_the_real_engines(fake_engine):
    from audiototext.engines import load_engine
    from audiototext.errors import ModelError

    with pytest.raises(ModelError, match="small"):
        load_engine("faster-whisper", "small")


@pytest.mark.parametrize("text, words", [(" Alpha bravo.", ["alpha", "bravo"]), (" Good morning.", []), ("", [])])
def test_heard_tells_the_fake_s_words(text, words):
    assert fake.heard(text) == words

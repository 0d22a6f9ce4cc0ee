"""The openai-api engine against a fake OpenAI server (tests/fake_openai.py) driven by the real
``openai`` package: answers converted, big files split at pauses, failures, resume."""

from __future__ import annotations

import contextlib
import logging
import pickle
import re
import subprocess
import sys
import traceback
import types
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openai")

from audiototext.engines import DecodeOptions  # noqa: E402
from audiototext.engines import openai_api  # noqa: E402
from audiototext.engines.openai_api import (
    APIError,
    OpenAIAPIEngine,
    cues_from_text,
    estimate_cost,  # noqa: E402
    plan_pieces,
    resolve_api_key,
    response_to_transcript,
    split_sentences,
)
from audiototext.errors import ModelError, OptionsError  # noqa: E402
from audiototext.events import Callbacks  # noqa: E402
from audiototext.longaudio import speech_regions  # noqa: E402

from conftest import speak, write_wav  # noqa: E402
from fake_openai import LIMIT, FakeOpenAIServer  # noqa: E402

RATE = 16000
MiB = 1024 * 1024
#: A small upload limit that cuts the one-minute fixture into ~12 s pieces (fast failure tests).
SMALL = 400_000
UTTERANCES = (
    "The library opens early every morning, before the sun comes up over the hills.",
    "My grandmother plants tomatoes in the garden behind the old stone house.",
    "A yellow taxi waited in front of the hotel while the rain kept falling.",
)


# --- audio ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def clips(media_dir) -> list[np.ndarray]:
    """Three espeak-ng sentences (about 4.5 s each), their own leading/trailing silence cut off."""
    from audiototext.media import load_audio

    out = []
    for i, text in enumerate(UTTERANCES):
        audio = load_audio(speak(text, "en-us", media_dir / f"api-clip-{i}.wav", speed=175))
        loud = np.flatnonzero(np.abs(audio) > 1e-3)
        out.append(audio[loud[0] : loud[-1] + 1])
    return out


def write_speech(path: Path, clips, seconds: float, *, pause: float = 1.5, lead: float = 0.5):
    """The clips in turn, ``pause`` seconds apart, until ``seconds``; a 16-bit 16 kHz WAV.

    Returns (path, [(start, end) of each utterance], duration).
    """
    gap = np.zeros(int(pause * RATE), np.float32)
    parts, times, cursor = [np.zeros(int(lead * RATE), np.float32)], [], lead
    while cursor < seconds - pause:
        clip = clips[len(times) % len(clips)]
        times.append((cursor, cursor + len(clip) / RATE))
        parts += [clip, gap]
        cursor += (len(clip) + len(gap)) / RATE
    audio = np.concatenate(parts)
    write_wav(path, audio, RATE)
    return path, times, len(audio) / RATE


@pytest.fixture(scope="session")
def short_wav(media_dir, clips):
    """About 15 s: three utterances."""
    return write_speech(media_dir / "api-short.wav", clips, 16)


@pytest.fixture(scope="session")
def minute_wav(media_dir, clips):
    """About a minute: ten utterances; with SMALL it goes in ~6 pieces."""
    return write_speech(media_dir / "api-minute.wav", clips, 60)


@pytest.fixture(scope="session")
def big_wav(media_dir, clips):
    """27 MiB of 16-bit 16 kHz mono WAV (about 14.7 minutes), over the API's 25 MB."""
    return write_speech(media_dir / "api-27mb.wav", clips, 27 * MiB / 32000 + 1)


# --- the fake server and the engine -------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_LOG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake():
    with FakeOpenAIServer() as state:
        yield state


def make_engine(fake, model: str = "whisper-1", **kwargs) -> OpenAIAPIEngine:
    kwargs = {
        "api_key": fake.api_key,
        "base_url": fake.base_url,
        "max_retries": 0,
        "timeout": 30,
        "find_speech": speech_regions,  # what the pipeline hands it (engines sit below long audio)
        **kwargs,
    }
    return OpenAIAPIEngine(model, **kwargs)


def starts_of(transcript):
    return [s.start for s in transcript.segments]


def assert_monotonic(segments, duration):
    for a, b in zip(segments, segments[1:]):
        assert a.start <= a.end <= b.start <= b.end
    assert segments[0].start >= 0 and segments[-1].end <= duration + 1e-6


def assert_matches(segments, times, tolerance=0.03):
    """One cue per utterance, starting and ending where it does (the fake times sound to 10 ms)."""
    assert len(segments) == len(times)
    for segment, (start, end) in zip(segments, times):
        assert segment.start == pytest.approx(start, abs=tolerance)
        assert segment.end == pytest.approx(end, abs=tolerance)


# --- key, models, prices ------------------------------------------------------------------------


def test_unknown_model_lists_the_three():
    with pytest.raises(ModelError) as e:
        OpenAIAPIEngine("whisper-2", api_key="sk-x")
    assert all(m in str(e.value) for m in ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"))


def test_missing_key_says_where_to_put_it():
    with pytest.raises(OptionsError) as e:
        OpenAIAPIEngine()
    assert all(where in str(e.value) for where in ("--api_key", "api_key field", "OPENAI_API_KEY"))


def test_key_resolution_order(monkeypatch):
    assert resolve_api_key(None) is None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert resolve_api_key(None) == "sk-from-env"
    assert resolve_api_key("  ") == "sk-from-env"
    assert resolve_api_key(" sk-explicit ") == "sk-explicit"
    # A Colab secret is the notebook's to read and pass down (tests/test_notebook_colab.py), not the engine's.
    colab = types.ModuleType("google.colab")
    colab.userdata = types.SimpleNamespace(get=lambda name: "sk-from-colab")
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    assert resolve_api_key(None) == "sk-from-env"


def test_env_key_and_base_url(fake, short_wav, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", fake.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    engine = OpenAIAPIEngine(max_retries=0)
    assert fake.api_key not in repr(engine)
    assert engine.transcribe_file(short_wav[0], DecodeOptions()).segments
    assert len(fake.requests) == 1


def test_prices():
    assert openai_api.PRICES_PER_MINUTE == {
        "whisper-1": 0.006,
        "gpt-4o-transcribe": 0.006,
        "gpt-4o-mini-transcribe": 0.003,
    }
    assert estimate_cost("whisper-1", 600) == pytest.approx(0.06)
    assert estimate_cost("gpt-4o-mini-transcribe", 3600) == pytest.approx(0.18)
    with pytest.raises(ModelError):
        estimate_cost("tiny", 60)


# --- converting answers ---------------------------------------------------------------------------


def test_verbose_json_conversion():
    answer = {
        "task": "transcribe",
        "language": "spanish",
        "duration": 9.0,
        "text": "...",
        "segments": [
            {"start": 0.0, "end": 2.5, "text": " Hola a todos."},
            {"start": 2.5, "end": 3.0, "text": " "},
            {"start": 3.0, "end": 9.5, "text": "Bienvenidos."},
        ],
        "words": [
            {"word": "Hola", "start": 0.1, "end": 0.5},
            {"word": "a", "start": 0.6, "end": 0.7},
            {"word": "todos.", "start": 0.8, "end": 2.4},
            {"word": "Bienvenidos.", "start": 3.1, "end": 4.0},
        ],
    }
    t = response_to_transcript(answer, duration=9.0, task="transcribe")
    assert t.language == "es" and t.task == "transcribe"
    assert [(s.start, s.end, s.text) for s in t.segments] == [(0.0, 2.5, " Hola a todos."), (3.0, 9.5, " Bienvenidos.")]
    assert [w.word for w in t.segments[0].words] == [" Hola", " a", " todos."]
    assert [(w.start, w.end) for w in t.segments[1].words] == [(3.1, 4.0)]
    assert response_to_transcript(answer, duration=9.0, task="transcribe", language="ca").language == "ca"
    assert response_to_transcript({"language": "klingon", "text": ""}, duration=1, task="transcribe").language is None


def test_sentences_and_clauses():
    assert split_sentences("Hello there. How are you? Fine!  ") == ["Hello there.", "How are you?", "Fine!"]
    assert split_sentences("今日は晴れ。明日は雨！") == ["今日は晴れ。", "明日は雨！"]
    long = (
        "This sentence is long enough to need two subtitle lines, so it is cut at the comma near its "
        "middle rather than anywhere else."
    )
    parts = split_sentences(long)
    assert len(parts) == 2 and parts[0].endswith("lines,") and all(len(p) <= 84 for p in parts)
    assert " ".join(parts) == long


def test_cues_follow_the_speech():
    regions = [(1.0, 3.0), (5.0, 7.0), (8.0, 10.0)]
    cues = cues_from_text("Red fox ran. Big cat sat. Old dog dug.", regions, 12.0)
    assert [(c.start, c.end) for c in cues] == [pytest.approx(r) for r in regions]
    # Sentences of unequal length: boundaries near a pause move onto it.
    cues = cues_from_text("The red fox ran far. Big cat sat. Old dog dug it up.", regions, 12.0)
    assert [(c.start, c.end) for c in cues] == [pytest.approx(r) for r in regions]
    assert all(c.text.startswith(" ") for c in cues)
    # Without any speech found, the text spans the piece.
    assert [(c.start, c.end) for c in cues_from_text("A. B.", [], 4.0)] == [(0.0, 2.0), (2.0, 4.0)]


# --- sending --------------------------------------------------------------------------------------


def test_transcribe_segments_language_prompt(fake, short_wav):
    path, times, duration = short_wav
    seen, languages = [], []
    options = DecodeOptions(language="English", initial_prompt="Tomatoes, taxi.", temperature=0.2)
    t = make_engine(fake).transcribe_file(
        path, options, Callbacks(on_segment=seen.append, on_language=languages.append)
    )
    assert_matches(t.segments, times)
    assert t.segments[0].text == f" Speech at {t.segments[0].start:.2f} seconds."
    assert not any(s.words for s in t.segments)
    assert t.language == "en" and languages == ["en"] and seen == list(t.segments)
    assert t.duration == pytest.approx(duration, abs=0.01)
    [request] = fake.requests
    assert (request.path, request.model, request.response_format, request.granularities) == (
        "/v1/audio/transcriptions",
        "whisper-1",
        "verbose_json",
        ("segment",),
    )
    assert (request.language, request.prompt, float(request.temperature)) == ("en", "Tomatoes, taxi.", 0.2)
    assert request.filename == path.name and request.size == path.stat().st_size  # sent as it is


def test_word_timestamps(fake, short_wav):
    t = make_engine(fake).transcribe_file(short_wav[0], DecodeOptions(word_timestamps=True))
    assert fake.requests[0].granularities == ("segment", "word")
    for segment in t.segments:
        assert "".join(w.word for w in segment.words) == segment.text and segment.words[0].word == " Speech"
        assert segment.start <= segment.words[0].start and segment.words[-1].end <= segment.end + 1e-6


def test_in_memory_audio(fake, short_wav):
    from audiototext.media import load_audio

    path, times, _ = short_wav
    t = make_engine(fake).transcribe(load_audio(path), DecodeOptions())
    assert fake.requests[0].filename.endswith(".flac")
    assert_matches(t.segments, times)


def test_27mb_file_is_split_at_pauses(fake, big_wav, caplog):
    path, times, duration = big_wav
    assert path.stat().st_size > 25 * MiB
    caplog.set_level(logging.INFO, logger="audiototext")
    seen, progress = [], []
    t = make_engine(fake).transcribe_file(
        path, DecodeOptions(), Callbacks(on_segment=seen.append, on_progress=progress.append)
    )
    sizes = fake.sizes()
    assert len(sizes) >= 2 and all(size < LIMIT for size in sizes)
    assert all(r.filename.endswith(".flac") for r in fake.requests)
    # Offsets exact: every utterance once, where it is; nothing lost at the seams or the ends.
    assert_monotonic(t.segments, duration)
    assert_matches(t.segments, times)
    assert seen == list(t.segments)
    assert progress[-1].finished and progress[-1].done_segments == progress[-1].total_segments == len(sizes)
    assert [p.done_segments for p in progress] == sorted(p.done_segments for p in progress)
    assert t.extra["pieces"] == len(sizes)
    minutes = duration / 60
    assert f"Sending {minutes:.1f} min to OpenAI model whisper-1: about ${minutes * 0.006:.2f}" in caplog.text


def test_server_refuses_over_25mb(fake, big_wav):
    """Without splitting the fake answers 413, as OpenAI does; the error names it."""
    with pytest.raises(APIError) as e:
        make_engine(fake, max_bytes=100 * MiB).transcribe_file(big_wav[0], DecodeOptions())
    assert e.value.kind == "rejected" and "api-27mb.wav: " in str(e.value)
    assert "HTTP 413" in str(e.value) and "lower max_bytes" in str(e.value)
    assert str(e.value).endswith("re-running sends the whole file again")


def test_pieces_sent_in_parallel_bounded(fake, minute_wav):
    path, times, duration = minute_wav
    fake.delay = 0.3
    t = make_engine(fake, max_bytes=SMALL, max_parallel=3).transcribe_file(path, DecodeOptions())
    assert len(fake.requests) >= 4 and 2 <= fake.max_in_flight <= 3
    assert_monotonic(t.segments, duration)
    assert_matches(t.segments, times)


def test_plan_pieces_invariants():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(st.tuples(st.floats(0, 600), st.floats(0.1, 40)), max_size=40), st.floats(5, 700), st.floats(10, 120)
    )
    def check(raw, duration, max_seconds):
        regions = [(s, s + n) for s, n in raw]
        pieces = plan_pieces(regions, duration, max_seconds)
        assert pieces[0][0] == 0 and pieces[-1][1] == duration
        assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
        assert all(e - s <= max_seconds + 1e-9 and e > s for s, e in pieces)
        if len(pieces) > 1:
            assert pieces[-1][1] - pieces[-1][0] >= 1.0 - 1e-9

    check()
    # Cut in the pause, not in speech.
    assert plan_pieces([(0, 5), (6.5, 11), (13, 20)], 20, 12) == [(0.0, 11.5), (11.5, 20)]


def test_piece_denser_than_planned_is_split_again(fake, minute_wav, monkeypatch):
    # Plan as if FLAC took 8,000 B/s: pieces come out over the limit and are halved until they fit.
    monkeypatch.setattr(openai_api.pieces, "_BYTES_PER_SECOND", 8000)
    path, times, duration = minute_wav
    t = make_engine(fake, max_bytes=SMALL // 2).transcribe_file(path, DecodeOptions())
    assert len(fake.requests) >= 3 and all(size <= SMALL // 2 for size in fake.sizes())
    assert_matches(t.segments, times)


def test_refused_formats_are_converted(fake, short_wav, tmp_path):
    path, times, _ = short_wav
    aiff = tmp_path / "talk.aiff"
    mkv = tmp_path / "talk.mkv"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(path), str(aiff)], check=True)
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=blue:s=64x48:r=5",
            "-i",
            str(path),
            "-shortest",
            "-c:v",
            "mpeg4",
            "-c:a",
            "libopus",
            str(mkv),
        ],
        check=True,
    )
    engine = make_engine(fake)
    for source in (aiff, mkv):
        t = engine.transcribe_file(source, DecodeOptions())
        assert fake.requests[-1].filename == "talk.flac"
        assert_matches(t.segments, times, tolerance=0.05)


def test_the_chosen_audio_track_is_sent(fake, short_wav, tmp_path):
    """A file with several audio tracks is never uploaded whole (the server would take the first):
    the chosen track is sent as FLAC."""
    path, times, _ = short_wav
    film = tmp_path / "film.m4a"  # a format the API accepts as it is
    silence = ["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono"]
    maps = ["-map", "0:a", "-map", "1:a", "-shortest", "-c:a", "aac"]
    subprocess.run(["ffmpeg", "-loglevel", "error", *silence, "-i", str(path), *maps, str(film)], check=True)
    t = make_engine(fake).transcribe_file(film, DecodeOptions(), audio_track=2)
    assert fake.requests[-1].filename == "film.flac"
    assert_matches(t.segments, times, tolerance=0.05)


def test_translate(fake, short_wav):
    path, times, _ = short_wav
    with pytest.warns(DeprecationWarning) if _translations_deprecated() else contextlib.nullcontext():
        t = make_engine(fake).transcribe_file(path, DecodeOptions(task="translate", language="es"))
    [request] = fake.requests
    assert request.path == "/v1/audio/translations" and request.model == "whisper-1"
    assert request.language is None and request.granularities == ()
    assert t.task == "translate" and t.text_language == "en"
    assert_matches(t.segments, times)


def test_translate_only_with_whisper_1(fake, short_wav):
    with pytest.raises(OptionsError) as e:
        make_engine(fake, "gpt-4o-transcribe").transcribe_file(short_wav[0], DecodeOptions(task="translate"))
    assert "whisper-1" in str(e.value) and "transcribe" in str(e.value)
    assert not fake.requests


def test_gpt4o_text_only_cues_from_voice_activity(fake, minute_wav, monkeypatch):
    path, times, duration = minute_wav
    t = make_engine(fake, "gpt-4o-mini-transcribe").transcribe_file(path, DecodeOptions(language="en"))
    [request] = fake.requests
    assert request.model == "gpt-4o-mini-transcribe" and request.response_format == "json"
    assert request.granularities == () and request.language == "en"
    assert_monotonic(t.segments, duration)
    assert_matches(t.segments, times, tolerance=0.5)
    assert t.segments[0].text.startswith(" Speech 0 la")
    # Long input: pieces of at most MAX_PIECE_SECONDS, each timed by its own speech.
    monkeypatch.setitem(openai_api.MAX_PIECE_SECONDS, "gpt-4o-mini-transcribe", 20.0)
    fake.requests.clear()
    t = make_engine(fake, "gpt-4o-mini-transcribe").transcribe_file(path, DecodeOptions())
    assert len(fake.requests) >= 3
    assert_monotonic(t.segments, duration)
    assert_matches(t.segments, times, tolerance=0.5)


def test_text_only_answer_from_a_compatible_server(fake, short_wav):
    fake.no_segments = True
    path, times, duration = short_wav
    t = make_engine(fake).transcribe_file(path, DecodeOptions())
    assert_matches(t.segments, times, tolerance=0.5)


# --- failures --------------------------------------------------------------------------------------

BAD_KEY = "sk-proj-Wr0ngK3yThatMustNeverLeak0123456789"

FAILURES = {
    # name: (fake switches, engine kwargs, kind, words in the message)
    "bad key": ({}, {"api_key": BAD_KEY}, "auth", ("rejected the API key", "--api_key", "OPENAI_API_KEY")),
    "no credit": (
        {
            "fail_status": 429,
            "fail_code": "insufficient_quota",
            "fail_message": "You exceeded your current quota, please check your plan and billing details.",
        },
        {},
        "quota",
        ("no credit", "billing"),
    ),
    "rate limited": (
        {"fail_status": 429, "fail_code": "rate_limit_exceeded", "fail_message": "Rate limit reached"},
        {"max_retries": 1},
        "rate",
        ("rate limited", "after 1 retry", "wait"),
    ),
    "server error": (
        {"fail_status": 500, "fail_message": "The server had an error"},
        {"max_retries": 1},
        "server",
        ("HTTP 500", "try again later"),
    ),
    "connection closed": ({"close_connection": True}, {}, "network", ("check the network",)),
    "piece rejected": ({"reject_request": 3}, {}, "rejected", ("piece 3 of", "HTTP 400", "corrupted")),
}


@pytest.mark.parametrize("name", FAILURES)
def test_failures_say_what_to_do_and_keep_finished_pieces(fake, minute_wav, tmp_path, caplog, name):
    switches, kwargs, kind, words = FAILURES[name]
    for attribute, value in switches.items():
        setattr(fake, attribute, value)
    if kind != "auth" and "reject_request" not in switches:
        fake.fail_after = 2  # two pieces succeed first
    caplog.set_level(logging.DEBUG)
    engine = make_engine(fake, max_bytes=SMALL, max_parallel=1, **kwargs)
    with pytest.raises(APIError) as e:
        engine.transcribe_file(minute_wav[0], DecodeOptions(), checkpoint_dir=tmp_path / "ckpt")
    error = e.value
    message = str(error)
    assert error.kind == kind and message.startswith("api-minute.wav: ")
    assert all(word in message for word in words), message
    key = kwargs.get("api_key", fake.api_key)
    assert key not in message and key not in caplog.text and key not in repr(error.details)
    assert key not in "".join(traceback.format_exception(error))
    kept = list((tmp_path / "ckpt").glob("*/piece-*.json"))
    if kind == "auth":
        assert not kept and message.endswith("; no piece was finished")
    else:
        assert len(kept) == 2 and re.search(r"2 finished piece\(s\) of \d+ are kept in", message)
        assert message.endswith("re-running sends only the rest")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.kind, copy.piece) == (APIError, message, kind, error.piece)
    if kind in ("rate", "server"):
        assert len(fake.requests) == 2 + 2  # the failing piece was retried once by the client


def test_network_down(short_wav, caplog):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    caplog.set_level(logging.DEBUG)
    engine = OpenAIAPIEngine(
        api_key="sk-offline-secret-key-42", base_url=f"http://u:pw@127.0.0.1:{port}/v1", max_retries=0, timeout=5
    )
    with pytest.raises(APIError) as e:
        engine.transcribe_file(short_wav[0], DecodeOptions())
    assert e.value.kind == "network" and "check the network" in str(e.value)
    assert f"127.0.0.1:{port}" in str(e.value) and "pw" not in str(e.value)
    assert "sk-offline-secret-key-42" not in str(e.value) + caplog.text


def test_resume_after_failure_mid_file(fake, minute_wav, tmp_path):
    path, times, duration = minute_wav
    options = DecodeOptions(initial_prompt="Taxi.")
    whole = make_engine(fake, max_bytes=SMALL).transcribe_file(path, options)
    pieces = len(fake.requests)
    assert pieces >= 4

    fake.requests.clear()
    fake.reject_request = 4
    ckpt = tmp_path / "ckpt"
    with pytest.raises(APIError) as e:
        make_engine(fake, max_bytes=SMALL, max_parallel=1).transcribe_file(path, options, checkpoint_dir=ckpt)
    assert e.value.kind == "rejected" and e.value.piece == 3
    assert len(list(ckpt.glob("*/piece-*.json"))) == 3

    fake.requests.clear()
    fake.reject_request = None
    seen = []
    resumed = make_engine(fake, max_bytes=SMALL).transcribe_file(
        path, options, Callbacks(on_segment=seen.append), checkpoint_dir=ckpt
    )
    assert len(fake.requests) == pieces - 3  # only the missing pieces
    assert resumed == whole and seen == list(whole.segments)

    # Everything done: nothing is sent. Other options: nothing is reused.
    fake.requests.clear()
    assert make_engine(fake, max_bytes=SMALL).transcribe_file(path, options, checkpoint_dir=ckpt) == whole
    assert not fake.requests
    make_engine(fake, max_bytes=SMALL).transcribe_file(path, DecodeOptions(), checkpoint_dir=ckpt)
    assert len(fake.requests) == pieces


def test_failure_while_pieces_in_flight_keeps_them(fake, minute_wav, tmp_path):
    """In parallel, the pieces already sent when one fails still finish and are kept."""
    fake.reject_request = 2
    fake.delay = 0.2
    ckpt = tmp_path / "ckpt"
    with pytest.raises(APIError):
        make_engine(fake, max_bytes=SMALL, max_parallel=3).transcribe_file(
            minute_wav[0], DecodeOptions(), checkpoint_dir=ckpt
        )
    assert len(fake.requests) == 3  # no new piece sent after the failure
    assert len(list(ckpt.glob("*/piece-*.json"))) == 2


# --- helpers -----------------------------------------------------------------------------------


def _translations_deprecated() -> bool:
    """Newer ``openai`` packages mark /audio/translations deprecated (a DeprecationWarning per call)."""
    import openai

    return hasattr(type(openai.OpenAI(api_key="x").audio.translations).create, "__deprecated__")


# --- the Python API: audiototext.transcribe and the pipeline with the hosted engine ------------------


def test_python_transcribe_sends_the_file_to_the_api(fake, short_wav, monkeypatch):
    """``transcribe(engine="openai-api")`` goes through the options contract and hands the file itself
    to the hosted engine (no language detection, no windows), as the CLI does."""
    import audiototext

    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    path, times, _ = short_wav
    t = audiototext.transcribe(path, engine="openai-api", api_key=fake.api_key, initial_prompt="Taxi.")
    assert [r.filename for r in fake.requests] == [path.name] and fake.requests[0].model == "whisper-1"
    assert fake.requests[0].prompt == "Taxi."
    assert_matches(t.segments, times)


def test_python_transcribe_model_whisper_1_chooses_the_api(fake, short_wav, monkeypatch):
    """The rules apply: an OpenAI model chooses its engine, as ``--model whisper-1`` does."""
    import audiototext

    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", fake.api_key)
    path, times, _ = short_wav
    assert_matches(audiototext.transcribe(path, model="whisper-1").segments, times)
    assert [r.model for r in fake.requests] == ["whisper-1"]


def test_python_transcribe_checks_like_the_cli(short_wav):
    import audiototext
    from audiototext.errors import OptionsError

    with pytest.raises(OptionsError, match="--temperature"):
        audiototext.transcribe(short_wav[0], temperature=5)
    with pytest.raises(OptionsError, match="writes no files.*output_dir"):
        audiototext.transcribe(short_wav[0], output_dir="out")
    with pytest.raises(OptionsError, match="Unknown option.*beam"):
        audiototext.transcribe(short_wav[0], beams=3)


def test_pipeline_routes_audio_to_the_hosted_engine(fake, short_wav, monkeypatch):
    """``Pipeline.transcribe_audio`` with OpenAI's API sends the audio (as FLAC) rather than decoding
    windows locally; the loaded engine gets the long-audio voice detector to cut big files at pauses."""
    from audiototext import options
    from audiototext.media import load_audio
    from audiototext.pipeline import Pipeline

    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    path, times, _ = short_wav
    pipeline = Pipeline(options.build({"engine": "openai-api", "api_key": fake.api_key, "no_progress": True}))
    try:
        assert pipeline.engine.find_speech is speech_regions
        t = pipeline.transcribe_audio(load_audio(path))
    finally:
        pipeline.close()
    assert [r.filename.endswith(".flac") for r in fake.requests] == [True]
    assert_matches(t.segments, times)


def test_without_a_voice_detector_pieces_are_cut_at_fixed_lengths(fake, minute_wav, caplog):
    path, _, duration = minute_wav
    t = make_engine(fake, max_bytes=SMALL, find_speech=None).transcribe_file(path, DecodeOptions())
    assert "no voice detector was given" in caplog.text
    assert len(fake.requests) >= 4 and t.segments
    assert_monotonic(t.segments, duration)

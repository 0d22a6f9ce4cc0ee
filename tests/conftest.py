"""Shared fixtures: synthesized speech (espeak-ng), video, silence and noise made with ffmpeg,
and Whisper engines loaded once per session with the bundled offline base model."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

# Real Whisper models only in tests marked slow (tests/model_guard.py).
pytest_plugins = ["model_guard"]

# Tests never try to download weights: they use the bundled offline packages.
os.environ.setdefault("AUDIOTOTEXT_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ENGLISH_TEXT = (
    "The quick brown fox jumps over the lazy dog. Speech recognition turns spoken words into "
    "written text. Every morning I drink a cup of coffee and read the newspaper before work."
)
SPANISH_TEXT = (
    "Buenos días a todos. Hoy vamos a hablar de la historia de la ciudad y de sus habitantes. "
    "Muchas gracias por escuchar este programa."
)


# The fast tier (``-m "not slow"``) draws fewer cases in the property tests that draw many.
_FAST_TIER = False


def pytest_configure(config) -> None:
    global _FAST_TIER
    _FAST_TIER = "not slow" in (config.option.markexpr or "")
    if _FAST_TIER:
        _on_every_core(config)


def _on_every_core(config) -> None:
    """The fast tier runs its tests in one process per core (pytest-xdist, up to 4) unless ``-n`` is
    given (``-n 0``: one process), ``--pdb`` is, or this is one of those processes."""
    cores = min(os.cpu_count() or 1, 4)
    if cores < 2 or hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("xdist"):
        return
    option = config.option
    if option.numprocesses is not None or option.usepdb or option.collectonly or option.dist != "no":
        return
    option.numprocesses, option.dist, option.tx = cores, "load", ["popen"] * cores


def drawn(cases: int) -> int:
    """A property test's ``max_examples``: ``cases`` in the full suite (CI), at most 40 in the fast tier."""
    return min(cases, 40) if _FAST_TIER else cases


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly, overwriting its output: lavfi sources, conversions."""
    _run("ffmpeg", "-y", "-loglevel", "error", *args)


def write_wav(path: Path, audio, rate: int = 16000) -> Path:
    """Float samples in [-1, 1] as a 16-bit mono WAV."""
    import wave

    import numpy as np

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def trimmed(audio):
    """espeak-ng's own leading and trailing silence cut off."""
    import numpy as np

    nonzero = np.flatnonzero(np.abs(audio) > 1e-3)
    return audio[nonzero[0] : nonzero[-1] + 1]


def speak(text: str, voice: str, path: Path, speed: int = 150) -> Path:
    """espeak-ng speech as a 16 kHz mono WAV."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    raw = path.with_suffix(".raw.wav")
    _run("espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text)
    ffmpeg("-i", str(raw), "-ar", "16000", "-ac", "1", str(path))
    raw.unlink()
    return path


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def english_wav(media_dir) -> Path:
    return speak(ENGLISH_TEXT, "en-us", media_dir / "english.wav")


@pytest.fixture(scope="session")
def spanish_wav(media_dir) -> Path:
    return speak(SPANISH_TEXT, "es", media_dir / "spanish.wav", speed=120)


@pytest.fixture(scope="session")
def english_mp4(media_dir, english_wav) -> Path:
    """The English speech as the audio track of an H.264 + AAC video."""
    path = media_dir / "english video.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "color=c=blue:s=160x120:r=10",
        "-i",
        str(english_wav),
        "-shortest",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        str(path),
    )
    return path


@pytest.fixture(scope="session")
def silence_wav(media_dir) -> Path:
    path = media_dir / "silence.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "30", "-c:a", "pcm_s16le", str(path))
    return path


@pytest.fixture(scope="session")
def noise_wav(media_dir) -> Path:
    path = media_dir / "noise.wav"
    ffmpeg("-f", "lavfi", "-i", "anoisesrc=r=16000:color=pink:amplitude=0.05:seed=7", "-t", "30", "-ac", "1", str(path))
    return path


_ENGINES: dict = {}


@pytest.fixture(scope="session")
def load_engine():
    """``load_engine(name, model="base")``: a loaded engine, shared by the whole session."""
    from audiototext.engines import load_engine as load
    from guard.real_models import refuse, refusing

    def get(name: str, model: str = "base"):
        key = (name, model)
        if refusing():  # loaded by an earlier slow test or not, it is a real model
            refuse(f"load_engine({name!r}, {model!r})")
        if key not in _ENGINES:
            _ENGINES[key] = load(name, model)
        return _ENGINES[key]

    return get


@pytest.fixture
def fake_engine(monkeypatch):
    """The local engines (faster-whisper, openai-whisper) load the fake engine in this test
    (tests/fake_engine.py: deterministic words where the audio is loud); yields its class."""
    import fake_engine as fake

    from audiototext import engines

    for name, target in fake.stand_in(engines.ENGINES).items():
        monkeypatch.setitem(engines.ENGINES, name, target)
    return fake.FakeEngine


def word_error_rate(reference: str, hypothesis: str, language: str = "en") -> float:
    """WER after Whisper's text normalisation (English normaliser for English, basic otherwise)."""
    import jiwer
    from whisper.normalizers import BasicTextNormalizer, EnglishTextNormalizer

    normalize = EnglishTextNormalizer() if language == "en" else BasicTextNormalizer()
    return jiwer.wer(normalize(reference), normalize(hypothesis))


@pytest.fixture(scope="session")
def wer():
    return word_error_rate


@pytest.fixture
def deepl_fast_retries(monkeypatch):
    """No DeepL env leaking in, and the deepl package's retries kept short (one retry, 10 ms)."""
    deepl = pytest.importorskip("deepl")
    import logging

    monkeypatch.delenv("DEEPL_AUTH_KEY", raising=False)
    monkeypatch.delenv("DEEPL_SERVER_URL", raising=False)
    monkeypatch.setattr(deepl.http_client, "max_network_retries", 1)
    monkeypatch.setattr(deepl.http_client._BackoffTimer, "BACKOFF_INITIAL", 0.01)
    logging.getLogger("deepl").setLevel(logging.WARNING)


@pytest.fixture
def fake_deepl(deepl_fast_retries):
    """A fake DeepL API on 127.0.0.1 that the real ``deepl`` package talks to (tests/fake_deepl.py)."""
    from fake_deepl import FakeDeepLServer

    with FakeDeepLServer() as state:
        yield state


#: Sentences of the long-speech fixture, each with words found in no other, so a word lost or
#: doubled at a chunk seam shows in the counts.
LONG_SENTENCES = (
    "The library opens early every morning.",
    "My grandmother plants tomatoes in the garden.",
    "A yellow taxi waited in front of the hotel.",
    "Scientists found a new planet far away.",
    "The orchestra played a symphony by Mozart.",
    "Please remember to close the window.",
    "Children were building castles on the beach.",
    "The train to London leaves from platform seven.",
    "Fresh coffee smells wonderful in the kitchen.",
    "Our football team won the championship yesterday.",
    "The mountain village was covered with snow.",
    "She painted a picture of a big elephant.",
    "Engineers repaired the bridge over the river.",
    "A bicycle is cheaper than a motorcycle.",
    "The museum shows skeletons of dinosaurs.",
    "We watched the sunset from the lighthouse.",
)


@pytest.fixture(scope="session")
def long_speech(media_dir):
    """About 70 s of espeak-ng English: LONG_SENTENCES joined by 0.7 s pauses, speech from the
    very first to the very last sample's second (nothing to drop at either end).

    Returns (path, sentences, [(start, end) seconds of each sentence]).
    """
    import numpy as np

    from audiototext.media import load_audio

    pieces, times, cursor = [], [], 0.0
    pause = np.zeros(int(0.7 * 16000), np.float32)
    for i, sentence in enumerate(LONG_SENTENCES):
        audio = trimmed(load_audio(speak(sentence, "en-us", media_dir / f"long-{i:02d}.wav", speed=160)))
        if pieces:
            pieces.append(pause)
            cursor += len(pause) / 16000
        times.append((cursor, cursor + len(audio) / 16000))
        pieces.append(audio)
        cursor += len(audio) / 16000
    path = write_wav(media_dir / "long-speech.wav", np.concatenate(pieces))
    return path, LONG_SENTENCES, times


@pytest.fixture(autouse=True)
def _restore_package_logger():
    """Front ends (CLI, notebook, service) configure the ``audiototext`` logger when they run;
    tests call them in-process, so put it back after each test (caplog needs propagation)."""
    import logging

    root = logging.getLogger("audiototext")
    saved = (root.handlers[:], root.level, root.propagate)
    yield
    root.handlers[:], root.level, root.propagate = saved[0], saved[1], saved[2]

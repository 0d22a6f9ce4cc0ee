"""A fake Whisper engine for the fast tier: deterministic words where the audio is loud, in milliseconds.

:class:`FakeEngine` implements the engine interface (:class:`audiototext.engines.Engine`): the
sequential ``transcribe`` and the long-audio primitives (``detect_language``, ``decode_windows``,
``encode_windows``, ``decode_encoded``). It hears no words: it times one word per ~0.45 s of every
stretch of audio louder than :data:`VOICE_LEVEL`, and ends a sentence at a pause of
:data:`SENTENCE_PAUSE`. The words come from :data:`VOCABULARY`, chosen by their place in the audio
it was given (not by the sound: the same words on any CPU). Window times go back onto the
recording through the pipeline's real time maps, so a test can check where every word landed.
``$FAKE_ENGINE_PACE`` (seconds, default 0) is how long it takes per window and per sequential
segment: a test that interrupts, kills or cancels a run gives itself the time to do it mid-run.

:func:`stand_in` makes the local engine names load it (``faster-whisper``, ``openai-whisper``):
every face then runs exactly as a user runs it — options, preflight, files, service, notebook —
with only the model replaced. It stands in for those names instead of adding a name of its own,
because the option registry snapshots the engine names at import for the CLI's choices, the
notebook's dropdown and the README's flags table (a ``fake`` there would be offered to users).
A face started as a real subprocess reaches it through ``python -m fake_engine ARGS`` (the CLI's
``main`` with the stand-in installed, ``tests/`` on ``PYTHONPATH``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

import numpy as np

from audiototext.engines import DecodeOptions, EngineFacts, english_only_check
from audiototext.engines.windows import Encoded, WindowText
from audiototext.events import Callbacks, SequentialProgress
from audiototext.transcript import Segment, Transcript, Word

RATE = 16000
FRAME = RATE // 50  # 20 ms
#: Louder than this (RMS of a 20 ms frame, about -40 dBFS) is "voice".
VOICE_LEVEL = 0.01
#: Quieter gaps shorter than this join the stretches around them.
JOIN_GAP = 0.2
#: A pause at least this long ends a sentence (and, sequentially, a segment).
SENTENCE_PAUSE = 0.3
#: A word lasts about this long.
WORD_SECONDS = 0.45
VOCABULARY = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november oscar papa "
    "quebec romeo sierra tango uniform victor whiskey xray yankee zulu"
).split()

#: Seconds per window decoded and per segment of sequential decoding (read when an engine loads).
PACE = "FAKE_ENGINE_PACE"
#: The local engines it stands in for, and where the registry finds each stand-in (``module:class``,
#: as :data:`audiototext.engines.ENGINES` holds engines).
STAND_INS = {"faster-whisper": "fake_engine:FakeFasterWhisper", "openai-whisper": "fake_engine:FakeOpenAIWhisper"}


def voiced(audio: np.ndarray) -> list[tuple[float, float]]:
    """The stretches (start, end seconds) louder than :data:`VOICE_LEVEL`, short gaps joined."""
    frames = len(audio) // FRAME
    if frames == 0:
        return []
    level = np.sqrt(np.mean(np.square(audio[: frames * FRAME].reshape(frames, FRAME), dtype=np.float64), axis=1))
    loud = np.flatnonzero(level > VOICE_LEVEL)
    stretches: list[list[float]] = []
    for k in loud:
        start, end = k * FRAME / RATE, (k + 1) * FRAME / RATE
        if stretches and start - stretches[-1][1] < JOIN_GAP:
            stretches[-1][1] = end
        else:
            stretches.append([start, end])
    return [(a, b) for a, b in stretches if b - a >= 0.06]


def sentences(audio: np.ndarray) -> list[list[Word]]:
    """The words heard in ``audio`` (times relative to its start), grouped into sentences."""
    groups: list[list[Word]] = []
    count = len(audio) // FRAME  # where the vocabulary starts: the same audio, the same words
    last_end = None
    for start, end in voiced(audio):
        if last_end is None or start - last_end >= SENTENCE_PAUSE:
            groups.append([])
        n = max(1, round((end - start) / WORD_SECONDS))
        step = (end - start) / n
        for k in range(n):
            text = VOCABULARY[count % len(VOCABULARY)]
            count += 1
            groups[-1].append(Word(round(start + k * step, 3), round(start + (k + 1) * step, 3), text, 0.9))
        last_end = end
    return [_punctuated(group) for group in groups]


def _punctuated(words: list[Word]) -> list[Word]:
    """ " Alpha bravo charlie.": capitalised, a full stop, each word with Whisper's leading space."""
    out = []
    for k, w in enumerate(words):
        text = w.word.capitalize() if k == 0 else w.word
        out.append(Word(w.start, w.end, " " + text + ("." if k == len(words) - 1 else ""), w.probability))
    return out


class FakeEngine(EngineFacts):
    """The engine interface, answered from the audio's loudness (no model run, no weights read:
    an official model's weights must be there, as for the real engines). Its facts
    (:class:`~audiototext.engines.EngineFacts`) are a local engine's; each stand-in below takes
    the name and weights of the engine it replaces, so the options, the preflight and the
    downloads treat it as that engine.

    ``language`` is what :meth:`detect_language` answers (a test may set it). A ``.en`` model is
    English-only, as the real ones are, so the English-only rules still run.
    """

    name = "fake"
    weights = "ct2"
    language = "en"

    def __init__(self, spec, *, device: str | None = None, threads: int | None = None, workers: int = 1):
        self.model_name = getattr(spec, "name", str(spec))
        if getattr(spec, "kind", None) == "official":
            from audiototext.engines.faster_whisper import ct2_model_dir

            ct2_model_dir(spec)  # no weights, no engine: a model missing offline fails as with the real ones
        self.device = device or "cpu"
        self.threads = threads or 1
        self.workers = max(1, workers)
        self.is_multilingual = not self.model_name.endswith(".en")
        self.pace = float(os.environ.get(PACE) or 0)

    def transcribe(self, audio: np.ndarray, options: DecodeOptions, callbacks: Callbacks = Callbacks()) -> Transcript:
        """One segment per sentence, words only with ``word_timestamps``, as the engines' own decoding."""
        options = english_only_check(self, options)
        language = options.language or self.detect_language(audio)
        callbacks.language(language)
        duration = len(audio) / RATE
        progress = SequentialProgress(duration, callbacks)
        segments = []
        for words in sentences(audio):
            time.sleep(self.pace)
            text = "".join(w.word for w in words)
            segment = Segment(words[0].start, words[-1].end, text, tuple(words) if options.word_timestamps else ())
            segments.append(segment)
            progress.advance_to(segment.end)
            callbacks.segment(segment)
        progress.finish()
        return Transcript(tuple(segments), language, duration, options.task)

    def detect_language(self, audio: np.ndarray) -> str:
        return self.language if self.is_multilingual else "en"

    def decode_windows(self, audio: Sequence[np.ndarray], options: DecodeOptions) -> list[WindowText]:
        """Each window's words (window times); a window with no loud audio is silent."""
        english_only_check(self, options)
        out = []
        for window in audio:
            time.sleep(self.pace)
            words = tuple(w for sentence in sentences(window) for w in sentence)
            out.append(WindowText("".join(w.word for w in words), words, silent=not words))
        return out

    def encode_windows(self, audio: Sequence[np.ndarray]) -> list[Encoded]:
        return [Encoded(np.asarray(a), len(a)) for a in audio]

    def decode_encoded(self, encoded: Sequence[Encoded], options: DecodeOptions) -> list[WindowText]:
        return self.decode_windows([e.features for e in encoded], options)


def heard(text: str) -> list[str]:
    """The words of ``text`` (a file's text, a segment's) when it is the fake's (every word from
    :data:`VOCABULARY`); an empty list when it is not, or is empty."""
    found = [w.strip(".,").lower() for w in text.split()]
    return found if found and all(w in VOCABULARY for w in found) else []


class FakeFasterWhisper(FakeEngine):
    name = "faster-whisper"
    weights = "ct2"


class FakeOpenAIWhisper(FakeEngine):
    name = "openai-whisper"
    weights = "openai-pt"


def stand_in(engines: dict) -> dict:
    """``engines`` (the registry) with the local engine names loading their stand-ins: the
    entries to set, ``{name: target}``."""
    return {name: target for name, target in STAND_INS.items() if name in engines}


def main(argv: list[str] | None = None) -> int:
    """``python -m fake_engine ARGS``: the CLI (``audiototext ARGS``, ``audiototext serve ...``)
    with the fake standing in for the local engines, and real models refused."""
    from audiototext.command import main as cli

    install()
    return cli(argv)


def install() -> None:
    """In this process: the fake stands in for the local engines, and real models are refused."""
    from audiototext import engines
    from guard.real_models import refuse_real_models

    engines.ENGINES.update(stand_in(engines.ENGINES))
    refuse_real_models()


if __name__ == "__main__":
    sys.exit(main())
elif __name__ == "__mp_main__":  # a worker process spawned by `python -m fake_engine` (--parallel processes)
    install()

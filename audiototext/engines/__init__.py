"""Whisper engines behind one small interface: the interface, the registry, and the rules every engine applies.

Each engine loads a model once and turns 16 kHz mono float32 audio into a
:class:`~audiototext.transcript.Transcript`. Converting an engine's native result into the
data model happens in exactly one place per engine module. Device detection lives in
:mod:`.device`; the window-decoding algorithm both local engines share lives in :mod:`.windows`.

What the rest of the package asks of an engine it asks by name, of the engine's class
(:class:`EngineFacts`: hosted or local, default model, the models it offers, the options it
honours), never by comparing engine names. Adding an engine is its module plus one line in
:data:`ENGINES`.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import logging
from dataclasses import dataclass
from typing import ClassVar, Protocol
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import OptionsError
from ..events import Callbacks
from ..languages import resolve_language
from ..models import MODELS
from ..records import check, value
from ..transcript import Transcript
from .windows import Encoded, WindowText, decode_encoded, decode_windows

log = logging.getLogger(__name__)

TASKS = ("transcribe", "translate")


@dataclass(frozen=True)
class DecodeOptions:
    """Decoding options shared by both engines; defaults are the ``whisper`` CLI's.

    ``language`` is a Whisper code or None (detect). ``temperature_increment_on_fallback``
    None disables the fallback (a single temperature). Each field's default, choices and range
    are declared here once (:func:`~audiototext.records.value`): the record checks them, and the
    options registry offers them.
    """

    task: str = value("transcribe", choices=TASKS)
    language: str | None = None
    initial_prompt: str | None = None
    condition_on_previous_text: bool = True
    temperature: float = value(0.0, min=0.0, max=1.0)
    temperature_increment_on_fallback: float | None = value(0.2, min=0.0, max=1.0)
    beam_size: int | None = value(5, min=1, max=20)
    best_of: int | None = value(5, min=1, max=20)
    patience: float | None = value(None, min=0.0, min_open=True)
    length_penalty: float | None = value(None, min=0.0, max=1.0)
    compression_ratio_threshold: float | None = value(2.4, min=0.0, min_open=True)
    logprob_threshold: float | None = value(-1.0, max=0.0)
    no_speech_threshold: float | None = value(0.6, min=0.0, max=1.0)
    word_timestamps: bool = False
    suppress_tokens: str = "-1"

    def __post_init__(self):
        check(self)
        object.__setattr__(self, "language", resolve_language(self.language))
        _check_text(self.initial_prompt)

    @property
    def temperatures(self) -> tuple[float, ...]:
        """The temperature schedule, as the whisper CLI builds it."""
        if self.temperature_increment_on_fallback:
            return tuple(
                float(t) for t in np.arange(self.temperature, 1.0 + 1e-6, self.temperature_increment_on_fallback)
            )
        return (self.temperature,)

    def common_kwargs(self) -> dict:
        """The ``transcribe`` keyword arguments both Whisper libraries name alike."""
        return dict(
            task=self.task,
            language=self.language,
            initial_prompt=self.initial_prompt or None,
            condition_on_previous_text=self.condition_on_previous_text,
            compression_ratio_threshold=self.compression_ratio_threshold,
            no_speech_threshold=self.no_speech_threshold,
            word_timestamps=self.word_timestamps,
        )


def _check_text(prompt: str | None) -> None:
    """Refuse a prompt holding bytes that are not UTF-8 (a Latin-1 ``é`` from a shell arrives as a
    lone surrogate): the tokenizer would fail after the model loaded, minutes later on a large one.

    Raises:
        OptionsError: naming the byte and where it is.
    """
    bad = next((i for i, ch in enumerate(prompt or "") if "\udc80" <= ch <= "\udcff"), None)
    if bad is None:
        return
    byte = ord(prompt[bad]) - 0xDC00
    raise OptionsError(
        f"initial_prompt (--prompt) is not UTF-8 text: byte 0x{byte:02X} after {prompt[max(0, bad - 20) : bad]!r} "
        "is not UTF-8 (the terminal or file gave Latin-1 or another encoding); type the prompt again in UTF-8",
        option="initial_prompt",
    )


class EngineFacts:
    """What the rest of the package asks of an engine, declared once on its class (class attributes:
    engine modules import nothing heavy, so :func:`engine_class` answers without loading a model).

    The defaults are a local engine's: a Whisper checkpoint decoded here, every option honoured.
    """

    #: The engine's registered name (``--engine``).
    name: ClassVar[str]
    #: How messages name what runs the model ("OpenAI's API").
    title: ClassVar[str] = "a local Whisper model"
    #: Sends the input file to a hosted service: no weights to fetch or check, no audio decoded
    #: here (the pipeline hands it the file: ``transcribe_file``), only its own model names.
    hosted: ClassVar[bool] = False
    #: The weights it loads, as :class:`~audiototext.models.ModelSpec` kinds name them: "ct2"
    #: (CTranslate2 directories, on CTranslate2) or "openai-pt" (openai-whisper checkpoints, on
    #: torch); None for a hosted engine.
    weights: ClassVar[str | None] = None
    #: The model when none is chosen.
    default_model: ClassVar[str] = "base"
    #: The official model names it takes (a local engine also takes a path).
    models: ClassVar[tuple[str, ...]] = MODELS
    #: The engine options (the registry's model, decoding and long-audio groups) it uses; None:
    #: every one. A chosen option it does not use is said once, as a warning, when options are built.
    honours: ClassVar[frozenset[str] | None] = None
    #: The option holding its key, which, given without an engine, selects this engine.
    key_option: ClassVar[str | None] = None
    #: The environment variable its key is read from when none is given (None: it needs no key); a
    #: server, which never takes a key from a request, offers the engine only when it is set.
    key_env: ClassVar[str | None] = None

    @classmethod
    def ignores(cls, names) -> list[str]:
        """Those of the engine options ``names`` that this engine does not use."""
        return [] if cls.honours is None else [n for n in names if n not in cls.honours]


class Engine(Protocol):
    """What every engine offers: the facts of :class:`EngineFacts` (its base class), and decoding.

    ``transcribe`` decodes one whole recording sequentially, exactly as the engine's own CLI does
    (``--parallel off``). ``detect_language`` and ``decode_windows`` serve the long-audio path
    (:mod:`audiototext.longaudio`): windows of at most 30 s decoded as one batch (text by batched
    beam search without timestamps, word times by alignment; see :mod:`.windows`).
    ``workers`` is how many ``decode_windows`` calls the loaded model serves at once, from as many
    threads. A hosted engine offers ``transcribe_file`` (a media file, sent whole or in pieces).
    """

    name: str
    title: str
    hosted: bool
    weights: str | None
    default_model: str
    models: tuple[str, ...]
    honours: frozenset[str] | None
    key_option: str | None
    key_env: str | None
    model_name: str
    device: str
    is_multilingual: bool
    workers: int

    def transcribe(self, audio: np.ndarray, options: DecodeOptions, callbacks: Callbacks = ...) -> Transcript: ...

    def detect_language(self, audio: np.ndarray) -> str: ...

    def decode_windows(self, audio: Sequence[np.ndarray], options: DecodeOptions) -> list[WindowText]: ...

    def encode_windows(self, audio: Sequence[np.ndarray]) -> list[Encoded]: ...

    def decode_encoded(self, encoded: Sequence[Encoded], options: DecodeOptions) -> list[WindowText]: ...

    def ignores(self, names) -> list[str]: ...


class WindowDecoding(EngineFacts):
    """A local engine's facts (:class:`EngineFacts`' defaults) and the window-decoding half of the
    interface, for a local engine that provides ``_encode(audio)``
    (encoder outputs) and ``_window_model(options)`` (its :class:`~.windows.WindowModel`).

    Safe to call from up to ``workers`` threads at once. ``encode_windows`` and ``decode_encoded``
    are the two halves of ``decode_windows``, so a scheduler can encode window by window and
    decode in batches (the encoder's output does not depend on its batch).
    """

    def decode_windows(self, audio: Sequence[np.ndarray], options: DecodeOptions) -> list[WindowText]:
        """Windows of at most 30 s decoded as one batch (see :func:`.windows.decode_windows`)."""
        if not audio:
            return []
        options = english_only_check(self, options)
        if options.language is None:
            options = dataclasses.replace(options, language=self.detect_language(audio[0]))
        return decode_windows(self._window_model(options), audio, options)

    def encode_windows(self, audio: Sequence[np.ndarray]) -> list[Encoded]:
        """The encoder's half: windows encoded, ready for :meth:`decode_encoded`."""
        return [Encoded(f, len(a)) for f, a in zip(self._encode(audio), audio)]

    def decode_encoded(self, encoded: Sequence[Encoded], options: DecodeOptions) -> list[WindowText]:
        """The decoder's half: encoded windows decoded as one batch (``options.language`` set)."""
        options = english_only_check(self, options)
        return decode_encoded(self._window_model(options), encoded, options)


#: Every engine: name -> "module:class". An engine is its module plus one line here.
ENGINES: dict[str, str] = {
    "openai-whisper": "audiototext.engines.openai_whisper:OpenAIWhisperEngine",
    "faster-whisper": "audiototext.engines.faster_whisper:FasterWhisperEngine",
    "openai-api": "audiototext.engines.openai_api:OpenAIAPIEngine",
}


def default_engine() -> str:
    """faster-whisper when the ``faster_whisper`` package is importable, else openai-whisper.

    faster-whisper is 4x faster on a CPU with the same accuracy (README, "Long audio, fast").
    """
    return "faster-whisper" if importlib.util.find_spec("faster_whisper") is not None else "openai-whisper"


def default_model(engine: str | None = None) -> str:
    """The model of ``engine`` (None: :func:`default_engine`) when none is chosen."""
    return engine_class(engine or default_engine()).default_model


def offering(model: str) -> list[str]:
    """The engines whose official models include ``model``, in :data:`ENGINES` order."""
    return [name for name in ENGINES if model in engine_class(name).models]


def engine_class(name: str) -> type[Engine]:
    """The engine class registered under ``name`` (its module imported; no model loaded).

    Raises:
        OptionsError: unknown engine; the message lists the registered ones.
    """
    try:
        target = ENGINES[name]
    except KeyError:
        raise OptionsError(f"Unknown engine {name!r}: use one of {', '.join(ENGINES)}", engine=name) from None
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)


def load_engine(
    name: str,
    model: str,
    *,
    device: str | None = None,
    threads: int | None = None,
    workers: int = 1,
    api_key: str | None = None,
    find_speech: Callable[[np.ndarray], list[tuple[float, float]]] | None = None,
) -> Engine:
    """Load ``model`` (an official name or a local path) into engine ``name``.

    ``workers``: decoding streams to serve at once (threads calling ``decode_windows``); on a CPU
    the cores are shared out between them (:func:`~audiototext.engines.device.split_cores`). A
    hosted engine (:attr:`EngineFacts.hosted`) takes the model name as it is, ``api_key``, and
    ``find_speech`` (audio -> speech regions, to cut a file at pauses: the caller passes
    :func:`audiototext.longaudio.speech_regions`, since engines sit below the long-audio package).
    """
    from ..models import resolve

    cls = engine_class(name)
    if cls.hosted:
        return cls(model, api_key=api_key, find_speech=find_speech)
    return cls(resolve(model), device=device, threads=threads, workers=workers)


def loaded_name(name: str, multilingual: bool) -> str:
    """The model's name as loaded: a ``.en`` size whose download failed ran on the multilingual
    offline weights (:func:`~audiototext.models.offline_fallback`), so it is that size."""
    return name[:-3] if multilingual and name.endswith(".en") else name


def log_model(engine: Engine, parameters: int) -> None:
    kind = "multilingual" if engine.is_multilingual else "English-only"
    log.info("Model %s is %s and has %s parameters.", engine.model_name, kind, f"{parameters:,}")


def warn_turbo_translate(model_name: str, options: DecodeOptions) -> None:
    if options.task == "translate" and model_name in ("turbo", "large-v3-turbo"):
        log.warning(
            "Model %s was not trained to translate: its 'translate' output is usually not English. "
            "Use large-v3, medium or small to translate to English.",
            model_name,
        )


def english_only_check(engine: Engine, options: DecodeOptions) -> DecodeOptions:
    """English-only models transcribe English; say so instead of producing garbage."""
    if engine.is_multilingual:
        return options
    if options.language not in (None, "en"):
        log.warning("%s is an English-only model; ignoring language %r", engine.model_name, options.language)
    if options.task == "translate":
        log.warning("%s is an English-only model; it cannot translate, transcribing instead", engine.model_name)
    return dataclasses.replace(options, language="en", task="transcribe")


__all__ = [
    "TASKS",
    "DecodeOptions",
    "EngineFacts",
    "Engine",
    "WindowDecoding",
    "ENGINES",
    "default_engine",
    "default_model",
    "offering",
    "engine_class",
    "load_engine",
    "loaded_name",
    "log_model",
    "warn_turbo_translate",
    "english_only_check",
]

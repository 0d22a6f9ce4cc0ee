"""Whisper engines behind one small interface.

Each engine loads a model once and turns 16 kHz mono float32 audio into a
:class:`~audiototext.transcript.Transcript`. Converting an engine's native result into the
data model happens in exactly one place per engine module.
"""

from __future__ import annotations

import importlib
import logging
import os
import platform
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from ..errors import OptionsError
from ..languages import resolve_language
from ..transcript import Segment, Transcript

log = logging.getLogger(__name__)

TASKS = ("transcribe", "translate")


@dataclass(frozen=True)
class DecodeOptions:
    """Decoding options shared by both engines; defaults are the ``whisper`` CLI's.

    ``language`` is a Whisper code or None (detect). ``temperature_increment_on_fallback``
    None disables the fallback (a single temperature).
    """

    task: str = "transcribe"
    language: str | None = None
    initial_prompt: str | None = None
    condition_on_previous_text: bool = True
    temperature: float = 0.0
    temperature_increment_on_fallback: float | None = 0.2
    beam_size: int | None = 5
    best_of: int | None = 5
    patience: float | None = None
    length_penalty: float | None = None
    compression_ratio_threshold: float | None = 2.4
    logprob_threshold: float | None = -1.0
    no_speech_threshold: float | None = 0.6
    word_timestamps: bool = False
    suppress_tokens: str = "-1"

    def __post_init__(self):
        if self.task not in TASKS:
            raise OptionsError(f"Unknown task {self.task!r}: use one of {', '.join(TASKS)}", task=self.task)
        object.__setattr__(self, "language", resolve_language(self.language))
        if self.beam_size is not None and self.beam_size < 1:
            raise OptionsError("beam_size must be at least 1 (or None for greedy decoding)")

    @property
    def temperatures(self) -> tuple[float, ...]:
        """The temperature schedule, as the whisper CLI builds it."""
        if self.temperature_increment_on_fallback:
            return tuple(float(t) for t in np.arange(self.temperature, 1.0 + 1e-6,
                                                     self.temperature_increment_on_fallback))
        return (self.temperature,)


SegmentCallback = Callable[[Segment], None]


@dataclass
class Hooks:
    """How an engine reports while it runs.

    Attributes:
        on_segment: called with each segment as soon as it is decoded (time relative to the audio).
        on_language: called once with the detected (or given) language code.
        progress: show a tqdm.auto bar over the audio's duration.
    """

    on_segment: SegmentCallback | None = None
    on_language: Callable[[str], None] | None = None
    progress: bool = False


class Engine(Protocol):
    """What every engine offers.

    ``transcribe`` decodes one whole recording sequentially, exactly as the engine's own CLI does.
    ``detect_language`` and ``transcribe_batch`` serve :mod:`audiototext.parallel`: chunks of at
    most 30 s decoded together, times relative to each chunk's start.
    """

    name: str
    model_name: str
    device: str
    is_multilingual: bool

    def transcribe(self, audio: np.ndarray, options: DecodeOptions, hooks: Hooks = ...) -> Transcript:
        ...

    def detect_language(self, audio: np.ndarray) -> str:
        ...

    def transcribe_batch(self, chunks: list[np.ndarray], options: DecodeOptions) -> list[tuple[Segment, ...]]:
        ...


ENGINES: dict[str, str] = {
    "openai-whisper": "audiototext.engines.openai_whisper:OpenAIWhisperEngine",
    "faster-whisper": "audiototext.engines.faster_whisper:FasterWhisperEngine",
}
DEFAULT_ENGINE = "openai-whisper"


def engine_class(name: str):
    """The engine class registered under ``name``.

    Raises:
        OptionsError: unknown engine; the message lists the registered ones.
    """
    try:
        target = ENGINES[name]
    except KeyError:
        raise OptionsError(f"Unknown engine {name!r}: use one of {', '.join(ENGINES)}", engine=name) from None
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)


def load_engine(name: str, model: str, *, device: str | None = None, threads: int | None = None) -> Engine:
    """Load ``model`` (an official name or a local path) into engine ``name``."""
    from ..models import resolve

    return engine_class(name)(resolve(model), device=device, threads=threads)


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else platform's answer."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def describe_device(device: str, gpu_name: str | None = None, threads: int | None = None) -> str:
    """ "GPU: NVIDIA H100 80GB HBM3" or "CPU: AMD EPYC ... (2 threads)", for the log."""
    if device.startswith("cuda"):
        return f"GPU: {gpu_name or device}"
    return f"CPU: {cpu_name()} ({threads or os.cpu_count()} threads); a GPU is much faster"


def log_model(engine: Engine, parameters: int) -> None:
    kind = "multilingual" if engine.is_multilingual else "English-only"
    log.info("Model %s is %s and has %s parameters.", engine.model_name, kind, f"{parameters:,}")


def warn_turbo_translate(model_name: str, options: DecodeOptions) -> None:
    if options.task == "translate" and model_name in ("turbo", "large-v3-turbo"):
        log.warning("Model %s was not trained to translate: its 'translate' output is usually not English. "
                    "Use large-v3, medium or small to translate to English.", model_name)


def english_only_check(engine: Engine, options: DecodeOptions) -> DecodeOptions:
    """English-only models transcribe English; say so instead of producing garbage."""
    import dataclasses

    if engine.is_multilingual:
        return options
    if options.language not in (None, "en"):
        log.warning("%s is an English-only model; ignoring language %r", engine.model_name, options.language)
    if options.task == "translate":
        log.warning("%s is an English-only model; it cannot translate, transcribing instead", engine.model_name)
    return dataclasses.replace(options, language="en", task="transcribe")


def compression_ratio(text: str) -> float:
    """gzip compression ratio of ``text``, Whisper's measure of a repetition loop."""
    import zlib

    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def chunk_verdict(text: str, avg_logprob: float, no_speech_prob: float, options: DecodeOptions) -> str:
    """Whisper's per-window test, for one decoded chunk: "ok", "silent" or "retry".

    "silent": the model says no speech and is unsure of the text (whisper skips such windows);
    "retry": the text looks like a loop or is improbable, so decode again at a higher temperature.
    """
    if (options.no_speech_threshold is not None and no_speech_prob > options.no_speech_threshold
            and (options.logprob_threshold is None or avg_logprob < options.logprob_threshold)):
        return "silent"
    if options.compression_ratio_threshold is not None and \
            compression_ratio(text) > options.compression_ratio_threshold:
        return "retry"
    if options.logprob_threshold is not None and avg_logprob < options.logprob_threshold:
        return "retry"
    return "ok"


def split_at_timestamps(tokens: list[int], tokenizer, duration: float) -> list[dict]:
    """One decoded chunk's tokens -> segment dicts (start, end, text, tokens, seek=0), for both engines.

    Pairs of consecutive timestamp tokens end a segment, as in ``whisper.transcribe``. Unlike
    there, text after the last pair is kept, running to its last timestamp or to the chunk's end:
    sequential Whisper drops that unfinished piece only because its next window starts there
    again, while a chunk has no next window (dropping it lost 12% of the words at chunk ends).
    """
    begin = tokenizer.timestamp_begin
    precision = 0.02  # seconds per timestamp token
    tokens = [t for t in tokens if t != tokenizer.eot]
    is_time = [t >= begin for t in tokens]
    cuts = [i + 1 for i in range(len(tokens) - 1) if is_time[i] and is_time[i + 1]]
    if len(tokens) >= 2 and is_time[-1] and not is_time[-2]:
        cuts.append(len(tokens))
    pieces, last = [], 0
    for cut in cuts:
        pieces.append(tokens[last:cut])
        last = cut
    if last < len(tokens):
        pieces.append(tokens[last:])
    segments = []
    for piece in pieces:
        times = [(t - begin) * precision for t in piece if t >= begin]
        text = [t for t in piece if t < tokenizer.eot]
        if not text:
            continue
        start = times[0] if piece[0] >= begin else (segments[-1]["end"] if segments else 0.0)
        end = times[-1] if piece[-1] >= begin and len(times) > 1 else duration
        segments.append({"seek": 0, "start": start, "end": max(end, start), "text": tokenizer.decode(text),
                         "tokens": piece})
    return segments


def pack_pieces(lengths: list[float], *, window: float = 30.0, gap: float = 1.0) -> list[list[int]]:
    """Consecutive pieces grouped into windows of at most ``window`` seconds, ``gap`` seconds apart."""
    windows: list[list[int]] = []
    used = 0.0
    for k, length in enumerate(lengths):
        if windows and used + gap + length <= window:
            windows[-1].append(k)
            used += gap + length
        else:
            windows.append([k])
            used = length
    return windows


def split_at_pieces(segments, bounds: list[tuple[float, float]]) -> list[list[Segment]]:
    """Segments of a packed window, cut where its pieces meet; each part kept within its piece.

    Whisper writes lines that run from one piece into the next (the base model does so even
    across 3 s of silence), so lines are cut by their words' times: a word belongs to the piece its
    middle falls in, and a word in a gap to the piece after it (a rest starts on speech, right after
    the gap, and word times drift early there; it ends on a pause). A line without words belongs
    to the piece it starts in.
    """
    edges = np.array([bounds[0][0]] + [hi for _, hi in bounds[:-1]])

    def owner(t: float) -> int:
        return max(0, int(np.searchsorted(edges, t, side="right")) - 1)

    parts: list[list[Segment]] = [[] for _ in bounds]

    def add(j, start, end, text, words):
        if text.strip():
            parts[j].append(Segment(start, end, text, tuple(words)).clamped(*bounds[j]))

    for segment in segments:
        if not segment.words:
            add(owner(segment.start), segment.start, segment.end, segment.text, ())
            continue
        run: list = []
        for word in segment.words:
            j = owner((word.start + word.end) / 2)
            if run and j != run[0][0]:
                add(run[0][0], run[0][1].start, run[-1][1].end, "".join(w.word for _, w in run), [w for _, w in run])
                run = []
            run.append((j, word))
        add(run[0][0], run[0][1].start, run[-1][1].end, "".join(w.word for _, w in run), [w for _, w in run])
    return parts


def decode_until_covered(chunks: list[np.ndarray], decode_batch, *, decode_packed=None, keep_words: bool = True,
                         min_rest: float = 1.5, max_rounds: int = 4, gap: float = 1.0) -> list[tuple[Segment, ...]]:
    """Decode chunks in batches until each chunk's audio is covered, as Whisper's seek does.

    Whisper often ends a window early: its last timestamp at 17 s of a 28 s chunk, the rest
    never written. Sequential Whisper survives this because its next window starts at that
    timestamp; a chunk decoded once would lose the rest (12% of the words of a Spanish test
    recording). So the rest of every such chunk (more than ``min_rest`` seconds after its last
    timestamp) is decoded again and appended.

    The rests are short (2-11 s) and every window costs a full 30 s encoder pass however little it
    holds, so with ``decode_packed`` the rests of a round share windows, ``gap`` seconds of
    silence apart, and its lines are cut back into rests by word times (:func:`split_at_pieces`).
    A rest the window ended before reaching is decoded again in the next round.

    Args:
        chunks: 16 kHz audio of each chunk (at most 30 s).
        decode_batch: decodes a list of audio pieces (at most 30 s) into segments relative to each.
        decode_packed: the same, with word timestamps; None decodes every rest in its own window.
        keep_words: keep the words of lines cut from packed windows (False: they were only asked
            for to cut the lines).
    """
    rate = 16000
    results: list[list[Segment]] = [[] for _ in chunks]
    pending = [(i, 0.0) for i in range(len(chunks))]
    for round_ in range(max_rounds):
        if not pending:
            break
        rests = [chunks[i][int(round(offset * rate)):] for i, offset in pending]
        lengths = [len(r) / rate for r in rests]
        packed = round_ > 0 and decode_packed is not None
        windows = pack_pieces(lengths, gap=gap) if packed else [[k] for k in range(len(rests))]
        silence = np.zeros(round(gap * rate), dtype=np.float32)
        audio = []
        for window in windows:
            parts = [rests[window[0]]]
            for k in window[1:]:
                parts += [silence, rests[k]]
            audio.append(np.concatenate(parts) if len(parts) > 1 else parts[0])
        decoded = (decode_packed if packed else decode_batch)(audio)
        follow = []
        for window, segments in zip(windows, decoded):
            starts = [float(t) for t in np.cumsum([0.0] + [lengths[k] + gap for k in window[:-1]])]
            if len(window) == 1:
                owned = [list(segments)]
            else:
                owned = split_at_pieces(segments, [(s, s + lengths[k]) for s, k in zip(starts, window)])
            reached = max((j for j, own in enumerate(owned) if own), default=-1)
            for j, k in enumerate(window):
                i, offset = pending[k]
                # Times in a rest are re-based onto its chunk by Segment.shifted, like everywhere else.
                for segment in owned[j]:
                    segment = segment.shifted(offset - starts[j])
                    results[i].append(segment if keep_words or not packed else
                                      Segment(segment.start, segment.end, segment.text))
                if owned[j]:
                    last = owned[j][-1].end - starts[j]
                    if lengths[k] - last > min_rest and last > 0:
                        follow.append((i, offset + last))
                elif j > reached >= 0:
                    follow.append((i, offset))  # the window ended before this rest began
        pending = follow
    return [tuple(r) for r in results]


class ProgressBar:
    """A tqdm.auto bar over seconds of audio, advanced by each segment's end time."""

    def __init__(self, duration: float, enabled: bool, desc: str = "Transcribing"):
        from tqdm.auto import tqdm

        self.duration = round(duration, 2)
        self.bar = tqdm(total=self.duration, unit="s", disable=not enabled, desc=desc,
                        bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}]")
        self.done = 0.0

    def advance_to(self, seconds: float) -> None:
        seconds = min(round(seconds, 2), self.duration)
        if seconds > self.done:
            self.bar.update(seconds - self.done)
            self.done = seconds

    def close(self) -> None:
        self.advance_to(self.duration)
        self.bar.close()

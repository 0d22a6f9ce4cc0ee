"""The shared window-decoding algorithm: a batch of windows in, text and word times out.

Both local engines decode long audio the same way, so they give the same cues: each window (up to 30 s of
speech packed across pauses, see :mod:`audiototext.longaudio.plan`) is encoded once, its text is
generated **without timestamp tokens** by batched beam search, and its words are timed by the
cross-attention alignment (Whisper's word timestamps). Decoding without timestamps is what keeps
Whisper from ending a window early (its timestamp mode stops at the last timestamp it trusts and
lost 12-18 % of the words in the windows we measured); the alignment gives every word, and so
every cue, its time.

A window that fails Whisper's thresholds (a loop, or an improbable text) is decoded again at the
next temperature of the schedule, **inside the batch**: only the failing windows are sampled
again, together. A window the model calls silent is dropped.

What an engine provides is three batched primitives (:class:`WindowModel`); everything else
lives here once.
"""

from __future__ import annotations

import logging
import re
import zlib
from dataclasses import dataclass
from typing import Protocol
from collections.abc import Sequence

import numpy as np

from ..media import SAMPLE_RATE
from ..transcript import Word

log = logging.getLogger(__name__)

#: Mel frames per second (Whisper's hop of 160 samples).
FRAMES_PER_SECOND = 100
#: A prompt is cut to its last this many tokens (half of Whisper's 448-token context).
MAX_PROMPT_TOKENS = 223


@dataclass(frozen=True)
class Decoded:
    """One window decoded at one temperature (text tokens only: no special or timestamp tokens)."""

    tokens: tuple[int, ...]
    text: str
    avg_logprob: float
    no_speech_prob: float
    temperature: float


@dataclass(frozen=True)
class WindowText:
    """What decoding one window gives.

    Attributes:
        text: the window's text as Whisper wrote it.
        words: its words, timed relative to the window's start (empty when silent).
        temperature: the temperature of the accepted decoding (0 unless it fell back).
        silent: the model says there is no speech (and is unsure of any text).
        tokens: the text tokens.
    """

    text: str
    words: tuple[Word, ...]
    temperature: float = 0.0
    silent: bool = False
    tokens: tuple[int, ...] = ()


@dataclass(frozen=True)
class Encoded:
    """One window's encoder output (engine-specific: a numpy array, a torch tensor) and its length."""

    features: object
    samples: int

    @property
    def frames(self) -> int:
        """Mel frames of audio the window holds (the alignment looks no further)."""
        return int(np.ceil(self.samples * FRAMES_PER_SECOND / SAMPLE_RATE))


class WindowModel(Protocol):
    """The batched primitives an engine implements for :func:`decode_windows`.

    ``encode`` returns one opaque handle per window (the encoder output); ``generate`` and
    ``align`` take any subset of those handles, in any order, as one batch.
    """

    def encode(self, audio: Sequence[np.ndarray]) -> list: ...

    def generate(self, encoded: Sequence, options, temperature: float, prompt: Sequence[int]) -> list[Decoded]: ...

    def align(self, encoded: Sequence, tokens: Sequence[Sequence[int]], frames: Sequence[int]) -> list[list[Word]]: ...

    def prompt_tokens(self, text: str) -> list[int]: ...


def compression_ratio(text: str) -> float:
    """gzip compression ratio of ``text``, Whisper's measure of a repetition loop."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


_WORD = re.compile(r"\w+", re.UNICODE)


def word_keys(words: Sequence[str]) -> list[str]:
    """Words as the loop test compares them: lower case, letters and digits only."""
    return [" ".join(_WORD.findall(w.lower())) for w in words]


# Scripts written without spaces (Chinese, Japanese, Thai, Lao, Myanmar, Khmer): their loops are
# counted in characters, since "義!義!義!…" is a single word to ``str.split``.
_UNSPACED = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def text_loops(text: str) -> list[tuple[int, int, int]]:
    """:func:`loops` in a decoded text: in words, or in characters where the script has no spaces."""
    words = text.split()
    units = [u for w in words for u in (_UNSPACED.findall(w) or [w])]
    return loops(word_keys(units), max_ngram=24 if len(units) > len(words) else 8)


def loops(keys: Sequence[str], *, max_ngram: int = 8) -> list[tuple[int, int, int]]:
    """Whisper's repetition loops in a word sequence: ``(start, n, count)`` for each phrase of n
    words (n <= ``max_ngram``) repeated more than ``max(4, 16 / n)`` times in a row.

    A chorus of four lines, "no, no, no", a paragraph read twice or a phrase said three times is
    no loop; forty identical words are.
    """
    found, i = [], 0
    while i < len(keys):
        best = None
        for n in range(1, max_ngram + 1):
            gram = list(keys[i : i + n])
            if len(gram) < n or not all(gram):
                break
            count = 1
            while list(keys[i + count * n : i + (count + 1) * n]) == gram:
                count += 1
            if count > max(4, -(-16 // n)):
                best = (i, n, count)
                break
        if best:
            found.append(best)
            i += best[1] * best[2]
        else:
            i += 1
    return found


def verdict(text: str, avg_logprob: float, no_speech_prob: float, options) -> str:
    """Whisper's per-window test: "ok", "silent" or "retry" (as ``whisper.transcribe`` decides).

    "silent": the model says no speech and is unsure of the text (whisper skips such windows);
    "retry": the text looks like a loop or is improbable: decode again at a higher temperature.
    Unlike ``whisper.transcribe``, a text that compresses like a loop is retried only when it holds
    one (:func:`loops`): repetitive speech (a chorus, a paragraph read again) compresses as well,
    and a random sample at a higher temperature then replaced the words that were said.
    """
    if (
        options.no_speech_threshold is not None
        and no_speech_prob > options.no_speech_threshold
        and (options.logprob_threshold is None or avg_logprob < options.logprob_threshold)
    ):
        return "silent"
    if (
        options.compression_ratio_threshold is not None
        and compression_ratio(text) > options.compression_ratio_threshold
        and text_loops(text)
    ):
        return "retry"
    if options.logprob_threshold is not None and avg_logprob < options.logprob_threshold:
        return "retry"
    return "ok"


def prompt_for(model: WindowModel, initial_prompt: str | None) -> list[int]:
    """The prompt tokens every window gets: the user's prompt (names, spelling, style), or none.

    Windows are not prompted with the previous window's text: measured on the benchmark
    recordings, that raised the word error rate by 2 points in Spanish and English (bench/README.md).
    """
    return model.prompt_tokens(" " + initial_prompt.strip())[-MAX_PROMPT_TOKENS:] if initial_prompt else []


def decode_windows(model: WindowModel, audio: Sequence[np.ndarray], options) -> list[WindowText]:
    """Decode windows of at most 30 s as one batch: text by batched beam search, words by alignment.

    Args:
        model: the engine's batched primitives.
        audio: 16 kHz mono float32 samples of each window.
        options: :class:`~audiototext.engines.DecodeOptions` (language already set).

    Returns:
        One :class:`WindowText` per window, in order.
    """
    if not audio:
        return []
    return decode_encoded(model, [Encoded(f, len(a)) for f, a in zip(model.encode(audio), audio)], options)


def decode_encoded(model: WindowModel, encoded: Sequence[Encoded], options) -> list[WindowText]:
    """Windows already encoded (one by one or together: the encoder's output does not depend on
    its batch) decoded as one batch; see :func:`decode_windows`."""
    if not encoded:
        return []
    features = [e.features for e in encoded]
    results = _generate_with_fallback(model, features, options, prompt_for(model, options.initial_prompt))
    silent = [
        verdict(d.text, d.avg_logprob, d.no_speech_prob, options) == "silent" or not d.text.strip() for d in results
    ]
    speaking = [i for i, s in enumerate(silent) if not s]
    words: dict[int, list[Word]] = {}
    if speaking:
        aligned = model.align(
            [features[i] for i in speaking],
            [results[i].tokens for i in speaking],
            [encoded[i].frames for i in speaking],
        )
        words = dict(zip(speaking, aligned))
    return [
        WindowText(d.text, tuple(words.get(i, ())), d.temperature, silent[i], d.tokens) for i, d in enumerate(results)
    ]


def _generate_with_fallback(model: WindowModel, encoded: list, options, prompt: list[int]) -> list[Decoded]:
    """Every window at the first temperature; the failing ones again, together, at each next one.

    A window that fails at every temperature keeps its best attempt (:func:`best_attempt`), not the
    last one as ``whisper.transcribe`` does: the last is a random sample, and on repetitive speech
    every attempt "fails" (the text compresses like a loop), so the last dropped speech at random.
    """
    tried: list[list[Decoded]] = [[] for _ in encoded]
    results: list[Decoded | None] = [None] * len(encoded)
    pending = list(range(len(encoded)))
    temperatures = options.temperatures
    for step, temperature in enumerate(temperatures):
        decoded = model.generate([encoded[i] for i in pending], options, temperature, prompt)
        retry = []
        for i, result in zip(pending, decoded):
            tried[i].append(result)
            if verdict(result.text, result.avg_logprob, result.no_speech_prob, options) == "retry":
                retry.append(i)
            else:
                results[i] = result
        if retry and step + 1 < len(temperatures):
            log.debug(
                "%d window(s) failed the decoding thresholds at temperature %.1f; decoding them again at %.1f",
                len(retry),
                temperature,
                temperatures[step + 1],
            )
        pending = retry
        if not pending:
            break
    for i in pending:
        results[i] = best_attempt(tried[i], options)
    return results  # type: ignore[return-value]


def best_attempt(attempts: Sequence[Decoded], options) -> Decoded:
    """Of a window's attempts that all failed (the first at the lowest temperature, deterministic at 0).

    - The first attempt when it is probable (average log-probability at or above the threshold,
      so it failed only as a possible loop): repetitive speech (a chorus, a phrase said again and
      again) compresses like a loop at every temperature; its deterministic decoding is kept, and
      a real loop in it is cut later by the loop guard
      (:func:`audiototext.longaudio.stitch.trim_loops`). A short, improbable sample never wins
      over it by compressing better.
    - Else the most probable attempt that holds no loop: a loop that only a sample makes
      ("Cousin, Cousin, …" for a sentence translated badly at temperature 0) is a hallucination,
      however probable the model finds it.
    - Else (every attempt loops) the first probable one, or the most probable.
    """
    threshold = options.logprob_threshold

    def probable(d: Decoded) -> bool:
        return threshold is None or d.avg_logprob >= threshold

    if probable(attempts[0]):
        return attempts[0]
    plain = [d for d in attempts if not text_loops(d.text)]
    if plain:
        return max(plain, key=lambda d: d.avg_logprob)
    return next((d for d in attempts if probable(d)), max(attempts, key=lambda d: d.avg_logprob))


def merge_punctuation(
    words: list[dict], prepended: str = "\"'“¿([{-", appended: str = "\"'.。,，!！?？:：”)]}、"
) -> list[dict]:
    """Attach punctuation tokens to their word, as whisper's word timestamps do; drops emptied entries."""
    words = [dict(w) for w in words]
    i, j = len(words) - 2, len(words) - 1
    while i >= 0:
        before, after = words[i], words[j]
        if before["word"].startswith(" ") and before["word"].strip() in prepended:
            after["word"] = before["word"] + after["word"]
            before["word"] = ""
        else:
            j = i
        i -= 1
    i, j = 0, 1
    while j < len(words):
        before, after = words[i], words[j]
        if not before["word"].endswith(" ") and after["word"] in appended:
            before["word"] = before["word"] + after["word"]
            after["word"] = ""
        else:
            i = j
        j += 1
    return [w for w in words if w["word"]]


def words_from_alignment(
    word_texts: Sequence[str], starts: Sequence[float], ends: Sequence[float], probabilities: Sequence[float]
) -> list[Word]:
    """Aligned word pieces -> :class:`Word` records, punctuation merged, times never backwards."""
    raw = [
        {"word": w, "start": float(s), "end": float(e), "probability": float(p)}
        for w, s, e, p in zip(word_texts, starts, ends, probabilities)
    ]
    out: list[Word] = []
    last = 0.0
    for w in merge_punctuation(raw):
        start = max(w["start"], last)
        end = max(w["end"], start)
        out.append(Word(start, end, w["word"], w["probability"]))
        last = end
    return out


__all__ = [
    "Decoded",
    "WindowText",
    "Encoded",
    "WindowModel",
    "decode_encoded",
    "compression_ratio",
    "loops",
    "text_loops",
    "word_keys",
    "best_attempt",
    "verdict",
    "prompt_for",
    "decode_windows",
    "merge_punctuation",
    "words_from_alignment",
    "MAX_PROMPT_TOKENS",
]

"""Decoded windows back onto the recording's time line, as subtitle cues.

Every word a window yields is moved onto the recording through the window's time map
(:meth:`~audiototext.longaudio.plan.Window.to_source`, the one place window time is re-based).
Cues are then made from the words: a cue ends at a sentence end, before a pause that was
removed from the window when it was longer than :data:`SUBTITLE_GAP`, at the end of a window, or
when it would grow past :data:`MAX_CUE_SECONDS` / :data:`MAX_CUE_CHARS` (then at the last clause
boundary inside it). Time never goes backwards and every cue stays inside its window's speech.

The loop guard removes what Whisper invents when it loops: a phrase repeated many times in a row
inside one cue. Real repetition — a chorus sung four times, "no, no, no" — is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Iterable, Sequence

from ..engines.windows import loops, word_keys
from ..transcript import Segment, Word
from .plan import Window

#: A pause longer than this (seconds) that packing removed always ends a cue.
SUBTITLE_GAP = 1.0
#: Longest cue, in seconds and characters (two subtitle lines of 42).
MAX_CUE_SECONDS = 8.0
MAX_CUE_CHARS = 84
#: A cue shorter than this many characters is not ended at a sentence end (it joins the next one).
MIN_CUE_CHARS = 12
#: The silence a piece keeps after its speech when a pause was removed after it (half the packing's
#: default pause): a word whose middle falls there was said after the pause (its time drifted early).
TRAILING_SILENCE = 0.2

_SENTENCE_END = re.compile(r"[.!?…。！？؟][\"'»”’)\]」』]*$")
_CLAUSE_END = re.compile(r"[,;:、，；：—-][\"'»”’)\]」』]*$")


@dataclass(frozen=True)
class Placed:
    """A word on the recording's time line, with where it came from."""

    word: Word
    window: int
    piece: int


def place_words(window: Window, words: Iterable[Word], after: float = 0.0) -> list[Placed]:
    """A window's words moved onto the recording (never before ``after``), each tagged with its piece."""
    out = []
    for w in words:
        middle = (w.start + w.end) / 2
        piece = window.piece_at(middle)
        p = window.pieces[piece]
        follows_removed_pause = piece + 1 < len(window.pieces) and window.pieces[piece + 1].start > p.end + 1e-6
        if follows_removed_pause and p.offset + p.duration - middle < TRAILING_SILENCE:
            piece += 1
            p = window.pieces[piece]
        start = min(max(window.to_source(w.start), p.start, after), p.end)
        end = min(max(window.to_source(w.end), start), p.end)
        out.append(Placed(Word(start, end, w.word, w.probability), window.index, piece))
        after = end
    return out


def _removed_gap(windows: dict[int, Window], before: Placed, word: Placed) -> float:
    """Seconds of pause that packing removed between two words of one window."""
    if before.window != word.window or before.piece == word.piece:
        return 0.0
    pieces = windows[word.window].pieces
    return sum(max(0.0, pieces[k + 1].start - pieces[k].end) for k in range(before.piece, word.piece))


def cue_breaks(words: Sequence[Placed], windows: dict[int, Window]) -> list[int]:
    """Indices of the words that start a new cue (0 first)."""
    breaks = [0] if words else []
    start = 0
    for i in range(1, len(words)):
        before, word = words[i - 1], words[i]
        text = "".join(w.word.word for w in words[start:i])
        hard = before.window != word.window or _removed_gap(windows, before, word) > SUBTITLE_GAP
        sentence = _SENTENCE_END.search(before.word.word.strip()) and len(text.strip()) >= MIN_CUE_CHARS
        too_long = (
            word.word.end - words[start].word.start > MAX_CUE_SECONDS or len(text) + len(word.word.word) > MAX_CUE_CHARS
        )
        if too_long and not (hard or sentence):
            clause = [k for k in range(start + 1, i) if _CLAUSE_END.search(words[k - 1].word.word.strip())]
            if clause and clause[-1] - start >= 2:
                breaks.append(clause[-1])
                start = clause[-1]
                continue
        if hard or sentence or too_long:
            breaks.append(i)
            start = i
    return breaks


def make_cues(words: Sequence[Placed], windows: dict[int, Window], *, keep_words: bool) -> list[Segment]:
    """Cues from placed words (in time order); ``keep_words``: keep each cue's words (word timestamps)."""
    cues = []
    bounds = cue_breaks(words, windows) + [len(words)]
    for a, b in zip(bounds, bounds[1:]):
        group = [p.word for p in words[a:b]]
        text = "".join(w.word for w in group)
        if text.strip():
            cues.append(Segment(group[0].start, group[-1].end, text, tuple(group) if keep_words else ()))
    return cues


def trim_loops(words: Sequence[Placed], *, max_ngram: int = 8) -> tuple[list[Placed], int]:
    """Words with Whisper's repetition loops cut: a phrase of n words repeated more than
    ``max(4, 16 / n)`` times in a row keeps its first two repeats.

    Returns the kept words and how many were cut. A chorus of four lines, "no, no, no", or a
    phrase said three times stays; forty identical words do not.
    """
    cut: set[int] = set()
    for i, n, count in loops(word_keys([p.word.word for p in words]), max_ngram=max_ngram):
        cut.update(range(i + 2 * n, i + count * n))
    return [p for k, p in enumerate(words) if k not in cut], len(cut)


__all__ = [
    "SUBTITLE_GAP",
    "MAX_CUE_SECONDS",
    "MAX_CUE_CHARS",
    "Placed",
    "place_words",
    "cue_breaks",
    "make_cues",
    "trim_loops",
]

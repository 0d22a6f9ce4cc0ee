"""Whether a decoded window's words cover the speech voice detection found in it.

Whisper now and then writes nothing for part of a window: it ends early (often with "…"), or it
skips a sentence in the middle, mostly where packing joined the speech of two recordings. The
alignment then stretches a word over the audio that was never written ("The" over 5 s), so a
word's time alone does not show it. Here a word lasts at most :data:`WORD_BASE` plus
:data:`WORD_PER_CHAR` seconds per character; speech of :data:`UNCOVERED_SPEECH` seconds or more
that no word covers (the time after the last word included) means the window must be decoded again
from there (:func:`uncovered`): the words it lost would otherwise never be transcribed.
"""

from __future__ import annotations

from ..engines.windows import WindowText, word_keys
from ..transcript import Word
from .plan import Window

#: Without detected speech to go by (``vad off``): a window whose words end this many seconds
#: before its audio does was ended early by Whisper.
EARLY_STOP = 3.0
#: Seconds of detected speech no word covers that make a window be decoded again from there.
UNCOVERED_SPEECH = 1.0
#: A word lasts at most this long plus :data:`WORD_PER_CHAR` seconds per character.
WORD_BASE, WORD_PER_CHAR = 1.0, 0.1
#: A continuation whose first word starts within this many seconds may say the stop's word again.
REDECODED = 1.0
#: Continuation rounds at most (a window decoded again may stop early again once more).
MAX_ROUNDS = 2


def plausible_end(word: Word) -> float:
    """The word's end, unless it lasts longer than a word can (then where it could have ended)."""
    return min(word.end, word.start + WORD_BASE + WORD_PER_CHAR * len(word.word.strip()))


def uncovered(window: Window, result: WindowText) -> list[tuple[float, float]]:
    """The stretches of ``window`` (window times) to decode again: empty when its words cover its speech.

    A stretch starts at a gap between two words (before the first, after the last) holding at
    least :data:`UNCOVERED_SPEECH` seconds of detected speech: at the end of the word before the
    gap, or at its start when the alignment stretched it over the gap (its real end is unknown).
    It ends at the next word that is not stretched (in the pause before the utterance that word
    begins), else at the window's end. Decoding only those stretches matters: in a long window
    joining several recordings, Whisper skipped the same sentences again; alone it wrote them.
    Without detected speech (``vad off``), only the time after the last word counts, when over
    :data:`EARLY_STOP` seconds.
    """
    words = [w for w in result.words if w.word.strip()]
    if result.silent or not words:
        return []
    stretches: list[tuple[float, float]] = []
    lead = window.speech_between(0.0, words[0].start)
    start = 0.0 if lead is not None and lead >= UNCOVERED_SPEECH else None
    for k, word in enumerate(words):
        end = plausible_end(word)
        stretched = word.end > end + 1e-6
        if start is not None and not stretched:  # the first word timed well after the gap
            stretches.append((start, _before_speech_at(window, word.start, start)))
            start = None
        following = words[k + 1].start if k + 1 < len(words) else window.duration
        speech = window.speech_between(end, following)
        if speech is None:
            gap = k + 1 == len(words) and window.duration - end > EARLY_STOP
        else:
            gap = speech >= UNCOVERED_SPEECH
        if start is None and gap:
            start = word.start if stretched else end
    if start is not None:
        stretches.append((start, window.duration))
    stretches = [(a, b) for a, b in stretches if b - a > 1e-3]
    if stretches == [(0.0, window.duration)]:
        return []  # the same audio again would give the same text
    return stretches


def _before_speech_at(window: Window, t: float, floor: float) -> float:
    """``t``, or the start of the detected speech that runs through it when the stretch from
    ``floor`` still holds the speech no word covered: a stretch decoded again ends in a pause, not
    inside an utterance whose words the window already has."""
    for a, b in window.speech_spans():
        if a < t < b and a > floor and (window.speech_between(floor, a) or 0.0) >= UNCOVERED_SPEECH:
            return a
    return t


def same_word(a: Word, b: Word) -> bool:
    """Whether two words are one said again: the same letters, or one the start of the other (a
    word cut off by a window's stop)."""
    x, y = (" ".join(word_keys([w.word])) for w in (a, b))
    return bool(x and y) and (x == y or (min(len(x), len(y)) >= 3 and (x.startswith(y) or y.startswith(x))))


__all__ = [
    "EARLY_STOP",
    "UNCOVERED_SPEECH",
    "WORD_BASE",
    "WORD_PER_CHAR",
    "REDECODED",
    "MAX_ROUNDS",
    "plausible_end",
    "uncovered",
    "same_word",
]

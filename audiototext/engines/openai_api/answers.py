"""The API's answers as transcripts: ``verbose_json`` segments and words, or cues made from plain text."""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Callable, Sequence

from ...errors import OptionsError
from ...transcript import Segment, Transcript, Word

log = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？])")
_CLAUSE_MARK = re.compile(r"[,;:，、；：]\s*")


def split_sentences(text: str, max_chars: int = 84) -> list[str]:
    """Text cut into sentences, and sentences longer than ``max_chars`` into clauses (a subtitle's two lines)."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        out.extend(_split_long(sentence.strip(), max_chars))
    return [s for s in out if s]


def _split_long(text: str, max_chars: int) -> list[str]:
    if len(text) <= max_chars:
        return [text]
    middle = len(text) / 2
    cuts = [m.end() for m in _CLAUSE_MARK.finditer(text) if 0 < m.end() < len(text)]
    if not cuts:
        cuts = [m.start() + 1 for m in re.finditer(r"\s", text)]
    if not cuts:
        cuts = [int(middle)]
    cut = min(cuts, key=lambda c: abs(c - middle))
    return _split_long(text[:cut].strip(), max_chars) + _split_long(text[cut:].strip(), max_chars)


def cues_from_text(text: str, speech: Sequence[tuple[float, float]], duration: float) -> list[Segment]:
    """Cues for text that came without times: sentences spread over the speech in proportion to characters.

    Timing quality: the model gives no times, so they come from voice activity. The n-th character
    of the text is placed at the same fraction of the piece's speech time (pauses do not count),
    and a boundary between sentences that falls near a pause (within 30% of the shorter sentence,
    at most 2 s of speech) moves onto it. Every cue starts and ends inside detected speech. When
    sentences end at pauses, as they mostly do, cues start and end with the speech, to about
    0.1 s; where the pace changes, a cue can be off by a few seconds, never beyond its piece (at
    most 5 minutes for the gpt-4o models), and the error does not carry into later pauses. There
    are no word times. Good for reading along; use whisper-1 or a local engine for subtitles that
    must follow the lips.
    """
    sentences = split_sentences(text)
    if not sentences:
        return []
    regions = [(max(0.0, s), min(duration, e)) for s, e in sorted(speech)]
    regions = [(s, e) for s, e in regions if e > s] or [(0.0, max(duration, 0.0))]
    lengths = [e - s for s, e in regions]
    pauses = [sum(lengths[: j + 1]) for j in range(len(regions) - 1)]  # region ends, in speech time
    scale = sum(lengths) / sum(len(s) for s in sentences)
    spans = [len(s) * scale for s in sentences]
    bounds = [sum(spans[: i + 1]) for i in range(len(sentences) - 1)]
    for i, bound in enumerate(bounds):
        reach = min(2.0, 0.3 * min(spans[i], spans[i + 1]))
        lo = bounds[i - 1] if i else 0.0
        hi = bounds[i + 1] if i + 1 < len(bounds) else math.inf
        near = [x for x in pauses if abs(x - bound) <= reach and lo < x < hi]
        if near:
            bounds[i] = min(near, key=lambda x: abs(x - bound))

    def at(x: float, opening: bool) -> float:
        # Speech time x -> audio time; a cue opening at a region's end opens at the next region's start.
        for (s, _end), length in zip(regions, lengths):
            if x < length - 1e-9 or (not opening and x <= length + 1e-9):
                return s + min(max(x, 0.0), length)
            x -= length
        return regions[-1][1]

    edges = [0.0, *bounds, sum(lengths)]
    cues = []
    for sentence, a, b in zip(sentences, edges, edges[1:]):
        start = at(a, True)
        cues.append(Segment(start, max(start, at(b, False)), " " + sentence))
    return cues


def _language_code(value: str | None) -> str | None:
    from ...languages import resolve_language

    try:
        return resolve_language(value) if value else None
    except OptionsError:
        log.debug("OpenAI reported a language Whisper does not list: %r", value)
        return None


def _attach_words(segments: list[dict], words: list[dict]) -> list[list[Word]]:
    """Top-level verbose_json words, each given to the segment its middle falls in (else the last one before it)."""
    owned: list[list[Word]] = [[] for _ in segments]
    starts = [float(s["start"]) for s in segments]
    for w in words:
        start, end = float(w["start"]), float(w["end"])
        middle = (start + end) / 2
        index = max([i for i, s in enumerate(starts) if s <= middle] or [0])
        text = str(w["word"])
        owned[index].append(Word(start, end, text if text.startswith(" ") else " " + text))
    return owned


def response_to_transcript(
    response: dict,
    *,
    duration: float,
    task: str,
    language: str | None = None,
    speech: Callable[[], Sequence[tuple[float, float]]] | None = None,
) -> Transcript:
    """One API answer (``verbose_json`` or ``json``, as a dict) as a Transcript in the piece's own time.

    The one place an answer is converted. Segments (and top-level words, each given to its segment)
    are taken as they are; an answer with only text (the gpt-4o models, or a compatible server)
    gets cues from :func:`cues_from_text` over ``speech()``, the piece's voice activity. The
    language is the given one, else the answer's (OpenAI reports names like "english").
    """
    code = language or _language_code(response.get("language"))
    raw = [s for s in response.get("segments") or () if str(s.get("text", "")).strip()]
    if raw:
        words = _attach_words(raw, response.get("words") or [])
        segments = [Segment(float(s["start"]), float(s["end"]), str(s["text"]), tuple(w)) for s, w in zip(raw, words)]
        segments = [s if s.text.startswith(" ") else dataclasses.replace(s, text=" " + s.text) for s in segments]
    elif str(response.get("text", "")).strip():
        segments = cues_from_text(str(response["text"]), speech() if speech else (), duration)
    else:
        segments = []
    return Transcript(tuple(segments), language=code, duration=duration, task=task)

"""Subtitle cues from timed words, by the reading rules of a :class:`~audiototext.style.SubtitleStyle`.

The words of a transcript are cut into cues by dynamic programming over every possible cut, so
the cues are the best the words allow: first the fewest broken rules (2 lines of 42 characters,
20 characters per second, 5/6 s to 7 s, 2 frames between cues, never across a pause of more than
1 s), then the best reading: a sentence ends a cue when it can; otherwise a cue ends at a clause,
before a conjunction or preposition, or at a breath, and never between an article and its noun or
inside a name. Each cue's two lines are broken the same way, balanced, bottom-heavy when unequal.

Timing: a cue appears when its first word starts and stays while the voice goes on, up to
``linger`` seconds into the pause after its last word, but never closer than ``min_cue_gap`` to
the next cue (nor past ``max_cue_duration``). A cue's reading speed counts that lingering time.

Text without word times (a hosted model's sentences, a translation) gets words timed from a
reference: the source words of the same segment, so the translated text follows the speech's pace
and pauses (:func:`timed_words`). Pure Python; no heavy imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Sequence

from .style import NETFLIX, SubtitleStyle, cue_chars, is_unspaced
from .transcript import Transcript, Word

_SENTENCE_END = re.compile(r"[.!?…。！？؟][\"'»”’)\]」』]*$")
_CLAUSE_END = re.compile(r"[,;:、，；：—–-][\"'»”’)\]」』]*$")
_NO_LINE_START = set("、。，．,.!?！？…:;：；）)]」』》〉\"'”’")
_KEY = re.compile(r"[^\w']+", re.UNICODE)
#: A translated cue may appear this much before its text's estimated start (see :meth:`_Cutter.start_of`).
TRANSLATION_LEAD_IN = 0.5

# Words a line or cue should not end with (the noun follows), and words it may start with.
_ARTICLES = {
    "en": "a an the this that these those my your his her its our their some any no every each",
    "es": "el la los las un una unos unas lo al del mi mis tu tus su sus este esta estos estas ese esa esos esas",
    "de": "der die das den dem des ein eine einen einem einer eines kein keine mein meine dein sein seine ihr ihre "
    "unser unsere dieser diese dieses",
    "fr": "le la les l' un une des du au aux mon ma mes ton ta tes son sa ses ce cet cette ces notre nos votre "
    "vos leur",
    "pt": "o a os as um uma uns umas do da dos das no na nos nas ao aos meu minha seu sua este esta esse essa",
    "it": "il lo la i gli le un uno una del della dei degli delle al alla nel nella mio mia suo sua questo questa",
}
_PREPOSITIONS = {
    "en": "of in on at to for with from by about into over after before under between through during without",
    "es": "de en a con por para sin sobre entre hasta desde hacia según durante",
    "de": "von zu in im an am auf für bei nach aus über unter vor durch ohne mit um zum zur",
    "fr": "de d' à en dans sur pour par avec sans sous entre vers chez pendant",
    "pt": "de em a com por para sem sobre entre até desde",
    "it": "di a da in con su per tra fra",
}
_CONJUNCTIONS = {
    "en": "and but or nor so yet because if that when while although which who where",
    "es": "y e o u pero que porque si cuando como donde aunque mientras",
    "de": "und oder aber denn dass weil wenn als ob sondern während obwohl",
    "fr": "et ou mais que qui parce si quand comme où donc",
    "pt": "e ou mas que porque se quando como onde embora",
    "it": "e o ma che perché se quando come dove mentre",
}


def _words_of(table: dict[str, str], language: str | None) -> frozenset[str]:
    lang = (language or "").lower().split("-")[0]
    return frozenset((table[lang] if lang in table else " ".join(table.values())).split())


@dataclass(frozen=True)
class Cue:
    """One subtitle: its time on screen, its lines, and the words it shows."""

    start: float
    end: float
    lines: tuple[str, ...]
    words: tuple[Word, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class _Grammar:
    """Where a line or a cue may break, for one language."""

    def __init__(self, language: str | None):
        self.unspaced = is_unspaced(language)
        self.conjunctions = _words_of(_CONJUNCTIONS, language)
        self.no_break_after = _words_of(_ARTICLES, language) | _words_of(_PREPOSITIONS, language) | self.conjunctions
        self.prepositions = _words_of(_PREPOSITIONS, language)

    def cost(self, before: str, after: str) -> float:
        """How badly a reader takes a break between two words (0: after a sentence)."""
        before, after = before.strip(), after.strip()
        if not before or not after:
            return 1.0
        if after[0] in _NO_LINE_START:
            return 6.0
        if _SENTENCE_END.search(before):
            return 0.0
        if _CLAUSE_END.search(before):
            return 0.3
        if self.unspaced:
            return 1.0
        first, second = _key(before), _key(after)
        cost = 0.4 if second in self.conjunctions else 0.6 if second in self.prepositions else 1.5
        if first in self.no_break_after or first.endswith("'"):
            cost = 3.0
        if before[0].isupper() and after[0].isupper():
            cost += 2.0  # inside a name ("New York", "Real Academia")
        return cost


def _key(word: str) -> str:
    return _KEY.sub(" ", word.lower()).strip()


# --- lines ---------------------------------------------------------------------------------------


def _join(texts: Sequence[str]) -> str:
    return "".join(texts).strip()


def break_lines(
    texts: Sequence[str], width: int | None, max_lines: int | None, grammar: _Grammar
) -> tuple[tuple[str, ...], float, int]:
    """The best way to put words (Whisper's texts, leading spaces kept) on lines.

    Returns (lines, cost, overflow): ``overflow`` is how many characters no layout within
    ``max_lines`` lines of ``width`` could place (0 when the rules are kept).
    """
    whole = _join(texts)
    if width is None or len(whole) <= width or len(texts) == 1:
        return (whole,), 0.0, max(0, len(whole) - width) if width is not None else 0
    limit = max_lines or len(texts)
    n = len(texts)
    # best[k][m]: (cost, lines) for texts[k:] on exactly m more lines, each within width
    memo: dict[tuple[int, int], tuple[float, tuple[str, ...]] | None] = {}

    def best(k: int, m: int) -> tuple[float, tuple[str, ...]] | None:
        if (k, m) in memo:
            return memo[(k, m)]
        rest = _join(texts[k:])
        result = None
        if m == 1:
            result = (0.0, (rest,)) if len(rest) <= width else None
        else:
            for e in range(k + 1, n):
                line = _join(texts[k:e])
                if len(line) > width:
                    break
                tail = best(e, m - 1)
                if tail is None:
                    continue
                cost = tail[0] + grammar.cost(texts[e - 1], texts[e]) + _balance(line, tail[1][0], m)
                if result is None or cost < result[0]:
                    result = (cost, (line, *tail[1]))
        memo[(k, m)] = result
        return result

    for m in range(2, limit + 1):
        found = best(0, m)
        if found is not None:
            return found[1], found[0], 0
    lines = _greedy(texts, width, limit)
    return lines, 10.0, sum(max(0, len(line) - width) for line in lines) + max(0, len(lines) - limit) * width


def _balance(line: str, following: str, lines_left: int) -> float:
    """Two lines read best balanced, and bottom-heavy (a shorter top) when they differ."""
    if lines_left != 2:
        return 0.0
    a, b = len(line), len(following)
    return abs(a - b) / max(a + b, 1) + (0.2 if a > b + 4 else 0.0)


def _greedy(texts: Sequence[str], width: int, limit: int) -> tuple[str, ...]:
    """Lines filled word by word (for text that cannot keep the rules), at most ``limit`` lines
    unless a single word is wider than a line."""
    lines: list[list[str]] = [[]]
    for t in texts:
        if lines[-1] and len(_join([*lines[-1], t])) > width and len(lines) < limit:
            lines.append([])
        lines[-1].append(t)
    return tuple(_join(line) for line in lines if _join(line))


# --- cues ----------------------------------------------------------------------------------------


class _Cutter:
    """The dynamic programme over cue boundaries for one list of words."""

    def __init__(self, words: Sequence[Word], style: SubtitleStyle, language: str | None, lead_in: float = 0.0):
        self.words, self.style, self.lead_in = list(words), style, lead_in
        self.width = style.line_width(language)
        self.grammar = _Grammar(language)
        self.max_chars = (self.width or 10**6) * (style.max_line_count or 10**6)
        self.sentence = [bool(_SENTENCE_END.search(w.word.strip())) for w in self.words]

    def start_of(self, i: int) -> float:
        """When the cue starting with word ``i`` appears: as the word starts, or (a translation,
        ``lead_in``) up to that much earlier, taking at most half of the pause before it."""
        words, start = self.words, self.words[i].start
        if not self.lead_in:
            return start
        room = start if i == 0 else (start - words[i - 1].end - self.style.min_cue_gap) / 2
        return start - min(self.lead_in, max(0.0, room))

    def end_of(self, i: int, j: int) -> float:
        """When the cue of words ``i..j-1`` leaves the screen."""
        s, words = self.style, self.words
        start, last = self.start_of(i), words[j - 1].end
        end = last + s.linger
        if s.max_cue_duration is not None:
            end = max(last, min(end, start + s.max_cue_duration))
        if j < len(words):
            end = min(end, self.start_of(j) - s.min_cue_gap)
        return max(end, start)

    def cost(self, i: int, j: int) -> tuple[float, float, tuple[str, ...]]:
        """(broken rules, reading cost, lines) of one cue made of words ``i..j-1``."""
        s, words = self.style, self.words
        texts = [w.word for w in words[i:j]]
        lines, soft, overflow = break_lines(texts, self.width, s.max_line_count, self.grammar)
        start, end = self.start_of(i), self.end_of(i, j)
        duration = end - start
        hard = (1.5 + overflow / 10) if overflow else 0.0
        chars = cue_chars(lines)
        if s.max_cps is not None and chars > s.max_cps * max(duration, 1e-3):
            hard += 1.0 + (chars / max(duration, 1e-3) - s.max_cps) / s.max_cps
        if duration < s.min_cue_duration:
            hard += 1.0 + (s.min_cue_duration - duration)
        if s.max_cue_duration is not None and words[j - 1].end - start > s.max_cue_duration:
            hard += 1.0 + (words[j - 1].end - start - s.max_cue_duration) / s.max_cue_duration
        if j < len(words) and self.start_of(j) - s.min_cue_gap < start + 1e-3:
            hard += 1.0  # the next word starts too soon after this cue's first one
        if any(b.start - a.end > s.max_pause for a, b in zip(words[i:j], words[i + 1 : j])):
            hard += 1.5  # text on screen through a silence reads worse than a little too fast
        if s.max_words_per_line is not None and j - i > s.max_words_per_line:
            hard += 1.0
        soft += 1.0 + 1.5 * sum(self.sentence[i : j - 1])
        if j < len(words):
            pause = words[j].start - words[j - 1].end
            breaking = self.grammar.cost(words[j - 1].word, words[j].word)
            soft += min(breaking, 0.3) if pause >= 0.25 and breaking < 6 else breaking
        if duration < 1.2:
            soft += 0.3
        return hard, soft, lines

    def cut(self) -> list[Cue]:
        n = len(self.words)
        best: list[tuple[float, float]] = [(0.0, 0.0)] + [(float("inf"), float("inf"))] * n
        choice: list[tuple[int, tuple[str, ...]]] = [(0, ())] * (n + 1)
        for j in range(1, n + 1):
            for i in range(j - 1, -1, -1):
                hard, soft, lines = self.cost(i, j)
                total = (best[i][0] + hard, best[i][1] + soft)
                if total < best[j]:
                    best[j], choice[j] = total, (i, lines)
                if i < j - 1 and self._beyond(i, j):
                    break
        bounds, j = [], n
        while j > 0:
            bounds.append((choice[j][0], j, choice[j][1]))
            j = choice[j][0]
        return self.timed(bounds[::-1])

    def timed(self, bounds: list[tuple[int, int, tuple[str, ...]]]) -> list[Cue]:
        """The cues of the chosen words, each appearing with its first word; with ``lead_in`` (a
        translation), a cue that would read too fast appears earlier, as much as it needs and as
        :meth:`start_of` allows, and the cue before it leaves in time."""
        s, words = self.style, self.words
        natural = self.lead_in
        self.lead_in = 0.0
        cues = [Cue(words[i].start, self.end_of(i, j), lines, tuple(words[i:j])) for i, j, lines in bounds]
        self.lead_in = natural
        if not natural or s.max_cps is None:
            return cues
        for k, (i, j, _) in enumerate(bounds):
            cue = cues[k]
            needed = cue_chars(cue.lines) / s.max_cps
            if cue.end - cue.start >= needed:
                continue
            end = self.end_of(i, j) if k + 1 == len(cues) else cue.end
            start = max(self.start_of(i), min(cue.start, end - needed))
            if s.max_cue_duration is not None:
                start = max(start, min(cue.start, end - s.max_cue_duration))
            if k:  # never so early that the cue before would read too fast
                before = cues[k - 1]
                enough = max(cue_chars(before.lines) / s.max_cps, s.min_cue_duration)
                start = max(start, min(cue.start, before.start + enough + s.min_cue_gap))
            cues[k] = Cue(start, max(end, cue.end), cue.lines, cue.words)
            if k and cues[k - 1].end > start - s.min_cue_gap:
                before = cues[k - 1]
                cues[k - 1] = Cue(before.start, max(before.start, start - s.min_cue_gap), before.lines, before.words)
        return cues

    def _beyond(self, i: int, j: int) -> bool:
        """Whether cues starting before word ``i`` and ending with word ``j - 1`` can only break more rules."""
        s, words = self.style, self.words
        # Twice the limits: a cue that long breaks them, and taking it could at most spare its neighbours.
        if len(_join([w.word for w in words[i:j]])) > 2 * self.max_chars:
            return True
        return s.max_cue_duration is not None and words[j - 1].end - words[i].start > 2 * s.max_cue_duration + s.linger


# --- words for text without word times -------------------------------------------------------------


def _tokens(text: str, unspaced: bool) -> list[str]:
    """Text as word-like pieces, each with its leading space (as Whisper's words); characters for
    unspaced languages (a run of Latin letters or digits stays whole), punctuation kept with the
    piece before it."""
    pattern = r"\s*[0-9A-Za-zÀ-ɏ'’-]+|\s*\S" if unspaced else r"\s*\S+"
    pieces: list[str] = []
    for piece in re.findall(pattern, text):
        if pieces and piece.strip() and piece.strip()[0] in _NO_LINE_START and not piece[0].isspace():
            pieces[-1] += piece
        else:
            pieces.append(piece)
    return pieces


def timed_words(
    text: str, start: float, end: float, reference: Sequence[Word] = (), language: str | None = None
) -> list[Word]:
    """Words for ``text`` spread over ``[start, end]``: following ``reference`` (the words of the
    same speech, e.g. the source of a translation) by character position, so the text keeps the
    speech's pace and its pauses; evenly without a reference. When text and reference hold as many
    sentences, each sentence follows its own (a translation keeps its sentences apart in time)."""
    ref = [w for w in reference if w.word.strip()]
    pieces = _tokens(text, is_unspaced(language))
    if not pieces:
        return []
    if not ref:
        return _follow(pieces, [Word(start, max(end, start), " " * sum(len(p) for p in pieces))])
    ours, theirs = _sentences(pieces), _sentences([w.word for w in ref])
    if len(ours) == len(theirs) > 1:
        out, used = [], 0
        for mine, source in zip(ours, theirs):
            out += _follow(mine, ref[used : used + len(source)])
            used += len(source)
        return out
    return _follow(pieces, ref)


def _sentences(texts: Sequence[str]) -> list[list[str]]:
    """Texts grouped into sentences (a group ends with a text ending a sentence)."""
    groups: list[list[str]] = [[]]
    for t in texts:
        groups[-1].append(t)
        if _SENTENCE_END.search(t.strip()):
            groups.append([])
    return [g for g in groups if g]


def _follow(pieces: Sequence[str], ref: Sequence[Word]) -> list[Word]:
    """``pieces`` timed along ``ref`` by their share of the characters; a piece that would straddle
    a pause of the reference goes to the side its middle falls on."""
    total = sum(len(p) for p in pieces)
    ref_chars = [max(1, len(w.word)) for w in ref]
    ref_total = sum(ref_chars)

    def at(fraction: float, closing: bool) -> tuple[float, int]:
        position = fraction * ref_total
        for k, (w, n) in enumerate(zip(ref, ref_chars)):
            if position < n or (closing and position <= n):
                return w.start + (w.end - w.start) * (position / n), k
            position -= n
        return ref[-1].end, len(ref) - 1

    out, done = [], 0
    for p in pieces:
        (a, i), (b, j) = at(done / total, False), at((done + len(p)) / total, True)
        if j > i and any(ref[k + 1].start - ref[k].end > 0.3 for k in range(i, j)):
            middle, m = at((done + len(p) / 2) / total, False)
            a, b = (a, ref[m].end) if m == i else (ref[m].start, b)
        out.append(Word(a, max(a, b), p))
        done += len(p)
    return out


def _grouped(transcript: Transcript, reference: Transcript | None, max_pause: float) -> list[tuple[str, list[Word]]]:
    """(text, reference words) per run of segments: a segment left without text (a translation
    that moved its words to a neighbour) joins its neighbour's run, so its speech gets a cue."""
    refs = reference.segments if reference is not None and len(reference.segments) == len(transcript.segments) else ()
    groups: list[tuple[str, list[Word], float]] = []
    pending: list[Word] = []
    for k, segment in enumerate(transcript.segments):
        ref = list(refs[k].words) if refs else []
        ref = ref or [Word(segment.start, segment.end, " " * max(1, len(segment.text)))]
        if not segment.text.strip():
            if groups and ref[0].start - groups[-1][2] <= max_pause:
                text, words, _ = groups[-1]
                groups[-1] = (text, words + ref, ref[-1].end)
            else:
                pending += ref
            continue
        groups.append((segment.text, pending + ref, ref[-1].end))
        pending = []
    return [(text, words) for text, words, _ in groups]


def cue_words(transcript: Transcript, reference: Transcript | None = None, *, max_pause: float = 1.0) -> list[Word]:
    """Every word of ``transcript`` in time order: its own word times where it has them, else its
    text timed by ``reference`` (a translation's source, segment for segment) or spread evenly
    over its segment."""
    language = transcript.text_language
    if reference is not None and not any(s.words for s in transcript.segments):
        return [w for text, ref in _grouped(transcript, reference, max_pause) for w in _spread(text, ref, language)]
    words: list[Word] = []
    for s in transcript.segments:
        own = [w for w in s.words if w.word.strip()]
        words += own if own else timed_words(s.text, s.start, s.end, (), language)
    return words


def _spread(text: str, ref: list[Word], language: str | None) -> list[Word]:
    return timed_words(text, ref[0].start, ref[-1].end, ref, language)


def make_cues(
    transcript: Transcript, style: SubtitleStyle = NETFLIX, *, reference: Transcript | None = None
) -> list[Cue]:
    """The subtitle cues of ``transcript`` by ``style``'s reading rules (see the module's doc).

    Args:
        transcript: segments with word times, or without (then timed by ``reference``, or spread).
        style: the rules.
        reference: for a translation, the source transcript it was translated from, segment for
            segment: its word times time the translated text.
    """
    words = cue_words(transcript, reference, max_pause=style.max_pause)
    if not words:
        return []
    ordered, last = [], 0.0
    for w in words:  # time never goes backwards
        start = max(w.start, last)
        ordered.append(Word(start, max(w.end, start), w.word, w.probability))
        last = start
    lead_in = TRANSLATION_LEAD_IN if reference is not None else 0.0
    return _Cutter(ordered, style, transcript.text_language, lead_in).cut()


__all__ = ["Cue", "break_lines", "timed_words", "cue_words", "make_cues"]

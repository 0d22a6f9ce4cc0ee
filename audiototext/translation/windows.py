"""The pure algorithms of DeepL translation: no ``deepl`` import, no I/O.

* :func:`sentence_windows` groups lines into windows that end at a sentence end;
* :func:`to_xml` / :func:`from_xml` wrap each line of a window in a numbered ``<l i="N">``
  element and map DeepL's answer back by number, or refuse it (``None``) when it does not map
  back safely, which makes the caller fall back to sentences;
* :func:`fill_empty` shares a neighbour's text with lines DeepL left empty;
* :func:`split_proportionally` / :func:`spread_over_lines` split a translated sentence over its
  lines by source length, at word boundaries or, for CJK and Thai, between characters;
* :func:`request_batches` keeps each request within DeepL's count and size limits;
* :func:`drop_added_period` takes off a period DeepL added to a cut-off line.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from xml.sax.saxutils import escape

WINDOW_CHARS = 1500  # a window ends at the first sentence end after this many characters
MAX_TEXTS_PER_REQUEST = 50  # DeepL: at most 50 texts per /translate request
MAX_REQUEST_BYTES = 128 * 1024  # DeepL: the request body must not exceed 128 KiB
REQUEST_OVERHEAD = 4 * 1024  # room for target_lang, glossary_id, tag lists... in the body
CONTEXT_CHARS = 1000  # how much of the previous window goes into ``context``
FALLBACK_SENTENCE_CHARS = 600  # a fallback "sentence" is cut after this many characters
LINE_TAG = "l"

_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # DeepL would refuse the XML
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'»”’)\]」』]*\s*$")
_NO_LINE_START = set("、。，．,.!?！？…:;：；）)]」』》〉\"'”’")


# --- windows ------------------------------------------------------------------------------------


def sentence_windows(
    lines: Sequence[str], *, soft: int = WINDOW_CHARS, hard: int = 2 * WINDOW_CHARS
) -> list[list[int]]:
    """Indices of the non-empty lines in consecutive groups, each ending at a sentence end once
    ``soft`` characters are reached (or anywhere once ``hard`` characters are).

    ``soft=1`` gives one group per sentence, as the fallback translates them.
    """
    groups: list[list[int]] = []
    current: list[int] = []
    length = 0
    for i, text in enumerate(lines):
        if not text.strip():
            continue
        current.append(i)
        length += len(text.strip()) + 1
        if (length >= soft and _SENTENCE_END.search(text)) or length >= hard:
            groups.append(current)
            current, length = [], 0
    if current:
        groups.append(current)
    return groups


def context_tail(text: str, size: int = CONTEXT_CHARS) -> str:
    """The last ``size`` characters of ``text`` or fewer, starting at a word."""
    if len(text) <= size:
        return text
    cut = text.find(" ", len(text) - size)
    return text[cut + 1 :] if cut != -1 else text[-size:]


# --- numbered line tags -------------------------------------------------------------------------


def to_xml(texts: Sequence[str]) -> str:
    """The lines as ``<l i="0">…</l> <l i="1">…</l>``, escaped, without characters XML cannot hold."""
    return " ".join(
        f'<{LINE_TAG} i="{n}">{escape(_NOT_XML.sub("", t.strip()))}</{LINE_TAG}>' for n, t in enumerate(texts)
    )


def from_xml(answer: str, texts: Sequence[str]) -> list[str] | None:
    """The translated lines by number, or ``None`` if the answer does not map back safely.

    Refused: XML that does not parse, a number missing, repeated or out of range, and more than a
    third of the non-empty source lines coming back empty. Text DeepL moved between elements is
    kept with the element before it (text before the first one goes to line 0).
    """
    try:
        root = ET.fromstring(f"<r>{answer}</r>")
    except ET.ParseError:
        return None
    found: dict[int, list[str]] = {}
    current: list[str] | None = None
    lead = root.text or ""
    for element in root:
        number = element.get("i", "") if element.tag == LINE_TAG else ""
        if number:
            if not number.isdigit() or int(number) in found or int(number) >= len(texts):
                return None
            current = found[int(number)] = ["".join(element.itertext())]
        elif current is not None:
            current.append("".join(element.itertext()))
        else:
            lead += "".join(element.itertext())
        if current is not None:
            current.append(element.tail or "")
        else:
            lead += element.tail or ""
    if len(found) != len(texts):
        return None
    if lead.strip():
        found[0].insert(0, lead)
    mapped = [" ".join("".join(found[n]).split()) for n in range(len(texts))]
    return mapped if accepts(texts, mapped) else None


def accepts(texts: Sequence[str], mapped: Sequence[str]) -> bool:
    """Whether a mapped answer is kept: at most a third of the lines that had words lost them
    (those are then filled from a neighbour by :func:`fill_empty`)."""
    empty = sum(1 for source, out in zip(texts, mapped) if source.strip() and not out)
    return empty * 3 <= len(texts)


def fill_empty(texts: Sequence[str], mapped: Sequence[str], *, by_char: bool) -> list[str]:
    """Lines DeepL left empty (their words went to a neighbour) share the neighbour's text,
    split by source length: the line before a run of empty lines, or else the line after it."""
    out = list(mapped)
    n = len(out)
    i = 0
    while i < n:
        if out[i]:
            i += 1
            continue
        j = i
        while j < n and not out[j]:
            j += 1
        lo, hi = (i - 1, j) if i > 0 else (i, j + 1)
        if hi > n:
            break  # every line empty; nothing to share
        pieces = split_proportionally(
            ("" if by_char else " ").join(out[lo:hi]).strip(), [len(t.strip()) for t in texts[lo:hi]], by_char=by_char
        )
        out[lo:hi] = pieces
        i = j
    return out


# --- splitting a translation over lines ---------------------------------------------------------


def spread_over_lines(
    texts: Sequence[str], groups: Sequence[Sequence[int]], translations: Sequence[str], *, by_char: bool
) -> list[str]:
    """The fallback's result: each group's translation split over the group's lines by their
    source lengths. Lines in no group stay empty."""
    mapped = [""] * len(texts)
    for group, text in zip(groups, translations):
        pieces = split_proportionally(text, [len(texts[i].strip()) for i in group], by_char=by_char)
        for i, piece in zip(group, pieces):
            mapped[i] = piece
    return mapped


def split_proportionally(text: str, weights: Sequence[int], *, by_char: bool = False) -> list[str]:
    """Split ``text`` into ``len(weights)`` pieces whose lengths follow ``weights``.

    Cuts fall on word boundaries, or anywhere between characters when ``by_char`` (Chinese,
    Japanese, Korean, Thai), preferring a space or punctuation within three characters. Joining
    the pieces with spaces (or nothing, ``by_char``) gives back the text up to whitespace. Pieces
    are non-empty as long as there are enough words.
    """
    n = len(weights)
    text = " ".join(text.split()) if not by_char else text.strip()
    if n <= 1:
        return [text] * n
    cands = _cut_candidates(text, by_char)
    cum = [0]
    for w in weights:
        cum.append(cum[-1] + max(int(w), 1))
    cuts: list[int] = []
    lo = 0
    for k in range(1, n):
        ideal = len(text) * cum[k] / cum[-1]
        if lo >= len(cands):
            cuts.append(cuts[-1] if cuts else len(text))
            continue
        hi = max(lo, len(cands) - (n - k))
        j = bisect.bisect_left(cands, ideal, lo, hi + 1)
        best = min((c for c in (j - 1, j) if lo <= c <= hi), key=lambda c: abs(cands[c] - ideal))
        if by_char:
            best = _prefer_soft_boundary(text, cands, best, lo, hi)
        cuts.append(cands[best])
        lo = best + 1
    bounds = [0, *cuts, len(text)]
    return [text[a:b].strip() for a, b in itertools.pairwise(bounds)]


def _cut_candidates(text: str, by_char: bool) -> list[int]:
    """Where a piece may start: at each word but the first, or (``by_char``) before any character
    that may open a line and does not continue a Latin word or number."""
    if not by_char:
        return [m.start() for m in re.finditer(r"\S+", text)][1:]
    return [
        i
        for i in range(1, len(text))
        if text[i] not in _NO_LINE_START
        and not text[i].isspace()
        and not (text[i - 1].isascii() and text[i - 1].isalnum() and text[i].isascii() and text[i].isalnum())
    ]


def _prefer_soft_boundary(text: str, cands: list[int], best: int, lo: int, hi: int) -> int:
    for delta in (0, 1, -1, 2, -2, 3, -3):
        c = best + delta
        if lo <= c <= hi and (text[cands[c] - 1].isspace() or text[cands[c] - 1] in _NO_LINE_START):
            return c
    return best


# --- requests -----------------------------------------------------------------------------------


def request_batches(texts: Sequence[str], *, fixed_bytes: int = 0) -> Iterator[list[int]]:
    """Indices of ``texts`` in groups DeepL accepts in one request: at most
    :data:`MAX_TEXTS_PER_REQUEST` texts and :data:`MAX_REQUEST_BYTES` of body, less
    ``fixed_bytes`` (e.g. the JSON of ``context``). A text too big alone gets a batch alone."""
    budget = MAX_REQUEST_BYTES - REQUEST_OVERHEAD - fixed_bytes
    batch: list[int] = []
    size = 0
    for i, text in enumerate(texts):
        cost = json_bytes(text) + 2
        if batch and (len(batch) >= MAX_TEXTS_PER_REQUEST or size + cost > budget):
            yield batch
            batch, size = [], 0
        batch.append(i)
        size += cost
    if batch:
        yield batch


def json_bytes(text: str) -> int:
    """Bytes ``text`` takes in a request body: requests encodes JSON with ``ensure_ascii``."""
    return len(json.dumps(text))


def drop_added_period(source: str, translated: str) -> str:
    """DeepL ends a line with a period its source lacked (a cut-off sentence): take it off.

    An ellipsis ("..") is kept, and so is a period the source line had (".", "…", "。").
    """
    src, out = source.rstrip(), translated.rstrip()
    for stop in (".", "。"):
        if out.endswith(stop) and not out.endswith(stop * 2) and not src.endswith((".", "…", "。")):
            return out[: -len(stop)]
    return translated

"""What srt and vtt files show: cues as timed text, in the ``whisper`` CLI's layout or by the
reading rules of a :class:`~audiototext.style.SubtitleStyle` (cut once per transcript and kept
for every format that needs them), and times written through whole milliseconds. Pure stdlib.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterator

from ..cues import Cue, make_cues
from ..style import NETFLIX, CueReport, SubtitleStyle, measure
from ..transcript import Segment, Transcript, Word

# whisper's iterate_result uses these when max_line_width / max_words_per_line are unset.
_UNLIMITED_WIDTH = 1000
_UNLIMITED_WORDS = 1000
# Without preserved segments, a gap longer than this between words starts a new subtitle.
_LONG_PAUSE_S = 3.0

Timed = tuple[str, str, str]  # formatted start, formatted end, text


def format_timestamp(seconds: float, always_include_hours: bool = False, decimal_marker: str = ".") -> str:
    """Format seconds as ``[HH:]MM:SS.mmm``, rounding once to whole milliseconds.

    Rounding the total before splitting it into fields is what keeps 59.9996 s from
    becoming "00:00:60.000" (whisper's ``format_timestamp`` does the same).

    Args:
        seconds: a time, not negative.
        always_include_hours: write the hours field even when it is zero (srt).
        decimal_marker: "." (vtt) or "," (srt).

    Raises:
        ValueError: ``seconds`` is negative.
    """
    if seconds < 0:
        raise ValueError(f"non-negative timestamp expected, got {seconds!r}")
    milliseconds = round(seconds * 1000.0)
    hours, milliseconds = divmod(milliseconds, 3_600_000)
    minutes, milliseconds = divmod(milliseconds, 60_000)
    secs, milliseconds = divmod(milliseconds, 1_000)
    hours_field = f"{hours:02d}:" if always_include_hours or hours > 0 else ""
    return f"{hours_field}{minutes:02d}:{secs:02d}{decimal_marker}{milliseconds:03d}"


def has_words(transcript: Transcript) -> bool:
    # whisper switches to word timing when the result's segments carry a "words" list. A real
    # word-timestamp run gives every segment that key (some lists empty); our model keeps only
    # non-empty tuples, so any segment with words means word timestamps were on.
    return any(segment.words for segment in transcript.segments)


def _group_words(segments: tuple[Segment, ...], options: SubtitleStyle) -> list[list[Word]]:
    """Split the words into subtitles, breaking lines with "\\n" inside a word's text.

    Mirrors ``SubtitlesWriter.iterate_result`` in whisper/utils.py, rule for rule.
    """
    max_count = options.max_line_count
    keep_segments = max_count is None or options.max_line_width is None
    max_width = options.max_line_width or _UNLIMITED_WIDTH
    chunk_size = options.max_words_per_line or _UNLIMITED_WORDS

    subtitles: list[list[Word]] = []
    subtitle: list[Word] = []
    line_len = 0
    line_count = 1
    last_start = next((w.start for s in segments for w in s.words), 0.0)
    for segment in segments:
        words = segment.words
        for chunk_start in range(0, len(words), chunk_size):
            # Each chunk of max_words_per_line words starts a new subtitle, as a segment does.
            for i, word in enumerate(words[chunk_start : chunk_start + chunk_size]):
                text = word.word
                long_pause = not keep_segments and word.start - last_start > _LONG_PAUSE_S
                has_room = line_len + len(text) <= max_width
                new_chunk = i == 0 and bool(subtitle) and keep_segments
                if line_len > 0 and has_room and not long_pause and not new_chunk:
                    line_len += len(text)
                else:
                    text = text.strip()
                    full = max_count is not None and (long_pause or line_count >= max_count)
                    if new_chunk or (subtitle and full):
                        subtitles.append(subtitle)
                        subtitle = []
                        line_count = 1
                    elif line_len > 0:
                        line_count += 1
                        text = "\n" + text
                    line_len = len(text.strip())
                subtitle.append(dataclasses.replace(word, word=text))
                last_start = word.start
    if subtitle:
        subtitles.append(subtitle)
    return subtitles


def _underline(text: str) -> str:
    # Same pattern as whisper: leading whitespace (a line break) stays outside the tag.
    return re.sub(r"^(\s*)(.*)$", r"\1<u>\2</u>", text)


def _highlighted(words: list[Word], texts: list[str], stamp: Callable[[float], str]) -> Iterator[Timed]:
    """One cue per word with that word underlined, and the cue's text in the gaps between words
    (whisper's ``--highlight_words``)."""
    start = stamp(words[0].start)
    text = "".join(texts)
    last = start
    for i, word in enumerate(words):
        word_start, word_end = stamp(word.start), stamp(word.end)
        if last != word_start:
            yield last, word_start, text
        yield word_start, word_end, "".join(_underline(t) if j == i else t for j, t in enumerate(texts))
        last = word_end


def _word_cues(transcript: Transcript, options: SubtitleStyle, stamp: Callable[[float], str]) -> Iterator[Timed]:
    for subtitle in _group_words(transcript.segments, options):
        texts = [word.word for word in subtitle]
        if options.highlight_words:
            yield from _highlighted(subtitle, texts, stamp)
        else:
            yield stamp(subtitle[0].start), stamp(subtitle[-1].end), "".join(texts)


def whisper_cues(transcript: Transcript, options: SubtitleStyle, stamp: Callable[[float], str]) -> Iterator[Timed]:
    if has_words(transcript):
        yield from _word_cues(transcript, options, stamp)
        return
    for segment in transcript.segments:
        # "-->" would end the cue's timing line early (whisper does this for segments only).
        yield stamp(segment.start), stamp(segment.end), segment.text.strip().replace("-->", "->")


def _line_texts(cue: Cue) -> list[str]:
    """The cue's words as they are shown: each word's text, a line break where a line starts."""
    texts, line, used = [], 0, ""
    for w in cue.words:
        piece = w.word
        if not used and line < len(cue.lines):
            piece = ("\n" if line else "") + piece.strip()
        used += w.word.strip() if not used else w.word
        texts.append(piece)
        if line < len(cue.lines) and len(used.strip()) >= len(cue.lines[line]):
            line, used = line + 1, ""
    return texts


def styled_cues(cues: list[Cue], style: SubtitleStyle, stamp: Callable[[float], str]) -> Iterator[Timed]:
    for cue in cues:
        if style.highlight_words and cue.words:
            yield from _highlighted(list(cue.words), _line_texts(cue), stamp)
        else:
            yield stamp(cue.start), stamp(cue.end), cue.text.replace("-->", "->")


class _Cues:
    """The cues of the transcripts being written, each cut once whatever the formats (a few are
    kept: srt, vtt and json of one transcript, then its translation)."""

    def __init__(self, size: int = 4):
        self.size = size
        self.kept: list[tuple[Transcript, SubtitleStyle, Transcript | None, list[Cue]]] = []
        self.lock = threading.Lock()

    def __call__(self, transcript: Transcript, style: SubtitleStyle, reference: Transcript | None) -> list[Cue]:
        with self.lock:
            for t, s, r, cues in self.kept:
                if t is transcript and s == style and r is reference:
                    return cues
        cues = make_cues(transcript, style, reference=reference)
        with self.lock:
            self.kept = [*self.kept[-(self.size - 1) :], (transcript, style, reference, cues)]
        return cues


_cut = _Cues()


def subtitle_cues(
    transcript: Transcript, style: SubtitleStyle = NETFLIX, *, reference: Transcript | None = None
) -> list[Cue]:
    """The srt/vtt cues of ``transcript`` in ``style`` (reading rules; the whisper preset: segments).

    ``reference``: for a translation, the source transcript, whose word times time the text.
    """
    if style.is_whisper:
        return [Cue(s.start, s.end, (s.text.strip(),), s.words) for s in transcript.segments]
    return _cut(transcript, style, reference)


def subtitle_report(
    transcript: Transcript, style: SubtitleStyle = NETFLIX, *, reference: Transcript | None = None
) -> CueReport | None:
    """How the srt/vtt cues of ``transcript`` measure against the reading rules (None for the
    whisper preset, which makes no such promise)."""
    if style.is_whisper:
        return None
    return measure(subtitle_cues(transcript, style, reference=reference), style, transcript.text_language)


__all__ = ["Timed", "format_timestamp", "has_words", "whisper_cues", "styled_cues", "subtitle_cues", "subtitle_report"]

"""Subtitle and transcript writers (txt, vtt, srt, tsv, json) and output file naming.

The output is byte-identical to openai-whisper's ``whisper.utils`` writers (``WriteTXT``,
``WriteVTT``, ``WriteSRT``, ``WriteTSV``, ``WriteJSON``) given ``transcript.to_dict()``, but this
module is pure stdlib: importing ``whisper.utils`` would import torch, and writing subtitles must
not need it (see ../shared/STYLE.md, conventions 4 and 12).

Writers write to a text stream; :func:`write_files` is the one place that handles paths.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from audiototext.errors import AudioToTextError, OptionsError
from audiototext.files import atomic_path
from audiototext.transcript import Segment, Transcript, Word

__all__ = [
    "FORMATS",
    "OUTPUT_PRESETS",
    "OutputError",
    "WriterOptions",
    "format_timestamp",
    "output_path",
    "parse_formats",
    "write",
    "write_files",
]

logger = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("txt", "vtt", "srt", "tsv", "json")

# The notebook's "output formats" dropdown, default first.
OUTPUT_PRESETS: tuple[str, ...] = (
    "txt,vtt,srt",
    "txt,vtt,srt,tsv,json",
    "all",
    "txt",
    "vtt",
    "srt",
    "tsv",
    "json",
    "txt,vtt",
    "txt,srt",
    "vtt,srt",
)

# whisper's iterate_result uses these when max_line_width / max_words_per_line are unset.
_UNLIMITED_WIDTH = 1000
_UNLIMITED_WORDS = 1000
# Without preserved segments, a gap longer than this between words starts a new subtitle.
_LONG_PAUSE_S = 3.0


class OutputError(AudioToTextError):
    """The output folder refused a file (read-only, full, not a folder, no permission).

    Attributes (when known): ``path`` the file or folder, ``reason`` the system's words.
    """


def parse_formats(value: str | Iterable[str]) -> tuple[str, ...]:
    """Turn a format choice into the formats to write.

    Args:
        value: a comma-separated list ("txt, SRT"), "all", or an iterable of such items.

    Returns:
        The formats, lowercased, without duplicates, in the order given ("all" expands to
        :data:`FORMATS` in place).

    Raises:
        OptionsError: an item is not a known format, or nothing was chosen.
    """
    items = [value] if isinstance(value, str) else list(value)
    formats: list[str] = []
    for item in items:
        for name in str(item).split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name == "all":
                chosen = FORMATS
            elif name in FORMATS:
                chosen = (name,)
            else:
                raise OptionsError(
                    f"Unknown output format {name!r}: choose from {', '.join(FORMATS)} or 'all'",
                    value=name,
                    valid=FORMATS,
                )
            formats.extend(f for f in chosen if f not in formats)
    if not formats:
        raise OptionsError(
            f"No output format given in {value!r}: choose from {', '.join(FORMATS)} or 'all'",
            value=value,
            valid=FORMATS,
        )
    return tuple(formats)


@dataclass(frozen=True)
class WriterOptions:
    """How srt and vtt lines are cut; whisper's ``--max_line_width`` and friends.

    All of these need word timestamps: on a transcript without words they have no effect
    (whisper's CLI refuses them; :func:`write` logs a warning). txt, tsv and json ignore them.

    Attributes:
        max_line_width: characters in a line before it is broken.
        max_line_count: lines in one subtitle; needs ``max_line_width``.
        highlight_words: underline each word (``<u>``) while it is spoken.
        max_words_per_line: words in one subtitle; with both ``max_line_width`` and
            ``max_line_count`` set it has no effect.
    """

    max_line_width: int | None = None
    max_line_count: int | None = None
    highlight_words: bool = False
    max_words_per_line: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_line_width", "max_line_count", "max_words_per_line"):
            number = getattr(self, name)
            # whisper reads 0 as "unset" for some of these and as a limit for others; refuse it.
            if number is not None and (isinstance(number, bool) or not isinstance(number, int) or number < 1):
                raise OptionsError(
                    f"{name} must be a whole number of at least 1 or None, not {number!r}", option=name, value=number
                )
        if not isinstance(self.highlight_words, bool):
            raise OptionsError(
                f"highlight_words must be True or False, not {self.highlight_words!r}",
                option="highlight_words",
                value=self.highlight_words,
            )
        # The same warnings whisper's CLI gives (whisper/transcribe.py, cli()).
        if self.max_line_count and not self.max_line_width:
            logger.warning("max_line_count has no effect without max_line_width")
        if self.max_words_per_line and self.max_line_width and self.max_line_count:
            logger.warning("max_words_per_line has no effect with both max_line_width and max_line_count")

    @property
    def is_default(self) -> bool:
        """True when no option is set, so every format is written as whisper's defaults."""
        return self == WriterOptions()


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


# --- subtitle cues -----------------------------------------------------------------------------

Cue = tuple[str, str, str]  # formatted start, formatted end, text


def _has_words(transcript: Transcript) -> bool:
    # whisper switches to word timing when the result's segments carry a "words" list. A real
    # word-timestamp run gives every segment that key (some lists empty); our model keeps only
    # non-empty tuples, so any segment with words means word timestamps were on.
    return any(segment.words for segment in transcript.segments)


def _group_words(segments: tuple[Segment, ...], options: WriterOptions) -> list[list[Word]]:
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


def _word_cues(transcript: Transcript, options: WriterOptions, stamp: Callable[[float], str]) -> Iterator[Cue]:
    for subtitle in _group_words(transcript.segments, options):
        start, end = stamp(subtitle[0].start), stamp(subtitle[-1].end)
        texts = [word.word for word in subtitle]
        text = "".join(texts)
        if not options.highlight_words:
            yield start, end, text
            continue
        last = start
        for i, word in enumerate(subtitle):
            word_start, word_end = stamp(word.start), stamp(word.end)
            if last != word_start:
                yield last, word_start, text
            yield word_start, word_end, "".join(_underline(t) if j == i else t for j, t in enumerate(texts))
            last = word_end


def _cues(transcript: Transcript, options: WriterOptions, stamp: Callable[[float], str]) -> Iterator[Cue]:
    if _has_words(transcript):
        yield from _word_cues(transcript, options, stamp)
        return
    for segment in transcript.segments:
        # "-->" would end the cue's timing line early (whisper does this for segments only).
        yield stamp(segment.start), stamp(segment.end), segment.text.strip().replace("-->", "->")


# --- writers -------------------------------------------------------------------------------------


def _write_txt(transcript: Transcript, stream: TextIO, options: WriterOptions) -> None:
    for segment in transcript.segments:
        stream.write(segment.text.strip() + "\n")


def _write_vtt(transcript: Transcript, stream: TextIO, options: WriterOptions) -> None:
    stream.write("WEBVTT\n\n")
    for start, end, text in _cues(transcript, options, format_timestamp):
        stream.write(f"{start} --> {end}\n{text}\n\n")


def _srt_timestamp(seconds: float) -> str:
    return format_timestamp(seconds, always_include_hours=True, decimal_marker=",")


def _write_srt(transcript: Transcript, stream: TextIO, options: WriterOptions) -> None:
    for number, (start, end, text) in enumerate(_cues(transcript, options, _srt_timestamp), 1):
        stream.write(f"{number}\n{start} --> {end}\n{text}\n\n")


def _write_tsv(transcript: Transcript, stream: TextIO, options: WriterOptions) -> None:
    # Integer milliseconds, so no locale can turn the decimal point into a comma.
    stream.write("start\tend\ttext\n")
    for segment in transcript.segments:
        text = segment.text.strip().replace("\t", " ")
        stream.write(f"{round(1000 * segment.start)}\t{round(1000 * segment.end)}\t{text}\n")


def _write_json(transcript: Transcript, stream: TextIO, options: WriterOptions) -> None:
    json.dump(transcript.to_dict(), stream)


Writer = Callable[[Transcript, TextIO, WriterOptions], None]

_WRITERS: dict[str, Writer] = {
    "txt": _write_txt,
    "vtt": _write_vtt,
    "srt": _write_srt,
    "tsv": _write_tsv,
    "json": _write_json,
}


def _writer(fmt: str) -> Writer:
    try:
        return _WRITERS[fmt]
    except KeyError:
        raise OptionsError(
            f"Unknown output format {fmt!r}: choose from {', '.join(FORMATS)}", value=fmt, valid=FORMATS
        ) from None


def _warn_unused_options(transcript: Transcript, options: WriterOptions) -> None:
    if not options.is_default and not _has_words(transcript):
        logger.warning(
            "Subtitle line options (%s) need word timestamps; this transcript has none, so they have no effect", options
        )


def write(transcript: Transcript, fmt: str, stream: TextIO, options: WriterOptions = WriterOptions()) -> None:
    """Write ``transcript`` in one format to a text stream.

    Args:
        transcript: what to write.
        fmt: one of :data:`FORMATS`.
        stream: an open text stream; it is not closed.
        options: line cutting for srt and vtt.

    Raises:
        OptionsError: ``fmt`` is not a known format.
    """
    writer = _writer(fmt)
    if fmt in ("vtt", "srt"):
        _warn_unused_options(transcript, options)
    writer(transcript, stream, options)


def output_path(output_dir: Path, stem: str, fmt: str, suffix: str = "") -> Path:
    """The file a format is written to: ``<output_dir>/<stem><suffix>.<fmt>``.

    Args:
        output_dir: folder of the outputs.
        stem: the input's name without extension ("mi charla (versión 2)").
        fmt: one of :data:`FORMATS`.
        suffix: added to the stem, e.g. "_English (British)" for a translation.

    Raises:
        OptionsError: ``fmt`` is unknown, or ``stem + suffix`` is empty or not a plain file name.
    """
    _writer(fmt)
    name = f"{stem}{suffix}"
    if not name or name in (".", "..") or Path(name).name != name:
        raise OptionsError(f"Output name {name!r} must be a plain file name without folders", value=name)
    return Path(output_dir) / f"{name}.{fmt}"


def write_files(
    transcript: Transcript,
    output_dir: Path,
    stem: str,
    formats: str | Iterable[str],
    options: WriterOptions = WriterOptions(),
    *,
    suffix: str = "",
) -> list[Path]:
    """Write ``transcript`` in each format to ``<output_dir>/<stem><suffix>.<fmt>``.

    The folder is created if missing. Each file is UTF-8, opened as whisper's ``ResultWriter``
    opens it (``open(path, "w", encoding="utf-8")``), and written to a temporary file that
    replaces the target only when complete, so a crash never leaves half a file.

    Args:
        transcript: what to write.
        output_dir: folder of the outputs.
        stem: the input's name without extension.
        formats: anything :func:`parse_formats` accepts ("txt,srt", "all", ["vtt"]).
        options: line cutting for srt and vtt.
        suffix: added to the stem, e.g. "_English (British)".

    Returns:
        The paths written, in the order of ``formats``.

    Raises:
        OptionsError: an unknown format or a bad stem.
        OutputError: the folder cannot be created or a file cannot be written (read-only, full);
            no half-written file is left behind.
    """
    chosen = parse_formats(formats)
    targets = [output_path(Path(output_dir), stem, fmt, suffix) for fmt in chosen]
    if any(fmt in ("vtt", "srt") for fmt in chosen):
        _warn_unused_options(transcript, options)
    target = Path(output_dir)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for fmt, target in zip(chosen, targets):
            _write_atomically(target, functools.partial(_WRITERS[fmt], transcript, options=options))
            logger.debug("Wrote %s", target)
    except OSError as e:
        reason = e.strerror or str(e)
        raise OutputError(
            f"{target}: cannot be written ({reason}); choose another output folder or free some space",
            path=str(target),
            reason=reason,
        ) from e
    return targets


def _write_atomically(target: Path, write_to: Callable[[TextIO], None]) -> None:
    # Mode "x" (not mkstemp) gives the file the usual permissions, as whisper's open() would.
    with atomic_path(target) as temporary, open(temporary, "x", encoding="utf-8") as stream:
        write_to(stream)

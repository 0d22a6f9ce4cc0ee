"""Subtitle and transcript writers (txt, vtt, srt, tsv, json) and output file naming.

srt and vtt cues follow the :class:`~audiototext.style.SubtitleStyle`: by default the reading
rules (:mod:`audiototext.cues` cuts them from the words); with the ``whisper`` preset the output is
byte-identical to openai-whisper's ``whisper.utils`` writers (``WriteTXT``, ``WriteVTT``,
``WriteSRT``, ``WriteTSV``, ``WriteJSON``) given ``transcript.to_dict()``. txt, tsv and json keep
the transcript's sentence segments in every style. This module is pure stdlib: importing
``whisper.utils`` would import torch, and writing subtitles must not need it (../shared/STYLE.md,
conventions 4 and 12).

Writers write to a text stream; :func:`write_files` is the one place that handles paths.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from audiototext.errors import AudioToTextError, OptionsError
from audiototext.files import atomic_path
from audiototext.layout import Timed, has_words, styled_cues, subtitle_cues, subtitle_report, whisper_cues
from audiototext.style import NETFLIX, SubtitleStyle
from audiototext.transcript import Transcript

__all__ = [
    "FORMATS",
    "OUTPUT_PRESETS",
    "SUBTITLE_FORMATS",
    "OutputError",
    "format_timestamp",
    "output_path",
    "parse_formats",
    "subtitle_cues",
    "subtitle_report",
    "write",
    "write_files",
]

logger = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("txt", "vtt", "srt", "tsv", "json")
#: The formats made of cues (the others keep the transcript's segments).
SUBTITLE_FORMATS: tuple[str, ...] = ("vtt", "srt")

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


# --- writers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """What the writers of one transcript share."""

    transcript: Transcript
    style: SubtitleStyle = NETFLIX
    reference: Transcript | None = None

    def cues(self, stamp: Callable[[float], str]) -> Iterator[Timed]:
        if self.style.is_whisper:
            return whisper_cues(self.transcript, self.style, stamp)
        return styled_cues(subtitle_cues(self.transcript, self.style, reference=self.reference), self.style, stamp)


def _write_txt(job: _Job, stream: TextIO) -> None:
    for segment in job.transcript.segments:
        stream.write(segment.text.strip() + "\n")


def _write_vtt(job: _Job, stream: TextIO) -> None:
    stream.write("WEBVTT\n\n")
    for start, end, text in job.cues(format_timestamp):
        stream.write(f"{start} --> {end}\n{text}\n\n")


def _srt_timestamp(seconds: float) -> str:
    return format_timestamp(seconds, always_include_hours=True, decimal_marker=",")


def _write_srt(job: _Job, stream: TextIO) -> None:
    for number, (start, end, text) in enumerate(job.cues(_srt_timestamp), 1):
        stream.write(f"{number}\n{start} --> {end}\n{text}\n\n")


def _write_tsv(job: _Job, stream: TextIO) -> None:
    # Integer milliseconds, so no locale can turn the decimal point into a comma.
    stream.write("start\tend\ttext\n")
    for segment in job.transcript.segments:
        text = segment.text.strip().replace("\t", " ")
        stream.write(f"{round(1000 * segment.start)}\t{round(1000 * segment.end)}\t{text}\n")


def _write_json(job: _Job, stream: TextIO) -> None:
    data = job.transcript.to_dict()
    report = subtitle_report(job.transcript, job.style, reference=job.reference)
    if report is not None:
        data["subtitles"] = report.to_dict()
    json.dump(data, stream)


Writer = Callable[[_Job, TextIO], None]

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


def _warn_unused_options(transcript: Transcript, style: SubtitleStyle) -> None:
    line_options = (style.max_line_width, style.max_line_count, style.max_words_per_line, style.highlight_words)
    if style.is_whisper and any(line_options) and not has_words(transcript):
        logger.warning(
            "Subtitle line options (%s) need word timestamps; this transcript has none, so they have no effect", style
        )


def write(
    transcript: Transcript,
    fmt: str,
    stream: TextIO,
    style: SubtitleStyle = NETFLIX,
    *,
    reference: Transcript | None = None,
) -> None:
    """Write ``transcript`` in one format to a text stream.

    Args:
        transcript: what to write.
        fmt: one of :data:`FORMATS`.
        stream: an open text stream; it is not closed.
        style: how srt and vtt cues are made.
        reference: for a translation, its source transcript (its word times time the cues).

    Raises:
        OptionsError: ``fmt`` is not a known format.
    """
    writer = _writer(fmt)
    if fmt in SUBTITLE_FORMATS:
        _warn_unused_options(transcript, style)
    writer(_Job(transcript, style, reference), stream)


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
    style: SubtitleStyle = NETFLIX,
    *,
    suffix: str = "",
    reference: Transcript | None = None,
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
        style: how srt and vtt cues are made.
        suffix: added to the stem, e.g. "_English (British)".
        reference: for a translation, its source transcript (its word times time the cues).

    Returns:
        The paths written, in the order of ``formats``.

    Raises:
        OptionsError: an unknown format or a bad stem.
        OutputError: the folder cannot be created or a file cannot be written (read-only, full);
            no half-written file is left behind.
    """
    chosen = parse_formats(formats)
    targets = [output_path(Path(output_dir), stem, fmt, suffix) for fmt in chosen]
    if any(fmt in SUBTITLE_FORMATS for fmt in chosen):
        _warn_unused_options(transcript, style)
    job = _Job(transcript, style, reference)
    target = Path(output_dir)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for fmt, target in zip(chosen, targets):
            _write_atomically(target, functools.partial(_WRITERS[fmt], job))
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

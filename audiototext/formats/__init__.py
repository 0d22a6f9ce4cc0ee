"""Output formats (txt, vtt, srt, tsv, json): one registry of writer records, one module per format.

Each module of this folder that defines ``FORMAT``, a :class:`Format` record (name, extension,
writer, whether it is made of cues), is registered when the package is imported: adding a format
is adding its module (pysubs2's ``formats/`` is laid out the same way). Code outside the package
registers one with :func:`register`. Every face then offers it, "all" included.

srt and vtt cues follow the :class:`~audiototext.style.SubtitleStyle`: by default the reading
rules (:mod:`audiototext.cues` cuts them from the words); with the ``whisper`` preset the output is
byte-identical to openai-whisper's ``whisper.utils`` writers (``WriteTXT``, ``WriteVTT``,
``WriteSRT``, ``WriteTSV``, ``WriteJSON``) given ``transcript.to_dict()``. txt, tsv and json keep
the transcript's sentence segments in every style. Pure stdlib: importing ``whisper.utils``
would import torch, and writing subtitles must not need it.

Writers write to a text stream; :func:`write_files` is the one place that handles paths.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import pkgutil
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from ..errors import OptionsError, OutputError
from ..files import atomic_paths
from ..style import NETFLIX, SubtitleStyle
from ..transcript import Transcript
from .layout import format_timestamp, has_words, subtitle_cues, subtitle_report
from .registry import Format, Job, Writer, by_extension, get, names, register, unregister

logger = logging.getLogger(__name__)

#: The whisper CLI's formats (its ``--output_format all``), which this package's own modules write:
#: "all" writes them first, in this order, then any format added since; the original AudioToText's
#: command line wrote these five by default.
WHISPER_FORMATS = ("txt", "vtt", "srt", "tsv", "json")
#: The formats a run writes when none are chosen (:class:`audiototext.options.Options`).
DEFAULT_FORMATS = ("txt", "vtt", "srt")


def _register_modules() -> None:
    found = [m.name for m in pkgutil.iter_modules(__path__)]
    first = [n for n in WHISPER_FORMATS if n in found]
    for name in [*first, *sorted(n for n in found if n not in WHISPER_FORMATS)]:
        module = importlib.import_module(f"{__name__}.{name}")
        if isinstance(getattr(module, "FORMAT", None), Format):
            register(module.FORMAT)


_register_modules()

#: The formats of this package, in the order "all" writes them (:func:`names` also has the ones
#: registered since).
FORMATS: tuple[str, ...] = names()
#: The formats made of cues (the others keep the transcript's segments).
SUBTITLE_FORMATS: tuple[str, ...] = tuple(n for n in FORMATS if get(n).cues)

#: The notebook's "output formats" dropdown, default first: the default, the whisper CLI's five, all,
#: each of those alone, pairs of the default's. Another format is typed, or comes with "all" (a new
#: format module leaves the notebook's form as it is).
OUTPUT_PRESETS: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            ",".join(DEFAULT_FORMATS),
            ",".join(WHISPER_FORMATS),
            "all",
            *WHISPER_FORMATS,
            *(",".join(pair) for pair in itertools.combinations(DEFAULT_FORMATS, 2)),
        )
    )
)


def parse_formats(value: str | Iterable[str]) -> tuple[str, ...]:
    """Turn a format choice into the formats to write.

    Args:
        value: a comma-separated list ("txt, SRT"), "all", or an iterable of such items.

    Returns:
        The formats, lowercased, without duplicates, in the order given ("all" expands to every
        registered format in place).

    Raises:
        OptionsError: an item is not a known format, or nothing was chosen.
    """
    items = [value] if isinstance(value, str) else list(value)
    known = names()
    formats: list[str] = []
    for item in items:
        for name in str(item).split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name == "all":
                chosen = known
            elif name in known:
                chosen = (name,)
            else:
                raise OptionsError(
                    f"Unknown output format {name!r}: choose from {', '.join(known)} or 'all'", value=name, valid=known
                )
            formats.extend(f for f in chosen if f not in formats)
    if not formats:
        raise OptionsError(
            f"No output format given in {value!r}: choose from {', '.join(known)} or 'all'", value=value, valid=known
        )
    return tuple(formats)


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
        fmt: a registered format's name (:func:`names`).
        stream: an open text stream; it is not closed.
        style: how srt and vtt cues are made.
        reference: for a translation, its source transcript (its word times time the cues).

    Raises:
        OptionsError: ``fmt`` is not a known format.
    """
    record = get(fmt)
    if record.cues:
        _warn_unused_options(transcript, style)
    record.writer(Job(transcript, style, reference), stream)


def output_path(output_dir: Path, stem: str, fmt: str, suffix: str = "") -> Path:
    """The file a format is written to: ``<output_dir>/<stem><suffix>.<extension>``.

    Args:
        output_dir: folder of the outputs.
        stem: the input's name without extension ("mi charla (versión 2)").
        fmt: a registered format's name.
        suffix: added to the stem, e.g. "_English (British)" for a translation.

    Raises:
        OptionsError: ``fmt`` is unknown, or ``stem + suffix`` is empty or not a plain file name.
    """
    extension = get(fmt).extension
    name = f"{stem}{suffix}"
    if not name or name in (".", "..") or Path(name).name != name:
        raise OptionsError(f"Output name {name!r} must be a plain file name without folders", value=name)
    return Path(output_dir) / f"{name}.{extension}"


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
    """Write ``transcript`` in each format to ``<output_dir>/<stem><suffix>.<extension>``.

    The folder is created if missing. Each file is UTF-8, opened as whisper's ``ResultWriter``
    opens it (``open(path, "w", encoding="utf-8")``), and written to a temporary file; the
    temporaries replace the targets only when every one is complete, so a crash or a folder that
    fills up never leaves half a file, nor some formats new and others old or missing.

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
            none of the files is changed (``written``: those already replaced, in the rare case
            that the folder refused a rename after others succeeded).
    """
    chosen = [get(name) for name in parse_formats(formats)]
    targets = [output_path(Path(output_dir), stem, fmt.name, suffix) for fmt in chosen]
    if any(fmt.cues for fmt in chosen):
        _warn_unused_options(transcript, style)
    job = Job(transcript, style, reference)
    target = Path(output_dir)
    try:
        target.mkdir(parents=True, exist_ok=True)
        with atomic_paths(targets) as temporaries:  # all of them or none: a full folder changes nothing
            for index, fmt in enumerate(chosen):
                target = targets[index]
                # Mode "x" (not mkstemp) gives the file the usual permissions, as whisper's open() would.
                with open(temporaries[index], "x", encoding="utf-8") as stream:
                    fmt.writer(job, stream)
    except OSError as e:
        reason = e.strerror or str(e)
        target = getattr(e, "filename2", None) or target  # a rename names its target second
        raise OutputError(
            f"{target}: cannot be written ({reason}); choose another output folder or free some space",
            path=str(target),
            reason=reason,
            written=[str(p) for p in getattr(e, "replaced", ())],
        ) from e
    logger.debug("Wrote %s", ", ".join(map(str, targets)))
    return targets


__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "OUTPUT_PRESETS",
    "WHISPER_FORMATS",
    "SUBTITLE_FORMATS",
    "Format",
    "Job",
    "OutputError",
    "Writer",
    "by_extension",
    "format_timestamp",
    "get",
    "names",
    "output_path",
    "parse_formats",
    "register",
    "subtitle_cues",
    "subtitle_report",
    "unregister",
    "write",
    "write_files",
]

"""The writers under their earlier name: everything here comes from :mod:`audiototext.formats`,
where each output format is one module registered in one registry."""

from __future__ import annotations

from .errors import OutputError
from .formats import (
    FORMATS,
    OUTPUT_PRESETS,
    SUBTITLE_FORMATS,
    format_timestamp,
    output_path,
    parse_formats,
    subtitle_cues,
    subtitle_report,
    write,
    write_files,
)

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

"""SubRip subtitles: numbered cues, times as ``HH:MM:SS,mmm`` (whisper's ``WriteSRT`` in its style)."""

from __future__ import annotations

from typing import TextIO

from .layout import format_timestamp
from .registry import Format, Job


def srt_timestamp(seconds: float) -> str:
    return format_timestamp(seconds, always_include_hours=True, decimal_marker=",")


def write_srt(job: Job, stream: TextIO) -> None:
    for number, (start, end, text) in enumerate(job.cues(srt_timestamp), 1):
        stream.write(f"{number}\n{start} --> {end}\n{text}\n\n")


FORMAT = Format("srt", "srt", write_srt, cues=True, media_type="application/x-subrip; charset=utf-8")

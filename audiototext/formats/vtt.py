"""WebVTT subtitles: the cues, times as ``MM:SS.mmm`` (whisper's ``WriteVTT`` in its style)."""

from __future__ import annotations

from typing import TextIO

from .layout import format_timestamp
from .registry import Format, Job


def write_vtt(job: Job, stream: TextIO) -> None:
    stream.write("WEBVTT\n\n")
    for start, end, text in job.cues(format_timestamp):
        stream.write(f"{start} --> {end}\n{text}\n\n")


FORMAT = Format("vtt", "vtt", write_vtt, cues=True, media_type="text/vtt; charset=utf-8")

"""Plain text: each segment's text on a line (whisper's ``WriteTXT``)."""

from __future__ import annotations

from typing import TextIO

from .registry import Format, Job


def write_txt(job: Job, stream: TextIO) -> None:
    for segment in job.transcript.segments:
        stream.write(segment.text.strip() + "\n")


FORMAT = Format("txt", "txt", write_txt)

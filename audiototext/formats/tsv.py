"""Tab-separated segments: start and end in integer milliseconds, then the text (whisper's ``WriteTSV``)."""

from __future__ import annotations

from typing import TextIO

from .registry import Format, Job


def write_tsv(job: Job, stream: TextIO) -> None:
    # Integer milliseconds, so no locale can turn the decimal point into a comma.
    stream.write("start\tend\ttext\n")
    for segment in job.transcript.segments:
        text = segment.text.strip().replace("\t", " ")
        stream.write(f"{round(1000 * segment.start)}\t{round(1000 * segment.end)}\t{text}\n")


FORMAT = Format("tsv", "tsv", write_tsv, media_type="text/tab-separated-values; charset=utf-8")

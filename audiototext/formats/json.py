"""The whole transcript as JSON (whisper's ``WriteJSON``), with how its subtitle cues measure
against the reading rules under ``"subtitles"`` (not with the whisper style)."""

from __future__ import annotations

import json
from typing import TextIO

from .layout import subtitle_report
from .registry import Format, Job


def write_json(job: Job, stream: TextIO) -> None:
    data = job.transcript.to_dict()
    report = subtitle_report(job.transcript, job.style, reference=job.reference)
    if report is not None:
        data["subtitles"] = report.to_dict()
    json.dump(data, stream)


FORMAT = Format("json", "json", write_json, media_type="application/json")

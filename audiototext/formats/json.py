"""The whole transcript as JSON (whisper's ``WriteJSON``), with how its subtitle cues measure
against the reading rules under ``"subtitles"`` (not with the whisper style), and for a DeepL
translation its source's segments under ``"reference"``: their word times time the translated
cues, so formats written later from the file alone are the ones the run wrote."""

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
    if job.reference is not None:
        source = job.reference.to_dict()
        data["reference"] = {key: source[key] for key in ("language", "segments")}
    json.dump(data, stream)


FORMAT = Format("json", "json", write_json, media_type="application/json")

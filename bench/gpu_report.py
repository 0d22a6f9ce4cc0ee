"""The GPU check's rows: one measurement each, printed as it comes and kept as JSON (``gpu.py``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Row:
    """One measurement. ``wall_s`` None: it did not run (``error`` says why)."""

    section: str
    engine: str
    model: str
    batch: int | None = None
    audio_s: float = 0.0
    wall_s: float | None = None
    peak_gpu_mib: float | None = None
    wer: float | None = None
    note: str = ""
    error: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def x_realtime(self) -> float | None:
        return self.audio_s / self.wall_s if self.wall_s else None

    def as_json(self) -> dict:
        return {**asdict(self), "x_realtime": self.x_realtime}


class Report:
    """Rows as they come: a line each on stdout, and the JSON file rewritten (a timeout keeps what ran)."""

    def __init__(self, out: Path, env: dict):
        self.out, self.env, self.rows = out, env, []

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        if row.error:
            print(f"  [{row.section}] {row.engine} {row.model}: FAILED: {row.error}", flush=True)
        else:
            rt = f"{row.x_realtime:,.0f}x realtime" if row.x_realtime else "-"
            wall = "-" if row.wall_s is None else f"{row.wall_s:.2f}"
            print(
                f"  [{row.section}] {row.engine} {row.model} batch {row.batch or '-'}: {wall} s for "
                f"{row.audio_s:.0f} s ({rt}), peak GPU {num(row.peak_gpu_mib)} MiB"
                f"{'' if row.wer is None else f', WER {row.wer:.2f} %'}{'; ' + row.note if row.note else ''}",
                flush=True,
            )
        self.save()
        return row

    def failed(self, section: str, engine: str, model: str, error: BaseException | str, **kw) -> Row:
        text = error if isinstance(error, str) else f"{type(error).__name__}: {first_line(error)}"
        return self.add(Row(section, engine, model, error=text, **kw))

    def save(self) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.out.write_text(json.dumps({"env": self.env, "rows": [r.as_json() for r in self.rows]}, indent=1))

    def table(self) -> str:
        lines = [
            "| section | engine | model | batch | audio (s) | wall (s) | x realtime | peak GPU (MiB) | WER % | note |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in self.rows:
            rt = f"{r.x_realtime:,.0f}" if r.x_realtime else "-"
            wall = f"{r.wall_s:.2f}" if r.wall_s is not None else "-"
            note = f"**failed**: {r.error}" if r.error else r.note
            lines.append(
                f"| {r.section} | {r.engine} | {r.model} | {r.batch or '-'} | {r.audio_s:.0f} | {wall} "
                f"| {rt} | {num(r.peak_gpu_mib)} | {'-' if r.wer is None else f'{r.wer:.2f}'} | {note} |"
            )
        return "\n".join(lines)


def num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:300]


def tail(text: str) -> str:
    """The last non-empty line of a process's output."""
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def split(text: str) -> list[str]:
    """A comma list's items."""
    return [x.strip() for x in text.split(",") if x.strip()]

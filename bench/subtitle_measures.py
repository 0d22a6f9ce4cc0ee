"""How a subtitle file measures against the reading rules and the true speech times: pure functions.

An srt is read into :class:`Cue` records (times in integer milliseconds, as the file has them; lines
as displayed: ``<u>``/``<i>``/``{\\an8}`` tags removed). Then, per cue, the reading rules
(Netflix's numbers):

* ``lines``: at most 2 lines;
* ``width``: at most 42 characters per line (13 for Japanese, 16 for Chinese);
* ``cps``: at most 20 characters per second: all characters of the cue, its lines joined by one
  space, over its duration;
* ``duration``: from 833 ms to 7,000 ms;
* ``gap``: at least 83 ms (2 frames at 24 fps) before the next cue starts (the last cue passes);
* ``pause``: no pause of the recording longer than 1 s lies entirely inside the cue.

And against the speech (spans and onsets from ``subtitle_data``):

* start error: for each speech onset, the first cue that starts at or after (onset - 1 s) and
  before (next onset - 1 s); ``|cue start - onset|`` (median, p90) and the signed median; onsets
  no cue starts for are counted as missed. The window ends 1 s before the next onset, not at it, so
  that a cue a few ms early for the next onset is that onset's: otherwise, where a runner joins two
  sentences into one cue, the next sentence's cue is claimed by the joined one's onset and every
  later onset takes its successor's cue (measured: errors of 2-8 s on fw-vad-words);
* coverage: the share of speech time with some cue on screen;
* shown in silence: cue time in a silence more than 1 s after the speech stopped (the linger the
  rules allow is 1 s), plus the time of cues that appear inside a silence, before the speech
  resumes (cues that come early), in seconds over the whole recording.

Nothing here imports the package: the yardstick must not share the code it measures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_LINES = 2
MAX_WIDTH = 42
WIDTHS = {"ja": 13, "zh": 16}
MAX_CPS = 20
MIN_MS, MAX_MS = 833, 7000
MIN_GAP_MS = 83
LINGER_S = 1.0
EARLY_S = 1.0
PAUSE_S = 1.0
RULES = ("lines", "width", "cps", "duration", "gap", "pause")

_STAMP = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d{3})\s*-->\s*(\d+):(\d\d):(\d\d)[,.](\d{3})")
_TAGS = re.compile(r"<[^>]*>|\{\\[^}]*\}")

Span = tuple[float, float]


@dataclass(frozen=True)
class Cue:
    """One subtitle cue: its number in the file, times in ms, its lines as displayed."""

    number: int
    start_ms: int
    end_ms: int
    lines: tuple[str, ...]

    @property
    def start(self) -> float:
        return self.start_ms / 1000

    @property
    def end(self) -> float:
        return self.end_ms / 1000

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def parse_srt(text: str) -> list[Cue]:
    """The cues of an srt file, in the file's order."""
    cues = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        rows = block.split("\n")
        at = next((i for i, row in enumerate(rows) if _STAMP.search(row)), None)
        if at is None:
            continue
        h, m, s, ms, h2, m2, s2, ms2 = map(int, _STAMP.search(rows[at]).groups())
        lines = tuple(line for line in (_TAGS.sub("", row).strip() for row in rows[at + 1 :]) if line)
        number = int(rows[at - 1]) if at and rows[at - 1].strip().isdigit() else len(cues) + 1
        cues.append(Cue(number, ((h * 60 + m) * 60 + s) * 1000 + ms, ((h2 * 60 + m2) * 60 + s2) * 1000 + ms2, lines))
    return cues


def width_for(language: str) -> int:
    return WIDTHS.get(language.split("-")[0].lower(), MAX_WIDTH)


def rule_checks(cues: Sequence[Cue], pauses: Sequence[Span], width: int = MAX_WIDTH) -> list[dict[str, bool]]:
    """Per cue, whether it keeps each rule of :data:`RULES` (``pauses``: the silences over 1 s)."""
    out = []
    for i, cue in enumerate(cues):
        duration = cue.end_ms - cue.start_ms
        gap = cues[i + 1].start_ms - cue.end_ms if i + 1 < len(cues) else MIN_GAP_MS
        out.append(
            dict(
                lines=len(cue.lines) <= MAX_LINES,
                width=all(len(line) <= width for line in cue.lines),
                cps=duration > 0 and len(cue.text) * 1000 <= MAX_CPS * duration,
                duration=MIN_MS <= duration <= MAX_MS,
                gap=gap >= MIN_GAP_MS,
                pause=not any(cue.start <= p and q <= cue.end for p, q in pauses if q - p > PAUSE_S),
            )
        )
    return out


def rule_shares(checks: Sequence[dict[str, bool]]) -> dict[str, float | None]:
    """Share (0-1) of cues within each rule, within ``lines+width`` (``2x42``) and within all."""
    n = len(checks)
    shares = {rule: sum(c[rule] for c in checks) / n if n else None for rule in RULES}
    shares["2x42"] = sum(c["lines"] and c["width"] for c in checks) / n if n else None
    shares["all"] = sum(all(c.values()) for c in checks) / n if n else None
    return shares


def failures(cues: Sequence[Cue], checks: Sequence[dict[str, bool]], most: int = 5) -> dict[str, list[int]]:
    """The numbers of the first ``most`` cues breaking each rule."""
    return {rule: [c.number for c, k in zip(cues, checks, strict=True) if not k[rule]][:most] for rule in RULES}


def start_errors(cues: Sequence[Cue], onsets: Sequence[float]) -> tuple[list[float], int]:
    """(signed ``cue start - onset`` in seconds per matched onset, onsets no cue starts for)."""
    starts = sorted(c.start for c in cues)
    errors, missed = [], 0
    for i, onset in enumerate(onsets):
        before = onsets[i + 1] - EARLY_S if i + 1 < len(onsets) else float("inf")
        found = next((s for s in starts if onset - EARLY_S <= s < before), None)
        if found is None:
            missed += 1
        else:
            errors.append(found - onset)
    return errors, missed


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), ``q`` in 0-100."""
    if not values:
        return None
    ordered = sorted(values)
    at = (len(ordered) - 1) * q / 100
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def union(spans: Iterable[Span]) -> list[Span]:
    out: list[list[float]] = []
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def overlap(spans: Sequence[Span], others: Sequence[Span]) -> float:
    """Seconds the union of ``spans`` shares with the union of ``others``."""
    a, b, i, j, total = union(spans), union(others), 0, 0, 0.0
    while i < len(a) and j < len(b):
        total += max(0.0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def coverage(cues: Sequence[Cue], speech: Sequence[Span]) -> float | None:
    """Share (0-1) of the speech time with a cue on screen."""
    total = sum(b - a for a, b in speech)
    return overlap([(c.start, c.end) for c in cues], speech) / total if total else None


def shown_in_silence(cues: Sequence[Cue], silences: Sequence[Span]) -> float:
    """Seconds of cue time in silence beyond the 1 s linger, early cues' silent time included."""
    excess = []
    for p, q in silences:
        for cue in cues:
            if cue.end <= p or cue.start >= q:
                continue
            # a cue on screen when the speech stopped may linger 1 s; one that appears in the silence came early
            low = p + LINGER_S if cue.start < p else cue.start
            excess.append((max(low, p), min(cue.end, q)))
    return sum(b - a for a, b in union(excess))


def measure(cues: Sequence[Cue], speech, language: str) -> dict:
    """Every measure of one subtitle file; ``speech`` has ``speech``, ``onsets``, ``pauses``, ``silences``."""
    checks = rule_checks(cues, speech.pauses, width_for(language))
    errors, missed = start_errors(cues, speech.onsets)
    absolute = [abs(e) for e in errors]
    ms = lambda v: None if v is None else round(1000 * v)  # noqa: E731
    return dict(
        cues=len(cues),
        shares=rule_shares(checks),
        failing=failures(cues, checks),
        start_median_ms=ms(percentile(absolute, 50)),
        start_p90_ms=ms(percentile(absolute, 90)),
        start_signed_median_ms=ms(percentile(errors, 50)),
        onsets=len(speech.onsets),
        onsets_missed=missed,
        coverage=coverage(cues, speech.speech),
        silence_s=round(shown_in_silence(cues, speech.silences), 2),
        width=width_for(language),
    )


# --- targets ---------------------------------------------------------------------------------------


def target_checks(att: dict | None, translated: dict | None, bound_refs: dict[str, float | None]) -> list[tuple]:
    """The subtitle targets (readable cues, on the speech, nothing dropped) for one file: (label, ok or
    None when not measured, detail) per target.

    ``att`` and ``translated`` are the rows of the package's source and translated subtitles,
    ``bound_refs`` the WERs (percent) of the ``whisper`` CLI and faster-whisper's batched pipeline.
    """

    def share(row, key, goal):
        value = row["shares"][key] if row else None
        return None if value is None else value >= goal, "–" if value is None else f"{100 * value:.1f} %"

    def at_most(row, key, goal, unit):
        value = row.get(key) if row else None
        return None if value is None else value <= goal, "–" if value is None else f"{value:g} {unit}"

    out = [
        ("source cues within all rules >= 98 %", *share(att, "all", 0.98)),
        ("translated cues within 2x42 >= 98 %", *share(translated, "2x42", 0.98)),
        ("translated cues within all rules >= 90 %", *share(translated, "all", 0.90)),
        ("start error median <= 50 ms", *at_most(att, "start_median_ms", 50, "ms")),
        ("start error p90 <= 150 ms", *at_most(att, "start_p90_ms", 150, "ms")),
    ]
    cover = att.get("coverage") if att else None
    out.append(("speech covered >= 98 %", None if cover is None else cover >= 0.98, _pct(cover)))
    out.append(("shown in silence beyond the linger <= 1 s", *at_most(att, "silence_s", 1.0, "s")))
    refs = [v for v in bound_refs.values() if v is not None]
    wer = att.get("wer") if att else None
    if wer is None or len(refs) < len(bound_refs):
        out.append(("WER <= min(whisper-cli, fw-batched) + 0.5", None, "not measured"))
    else:
        bound = min(refs) + 0.5
        out.append(("WER <= min(whisper-cli, fw-batched) + 0.5", wer <= bound, f"{wer:.2f} % vs {bound:.2f} %"))
    return out


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"

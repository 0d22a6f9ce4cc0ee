"""The subtitle style: how srt and vtt cues are cut and timed, and how a file of cues measures up.

Two presets. ``netflix`` (the default) follows Netflix's Timed Text Style Guide: at most 2 lines
of 42 characters, at most 20 characters per second, cues from 5/6 s to 7 s, 2 frames (83 ms)
between cues, never across a pause of more than 1 s, appearing when the first word is said and
staying up to 1 s into the pause after the last one. ``whisper`` writes the cues the ``whisper``
CLI writes (one per segment, or its ``--max_line_width`` layout), byte for byte.

Languages written without spaces break by characters and have their own line width (Netflix:
13 full-width characters for Japanese, 16 for Chinese and Korean); the reading speed stays the
style's. :func:`measure` checks finished cues against the rules; every run reports it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass

from .errors import OptionsError
from .records import check, declared, value

log = logging.getLogger(__name__)

PRESETS = ("netflix", "whisper")
#: Line widths of languages whose cues Netflix measures in full-width characters.
WIDE_LINE_WIDTHS = {"ja": 13, "zh": 16, "ko": 16}
#: Languages written without spaces between words: lines and cues break between characters.
UNSPACED = ("ja", "zh", "th", "lo", "my", "km", "bo")

#: The rules, in the order reports list them: name -> how a broken one is described.
RULES = {
    "lines": "over {max_line_count} lines",
    "width": "a line over {width} characters",
    "cps": "over {max_cps:g} cps",
    "short": "shorter than {min_cue_duration:.2f} s",
    "long": "longer than {max_cue_duration:g} s",
    "gap": "under {gap_ms} ms before the next cue",
    "pause": "across a pause over {max_pause:g} s",
}


@dataclass(frozen=True)
class SubtitleStyle:
    """How srt and vtt cues are made (txt, tsv and json keep Whisper's sentence segments).

    Attributes:
        preset: "netflix" (reading rules, the default) or "whisper" (the ``whisper`` CLI's cues).
        max_line_width: characters per line (None: no limit; whisper's ``--max_line_width``).
        max_line_count: lines per cue (None: no limit).
        max_cps: reading speed, characters per second over the cue's duration, spaces included.
        min_cue_duration, max_cue_duration: a cue's duration in seconds.
        min_cue_gap: seconds between one cue's end and the next one's start (2 frames at 24 fps).
        linger: seconds a cue may stay into the pause after its last word (reading time).
        max_pause: a cue never spans a pause longer than this.
        highlight_words: underline each word while it is said (one cue per word).
        max_words_per_line: words per cue at most (whisper's ``--max_words_per_line``).
    """

    preset: str = value("netflix", choices=PRESETS)
    max_line_width: int | None = value(42, min=1)
    max_line_count: int | None = value(2, min=1)
    max_cps: float | None = value(20.0, min=0.0, min_open=True)
    min_cue_duration: float = value(5 / 6, min=0.0, max=10.0)
    max_cue_duration: float | None = value(7.0, min=0.5, max=60.0)
    min_cue_gap: float = value(2 / 24, min=0.0, max=2.0)
    linger: float = value(1.0, min=0.0)
    max_pause: float = value(1.0, min=0.0)
    highlight_words: bool = False
    max_words_per_line: int | None = value(None, min=1)

    def __post_init__(self) -> None:
        # whisper reads 0 as "unset" for some of the line options and as a limit for others: at least 1.
        check(self)
        if self.max_cue_duration is not None and self.max_cue_duration < self.min_cue_duration:
            raise OptionsError(
                f"max_cue_duration ({self.max_cue_duration:g} s) must not be under min_cue_duration "
                f"({self.min_cue_duration:g} s)",
                option="max_cue_duration",
            )

        if self.preset == "whisper":  # the warnings whisper's CLI gives (whisper/transcribe.py, cli())
            if self.max_line_count and not self.max_line_width:
                log.warning("max_line_count has no effect without max_line_width")
            if self.max_words_per_line and self.max_line_width and self.max_line_count:
                log.warning("max_words_per_line has no effect with both max_line_width and max_line_count")

    @property
    def is_whisper(self) -> bool:
        return self.preset == "whisper"

    def line_width(self, language: str | None) -> int | None:
        """Characters per line for text in ``language``: the style's, or Netflix's full-width
        number for Japanese, Chinese and Korean when the style keeps the default 42."""
        lang = _base_language(language)
        if self.max_line_width == NETFLIX.max_line_width and lang in WIDE_LINE_WIDTHS:
            return WIDE_LINE_WIDTHS[lang]
        return self.max_line_width


NETFLIX = SubtitleStyle()
#: The ``whisper`` CLI's cues: no reading rules (its own line options still apply).
WHISPER = SubtitleStyle(
    "whisper",
    max_line_width=None,
    max_line_count=None,
    max_cps=None,
    min_cue_duration=0.0,
    max_cue_duration=None,
    min_cue_gap=0.0,
    linger=0.0,
    max_pause=math.inf,
)


def subtitle_style(preset: str = NETFLIX.preset, **fields) -> SubtitleStyle:
    """A preset with some fields changed; a field given as None keeps the preset's value.

    Raises:
        OptionsError: an unknown preset or a bad value.
    """
    preset = declared(SubtitleStyle, "preset").check(preset, "subtitle style", "subtitle_style")
    base = {"netflix": NETFLIX, "whisper": WHISPER}[preset]
    return dataclasses.replace(base, **{k: v for k, v in fields.items() if v is not None})


def _base_language(language: str | None) -> str:
    return (language or "").lower().split("-")[0].split("_")[0]


def is_unspaced(language: str | None) -> bool:
    """True for languages written without spaces between words (Japanese, Chinese, Thai...)."""
    return _base_language(language) in UNSPACED


# --- measuring finished cues -----------------------------------------------------------------------


@dataclass(frozen=True)
class CueReport:
    """How a file's cues measure against the style's rules.

    Attributes:
        cues: how many cues.
        within: how many keep every rule.
        broken: rule name (a key of :data:`RULES`) -> the numbers (1-based) of the cues that break it.
        style: the style measured against.
        language: the text's language (it sets the line width).
    """

    cues: int
    within: int
    broken: dict[str, tuple[int, ...]]
    style: SubtitleStyle = NETFLIX
    language: str | None = None

    @property
    def share(self) -> float:
        """Share of cues within every rule (1.0 for no cues)."""
        return self.within / self.cues if self.cues else 1.0

    def summary(self) -> str:
        """One line: ``212 cues, 99.5 % within the reading rules (1 over 20 cps: cue 87)``."""
        text = f"{self.cues} cue{'s' if self.cues != 1 else ''}, {100 * self.share:.1f} % within the reading rules"
        parts = []
        for rule, numbers in self.broken.items():
            described = rule_text(rule, self.style, self.language)
            shown = ", ".join(map(str, numbers[:5])) + (", …" if len(numbers) > 5 else "")
            parts.append(f"{len(numbers)} {described}: cue{'s' if len(numbers) > 1 else ''} {shown}")
        return text + (f" ({'; '.join(parts)})" if parts else "")

    def to_dict(self) -> dict:
        return {
            "summary": self.summary(),
            "cues": self.cues,
            "within_rules": self.within,
            "share_within_rules": round(self.share, 4),
            "broken": {rule: list(numbers) for rule, numbers in self.broken.items()},
            "style": dataclasses.asdict(self.style),
        }


def rule_text(rule: str, style: SubtitleStyle, language: str | None = None) -> str:
    """How a broken rule reads in a report ("over 20 cps")."""
    values = dataclasses.asdict(style)
    values.update(width=style.line_width(language), gap_ms=round(1000 * style.min_cue_gap))
    return RULES[rule].format(**values)


def cue_chars(lines) -> int:
    """Characters a reader reads in a cue: its lines joined by one space (none between characters
    of an unspaced language would change little), tags and surrounding spaces left out."""
    return len(" ".join(line.strip() for line in lines))


def broken_rules(cue, following, style: SubtitleStyle, language: str | None = None) -> set[str]:
    """The rules ``cue`` breaks (``following``: the next cue, or None). ``cue`` has ``start``,
    ``end``, ``lines`` and ``words`` (the pause rule looks at the gaps between its words)."""
    broken = set()
    duration = cue.end - cue.start
    width = style.line_width(language)
    eps = 5e-4  # the files hold whole milliseconds
    if style.max_line_count is not None and len(cue.lines) > style.max_line_count:
        broken.add("lines")
    if width is not None and any(len(line) > width for line in cue.lines):
        broken.add("width")
    if style.max_cps is not None and cue_chars(cue.lines) > style.max_cps * max(duration, 1e-3) + 1e-6:
        broken.add("cps")
    if duration < style.min_cue_duration - eps:
        broken.add("short")
    if style.max_cue_duration is not None and duration > style.max_cue_duration + eps:
        broken.add("long")
    if following is not None and following.start - cue.end < style.min_cue_gap - eps:
        broken.add("gap")
    words = getattr(cue, "words", ())
    if any(b.start - a.end > style.max_pause + eps for a, b in zip(words, words[1:])):
        broken.add("pause")
    return broken


def measure(cues, style: SubtitleStyle = NETFLIX, language: str | None = None) -> CueReport:
    """Check every cue against ``style``'s rules."""
    broken: dict[str, list[int]] = {}
    within = 0
    for number, cue in enumerate(cues, 1):
        rules = broken_rules(cue, cues[number] if number < len(cues) else None, style, language)
        within += not rules
        for rule in rules:
            broken.setdefault(rule, []).append(number)
    ordered = {rule: tuple(broken[rule]) for rule in RULES if rule in broken}
    return CueReport(len(cues), within, ordered, style, language)


__all__ = [
    "PRESETS",
    "RULES",
    "WIDE_LINE_WIDTHS",
    "UNSPACED",
    "SubtitleStyle",
    "NETFLIX",
    "WHISPER",
    "subtitle_style",
    "is_unspaced",
    "CueReport",
    "rule_text",
    "cue_chars",
    "broken_rules",
    "measure",
]

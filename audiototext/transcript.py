"""The one data model every stage speaks: Segment and Transcript.

No heavy imports here: writers, translation and the service use it without torch.
Time is float seconds everywhere; it is formatted once, through integer milliseconds, in
:mod:`audiototext.subtitles`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Word:
    """One word with its time span, as Whisper's word timestamps give it."""

    start: float
    end: float
    word: str
    probability: float = 1.0

    def shifted(self, offset: float) -> Word:
        return dataclasses.replace(self, start=self.start + offset, end=self.end + offset)


@dataclass(frozen=True)
class Segment:
    """One timed line of text. ``words`` is empty unless word timestamps were asked for."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()

    def shifted(self, offset: float) -> Segment:
        """The same segment moved by ``offset`` seconds: the one place chunk time is re-based."""
        return Segment(
            start=self.start + offset,
            end=self.end + offset,
            text=self.text,
            words=tuple(w.shifted(offset) for w in self.words),
        )

    def clamped(self, lo: float, hi: float) -> Segment:
        """The segment kept within ``[lo, hi]``, its words within its own new span."""
        start = min(max(self.start, lo), hi)
        end = min(max(self.end, start), hi)
        words = tuple(
            dataclasses.replace(w, start=min(max(w.start, start), end), end=min(max(w.end, start), end))
            for w in self.words
        )
        return Segment(start, end, self.text, words)

    def to_dict(self, index: int, *, with_words: bool | None = None) -> dict:
        """The segment as the ``whisper`` CLI's result dict holds it (what its writers read).

        ``with_words`` (default: whether this segment has words) adds the ``words`` list even when
        empty: whisper's writers decide on word timing from the first segment, so a transcript with
        word timestamps must give every segment the key.
        """
        data: dict = {"id": index, "start": self.start, "end": self.end, "text": self.text}
        if self.words if with_words is None else with_words:
            data["words"] = [dataclasses.asdict(w) for w in self.words]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Segment:
        words = tuple(
            Word(float(w["start"]), float(w["end"]), w["word"], float(w.get("probability", 1.0)))
            for w in data.get("words") or ()
        )
        return cls(float(data["start"]), float(data["end"]), data["text"], words)


@dataclass(frozen=True)
class Transcript:
    """What transcribing one input yields.

    Attributes:
        segments: timed lines in time order.
        language: Whisper language code of the speech ("es"), or of the text after the
            translate task ("en" is then implied by ``task``).
        duration: length of the audio in seconds.
        task: "transcribe" or "translate".
    """

    segments: tuple[Segment, ...]
    language: str | None = None
    duration: float = 0.0
    task: str = "transcribe"
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def text(self) -> str:
        """All segment texts joined, as Whisper's ``result["text"]``."""
        return "".join(s.text for s in self.segments)

    @property
    def text_language(self) -> str | None:
        """Language of the text: English after the translate task, else the detected one."""
        return "en" if self.task == "translate" else self.language

    def to_dict(self) -> dict:
        """Whisper's result dict: ``{"text", "segments", "language"}``, and ``"task": "translate"``
        after the translate task (``language`` is then the speech's, the text English)."""
        with_words = any(s.words for s in self.segments)
        data = {
            "text": self.text,
            "segments": [s.to_dict(i, with_words=with_words) for i, s in enumerate(self.segments)],
            "language": self.language,
        }
        if self.task == "translate":
            data["task"] = self.task
        return data

    @classmethod
    def from_dict(cls, data: dict, *, duration: float = 0.0, task: str = "transcribe") -> Transcript:
        return cls(
            segments=tuple(Segment.from_dict(s) for s in data.get("segments", ())),
            language=data.get("language"),
            duration=float(data.get("duration", duration)),
            task=data.get("task", task),
        )

    def to_json(self) -> str:
        data = self.to_dict()
        data["duration"] = self.duration
        data["task"] = self.task
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Transcript:
        return cls.from_dict(json.loads(text))

    def with_segments(self, segments) -> Transcript:
        return dataclasses.replace(self, segments=tuple(segments))

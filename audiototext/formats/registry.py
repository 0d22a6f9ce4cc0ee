"""The format records and their registry: what a format is, and the one place formats are looked up.

A format is a :class:`Format` record: its name, its file's extension, a writer that writes a
:class:`Job` (one transcript, its subtitle style) to a text stream, and whether it is made of
subtitle cues. Pure stdlib: writing subtitles never needs torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

from ..errors import OptionsError
from ..style import NETFLIX, SubtitleStyle
from ..transcript import Transcript
from .layout import Timed, styled_cues, subtitle_cues, whisper_cues


@dataclass(frozen=True)
class Job:
    """What the writers of one transcript share.

    Attributes:
        transcript: what to write.
        style: how subtitle cues are made (reading rules, or the whisper CLI's layout).
        reference: for a translation, its source transcript (its word times time the cues).
    """

    transcript: Transcript
    style: SubtitleStyle = NETFLIX
    reference: Transcript | None = None

    def cues(self, stamp: Callable[[float], str]) -> Iterator[Timed]:
        """The subtitle cues as (start, end, text), times written by ``stamp``; cut once per
        transcript, whatever the number of formats that ask."""
        if self.style.is_whisper:
            return whisper_cues(self.transcript, self.style, stamp)
        return styled_cues(subtitle_cues(self.transcript, self.style, reference=self.reference), self.style, stamp)


Writer = Callable[[Job, TextIO], None]


@dataclass(frozen=True)
class Format:
    """One output format.

    Attributes:
        name: what users choose ("srt"), lowercase.
        extension: the file's extension, without the dot.
        writer: writes a :class:`Job` to an open text stream (it does not close it).
        cues: made of subtitle cues (srt, vtt): the subtitle style's reading rules cut them, its
            line options need word timestamps, and each file's cues are measured and reported.
        media_type: the type the HTTP service serves the file as.
    """

    name: str
    extension: str
    writer: Writer
    cues: bool = False
    media_type: str = "text/plain; charset=utf-8"


_REGISTRY: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    """Make ``fmt`` a format every face can choose ("all" includes it); returns it.

    Raises:
        OptionsError: the name is taken, or is not a lowercase word.
    """
    if not fmt.name.isidentifier() or fmt.name != fmt.name.lower() or fmt.name == "all":
        raise OptionsError(f"A format's name must be a lowercase word other than 'all', not {fmt.name!r}")
    if fmt.name in _REGISTRY and _REGISTRY[fmt.name] != fmt:
        raise OptionsError(f"Format {fmt.name!r} is registered already: choose another name", value=fmt.name)
    _REGISTRY[fmt.name] = fmt
    return fmt


def unregister(name: str) -> None:
    """Forget format ``name`` (a test's, a plug-in's); nothing happens when it is unknown."""
    _REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    """The registered formats' names, in the order "all" writes them."""
    return tuple(_REGISTRY)


def get(name: str) -> Format:
    """The format registered as ``name``.

    Raises:
        OptionsError: unknown; the message lists the registered ones.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise OptionsError(
            f"Unknown output format {name!r}: choose from {', '.join(names())}", value=name, valid=names()
        ) from None


def by_extension(extension: str) -> Format | None:
    """The format whose files end in ``.<extension>``, or None."""
    return next((f for f in _REGISTRY.values() if f.extension == extension.lstrip(".").lower()), None)


__all__ = ["Job", "Writer", "Format", "register", "unregister", "names", "get", "by_extension"]

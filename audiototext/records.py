"""A record's fields declared once: each field's default, its allowed values and its range.

The stage that owns a record (decoding options, voice detection, long audio, the subtitle style,
DeepL) declares them on the fields with :func:`value`; the record checks itself when it is made
(:func:`check`, from its ``__post_init__``), and the options registry reads the same declaration
(:func:`declared`) for the option that sets the field, so no default, choice list or range is
written twice. Messages name the field and say what is allowed ("pause must be between 0 and 5,
not 9"); the registry gives the same ones under the name each face shows.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Mapping

from .errors import OptionsError

#: The field kinds whose values are checked (and converted from text by the options registry).
KINDS = (bool, int, float, str, Path)


@dataclass(frozen=True)
class Declared:
    """What a record field declares.

    Attributes:
        default: the default value, or a function that makes it (``default_factory``).
        type: bool, int, float, str or Path from the field's annotation (None: another type,
            not checked here).
        nullable: the annotation allows None.
        choices: the allowed values (empty: any value of the type).
        synonyms: other accepted spellings -> the value they stand for.
        min, max: numeric range, inclusive; ``min_open`` excludes ``min`` itself.
    """

    default: Any
    type: type | None
    nullable: bool
    choices: tuple = ()
    synonyms: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    min_open: bool = False

    def range_text(self) -> str:
        """ "between 0 and 1", "at least 1", "greater than 0", "at most 0" or ""."""
        return range_text(self.min, self.max, self.min_open)

    def check(self, value: Any, label: str, option: str | None = None) -> Any:
        """``value`` as allowed (a choice spelled another way or by a synonym: the choice itself).

        Raises:
            OptionsError: ``value`` is not allowed; the message names ``label``, the error ``option``.
        """
        option = option or label
        if value is None:
            if not self.nullable:
                raise OptionsError(f"{label} needs a value", option=option)
            return None
        if self.type is not None and not is_kind(value, self.type):
            raise OptionsError(f"{label} must be {kind_text(self.type)}, not {value!r}", option=option, value=value)
        if self.choices:
            choice = choice_of(value, self.choices, self.synonyms)
            if choice is None:
                accepted = ", ".join(map(str, self.choices))
                raise OptionsError(f"Unknown {label} {value!r}: use one of {accepted}", option=option, value=value)
            return choice
        if out_of_range(value, self.min, self.max, self.min_open):
            raise OptionsError(
                f"{label} must be {self.range_text()}, not {number_text(value)}", option=option, value=value
            )
        return value


def value(
    default: Any = dataclasses.MISSING,
    *,
    factory: Any = dataclasses.MISSING,
    choices: tuple = (),
    synonyms: Mapping[str, Any] | None = None,
    min: float | None = None,
    max: float | None = None,
    min_open: bool = False,
) -> Any:
    """A dataclass field with its default and its allowed values or range (see :class:`Declared`)."""
    limits = {"choices": tuple(choices), "synonyms": dict(synonyms or {}), "min": min, "max": max, "min_open": min_open}
    return dataclasses.field(default=default, default_factory=factory, metadata={"limits": limits})


@functools.cache
def declared(cls: type, name: str) -> Declared:
    """What field ``name`` of dataclass ``cls`` declares (its annotation, default and limits).

    Raises:
        KeyError: ``cls`` has no such field.
    """
    field = {f.name: f for f in dataclasses.fields(cls)}[name]
    kind, nullable = _kind(typing.get_type_hints(cls)[name])
    if field.default is not dataclasses.MISSING:
        default = field.default
    else:
        default = field.default_factory if field.default_factory is not dataclasses.MISSING else None
    return Declared(default, kind, nullable, **field.metadata.get("limits", {}))


def check(record: Any) -> None:
    """Every field of the (frozen) ``record`` checked against its declaration: its type, None only
    where the annotation allows it, one of its choices (then spelled as the choice), within its range.

    Raises:
        OptionsError: naming the first field that is not allowed.
    """
    for field in dataclasses.fields(record):
        given = getattr(record, field.name)
        allowed = declared(type(record), field.name).check(given, field.name)
        if allowed is not given:
            object.__setattr__(record, field.name, allowed)


def choice_of(value: Any, choices: tuple, synonyms: Mapping[str, Any] | None = None) -> Any:
    """The choice ``value`` stands for (text compared without case, synonyms included), else None."""
    for choice in choices:
        if value == choice or isinstance(value, str) and value.lower() == str(choice).lower():
            return choice
    for spelling, meant in (synonyms or {}).items():
        if isinstance(value, str) and value.strip().lower() == spelling.lower():
            return meant
    return None


def is_kind(value: Any, kind: type) -> bool:
    """Whether ``value`` is a ``kind``: a bool is no number, an int is a float, NaN is no number."""
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)
    if kind is Path:
        return isinstance(value, (str, Path))
    return isinstance(value, kind)


def out_of_range(value: Any, low: float | None, high: float | None, low_open: bool = False) -> bool:
    """Whether the number ``value`` lies outside ``low``..``high`` (``low`` itself excluded when ``low_open``)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    below = low is not None and (value <= low if low_open else value < low)
    return below or high is not None and value > high


def range_text(low: float | None, high: float | None, low_open: bool = False) -> str:
    """ "between 0 and 1", "at least 1", "greater than 0", "at most 0" or ""."""
    if low is not None and high is not None and not low_open:
        return f"between {number_text(low)} and {number_text(high)}"
    parts = []
    if low is not None:
        parts.append(f"{'greater than' if low_open else 'at least'} {number_text(low)}")
    if high is not None:
        parts.append(f"at most {number_text(high)}")
    return " and ".join(parts)


def number_text(value: float) -> str:
    """5.0 as "5", 0.5 as "0.5"."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def kind_text(kind: type) -> str:
    """How a message names a kind of value ("a whole number")."""
    return {bool: "True or False", int: "a whole number", float: "a number", Path: "a path"}.get(kind, "text")


def _kind(annotation: Any) -> tuple[type | None, bool]:
    """(bool, int, float, str, Path or None; whether None is allowed) of a resolved annotation."""
    union = isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union
    args = typing.get_args(annotation) if union else (annotation,)
    nullable = type(None) in args
    kinds = [a for a in args if a in KINDS]
    return (kinds[0] if len(kinds) == 1 and len(args) - nullable == 1 else None), nullable


__all__ = [
    "KINDS",
    "Declared",
    "value",
    "declared",
    "check",
    "choice_of",
    "is_kind",
    "out_of_range",
    "range_text",
    "number_text",
    "kind_text",
]

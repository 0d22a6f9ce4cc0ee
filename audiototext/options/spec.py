"""An option: what it is called on each face, its type, default, allowed values and range, and how a
value given as text or typed is parsed and checked (:class:`Option`); the option groups and faces."""

from __future__ import annotations

import functools
import logging
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Callable, Mapping

from ..errors import OptionsError
from ..models import MODELS
from ..records import choice_of, declared, kind_text, number_text, out_of_range, range_text

log = logging.getLogger(__name__)

FACES = ("cli", "notebook", "service")
_ALL = frozenset(FACES)
_CLI = frozenset({"cli"})
_LOCAL = frozenset({"cli", "notebook"})

#: Option groups, in the order help, forms and documentation show them.
GROUPS: dict[str, str] = {
    "model": "Model and engine",
    "decode": "Decoding",
    "output": "Output files and subtitle layout",
    "long audio": "Long audio: speech packed into windows across pauses, decoded in parallel, resumable",
    "deepl": "DeepL translation of the lines (needs a DeepL API key)",
    "api": "OpenAI API engine (needs an OpenAI API key)",
}

#: Groups whose options reach the engine: each engine says which of them it honours
#: (:attr:`audiototext.engines.EngineFacts.honours`; ``model`` and ``engine`` themselves aside).
ENGINE_GROUPS = ("model", "decode", "long audio")
#: Options that cut subtitle lines by word times, so they need word timestamps (rule 1).
LINE_OPTIONS = ("highlight_words", "max_line_width", "max_line_count", "max_words_per_line")
#: Options of the netflix subtitle style only (its reading rules).
STYLE_OPTIONS = ("max_cps", "min_cue_duration", "max_cue_duration", "min_cue_gap")
#: Sizes that have an English-only ``.en`` model (rule 3), as the model list says.
ENGLISH_SIZES = tuple(m.removesuffix(".en") for m in MODELS if m.endswith(".en"))

_UNSET: Any = object()


@dataclass(frozen=True, eq=False)
class Option:
    """One user-facing option.

    An option that sets a field of a record (``record`` and, when the names differ, ``field``)
    takes what the field declares (:func:`audiototext.records.declared`): its type, default,
    whether None is allowed, choices, synonyms and range; the row adds only what is the faces'
    (help, names, labels, where it is offered) and what differs for them (a default of None that
    means "the preset's", the text "auto" for None). :func:`audiototext.options.to_options`
    builds each record from its options.

    Attributes:
        name: snake_case; the CLI flag (``--name`` and ``--name-with-dashes``), the service's
            query parameter and the notebook's field unless ``form_name`` is set.
        type: str, int, float, bool or Path; strings are converted to it.
        default: the value when the option is not given, or a function called at use.
        help: one line of help.
        group: a key of :data:`GROUPS`.
        record, field: the record field the option sets (``field`` defaults to ``name``).
        choices: the allowed values (empty: any value of the type).
        labels: display label -> value, for dropdowns ("Translate to English" -> "translate").
        synonyms: other accepted spellings -> value, not shown in dropdowns.
        suggestions: dropdown entries for a free value (model names, languages), or a function
            returning them.
        check: validates and normalises a value (raises :class:`OptionsError`).
        min, max: numeric range, inclusive; ``min_open`` excludes ``min`` itself.
        nullable: None is a value ("none" or "" from a string).
        zero_is_none: 0 means None (``threads 0``: all cores).
        flag: a CLI switch without value (``--quiet``).
        aliases: extra CLI flags ("-o", "--prompt").
        faces: where the option is offered; ``why`` says why a face lacks it.
        form_name: the notebook's field name, when it differs (AudioToText's names).
        form_default: the notebook's default, when it differs (``large-v3`` on a Colab GPU).
        cli_default: the command line's default, when it differs (the original AudioToText's).
        default_text: how the help shows a computed default.
        metavar: the CLI's placeholder for the value.
        doc: the README's text, when ``help`` is too long for a table.
    """

    name: str
    type: type | None = None
    default: Any = _UNSET
    help: str = ""
    group: str = "decode"
    record: type | None = None
    field: str | None = None
    choices: tuple = ()
    labels: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    synonyms: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    suggestions: tuple | Callable[[], tuple] = ()
    check: Callable[[Any], Any] | None = None
    min: float | None = None
    max: float | None = None
    min_open: bool = False
    nullable: bool | None = None
    zero_is_none: bool = False
    flag: bool = False
    aliases: tuple[str, ...] = ()
    faces: frozenset[str] = _ALL
    why: str = ""
    form_name: str | None = None
    form_default: Any = _UNSET
    cli_default: Any = _UNSET
    default_text: str | None = None
    metavar: str | None = None
    doc: str | None = None

    def __post_init__(self) -> None:
        if self.record is not None:
            if self.choices or self.min is not None or self.max is not None:
                raise TypeError(f"option {self.name}: its choices and range are its record field's to declare")
            d = declared(self.record, self.field or self.name)
            set_ = functools.partial(object.__setattr__, self)
            set_("type", self.type or d.type)
            set_("default", d.default if self.default is _UNSET else self.default)
            set_("nullable", d.nullable if self.nullable is None else self.nullable)
            set_("synonyms", {**d.synonyms, **self.synonyms})
            for name in ("choices", "min", "max", "min_open"):
                set_(name, getattr(d, name))
        elif self.type is None or self.default is _UNSET:
            raise TypeError(f"option {self.name}: give its type and default, or the record field it sets")
        if self.nullable is None:
            object.__setattr__(self, "nullable", False)

    @property
    def flags(self) -> list[str]:
        """The CLI flags: ``--name``, ``--name-with-dashes``, then the aliases."""
        flags = [f"--{self.name}"]
        if "_" in self.name:
            flags.append(f"--{self.name.replace('_', '-')}")
        return flags + [a for a in self.aliases if a not in flags]

    @property
    def form(self) -> str:
        """The notebook's field name."""
        return self.form_name or self.name

    def default_value(self, face: str = "cli") -> Any:
        """The default, computed when it is a function (the notebook's or the CLI's own where it has one)."""
        own = {"notebook": self.form_default, "cli": self.cli_default}.get(face, _UNSET)
        value = self.default if own is _UNSET else own
        return value() if callable(value) else value

    def dropdown(self) -> tuple:
        """What a dropdown lists: the labels, else the choices, else the suggestions."""
        if self.labels:
            return tuple(self.labels)
        if self.choices:
            return tuple(self.choices)
        return tuple(self.suggestions() if callable(self.suggestions) else self.suggestions)

    def display(self, face: str = "cli") -> str:
        """The option's name as the user typed it on ``face`` (``--temperature``, ``prompt``)."""
        return f"--{self.name}" if face == "cli" else self.form if face == "notebook" else self.name

    def range_text(self) -> str:
        """ "between 0 and 1", "at least 1", "greater than 0", "at most 0" or ""."""
        return range_text(self.min, self.max, self.min_open)

    def parse(self, raw: Any, face: str = "cli") -> Any:
        """``raw`` (typed, or a string) as this option's value, validated.

        Raises:
            OptionsError: wrong type, not an allowed value, or out of range; the message names
                the option as ``face`` shows it and says what is allowed.
        """
        label = self.display(face)
        if isinstance(raw, str):
            text = raw.strip()
            for mapping in (self.labels, self.synonyms):
                for key, value in mapping.items():
                    if text.lower() == str(key).lower():
                        return value
            if self.nullable and text.lower() in ("", "none"):
                return None
            value = self._from_string(text, label)
        elif raw is None:
            if not self.nullable:
                raise OptionsError(f"{label} needs a value", option=self.name)
            return None
        else:
            value = self._from_typed(raw, label)
        if self.zero_is_none and value == 0:
            return None
        if self.choices:
            value = self._choice(value, raw, label, face)
        self._check_range(value, label)
        return self.check(value) if self.check else value

    def _from_string(self, text: str, label: str) -> Any:
        try:
            if self.type is bool:
                lowered = text.lower()
                if lowered in ("true", "1", "yes", "y", "on"):
                    return True
                if lowered in ("false", "0", "no", "n", "off"):
                    return False
                raise ValueError
            if self.type is int:
                return int(text)
            if self.type is float:
                return float(text)
        except ValueError:
            raise OptionsError(
                f"{label} must be {kind_text(self.type)}, not {text!r}", option=self.name, value=text
            ) from None
        return Path(text).expanduser() if self.type is Path else text

    def _from_typed(self, raw: Any, label: str) -> Any:
        ok = {
            bool: isinstance(raw, bool),
            int: isinstance(raw, int) and not isinstance(raw, bool) or isinstance(raw, float) and raw.is_integer(),
            float: isinstance(raw, (int, float)) and not isinstance(raw, bool),
            Path: isinstance(raw, (str, Path)),
        }.get(self.type, True)
        if not ok:
            raise OptionsError(f"{label} must be {kind_text(self.type)}, not {raw!r}", option=self.name, value=raw)
        if self.type in (int, float):
            return self.type(raw)
        return Path(raw).expanduser() if self.type is Path else raw

    def _choice(self, value: Any, raw: Any, label: str, face: str) -> Any:
        choice = choice_of(value, self.choices)
        if choice is not None:
            return choice
        accepted = list(self.labels) if self.labels and face == "notebook" else list(self.choices)
        raise OptionsError(
            f"Unknown {label} {raw!r}: use one of {', '.join(map(str, accepted))}", option=self.name, value=raw
        )

    def _check_range(self, value: Any, label: str) -> None:
        if self.type in (int, float) and out_of_range(value, self.min, self.max, self.min_open):
            raise OptionsError(
                f"{label} must be {self.range_text()}, not {number_text(value)}", option=self.name, value=value
            )

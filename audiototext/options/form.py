"""The notebook's view of the options: its form fields (names, defaults, dropdowns, ranges) and
form values -> the pipeline's Options, through :mod:`.build`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Mapping

from ..translation import DeepLOptions
from .build import build, deepl_options, resolve
from .record import Options
from .registry import for_face, option


@dataclass(frozen=True)
class FormField:
    """One notebook form field.

    Attributes:
        name: the field's name in the form (AudioToText's: ``use_model``, ``prompt``...).
        option: the registry option it sets.
        type: str, int, float, bool or Path.
        default: the form's default value (a dropdown label where the option has labels).
        choices: the dropdown's entries (empty: a free text or number field).
        free: the value may also be typed (a combobox: model paths, format lists).
        minimum, maximum: numeric range; for whole numbers that allow None, 0 means "not set".
        help: one line of help.
        group: a key of :data:`GROUPS`.
    """

    name: str
    option: str
    type: type
    default: Any
    choices: tuple
    free: bool
    minimum: float | None
    maximum: float | None
    help: str
    group: str


def form_fields() -> list[FormField]:
    """The notebook's fields, in form order, one per option the notebook offers."""
    fields = []
    for o in for_face("notebook"):
        default = o.default_value("notebook")
        if o.labels:
            default = next((label for label, value in o.labels.items() if value == default), default)
        if o.type is int and o.nullable and default is None:
            default = 0
        elif default is None or isinstance(default, Path):
            default = "" if default is None else str(default)
        fields.append(
            FormField(
                o.form,
                o.name,
                o.type,
                default,
                o.dropdown(),
                free=not (o.choices or o.labels),
                minimum=o.min,
                maximum=o.max,
                help=o.help,
                group=o.group,
            )
        )
    return fields


def dropdown(name: str) -> tuple:
    """A dropdown's entries, by option or form name (``dropdown("task")``: Transcribe, Translate...)."""
    return option(name).dropdown()


def options_from_form(form: Mapping[str, Any]) -> Options:
    """The notebook's form values (field name -> value, as the form holds them) as pipeline Options.

    A form holds every field, so a value equal to the form's default counts as not chosen (for
    rules 1 and 4). For whole numbers that allow None, 0 means "not set"; empty text means None.

    Raises:
        OptionsError: an unknown field or a bad value, named as the form names it.
    """
    values, explicit = form_values(form)
    return build(values, face="notebook", explicit=explicit)


def deepl_from_form(form: Mapping[str, Any]) -> DeepLOptions | None:
    """The notebook's DeepL step (its own form, run after transcribing) as DeepL options.

    Returns None when no target language is chosen.

    Raises:
        OptionsError: a bad target, formality, coherence mode or glossary, named as the form names it.
    """
    values, explicit = form_values(form)
    return deepl_options(resolve(values, face="notebook", explicit=explicit))


def form_values(form: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Form field values as option values, and the names the user changed from the form's defaults."""
    defaults = {f.name: f.default for f in form_fields()}
    values, explicit = {}, set()
    for name, raw in form.items():
        o = option(name)
        if name not in defaults or raw != defaults[name]:
            explicit.add(o.name)
        if o.type is int and o.nullable and (raw == 0 or raw == "0"):
            raw = None
        values[o.name] = raw
    return values, explicit


__all__ = ["FormField", "form_fields", "form_values", "dropdown", "options_from_form", "deepl_from_form"]

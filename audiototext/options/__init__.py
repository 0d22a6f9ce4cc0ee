"""Every user-facing option, defined once; the CLI, the notebook and the HTTP service map to it.

An :class:`Option` holds an option's name (the CLI flag ``--name`` / ``--name-with-dashes``, the
service's query parameter and, unless ``form_name`` says otherwise, the notebook's field), its
type, default, allowed values or range, help and the faces that expose it. :func:`build` turns a
mapping of values (typed, or strings from a command line, form or query) into the pipeline's
:class:`~audiototext.options.Options`; it validates every value and applies the rules between
options before any model is loaded (issue 10, point 6), so ``temperature=5`` fails at once with
the option's name and range.

The rules between options live in :mod:`.rules` and nowhere else:

1. With the ``whisper`` subtitle style, ``highlight_words``, ``max_line_width``,
   ``max_line_count`` and ``max_words_per_line`` need word timestamps: they turn
   ``word_timestamps`` on (logged), unless it was explicitly set to False, which is an error.
   The ``netflix`` style (the default) times srt and vtt cues by their words, so it turns word
   timestamps on when srt or vtt is written (unless set to False: then each segment's text is
   spread over its time); its own options (``max_cps``, ``min_cue_duration``...) are refused
   with the ``whisper`` style.
2. ``engine`` defaults to faster-whisper when it is installed (:func:`default_engine`).
3. English with tiny/base/small/medium uses the English-only ``.en`` model, as the original
   AudioToText did (issue 12, point 5); never to translate. A ``.en`` model chosen for another
   language or to translate is refused, naming the multilingual model (issue 18, point 10).
4. An ``api_key``, or an API model name (``whisper-1``, ``gpt-4o-transcribe``...), without an
   explicit engine selects the OpenAI API engine (issue 12, point 6; issue 19, point 8); an API
   model with a local engine, or a Whisper model with the API engine, is an error. The engines
   say which models they take and which option holds their key
   (:class:`~audiototext.engines.EngineFacts`); no engine is named here.
5. A DeepL target is checked at once (:func:`audiototext.translation.resolve_target`).
6. ``turbo`` (large-v3-turbo) was not trained to translate: translating with it is refused
   before it loads (issue 19, point 8).
7. On the command line, ``--deepl_api_key`` alone translates to English (British), as the
   original AudioToText did (issue 19, point 7).
8. A decoding or long-audio option the chosen engine does not use (``--vad`` or ``--beam_size``
   with OpenAI's API, which decodes and finds speech itself) is said once, as a warning naming
   it, and the run goes on: the engine declares what it honours
   (:attr:`~audiototext.engines.EngineFacts.honours`).

Per face: the CLI builds its parser from :data:`OPTIONS` (``cli.build_parser``); the notebook
uses :func:`form_fields`, :func:`dropdown` and :func:`options_from_form`; the service uses
:func:`query_parameters` and :func:`options_from_query`. No heavy imports here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Collection, Mapping

from ..engines import DecodeOptions, default_engine, engine_class
from ..longaudio import ParallelOptions, RaySettings, SpeechOptions
from ..style import SubtitleStyle, subtitle_style
from ..translation import DeepLOptions
from ..errors import OptionsError
from ..preflight import check_english_only
from .registry import OPTIONS, REGISTRY, for_face, option
from .rules import apply_rules
from .docs import markdown_table
from .record import Options
from .spec import FACES, GROUPS, LINE_OPTIONS, Option

log = logging.getLogger(__name__)


# --- values -> pipeline Options -------------------------------------------------------------------


def resolve(values: Mapping[str, Any], *, face: str = "cli", explicit: Collection[str] | None = None) -> dict[str, Any]:
    """Every option's value: ``values`` parsed and validated, defaults filled in, the rules applied.

    Args:
        values: option name -> value (typed, or a string). None for an option that does not
            allow None means "not given".
        face: who asks; names in messages follow it, and options it does not offer are refused.
        explicit: the names the user chose (default: every key of ``values``). Rules 1 and 4
            change only options the user did not choose; a form, which holds every field, passes
            the fields changed from their defaults.

    Raises:
        OptionsError: an unknown option, a bad value, or options that contradict each other.
    """
    unknown = [k for k in values if k not in REGISTRY]
    if unknown:
        raise OptionsError(
            f"Unknown option(s) {', '.join(sorted(unknown))}: use {', '.join(o.name for o in for_face(face))}",
            option=unknown[0],
        )
    hidden = [k for k in values if face not in REGISTRY[k].faces]
    if hidden:
        o = REGISTRY[hidden[0]]
        raise OptionsError(f"{o.name} cannot be set here: {o.why}", option=o.name)
    given = {
        name: REGISTRY[name].parse(raw, face)
        for name, raw in values.items()
        if raw is not None or REGISTRY[name].nullable
    }
    chosen = set(given if explicit is None else explicit) & set(given)
    v = {o.name: given[o.name] if o.name in given else o.default_value(face) for o in OPTIONS}
    for name in ("language", "output_formats"):  # normalised by their checks when given, not as defaults
        if name not in given:
            v[name] = REGISTRY[name].parse(v[name], face)
    apply_rules(v, chosen, face)
    if not engine_class(v["engine"]).hosted:  # paths are checked by the preflight, which reads their vocabulary
        check_english_only(v["model"], v["task"], v["language"], flag=REGISTRY["model"].display(face), paths=False)
    return v


def fields_of(record: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``record`` that options set, from resolved values: each option's value under
    its field's name (the option's row says which; see :class:`~.spec.Option`)."""
    return {o.field or o.name: values[o.name] for o in OPTIONS if o.record is record}


def deepl_options(values: Mapping[str, Any]) -> DeepLOptions | None:
    """The DeepL options of resolved values (see :func:`resolve`); None when no target is set.

    Raises:
        OptionsError: an unknown target, formality or coherence mode, or a bad glossary file.
    """
    if not values.get("deepl_target"):
        return None
    return DeepLOptions(**fields_of(DeepLOptions, values))


def long_audio_options(values: Mapping[str, Any]) -> ParallelOptions:
    """The long-audio options of resolved values (see :func:`resolve`)."""
    ray, speech = RaySettings(**fields_of(RaySettings, values)), SpeechOptions(**fields_of(SpeechOptions, values))
    return ParallelOptions(**fields_of(ParallelOptions, values), ray=ray, speech=speech)


def to_options(v: Mapping[str, Any]) -> Options:
    """Resolved values (see :func:`resolve`) as the pipeline's :class:`~audiototext.options.Options`,
    each record built from the options that set its fields."""
    return Options(
        **fields_of(Options, v),
        decode=DecodeOptions(**fields_of(DecodeOptions, v)),
        style=subtitle_style(**fields_of(SubtitleStyle, v)),
        deepl=deepl_options(v),
        progress=not (v["quiet"] or v["no_progress"]),
        parallel=long_audio_options(v),
    )


def build(values: Mapping[str, Any], *, face: str = "cli", explicit: Collection[str] | None = None) -> Options:
    """Option values (typed, or strings) as pipeline Options, checked before any model loads.

    Example::

        build({"model": "small", "language": "Spanish", "max_line_width": "42"})
        # word_timestamps is turned on (logged); temperature="5" would raise OptionsError

    Raises:
        OptionsError: see :func:`resolve`.
    """
    return to_options(resolve(values, face=face, explicit=explicit))


# --- the notebook ---------------------------------------------------------------------------------


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


# --- the HTTP service -----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryParameter:
    """One query parameter of ``POST /api/transcribe``: feed it to FastAPI's ``Query``.

    Attributes:
        name: the parameter (the option's name).
        type: str, int, float or bool (``type | None`` when ``nullable``).
        default: the option's default, for the documentation (use ``Query(None)`` and let
            :func:`options_from_query` fill it in, so "not given" stays distinguishable).
        description: help text, with the choices.
        ge, gt, le: the numeric range, as FastAPI names it.
        choices: the allowed values (empty: any).
        nullable: None is a value.
    """

    name: str
    type: type
    default: Any
    description: str
    ge: float | None
    gt: float | None
    le: float | None
    choices: tuple
    nullable: bool


def query_parameters() -> list[QueryParameter]:
    """The service's query parameters, one per option the service offers."""
    rows = []
    for o in for_face("service"):
        description = o.help + (f" ({', '.join(map(str, o.choices))})" if o.choices else "")
        rows.append(
            QueryParameter(
                o.name,
                str if o.type is Path else o.type,
                o.default_value("service"),
                description,
                None if o.min_open else o.min,
                o.min if o.min_open else None,
                o.max,
                tuple(o.choices),
                o.nullable,
            )
        )
    return rows


def options_from_query(params: Mapping[str, Any]) -> Options:
    """A request's query parameters (None: not given) as pipeline Options.

    The service then fixes what is its own: ``dataclasses.replace(options, output_dir=...,
    device=..., threads=..., parallel=..., progress=False)``.

    Raises:
        OptionsError: a bad value, or an option the service does not offer (see :data:`OPTIONS`).
    """
    return build({k: v for k, v in params.items() if v is not None}, face="service")


__all__ = [
    "Options",
    "FACES",
    "GROUPS",
    "LINE_OPTIONS",
    "Option",
    "OPTIONS",
    "REGISTRY",
    "default_engine",
    "option",
    "for_face",
    "resolve",
    "build",
    "to_options",
    "fields_of",
    "deepl_options",
    "long_audio_options",
    "FormField",
    "form_fields",
    "form_values",
    "dropdown",
    "options_from_form",
    "deepl_from_form",
    "QueryParameter",
    "query_parameters",
    "options_from_query",
    "markdown_table",
]

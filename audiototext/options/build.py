"""Values -> the pipeline's :class:`~.record.Options`: every value parsed and checked, the defaults
filled in, the rules between options applied (:mod:`.rules`), then each record built from the
options that name its fields. The faces' own views (:mod:`.form`, :mod:`.query`) end here."""

from __future__ import annotations

from typing import Any
from collections.abc import Collection, Mapping

from ..engines import DecodeOptions, engine_class
from ..errors import OptionsError
from ..longaudio import ParallelOptions, RaySettings, SpeechOptions
from ..preflight import check_english_only
from ..style import SubtitleStyle, subtitle_style
from ..translation import DeepLOptions
from .record import Options
from .registry import OPTIONS, REGISTRY, for_face
from .rules import apply_rules


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


__all__ = ["resolve", "build", "to_options", "fields_of", "deepl_options", "long_audio_options"]

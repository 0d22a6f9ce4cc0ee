"""The rules between options (see :mod:`audiototext.options`, rules 1 to 8), applied by
:func:`apply_rules` to resolved values before any model loads. Each logs what it changes or
raises :class:`~audiototext.errors.OptionsError` naming the options as the face shows them."""

from __future__ import annotations

import logging
from typing import Any

from ..errors import OptionsError
from ..engines import ENGINES, engine_class, offering
from ..formats import get as get_format
from .registry import OPTIONS, REGISTRY
from .spec import ENGINE_GROUPS, ENGLISH_SIZES, LINE_OPTIONS, STYLE_OPTIONS

log = logging.getLogger(__name__)


def apply_rules(v: dict[str, Any], chosen: set[str], face: str) -> None:
    """Apply every rule to ``v`` (option name -> value) in place; ``chosen``: what the user set."""
    _style_rule(v, chosen, face)
    _coherence_rule(v, chosen, face)
    _words_rule(v, chosen, face)
    _engine_rule(v, chosen, face)
    _turbo_rule(v, face)
    _hosted_translate_rule(v, face)
    _english_rule(v)
    _deepl_key_rule(v, chosen, face)
    _unused_rule(v, chosen, face)


def _style_rule(v: dict[str, Any], chosen: set[str], face: str) -> None:
    if v["subtitle_style"] == "whisper":
        netflix_only = [n for n in STYLE_OPTIONS if v[n] is not None]
        if netflix_only:
            names = ", ".join(REGISTRY[n].display(face) for n in netflix_only)
            raise OptionsError(
                f"{names} apply to the netflix subtitle style, not to the whisper style: drop them or "
                f"set {REGISTRY['subtitle_style'].display(face)} netflix",
                option=netflix_only[0],
            )
        return
    if v["word_timestamps"] or not any(get_format(name).cues for name in v["output_formats"]):
        return
    if "word_timestamps" in chosen:
        log.info("Without word timestamps, each subtitle's time is estimated from its segment's time")
        return
    log.debug("The netflix subtitle style times cues by their words: turning word_timestamps on")
    v["word_timestamps"] = True


def _coherence_rule(v: dict[str, Any], chosen: set[str], face: str) -> None:
    """Coherence asked for: windows are decoded independently, so the previous
    text can prompt the next window only in sequential decoding, which it then selects."""
    if "condition_on_previous_text" not in chosen or not v["condition_on_previous_text"]:
        return
    if v["parallel"] == "auto" and "parallel" not in chosen and face != "service":
        log.info(
            "%s: each 30 s window is decoded after the one before it, prompted with its text (sequential, "
            "slower than the default windows)",
            REGISTRY["condition_on_previous_text"].display(face),
        )
        v["parallel"] = "off"
    elif v["parallel"] != "off":
        coherence = REGISTRY["condition_on_previous_text"]
        asked = next((repr(label) for label, value in coherence.labels.items() if value is True), "True")
        log.warning(
            "%s %s has no effect with %s %s: its windows are decoded independently; set %s off to decode "
            "sequentially, each window prompted with the text before it",
            coherence.display(face),
            asked if face == "notebook" else "True",  # the value as the face shows it: the form's label
            REGISTRY["parallel"].display(face),
            v["parallel"],
            REGISTRY["parallel"].display(face),
        )


def _words_rule(v: dict[str, Any], chosen: set[str], face: str) -> None:
    wanting = [name for name in LINE_OPTIONS if v[name]]
    if not wanting or v["word_timestamps"] or v["subtitle_style"] != "whisper":
        return
    if "word_timestamps" in chosen:
        names = " and ".join(REGISTRY[n].display(face) for n in wanting)
        verb = "needs" if len(wanting) == 1 else "need"
        raise OptionsError(
            f"{names} {verb} word timestamps, but {REGISTRY['word_timestamps'].display(face)} is set "
            "to False: drop one or the other",
            option="word_timestamps",
        )
    log.info(
        "%s need%s word timestamps: turning word_timestamps on", " and ".join(wanting), "s" if len(wanting) == 1 else ""
    )
    v["word_timestamps"] = True


def _engine_rule(v: dict[str, Any], chosen: set[str], face: str) -> None:
    """Rule 4: without a chosen engine, an engine's key (``api_key``) or a model only other engines
    offer (``whisper-1``) chooses the engine; a model not chosen becomes the engine's default; a
    model the engine does not take, but another does, is an error (as any model a hosted one lacks)."""
    owners = offering(v["model"])
    if "engine" not in chosen:
        keyed = [name for name in ENGINES if v.get(engine_class(name).key_option or "")]
        foreign = "model" in chosen and owners and v["engine"] not in owners
        choice = keyed[0] if keyed else owners[0] if foreign else v["engine"]
        if choice != v["engine"] and "model" in chosen and v["model"] in engine_class(choice).models:
            log.info("%s is a model of %s: using the %s engine", v["model"], engine_class(choice).title, choice)
        v["engine"] = choice
    cls = engine_class(v["engine"])
    engine, model = REGISTRY["engine"].display(face), REGISTRY["model"].display(face)
    if v["model"] in cls.models:
        return
    if "model" not in chosen:
        v["model"] = cls.default_model
    elif cls.hosted:
        raise OptionsError(
            f"Unknown model {v['model']!r} for engine {cls.name}: {cls.title} takes {model} "
            f"{', '.join(cls.models)}; for Whisper's models choose a local {engine}",
            option="model",
        )
    elif owners:
        owner = engine_class(owners[0])
        key = f" (with {REGISTRY[owner.key_option].display(face)})" if owner.key_option else ""
        raise OptionsError(
            f"{v['model']} runs on {owner.title} only, not on {cls.name}: set {engine} to {owner.name}{key}, "
            f"or choose a Whisper {model} such as large-v3",
            option="model",
        )


def _unused_rule(v: dict[str, Any], chosen: set[str], face: str) -> None:
    """Rule 8: an engine option the chosen engine does not use (``--vad`` with OpenAI's API) is said
    once, as a warning, and otherwise left alone: the run goes on without it."""
    cls = engine_class(v["engine"])
    unused = cls.ignores(
        [o.name for o in OPTIONS if o.name in chosen and o.group in ENGINE_GROUPS and o.name not in ("model", "engine")]
    )
    if unused:
        names = ", ".join(REGISTRY[n].display(face) for n in unused)
        log.warning("The %s engine does not use %s (%s decodes by itself): ignored", cls.name, names, cls.title)


def _turbo_rule(v: dict[str, Any], face: str) -> None:
    from ..models import ALIASES

    if v["task"] == "translate" and ALIASES.get(v["model"], v["model"]) == "turbo":
        task = "Translate to English" if face == "notebook" else "translate"
        raise OptionsError(
            f"{v['model']} was not trained to translate: its {task!r} output is usually not English. "
            f"Translate with large-v3, medium or small, or transcribe with {v['model']} and translate the "
            "lines with DeepL",
            option="task",
        )


def _hosted_translate_rule(v: dict[str, Any], face: str) -> None:
    """A hosted engine translates with some of its models only (OpenAI: whisper-1): refused before any upload."""
    translators = getattr(engine_class(v["engine"]), "translate_models", None)
    if v["task"] != "translate" or translators is None or v["model"] in translators:
        return
    task = "Translate to English" if face == "notebook" else "translate"
    raise OptionsError(
        f"{v['model']} does not translate ({engine_class(v['engine']).title} translates to English with "
        f"{', '.join(sorted(translators))} only): set {REGISTRY['model'].display(face)} "
        f"{sorted(translators)[0]} for {task!r}, or transcribe with {v['model']} and translate the lines with DeepL",
        option="task",
    )


def _deepl_key_rule(v: dict[str, Any], chosen: set[str], face: str) -> None:
    if face == "cli" and "deepl_api_key" in chosen and v["deepl_api_key"] and not v["deepl_target"]:
        v["deepl_target"] = "English (British)"
        log.info(
            "--deepl_api_key without --deepl_target_language: translating to English (British), as AudioToText did"
        )


def _english_rule(v: dict[str, Any]) -> None:
    from ..languages import resolve_language
    from ..models import english_model

    if v["task"] != "transcribe" or v["model"] not in ENGLISH_SIZES:
        return
    if resolve_language(v["language"]) != "en":
        return
    english = english_model(v["model"])
    if english:
        log.info("Using %s for English", english)
        v["model"] = english


__all__ = ["apply_rules"]

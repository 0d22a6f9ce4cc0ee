"""The rules between options (see :mod:`audiototext.options`, rules 1 to 7), applied by
:func:`apply_rules` to resolved values before any model loads. Each logs what it changes or
raises :class:`~audiototext.errors.OptionsError` naming the options as the face shows them."""

from __future__ import annotations

import logging
from typing import Any

from ..errors import OptionsError
from ..formats import get as get_format
from .registry import REGISTRY
from .spec import API_ENGINE, API_MODEL, ENGLISH_SIZES, LINE_OPTIONS, STYLE_OPTIONS

log = logging.getLogger(__name__)


def apply_rules(v: dict[str, Any], chosen: set[str], face: str) -> None:
    """Apply every rule to ``v`` (option name -> value) in place; ``chosen``: what the user set."""
    _style_rule(v, chosen, face)
    _coherence_rule(v, chosen, face)
    _words_rule(v, chosen, face)
    _api_rule(v, chosen, face)
    _turbo_rule(v, face)
    _english_rule(v)
    _deepl_key_rule(v, chosen, face)


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


def _api_rule(v: dict[str, Any], chosen: set[str], face: str) -> None:
    from ..engines.openai_api.catalog import MODELS as API_MODELS

    api_model = v["model"] in API_MODELS
    if "engine" not in chosen and (v["api_key"] or api_model and "model" in chosen):
        if api_model:
            log.info("%s is a model of OpenAI's API: using the %s engine", v["model"], API_ENGINE)
        v["engine"] = API_ENGINE
    engine, model = REGISTRY["engine"].display(face), REGISTRY["model"].display(face)
    if v["engine"] == API_ENGINE and "model" not in chosen:
        v["model"] = API_MODEL
    elif v["engine"] == API_ENGINE and not api_model:
        raise OptionsError(
            f"Unknown model {v['model']!r} for engine {API_ENGINE}: OpenAI's API takes {model} "
            f"{', '.join(API_MODELS)}; for Whisper's models choose a local {engine}",
            option="model",
        )
    elif api_model and v["engine"] != API_ENGINE:
        raise OptionsError(
            f"{v['model']} runs on OpenAI's API only, not on {v['engine']}: set {engine} to {API_ENGINE} "
            f"(with an OpenAI API key), or choose a Whisper {model} such as large-v3",
            option="model",
        )


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


def _deepl_key_rule(v: dict[str, Any], chosen: set[str], face: str) -> None:
    if face == "cli" and "deepl_api_key" in chosen and v["deepl_api_key"] and not v["deepl_target"]:
        v["deepl_target"] = "English (British)"
        log.info(
            "--deepl_api_key without --deepl_target_language: translating to English (British), as AudioToText did"
        )


def _english_rule(v: dict[str, Any]) -> None:
    from ..languages import resolve_language
    from ..models import english_model

    if v["engine"] == API_ENGINE or v["task"] != "transcribe" or v["model"] not in ENGLISH_SIZES:
        return
    if resolve_language(v["language"]) != "en":
        return
    english = english_model(v["model"])
    if english:
        log.info("Using %s for English", english)
        v["model"] = english


__all__ = ["apply_rules"]

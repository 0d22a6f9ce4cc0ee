"""Checks of a run's model, device and cache made before any input is read, so a fault that would
fail every input is said once, before any download or decoding.

Each raises an :class:`~audiototext.errors.AudioToTextError` that says what to change; the
pipeline's preflight calls :func:`check_model_and_device`, and the options rules (which name the
face's flags) catch the same faults earlier where they can.
"""

from __future__ import annotations

import re

from .errors import OptionsError

#: What ``device`` may be: the CPU, a CUDA GPU (``cuda:1`` for the second), or auto (None).
DEVICE = re.compile(r"^(cpu|cuda(:\d+)?|auto)$")


def check_device(device: str | None, engine: str | None = None, *, flag: str = "device") -> str | None:
    """``device`` if the engine can use it.

    Raises:
        OptionsError: an unknown device ("tpu"), or CUDA asked for where no CUDA GPU is visible.
    """
    if device is None:
        return None
    value = str(device).strip().lower()
    if not DEVICE.match(value):
        raise OptionsError(
            f"Unknown {flag} {device!r}: use cpu or cuda (cuda:1 for the second GPU), or leave it unset "
            "for the GPU when there is one",
            option="device",
            value=device,
        )
    if engine is not None and value.startswith("cuda"):
        from .engines.device import cuda_available

        if not cuda_available(engine):
            raise OptionsError(
                f"{flag} {device} asks for a CUDA GPU, but {engine} sees none: use cpu, or install the "
                "CUDA build of the engine's libraries",
                option="device",
                value=device,
            )
    return None if value == "auto" else value


def check_english_only(model: str, task: str, language: str | None, *, flag: str = "model", paths: bool = True) -> None:
    """Refuse an English-only model (``tiny.en``, a ``.en`` checkpoint) for another language or for
    translation: it would write invented English. ``language`` is a name or code (None, "auto":
    detect); with ``paths`` False only official names are checked.

    Raises:
        OptionsError: naming the multilingual model to use instead.
    """
    from .languages import resolve_language
    from .models import MODELS, resolve

    if model not in MODELS and not paths:
        return
    language = resolve_language(language)
    english_only = model.endswith(".en") if model in MODELS else not resolve(model).is_multilingual
    if not english_only or (task == "transcribe" and language in (None, "en")):
        return
    multilingual = model.removesuffix(".en") if model in MODELS else "a multilingual model (base, small...)"
    what = "translate" if task == "translate" else f"transcribe {_language(language)}"
    raise OptionsError(
        f"{flag} {model} is English-only: it cannot {what}, it would write invented English; use "
        f"{multilingual} instead",
        option="model",
        value=model,
    )


def _language(code: str | None) -> str:
    from .languages import language_name

    return language_name(code) if code else "another language"


def check_model_and_device(engine: str, model: str, device: str | None, task: str, language: str | None) -> None:
    """The model resolves, suits the task and language, the device exists, the cache can be written.

    Raises:
        ModelError: the model does not resolve, or the cache cannot be written.
        OptionsError: an English-only model for another language or to translate, an unknown device.
    """
    from .engines import engine_class
    from .models import check_cache, resolve

    spec = resolve(model)
    check_english_only(model, task, language)
    check_device(device, engine)
    if spec.path is None or engine_class(engine).weights == "openai-pt":  # downloads, assembly or conversion
        check_cache()


__all__ = ["DEVICE", "check_device", "check_english_only", "check_model_and_device"]

"""Refusing real Whisper engines: in-process (patched classes) and in subprocesses (patched on import).

Standard library only: ``sitecustomize`` imports it into every Python process a test starts. The
pytest side (when to refuse, failing the test) is ``tests/model_guard.py``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import os
import sys
import uuid
from pathlib import Path

#: The folder where each refused load leaves a file; set only while a test without ``slow`` runs.
REFUSALS = "AUDIOTOTEXT_TEST_REFUSALS"
#: The engine classes that load real weights: module -> class.
REAL_ENGINES = {
    "audiototext.engines.faster_whisper": "FasterWhisperEngine",
    "audiototext.engines.openai_whisper": "OpenAIWhisperEngine",
}


class RealModelRefused(RuntimeError):
    """A real Whisper model was about to load where the fast tier refuses it."""


def refusing() -> bool:
    return bool(os.environ.get(REFUSALS))


def refuse(what: str) -> None:
    """Record the refusal (when a test is watching) and raise.

    Raises:
        RealModelRefused: always.
    """
    message = (
        f"{what} would load a real Whisper model in a test not marked slow: mark the test "
        "@pytest.mark.slow, or run it on the fake engine (the fake_engine fixture, python -m fake_engine)"
    )
    folder = os.environ.get(REFUSALS)
    if folder:
        Path(folder, f"{os.getpid()}-{uuid.uuid4().hex}").write_text(message + "\n", encoding="utf-8")
    raise RealModelRefused(message)


def _refusing_init(engine: str):
    def __init__(self, *args, **kwargs):
        refuse(f"{engine} (pid {os.getpid()})")

    return __init__


def patch_module(module, setattr=setattr) -> None:
    """The real engine class of an imported engine ``module`` made to refuse construction."""
    name = REAL_ENGINES[module.__name__]
    setattr(getattr(module, name), "__init__", _refusing_init(name))


def refuse_real_models(setattr=setattr) -> None:
    """Every real engine class refuses construction (undone by a ``monkeypatch.setattr``)."""
    for module in REAL_ENGINES:
        patch_module(importlib.import_module(module), setattr)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches the real engine modules right after they are imported (in a subprocess, where
    importing them up front would slow down every Python process a test starts)."""

    def find_spec(self, name, path, target=None):
        if name not in REAL_ENGINES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            patch_module(module)

        spec.loader.exec_module = exec_module
        return spec


def install_in_subprocess() -> None:
    """What ``tests/guard/sitecustomize.py`` runs: the refusal, when a test without ``slow`` started us."""
    if refusing() and not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())

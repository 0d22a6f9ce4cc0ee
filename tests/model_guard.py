"""Real Whisper models only in tests marked ``slow``: the fast tier (``pytest -m "not slow"``) stays fast.

A pytest plugin (``conftest.py`` loads it). For a test without the ``slow`` mark, constructing a
real engine (faster-whisper, openai-whisper) is refused, in the test's process and in the Python
processes it starts (the CLI or the service as a subprocess, a process pool, Ray workers): every
refusal raises :class:`RealModelRefused` where the load was tried and leaves a file in the folder
named by :data:`REFUSALS`, and the test fails when that folder is not empty at its end, even where
the code under test caught the error. Subprocesses see the rule through ``PYTHONPATH``, which puts
``tests/guard/sitecustomize.py`` first: it patches the engine modules as they are imported.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from guard.real_models import REFUSALS, refuse_real_models

TESTS = Path(__file__).resolve().parent
GUARD = TESTS / "guard"


def _with_guard_path() -> None:
    """Python processes the tests start find ``sitecustomize`` (the guard) and ``fake_engine``."""
    paths = [str(GUARD), str(TESTS)]
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in paths]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths + rest)


class _Guard:
    """The refusal switched on before a test without ``slow`` sets up its fixtures (a module's
    server or engine included) and off before a slow one does; checked after its teardown."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.saved: dict = {}

    def _patch(self, target, name, value) -> None:
        self.saved.setdefault((target, name), target.__dict__[name])
        setattr(target, name, value)

    def begin(self, slow: bool) -> None:
        for stale in self.folder.iterdir():
            stale.unlink()
        if slow:
            os.environ.pop(REFUSALS, None)
            for (target, name), value in self.saved.items():
                setattr(target, name, value)
            self.saved.clear()
        else:
            os.environ[REFUSALS] = str(self.folder)
            refuse_real_models(self._patch)

    def tried(self) -> list[str]:
        return [p.read_text(encoding="utf-8").strip() for p in sorted(self.folder.iterdir())]


_GUARD: _Guard | None = None


def pytest_configure(config) -> None:
    global _GUARD
    _with_guard_path()
    import tempfile

    _GUARD = _Guard(Path(tempfile.mkdtemp(prefix="refused-models-")))


def pytest_unconfigure(config) -> None:
    import shutil

    if _GUARD is not None:
        os.environ.pop(REFUSALS, None)
        shutil.rmtree(_GUARD.folder, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    _GUARD.begin(slow=item.get_closest_marker("slow") is not None)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem) -> None:
    """After the test's fixtures are torn down: any refused load fails it (as a teardown error)."""
    tried = _GUARD.tried()
    if tried:
        for stale in _GUARD.folder.iterdir():
            stale.unlink()
        pytest.fail(f"{tried[0]} ({len(tried)} load(s) refused)", pytrace=False)

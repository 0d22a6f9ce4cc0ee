"""What the package asks of an engine it asks of the engine's class (``EngineFacts``), never by
comparing engine names; an option the chosen engine does not use is said once."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

from audiototext import engines, options
from audiototext.engines import ENGINES, default_engine, engine_class, offering

PACKAGE = Path(engines.__file__).resolve().parent.parent


@pytest.mark.parametrize("name", list(ENGINES))
def test_each_engine_declares_its_facts(name):
    cls = engine_class(name)
    assert cls.name == name
    assert cls.default_model in cls.models
    assert (cls.weights is None) == cls.hosted
    assert cls.weights in (None, "ct2", "openai-pt")
    assert cls.honours is None or cls.honours <= {o.name for o in options.OPTIONS}
    assert cls.key_option is None or cls.key_option in options.REGISTRY


def test_one_default_engine():
    assert not hasattr(engines, "DEFAULT_ENGINE")
    assert options.build({}).engine == default_engine() == options.REGISTRY["engine"].default_value()
    assert offering("whisper-1") == ["openai-api"]
    assert offering("base") == [name for name in ENGINES if not engine_class(name).hosted]


def _engine_names_compared(path: Path) -> list[str]:
    """``x == "openai-api"``, ``x in ("faster-whisper", ...)``: comparisons with a registered engine's
    name, or a constant that holds one (``API_ENGINE = "openai-api"``, compared elsewhere)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value in ENGINES:
            found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value.value}")
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                items = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                names = [i.value for i in items if isinstance(i, ast.Constant) and i.value in ENGINES]
                found += [f"{path.relative_to(PACKAGE)}:{node.lineno}: {n}" for n in names]
    return found


def test_no_engine_name_is_compared_outside_the_engines():
    """Hosted or local, weights, models, default model, key: facts of the engine's class."""
    found = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "engines"
        for hit in _engine_names_compared(path)
    ]
    assert not found, found


def test_an_option_the_engine_ignores_is_said_once(caplog):
    caplog.set_level(logging.WARNING, logger="audiototext")
    o = options.build({"api_key": "sk-test", "vad": "off", "beam_size": "3", "language": "es", "temperature": "0.2"})
    assert o.engine == "openai-api" and o.parallel.speech.vad == "off"  # kept, only unused
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "--beam_size, --vad" in warnings[0] and "openai-api" in warnings[0]
    assert "--language" not in warnings[0] and "--temperature" not in warnings[0]

    caplog.clear()
    options.options_from_form({"api_key": "sk-test", "vad": "silencedetect"})
    assert [r.getMessage() for r in caplog.records if "does not use" in r.getMessage()] == [
        "The openai-api engine does not use vad (OpenAI's API decodes by itself): ignored"
    ]

    caplog.clear()
    options.build({"vad": "off", "beam_size": "3"})  # a local engine uses both
    options.build({"api_key": "sk-test", "task": "translate"})  # defaults and honoured options: nothing to say
    assert not [r for r in caplog.records if "does not use" in r.getMessage()]


def test_the_key_variable_is_the_engine_s(tmp_path, monkeypatch):
    """Where a key comes from without one given is the engine class's ``key_env``: the engine reads
    it, the service offers the engine only when it is set, the ``serve`` help names it."""
    from audiototext.engines.openai_api import OpenAIAPIEngine
    from audiototext.errors import OptionsError
    from audiototext.service import Settings
    from audiototext.service.cli import build_parser
    from audiototext.service.joboptions import job_options

    assert [n for n in ENGINES if engine_class(n).key_env] == ["openai-api"]
    monkeypatch.setattr(OpenAIAPIEngine, "key_env", "OTHER_OPENAI_KEY")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-this-one")
    monkeypatch.delenv("OTHER_OPENAI_KEY", raising=False)
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(OptionsError, match="no OTHER_OPENAI_KEY in its environment"):
        job_options({"engine": "openai-api"}, settings, tmp_path / "out")
    with pytest.raises(OptionsError, match="No OpenAI API key"):
        OpenAIAPIEngine()
    monkeypatch.setenv("OTHER_OPENAI_KEY", "sk-this-one")
    assert job_options({"engine": "openai-api"}, settings, tmp_path / "out").engine == "openai-api"
    assert OpenAIAPIEngine()._key == "sk-this-one"
    assert "$OTHER_OPENAI_KEY" in " ".join(build_parser().format_help().split())

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
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value.value}")
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                items = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                names = [i.value for i in items if isinstance(i, ast.Constant) and i.value in ENGINES]
                found += [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {n}" for n in names]
    return found


def test_no_engine_name_is_compared_outside_the_engines():
    """Hosted or local, weights, models, default model, key: facts of the engine's class (in the
    package, and in the benchmarks and scripts that use it)."""
    others = [*(PACKAGE.parent / "bench").glob("*.py"), *(PACKAGE.parent / "scripts").glob("*.py")]
    found = [
        hit
        for path in [*sorted(PACKAGE.rglob("*.py")), *sorted(others)]
        if path.relative_to(PACKAGE.parent).parts[1] != "engines"
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


#: A new engine for :func:`test_a_new_engine_is_its_module_and_one_line`: the fake engine
#: (tests/fake_engine.py) under a name of its own, not using ``beam_size``.
ECHO_MODULE = '''"""The echo engine: the tests' fake engine under its own name."""

from fake_engine import FakeEngine


class EchoEngine(FakeEngine):
    name = "echo"
    title = "the echo engine"
    honours = frozenset({"task", "language", "initial_prompt", "word_timestamps", "vad"})
'''

#: What the copy with the echo engine runs: each face takes ``--engine echo`` by asking the class.
ECHO_FACES = """
import sys
from pathlib import Path

import audiototext
from audiototext import engines, options
from audiototext.command import main
from audiototext.notebook import fields
from audiototext.options.query import options_from_query

assert audiototext.__file__.startswith(sys.argv[1]), audiototext.__file__
assert engines.default_model("echo") == "base" and "echo" in engines.offering("base")
assert options.build({"engine": "echo"}).engine == "echo"  # the contract
assert options_from_query({"engine": "echo"}).engine == "echo"  # the service's query
assert fields.transcribe_options({"engine": "echo"}).engine == "echo"  # the notebook's form
argv = [sys.argv[2], "--engine", "echo", "--beam_size", "3", "-f", "txt", "-o", sys.argv[3], "--no-progress"]
sys.exit(main(argv))  # the CLI
"""


@pytest.mark.slow  # a copy of the package and one CLI run in it (about 10 s)
def test_a_new_engine_is_its_module_and_one_line(tmp_path, english_wav):
    """README's recipe: ``engines/echo.py`` plus its line in ``ENGINES`` and nothing else; the
    contract, the service's query, the notebook's form and the CLI take ``--engine echo``, the CLI
    writes what it heard and says once that echo does not use ``--beam_size``."""
    import os
    import shutil
    import subprocess
    import sys

    from fake_engine import heard

    copy = tmp_path / "copy"
    shutil.copytree(PACKAGE, copy / "audiototext", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "audiototext" / "engines" / "echo.py").write_text(ECHO_MODULE, encoding="utf-8")
    registry = copy / "audiototext" / "engines" / "__init__.py"
    line = '    "openai-api": "audiototext.engines.openai_api:OpenAIAPIEngine",\n'
    text = registry.read_text(encoding="utf-8")
    assert text.count(line) == 1
    registry.write_text(text.replace(line, line + '    "echo": "audiototext.engines.echo:EchoEngine",\n'), "utf-8")
    tests = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(copy), str(tests)])}
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", ECHO_FACES, str(copy), str(english_wav), str(out)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert heard((out / f"{english_wav.stem}.txt").read_text(encoding="utf-8"))
    said = [line for line in done.stderr.splitlines() if "--beam_size" in line]
    assert len(said) == 1 and "echo" in said[0], done.stderr

"""Things defined in one place, read from the source (README, "Module map"): ffmpeg is started by
media.py's runner only, 16 kHz is media.SAMPLE_RATE, Colab secrets are the notebook's to read,
the DeepL key comes from the environment in one function, the faces share one log handler."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "audiototext"
MODULES = sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def _trees():
    for path in MODULES:
        yield _name(path), ast.parse(path.read_text(encoding="utf-8"))


def _dotted(node: ast.AST) -> str:
    return ast.unparse(node) if isinstance(node, (ast.Name, ast.Attribute)) else ""


def test_only_the_media_runner_starts_processes_that_may_be_ffmpeg():
    """Every ffmpeg/ffprobe goes through media.run_ffmpeg (argument list, file: paths, one error
    style, stoppable); the other processes the package starts are named here."""
    others = {"notebook/install.py": "pip", "notebook/steps.py": "nvidia-smi"}
    starts = {}
    for name, tree in _trees():
        annotations = {
            id(n)
            for node in ast.walk(tree)
            for a in (getattr(node, "annotation", None), getattr(node, "returns", None))
            if a is not None
            for n in ast.walk(a)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and id(node) not in annotations
                and _dotted(node.value) == "subprocess"
                and node.attr in ("run", "Popen", "call", "check_call", "check_output")
            ):
                starts.setdefault(name, set()).add(node.attr)
    assert set(starts) == {"media.py", *others}, starts
    for name in others:
        source = (PACKAGE / name).read_text(encoding="utf-8")
        assert '"ffmpeg"' not in source and '"ffprobe"' not in source, name


def test_one_sample_rate():
    found = []
    for name, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value == 16000 and not isinstance(node.value, bool):
                found.append((name, node.lineno))
            if isinstance(node, ast.Assign) and any(_dotted(t) == "SAMPLE_RATE" for t in node.targets):
                found.append((name, "SAMPLE_RATE ="))
    assert len(found) == 2 and {name for name, _ in found} == {"media.py"}, found


def test_only_the_notebook_reads_colab():
    """Engines and translation take keys as values; the notebook reads Colab secrets and passes them."""
    readers = set()
    for name, tree in _trees():
        for node in ast.walk(tree):
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(m == "google" or m.startswith("google.colab") for m in modules):
                readers.add(name)
    assert readers and all(name.startswith("notebook/") for name in readers), readers


def test_the_deepl_key_is_read_from_the_environment_in_one_place():
    reads = []
    for name, tree in _trees():
        for node in ast.walk(tree):
            key = None
            if isinstance(node, ast.Call) and _dotted(node.func) in ("os.environ.get", "os.getenv") and node.args:
                key = ast.unparse(node.args[0])
            elif isinstance(node, ast.Subscript) and _dotted(node.value) == "os.environ":
                key = ast.unparse(node.slice)
            if key is not None and ("DEEPL_AUTH_KEY" in key or key == "KEY_VARIABLE"):
                reads.append(name)
    assert reads == ["translation/connection.py"]


def test_the_cli_and_the_notebook_share_one_log_handler():
    handlers = {
        name
        for name, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and any("Handler" in _dotted(b) for b in node.bases)
    }
    assert "cli.py" not in handlers and "notebook/output.py" not in handlers
    assert "logs.py" in handlers

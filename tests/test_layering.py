"""The package's layering (README, "Module map"): stage modules never import the orchestration or a
face, so each stage can be used and tested alone; the faces go through the pipeline and the
options contract. Read from the source (every import, also the ones inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "audiototext"
#: The orchestration and the three faces.
TOP = ("pipeline", "cli", "notebook", "service")
#: Everything else is a stage (or shared infrastructure) and must not import TOP; the package's
#: own ``__init__`` (the public face: ``audiototext.transcribe``) and the options contract, which
#: builds the pipeline's Options, sit above the stages.
STAGES = [
    p
    for p in sorted(PACKAGE.rglob("*.py"))
    if p.relative_to(PACKAGE).parts[0].removesuffix(".py") not in (*TOP, "options", "__main__", "__init__")
]


def imported(path: Path) -> set[str]:
    """Dotted names of the audiototext modules ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ["audiototext", *path.relative_to(PACKAGE).with_suffix("").parts][:-1]  # the module's package
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return {n for n in names if n.startswith("audiototext")}


def test_the_stages_are_found():
    names = {p.relative_to(PACKAGE).parts[0] for p in STAGES}
    assert {"engines", "longaudio", "translation", "media.py", "subtitles.py", "transcript.py"} <= names


@pytest.mark.parametrize("path", STAGES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_stage_modules_never_import_the_pipeline_or_a_face(path):
    forbidden = {name for name in imported(path) if name.split(".")[1:2] and name.split(".")[1] in TOP}
    assert not forbidden, f"{path.relative_to(PACKAGE)} imports {sorted(forbidden)}"


def test_transcript_and_subtitles_import_without_heavy_packages():
    import subprocess
    import sys

    code = (
        "import sys, audiototext.transcript, audiototext.subtitles, audiototext.events, audiototext.options;"
        "heavy = {'torch', 'whisper', 'faster_whisper', 'ctranslate2', 'deepl', 'openai', 'ray'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


BENCH = PACKAGE.parent / "bench"


def test_the_bench_scripts_are_found():
    names = {p.name for p in BENCH.glob("*.py")}
    assert {"run.py", "gpu.py", "memory.py", "subtitles.py"} <= names


def test_modules_and_functions_stay_small():
    """No module over ~450 lines but the model converter; no function over ~60 lines (issue 11); the
    benchmarks in bench/ keep the same rules (issue 21)."""
    big, long = [], []
    for path in sorted([*PACKAGE.rglob("*.py"), *BENCH.glob("*.py")]):
        name = path.relative_to(PACKAGE.parent)
        source = path.read_text(encoding="utf-8")
        if source.count("\n") > 460 and path.name != "convert.py":
            big.append(f"{name}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 62:
                long.append(f"{name}:{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not big and not long, big + long

"""The package's layering (README, "Module map"): stage modules never import the orchestration or a
face, so each stage can be used and tested alone; the faces go through the pipeline and the
options contract. Read from the source (every import, also the ones inside functions)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "audiototext"
#: The orchestration, the three faces and the command that starts them.
TOP = ("pipeline", "cli", "notebook", "service", "command")
#: Everything else is a stage (or shared infrastructure, or the options contract, which makes the
#: pipeline's Options from the stages' records) and must not import TOP; only the package's own
#: ``__init__`` (the public face: ``audiototext.transcribe``) sits above the stages.
STAGES = [
    p
    for p in sorted(PACKAGE.rglob("*.py"))
    if p.relative_to(PACKAGE).parts[0].removesuffix(".py") not in (*TOP, "__main__", "__init__")
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
    assert {"engines", "longaudio", "translation", "options", "media.py", "subtitles.py", "transcript.py"} <= names


def module_name(path: Path) -> str:
    """``audiototext.options.rules`` for options/rules.py, ``audiototext.options`` for its ``__init__``."""
    parts = ["audiototext", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, at the top, inside functions or for type checking.
    ``from .x import y`` imports module ``x.y`` where there is one, else module ``x``."""
    graph = {}
    for name, path in MODULES.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in MODULES)
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                module = ".".join([*base, *(node.module.split(".") if node.module else [])])
                for a in node.names:
                    edges.add(f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module)
        graph[name] = {e for e in edges if e in MODULES and e != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: each strongly connected group of two modules or more, as one circle through it."""
    found, seen = [], set()
    for start in graph:
        if start in seen:
            continue
        # Modules reachable from start and from which start is reachable: start's circle, if any.
        reach = _reachable(graph, start)
        back = {m for m in reach if start in _reachable(graph, m)}
        seen |= back | {start}
        if back - {start}:
            found.append(sorted(back | {start}))
    return found


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    todo, reached = [start], set()
    while todo:
        for nxt in graph[todo.pop()] - reached:
            reached.add(nxt)
            todo.append(nxt)
    return reached


def test_the_import_graph_is_read():
    graph = import_graph()
    assert "audiototext.options.record" in graph["audiototext.pipeline"]
    assert "audiototext.translation.client" in graph["audiototext.translation"]
    assert "audiototext.pipeline" in graph["audiototext"]  # inside __getattr__
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_import_graph_has_no_circle():
    """No module imports, even inside a function or for type checking, a module that imports it back
    (directly or through others): each layer can be read, tested and changed from the bottom up."""
    assert not circles(import_graph())


def unit(module: str) -> str:
    """The top-level module or package a module belongs to: ``engines`` for
    ``audiototext.engines.openai_api.pieces``, ``__init__`` for the package itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def package_graph() -> dict[str, set[str]]:
    """Top-level module or package -> those it imports (any of its modules importing any of theirs)."""
    graph: dict[str, set[str]] = {}
    for module, edges in import_graph().items():
        graph.setdefault(unit(module), set()).update(unit(e) for e in edges if unit(e) != unit(module))
    return graph


README = PACKAGE.parent / "README.md"


def readme_layers() -> list[tuple[str, set[str]]]:
    """The layers README's module map lists, bottom to top: ``1. **name**: `a`, `b` ...`` lines."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Module map") :]
    section = section[: section.index("\n## ", 1)]
    found = re.findall(r"^\d+\. \*\*([^*]+)\*\*: (.*)$", section, flags=re.M)
    return [(name, set(re.findall(r"`(\w+)`", names))) for name, names in found]


def test_the_package_graph_is_read():
    graph = package_graph()
    assert "options" in graph["pipeline"] and "engines" in graph["longaudio"]
    assert {"pipeline", "options"} <= graph["__init__"]
    assert len(readme_layers()) >= 5 and readme_layers()[0][0] == "data model"


def test_no_circle_between_top_level_modules_and_packages():
    """Not even through their inner modules: ``engines`` never imports ``longaudio`` (whose windows
    need the engines) nor ``downloads`` the engines (which use its downloads), so the packages
    read, test and change from the bottom up as the modules do."""
    assert not circles(package_graph())


def test_every_top_level_module_is_in_one_documented_layer():
    listed = [name for _, names in readme_layers() for name in names]
    assert len(listed) == len(set(listed)), "a module is listed in two layers"
    assert set(listed) == set(package_graph()), "README's layers and the package's modules differ"


def test_imports_follow_the_documented_layer_order():
    """A module imports only from its own layer and the ones below (README, "Module map")."""
    level = {name: i for i, (_, names) in enumerate(readme_layers()) for name in names}
    upward = [
        f"{a} ({readme_layers()[level[a]][0]}) imports {b} ({readme_layers()[level[b]][0]})"
        for a, targets in package_graph().items()
        for b in sorted(targets)
        if level[b] > level[a]
    ]
    assert not upward, upward


def test_no_face_imports_another_face():
    """The CLI, the notebook and the service each go through the pipeline and the options; the
    ``audiototext`` command (``command.py``) is what sends ``serve`` to the service."""
    faces = {"cli", "notebook", "service"}
    graph = package_graph()
    crossing = {face: sorted(graph[face] & faces) for face in faces if graph[face] & faces}
    assert not crossing, crossing


def test_only_colab_and_install_import_google_colab():
    """``notebook/colab.py`` reads the secrets and Drive and passes values down; ``notebook/install.py``
    (copied into the setup cell, which runs before the package can be imported) opens the upload
    dialog. No other module touches ``google.colab`` (README, "Module map")."""
    users = set()
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            if any(n == "google.colab" or n.startswith("google.colab.") for n in names):
                users.add(name)
    assert "audiototext.notebook.colab" in users
    assert users <= {"audiototext.notebook.colab", "audiototext.notebook.install"}, users


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
SCRIPTS = PACKAGE.parent / "scripts"


def test_the_bench_scripts_are_found():
    names = {p.name for p in BENCH.glob("*.py")}
    assert {"run.py", "gpu.py", "memory.py", "subtitles.py"} <= names
    assert {"examples.py", "set_repository.py"} <= {p.name for p in SCRIPTS.glob("*.py")}


def test_modules_and_functions_stay_small():
    """No module over 450 lines but the model converter; no function over 60 lines; the benchmarks
    in bench/ and the scripts in scripts/ keep the same rules (small pieces a newcomer can read whole)."""
    big, long = [], []
    for path in sorted([*PACKAGE.rglob("*.py"), *BENCH.glob("*.py"), *SCRIPTS.glob("*.py")]):
        name = path.relative_to(PACKAGE.parent)
        source = path.read_text(encoding="utf-8")
        if source.count("\n") > 450 and path.name != "convert.py":
            big.append(f"{name}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 60:
                long.append(f"{name}:{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not big and not long, big + long


def test_the_benchmarks_use_the_package_s_public_api():
    """bench/ and scripts/ import no private name of the package, take ``SAMPLE_RATE`` from it and
    start ffmpeg only through its runner (``media.run_ffmpeg``: one argument-list style, one error style)."""
    found = []
    for path in sorted([*BENCH.glob("*.py"), *SCRIPTS.glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("audiototext"):
                found += [f"{path.name}: imports {a.name}" for a in node.names if a.name.startswith("_")]
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "SAMPLE_RATE" for t in node.targets):
                found.append(f"{path.name}:{node.lineno}: defines SAMPLE_RATE")
            first = getattr(node.elts[0], "value", None) if isinstance(node, ast.List) and node.elts else None
            if first in ("ffmpeg", "ffprobe"):
                found.append(f"{path.name}:{node.lineno}: runs {node.elts[0].value} itself")
    assert not found, found


def test_ffmpeg_and_the_sample_rate_live_in_media_alone():
    """The package, bench/ and scripts/ start ffmpeg and ffprobe only through ``media.run_ffmpeg``
    and write 16 kHz only as ``media.SAMPLE_RATE`` (one runner, one error style, one rate)."""
    media = PACKAGE / "media.py"
    found = []
    for path in sorted([*PACKAGE.rglob("*.py"), *BENCH.glob("*.py"), *SCRIPTS.glob("*.py")]):
        name = path.relative_to(PACKAGE.parent)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            first = node.elts[0] if isinstance(node, ast.List) and node.elts else None  # an argument list
            if isinstance(first, ast.Constant) and first.value in ("ffmpeg", "ffprobe") and path != media:
                found.append(f"{name}:{node.lineno}: runs {first.value} itself")
            if isinstance(node, ast.Constant) and node.value == 16000 and path != media:
                found.append(f"{name}:{node.lineno}: writes 16000, not SAMPLE_RATE")
    assert not found, found


def test_the_module_map_names_every_module():
    """README's "Module map" names each module of the package (``name`` or ``name.py``)."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Module map", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([a-z_]+)(?:\.py)?`", section))
    missing = [
        str(p.relative_to(PACKAGE))
        for p in sorted(PACKAGE.rglob("*.py"))
        if p.stem not in ("__init__", "__main__") and p.stem not in named
    ]
    assert not missing, missing


def test_comments_say_why_not_which_issue():
    """The repository explains itself: no "issue N" (or "point N" of one) in code, tests, benchmarks or
    docs, and no pointer to the house style file kept outside it (a clean clone lacks it)."""
    root = PACKAGE.parent
    outside = "shared" + "/STYLE"  # spelt in two, so that this line is not found
    pattern = re.compile(rf"\bissues? #?\d+|issue-\d+|# --- point \d+|{outside}", re.I)
    found = []
    for folder in ("audiototext", "bench", "tests", "constraints", "scripts", "docs", "examples"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in (".py", ".md", ".txt", ".sh", ".js", ".html", ".cfg") and path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace")
                found += [f"{path.relative_to(root)}: {m.group(0)}" for m in pattern.finditer(text)]
    for name in ("README.md", "setup.cfg", "AudioToText.ipynb"):
        found += [f"{name}: {m.group(0)}" for m in pattern.finditer((root / name).read_text(encoding="utf-8"))]
    assert not found, found

"""The notebook's install cell cannot drift (issue 12, point 8): resolved with ``pip install --dry-run
--report`` in an environment that holds exactly Colab's preinstalled packages
(tests/data/colab_pip_freeze_gpu.txt, as metadata only, under Colab's Python), it installs what
constraints/colab.txt pins and changes nothing Colab ships (torch, numpy, ...)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from audiototext.notebook import fields

from test_notebook import code_cells, load_notebook

ROOT = Path(__file__).resolve().parents[1]
COLAB_FREEZE = ROOT / "tests" / "data" / "colab_pip_freeze_gpu.txt"
CONSTRAINTS = ROOT / fields.CONSTRAINTS_FILE
INDEX = "https://pypi.org/simple"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def colab_packages() -> dict[str, str]:
    """Colab's preinstalled packages: canonical name -> version (``name @ url`` lines: from the file name)."""
    found = {}
    for line in COLAB_FREEZE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pinned = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        direct = re.match(r"([A-Za-z0-9_.-]+) @ \S*?[-_](\d[\w.+]*?)(?:-py\d|-cp\d+|\.tar\.gz|\.whl)", line)
        match = pinned or direct
        if match:
            found[canonical(match[1])] = match[2]
    return found


def pinned() -> dict[str, str]:
    rows = [line.split("#")[0].strip() for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines()]
    return {canonical(name): version for name, version in (row.split("==") for row in rows if row)}


def colab_python() -> str:
    """An interpreter of Colab's Python version (the freeze file says which), else this one."""
    version = re.search(r"^# python: (\d+\.\d+)", COLAB_FREEZE.read_text(encoding="utf-8"), re.M)[1]
    for candidate in (
        shutil.which(f"python{version}"),
        *sorted(Path("~/.pyenv/versions").expanduser().glob(f"{version}.*/bin/python{version}")),
    ):
        if candidate and subprocess.run([str(candidate), "-c", "pass"], capture_output=True).returncode == 0:
            return str(candidate)
    return sys.executable


def pypi_reachable() -> bool:
    try:
        urllib.request.urlopen(f"{INDEX}/pip/", timeout=10).close()
        return True
    except OSError:
        return False


def fake_colab_environment(folder: Path) -> Path:
    """A virtual environment with its own pip (ensurepip's, offline) whose site-packages hold
    Colab's packages as metadata only."""
    subprocess.run([colab_python(), "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for name, version in colab_packages().items():
        if name == "pip":  # the environment's own pip stands in for Colab's
            continue
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "INSTALLER").write_text("colab\n")
    return python


def project_copy(folder: Path) -> Path:
    """What pip reads to build audiototext's metadata (the repository itself is not touched)."""
    (folder / "audiototext").mkdir(parents=True)
    for name in ("setup.cfg", "pyproject.toml", "README.md", "audiototext/__init__.py"):
        shutil.copy(ROOT / name, folder / name)
    return folder


def install_command(python: Path, project: Path, preinstalled: Path, report: Path) -> str:
    """The install cell's shell line, pointed at the fake Colab and made a dry run with a report."""
    [line] = [line[1:] for line in code_cells(load_notebook())["setup"].splitlines() if line.startswith("!")]
    pip = f"{shlex.quote(str(python))} -m pip"
    replaced = (
        line.replace("python3 -m pip", pip)
        .replace(fields.CONSTRAINTS_URL, shlex.quote(str(CONSTRAINTS)))
        .replace(f"git+{fields.REPOSITORY_URL}", f"file://{project}")
        .replace("/tmp/colab-preinstalled.txt", shlex.quote(str(preinstalled)))
        .replace(" install -q ", f" install -q --dry-run --report {shlex.quote(str(report))} ")
    )
    assert "--dry-run" in replaced and "git+" not in replaced and "https://" not in replaced
    return replaced


def test_the_constraints_pin_only_what_colab_lacks():
    shipped = colab_packages()
    assert {"torch", "numpy", "tqdm", "openai", "requests", "tokenizers"} <= set(shipped)
    assert not set(pinned()) & set(shipped), "a pin on a package Colab ships would conflict when Colab changes it"
    assert {"faster-whisper", "ctranslate2", "openai-whisper", "deepl", "ffmpeg-python"} <= set(pinned())


def test_the_install_cell_installs_the_pins_and_changes_nothing_colab_ships(tmp_path):
    if not pypi_reachable():
        pytest.skip(f"PyPI ({INDEX}) cannot be reached: the install cell's dry run needs it")
    python = fake_colab_environment(tmp_path / "colab")
    report = tmp_path / "report.json"
    command = install_command(python, project_copy(tmp_path / "project"), tmp_path / "preinstalled.txt", report)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL=INDEX, PIP_DISABLE_PIP_VERSION_CHECK="1")
    done = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    listed = (tmp_path / "preinstalled.txt").read_text().splitlines()
    assert len(listed) == len(colab_packages()) and "torch==2.11.0+cu128" in listed
    installs = {
        canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in json.loads(report.read_text())["install"]
    }
    shipped = colab_packages()
    assert not {name: (shipped[name], v) for name, v in installs.items() if name in shipped}, (
        "the install would change a package Colab ships"
    )
    assert installs.pop("audiototext")
    assert installs == pinned(), "everything installed is a tested, pinned version"

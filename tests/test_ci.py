"""CI (``.ci/run``) installs, then runs the whole suite; pytest's "no tests collected" (exit 5)
fails it. Run here on a throwaway tree whose install step does nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parent.parent / ".ci" / "run"


def ci_tree(tmp_path: Path, test: str | None) -> Path:
    """A tree with ``.ci/run``, an install script that does nothing and ``test`` as its one test file."""
    (tmp_path / ".ci").mkdir()
    shutil.copy(RUN, tmp_path / ".ci" / "run")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "install.sh").write_text("true\n", encoding="utf-8")
    (tmp_path / "tests").mkdir()
    if test is not None:
        (tmp_path / "tests" / "test_one.py").write_text(test, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("test", "status"), [(None, 1), ("def test_passes():\n    pass\n", 0), ("def test_fails():\n    assert False\n", 1)]
)
def test_ci_is_green_only_when_tests_ran_and_passed(tmp_path, test, status):
    tree = ci_tree(tmp_path, test)
    done = subprocess.run(["bash", str(tree / ".ci" / "run")], capture_output=True, text=True, cwd=tree)
    assert done.returncode == status, done.stdout + done.stderr
    assert ("collected no tests" in done.stderr) == (test is None)


def test_ci_runs_the_whole_suite():
    lines = RUN.read_text(encoding="utf-8").splitlines()
    assert "bash scripts/install.sh && python3 -m pytest -q" in lines  # no -m: the slow tests too

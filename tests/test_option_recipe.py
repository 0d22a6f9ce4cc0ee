"""README's "Add an option" recipe done in a copy of the package: one registry row plus the field
in its record, and the CLI flag, the range check, the options contract and the flags table follow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from audiototext import options

PACKAGE = Path(options.__file__).resolve().parent.parent

#: What the copy runs: the new option through the contract, its range, the CLI's help and the table.
EDGE_FACES = """
import sys

import audiototext
from audiototext import options
from audiototext.command import main
from audiototext.errors import OptionsError

assert audiototext.__file__.startswith(sys.argv[1]), audiototext.__file__
assert options.build({}).parallel.speech.edge == 0.25  # the record's default
assert options.build({"edge": 0.5}).parallel.speech.edge == 0.5  # the contract sets the field
try:
    options.build({"edge": 5})
except OptionsError as e:
    print("refused:", e)
print(options.markdown_table())
sys.exit(main(["--help"]))
"""


def add_edge(copy: Path) -> None:
    """The recipe: ``edge`` in ``SpeechOptions`` and its row in the registry, nothing else."""
    speech = copy / "audiototext" / "longaudio" / "speech.py"
    field = "    pause: float = value(0.4, min=0.0, max=5.0)\n"
    replace_once(speech, field, field + "    edge: float = value(0.25, min=0.0, max=2.0)\n")
    row = '        Option("pause", record=S,'
    new = '        Option("edge", record=S, group="long audio", faces=_LOCAL, why=_LONG_AUDIO_SERVER, help="pad"),\n'
    replace_once(copy / "audiototext" / "options" / "registry.py", row, new + row)


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name} changed: the recipe test needs {old!r} once"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.slow  # a copy of the package and a few imports in it (about 5 s)
def test_a_new_option_is_one_row_and_one_field(tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(PACKAGE, copy / "audiototext", ignore=shutil.ignore_patterns("__pycache__"))
    add_edge(copy)
    env = {**os.environ, "PYTHONPATH": str(copy)}
    cmd = [sys.executable, "-c", EDGE_FACES, str(copy)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "refused: --edge must be between 0 and 2, not 5" in done.stdout
    assert "| `--edge` | `0.25` | pad; between 0 and 2 |" in done.stdout  # the README's new line
    assert "--edge X" in done.stdout  # the CLI's flag

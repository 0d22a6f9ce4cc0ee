"""Point the notebook's badges and default install at the repository it is published in.

    python3 scripts/set_repository.py https://github.com/<owner>/<repo>

Rewrites ``REPOSITORY_URL`` in audiototext/notebook/install.py, the "Open in Colab" badges and
GitHub links in AudioToText.ipynb and README.md, and the Setup cell's copy of install.py.
tests/test_notebook.py fails while any of them disagree. (Opened from its badge, the notebook
installs from the repository Colab opened it from anyway; this makes the badges lead there.)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = Path("audiototext/notebook/install.py")
COPY_START = "# --- a copy of audiototext/notebook/install.py: it runs before audiototext is installed ---"
COPY_END = "# --- end of the copy ---"


def owner_repo(url: str) -> str:
    found = re.fullmatch(r"(?:https://github\.com/)?([\w.-]+/[\w.-]+?)(?:\.git)?/?", url.strip())
    if not found:
        raise SystemExit(f"{url}: give the repository as https://github.com/<owner>/<repo>")
    return found[1]


def set_repository(root: Path, new: str) -> list[Path]:
    """Rewrite the files under ``root``; returns those changed."""
    installer = root / INSTALLER
    text = installer.read_text(encoding="utf-8")
    old = owner_repo(re.search(r'^REPOSITORY_URL = "([^"]+)"', text, re.M)[1])
    hosts = r"(github\.com/|githubusercontent\.com/|colab\.research\.google\.com/github/)"
    changed = []
    notebook = root / "AudioToText.ipynb"
    for path in (installer, root / "README.md", notebook):
        before = path.read_text(encoding="utf-8")
        after = re.sub(rf"{hosts}{re.escape(old)}\b", rf"\g<1>{new}", before)
        if path == notebook:  # its Setup cell's copy of install.py, rewritten above
            after = _sync_copy(after, installer.read_text(encoding="utf-8"))
        if after != before:
            path.write_text(after, encoding="utf-8")
            changed.append(path)
    return changed


def _sync_copy(notebook_text: str, installer: str) -> str:
    nb = json.loads(notebook_text)
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if COPY_START in source:
            head, rest = source.split(COPY_START, 1)
            tail = rest.split(COPY_END, 1)[1]
            source = f"{head}{COPY_START}\n{installer.rstrip()}\n{COPY_END}{tail}"
            parts = source.split("\n")
            cell["source"] = [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repository", help="https://github.com/<owner>/<repo>")
    parser.add_argument("--root", type=Path, default=ROOT, help="the project's folder (default: this one)")
    args = parser.parse_args(argv)
    for path in set_repository(args.root, owner_repo(args.repository)):
        print(f"Rewrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

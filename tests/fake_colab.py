"""A fake ``google.colab`` for the notebook's Colab paths.

:func:`install` puts ``google.colab`` and its ``files``, ``drive``, ``userdata`` and ``output``
modules into ``sys.modules`` (so ``audiototext.notebook.in_colab()`` is true), points the
notebook's Drive mount point at a temporary folder, and records what the notebook asked for.
IPython's ``display`` is recorded too, so a test can look at the HTML, audio players and widgets
a step showed.

``input()`` answers from ``answers`` (a queue; none left: EOFError, as without a browser) and
records the ``questions``.

Switches and records on :class:`FakeColab`: ``uploads`` (a queue of ``[(name, bytes), ...]``, one
list per upload dialog), ``secrets`` (name -> value, else ``SecretNotFoundError``), ``recordings``
(a queue of ``data:`` URLs that the browser "recorded"; ``eval_js`` of Colab's
``google.colab.kernel.proxyPort(PORT)`` answers ``http://127.0.0.1:PORT/``), ``drive_files`` (files that appear under
``MyDrive`` once Drive is mounted); ``mounts``, ``downloads``, ``eval_js_calls``, ``displayed``.
"""

from __future__ import annotations

import base64
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path


class SecretNotFoundError(Exception):
    """What ``google.colab.userdata.get`` raises for a secret that does not exist."""


@dataclass
class FakeColab:
    """The state behind the fake modules."""

    mount_point: Path
    drive_storage: Path
    uploads: list[list[tuple[str, bytes]]] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)
    secret_reads: list[str] = field(default_factory=list)
    recordings: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    eval_js_calls: list[str] = field(default_factory=list)
    displayed: list[object] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)

    # --- input(): what the user types in Colab's prompt box ----------------------------------------

    def input(self, prompt: str = "") -> str:
        self.questions.append(prompt)
        if not self.answers:
            raise EOFError("no answer queued")
        return self.answers.pop(0)

    # --- google.colab.files --------------------------------------------------------------------

    def upload(self) -> dict[str, bytes]:
        """Save the next queued files in the current folder as Colab does: ``name (1).ext`` when taken."""
        if not self.uploads:
            return {}
        saved = {}
        for name, content in self.uploads.pop(0):
            path = Path(name)
            n = 0
            while path.exists():
                n += 1
                path = Path(f"{Path(name).stem} ({n}){Path(name).suffix}")
            path.write_bytes(content)
            saved[str(path)] = content
        return saved

    def download(self, path: str) -> None:
        assert Path(path).is_file(), f"files.download({path!r}): no such file"
        self.downloads.append(str(path))

    # --- google.colab.drive --------------------------------------------------------------------

    def mount(self, mountpoint: str, force_remount: bool = False, **kwargs) -> None:
        self.mounts.append(str(mountpoint))
        mount = Path(mountpoint)
        mount.mkdir(parents=True, exist_ok=True)
        if not (mount / "MyDrive").exists():
            (mount / "MyDrive").symlink_to(self.drive_storage, target_is_directory=True)

    def drive_file(self, relative: str, content: bytes) -> Path:
        """A file in "My Drive", visible under the mount point once Drive is mounted."""
        path = self.drive_storage / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    # --- google.colab.userdata -----------------------------------------------------------------

    def get_secret(self, name: str) -> str:
        self.secret_reads.append(name)
        if name not in self.secrets:
            raise SecretNotFoundError(name)
        return self.secrets[name]

    # --- google.colab.output -------------------------------------------------------------------

    def eval_js(self, script: str, ignore_result: bool = False, timeout_sec=None):
        self.eval_js_calls.append(script)
        proxied = re.match(r"google\.colab\.kernel\.proxyPort\((\d+)", script)
        if proxied:  # Colab's proxy of a runtime port: here, the port itself
            return f"http://127.0.0.1:{proxied[1]}/"
        assert self.recordings, "eval_js called with no recording queued"
        return self.recordings.pop(0)

    def queue_recording(self, wav: Path, mime: str = "audio/wav") -> None:
        """What the browser's recorder returns: the recording as a ``data:`` URL."""
        self.recordings.append(f"data:{mime};base64,{base64.b64encode(Path(wav).read_bytes()).decode()}")

    # --- IPython.display -----------------------------------------------------------------------

    def display(self, *objects, **kwargs) -> None:
        self.displayed.extend(objects)

    def html(self) -> str:
        """Every HTML the steps displayed, joined."""
        return "\n".join(o.data for o in self.displayed if type(o).__name__ == "HTML")


def install(monkeypatch, tmp_path: Path) -> FakeColab:
    """Make ``google.colab`` importable and ``in_colab()`` true until the test ends."""
    import IPython.display

    from audiototext.notebook import fields

    state = FakeColab(mount_point=tmp_path / "content-drive", drive_storage=tmp_path / "my-drive")
    state.drive_storage.mkdir()
    colab = types.ModuleType("google.colab")
    modules = {
        "files": {"upload": state.upload, "download": state.download},
        "drive": {"mount": state.mount},
        "userdata": {"get": state.get_secret, "SecretNotFoundError": SecretNotFoundError},
        "output": {"eval_js": state.eval_js},
    }
    for name, attributes in modules.items():
        module = types.ModuleType(f"google.colab.{name}")
        for attribute, value in attributes.items():
            setattr(module, attribute, value)
        setattr(colab, name, module)
        monkeypatch.setitem(sys.modules, f"google.colab.{name}", module)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    try:  # keep a real "google" namespace package (protobuf lives there) and add colab to it
        import google

        monkeypatch.setattr(google, "colab", colab, raising=False)
    except ImportError:
        google = types.ModuleType("google")
        google.__path__ = []
        google.colab = colab
        monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setattr(fields, "DRIVE_MOUNT", str(state.mount_point))
    monkeypatch.setattr(IPython.display, "display", state.display)
    monkeypatch.setattr("builtins.input", state.input)
    from audiototext.notebook import steps

    monkeypatch.setattr(steps, "_ZIP_ANSWER", [])  # a new session: not asked yet
    return state

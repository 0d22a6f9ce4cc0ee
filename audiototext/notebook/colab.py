"""Colab glue: uploads, Google Drive, secrets, the microphone, downloads.

The only module that imports ``google.colab`` (each function imports what it needs, so this
module imports anywhere). Tests put a fake ``google.colab`` in ``sys.modules``
(tests/fake_colab.py) and point :data:`~audiototext.notebook.fields.DRIVE_MOUNT` at a temporary folder.
"""

from __future__ import annotations

import base64
import logging
import os
import sys
from pathlib import Path
from collections.abc import Sequence

from ..errors import OptionsError
from . import fields

log = logging.getLogger(__name__)

#: Recordings are saved as ``recording-1.wav``, ``recording-2.wav``... never over an earlier one.
RECORDING_STEM = "recording"


def in_colab() -> bool:
    """True inside a Google Colab runtime (which imports ``google.colab`` at start)."""
    return "google.colab" in sys.modules


def in_jupyter() -> bool:
    """True inside an IPython kernel (Jupyter, JupyterLab, VS Code, Colab)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def environment() -> str:
    """ "colab", "jupyter" or "python"."""
    return "colab" if in_colab() else "jupyter" if in_jupyter() else "python"


def secret(name: str) -> str | None:
    """A Colab secret's value, or None outside Colab or when it is missing or not shared. Never logged."""
    if not in_colab():
        return None
    try:
        from google.colab import userdata

        value = userdata.get(name)
    except Exception as e:  # noqa: BLE001 - SecretNotFoundError, NotebookAccessError, TimeoutException
        log.info("Colab secret %s is not available (%s)", name, type(e).__name__)
        return None
    text = str(value or "").strip()
    return text or None


def deepl_key(field: str | None = None) -> str:
    """The DeepL key the notebook passes down: the ``deepl_api_key`` field, else the Colab secret
    ``DEEPL_AUTH_KEY``, else ``$DEEPL_AUTH_KEY``; "" when none. The secret is read only when the
    field is empty (Colab asks the user to grant access on the first read)."""
    from ..translation.connection import deepl_key as from_environment

    return str(field or "").strip() or secret(fields.DEEPL_SECRET) or from_environment()


def openai_key(field: str | None = None) -> str | None:
    """The OpenAI key the notebook passes down: the ``api_key`` field, else the Colab secret
    ``OPENAI_API_KEY``; None when neither (the engine then reads ``$OPENAI_API_KEY``)."""
    return str(field or "").strip() or secret(fields.OPENAI_SECRET)


def mounted() -> bool:
    return Path(fields.DRIVE_MOUNT, "MyDrive").is_dir()


def mount_drive() -> None:
    """Mount Google Drive where Colab mounts it (Colab asks for permission once).

    Raises:
        OptionsError: outside Colab.
    """
    if not in_colab():
        raise OptionsError(
            "Google Drive paths work in Colab only: download the file and give its path, or choose a local output_dir"
        )
    from google.colab import drive

    drive.mount(fields.DRIVE_MOUNT)


def ensure_drive(paths: Sequence[str]) -> None:
    """Mount Drive when one of ``paths`` is on it and it is not mounted yet."""
    if any(fields.on_drive(p) for p in paths) and not mounted():
        mount_drive()


def free_path(directory: Path, name: str) -> Path:
    """``directory/name``, or as Colab names an upload whose name is taken: ``talk (1).mp3``,
    ``talk (2).mp3``... An upload never replaces a file (it may be an earlier upload's or a result)."""
    path = Path(directory) / name
    n = 0
    while os.path.lexists(path):  # a dangling symlink is taken too: opening it "x" would fail
        n += 1
        path = Path(directory) / f"{Path(name).stem} ({n}){Path(name).suffix}"
    return path


def upload(directory: Path) -> list[str]:
    """Colab's upload dialog (waits for the user); the files are saved in ``directory``.

    Colab saves each file in the current folder under a unique name (``talk (1).mp3`` when
    ``talk.mp3`` exists) and returns those names.

    Raises:
        OptionsError: nothing was uploaded.
    """
    from google.colab import files

    uploaded = files.upload()
    if not uploaded:
        raise OptionsError("Nothing was uploaded: run this step again and choose files")
    paths = []
    for name, content in uploaded.items():
        path = Path(name)
        if not path.is_file():  # older Colab versions only return the bytes
            path = free_path(directory, Path(name).name)
            path.write_bytes(content)
        paths.append(str(path))
    return paths


def download(path: Path) -> None:
    """Offer ``path`` as a browser download (Colab)."""
    from google.colab import files

    files.download(str(path))


def proxy_url(port: int) -> str:
    """The address at which Colab's page reaches ``port`` of this runtime (its kernel port proxy)."""
    from google.colab.output import eval_js

    url = str(eval_js(f"google.colab.kernel.proxyPort({int(port)}, {{'cache': false}})"))
    return url if url.endswith("/") else url + "/"


_RECORDER_JS = """
async function audiototextRecord() {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const recorder = new MediaRecorder(stream);
  const chunks = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  const button = document.createElement("button");
  button.textContent = "🔴 Recording... press to stop";
  document.body.appendChild(button);
  const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
  button.onclick = () => { recorder.stop(); stream.getTracks().forEach((t) => t.stop()); };
  recorder.start();
  await stopped;
  button.remove();
  const blob = new Blob(chunks, {type: recorder.mimeType});
  return await new Promise((resolve) => {
    const reader = new FileReader();
    reader.onloadend = () => resolve(reader.result);
    reader.readAsDataURL(blob);
  });
}
"""


def recording_path(directory: Path) -> Path:
    """The first free ``recording-N.wav`` in ``directory``: a new recording never replaces an earlier one."""
    n = 1
    while (Path(directory) / f"{RECORDING_STEM}-{n}.wav").exists():
        n += 1
    return Path(directory) / f"{RECORDING_STEM}-{n}.wav"


def record(directory: Path = Path(".")) -> Path:
    """Record the microphone until the Stop button is pressed; save it as a new WAV and play it back.

    Raises:
        OptionsError: outside Colab.
        MediaError: ffmpeg cannot read what the browser recorded.
    """
    if not in_colab():
        raise OptionsError(
            "Recording the microphone works in Colab only: record with another program and give the file in audio_file"
        )
    from google.colab.output import eval_js
    from IPython.display import Audio, Javascript, display

    from ..media import require_ffmpeg, run_ffmpeg

    require_ffmpeg()
    display(Javascript(_RECORDER_JS))
    data_url = str(eval_js("audiototextRecord()"))
    recorded = base64.b64decode(data_url.split(",", 1)[1])
    path = recording_path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(
        ["-n", "-i", "pipe:0", "-ac", "1", str(path)],
        name=fields.MICROPHONE,
        problem="ffmpeg could not convert the recording",
        fix="record again",
        data=recorded,
    )
    display(Audio(filename=str(path)))
    return path


__all__ = [
    "RECORDING_STEM",
    "in_colab",
    "in_jupyter",
    "environment",
    "secret",
    "deepl_key",
    "openai_key",
    "mounted",
    "mount_drive",
    "ensure_drive",
    "free_path",
    "upload",
    "download",
    "proxy_url",
    "recording_path",
    "record",
]

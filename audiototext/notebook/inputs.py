"""Step 2 of the notebook: which inputs to transcribe (a path, a link, Drive, an upload, the microphone).

:func:`choose_input` turns the form's ``audio_file`` field into :class:`Inputs` and fails with one
line when a local file is missing; uploads and video pages' media (YouTube..., through yt-dlp) are
saved beside the notebook, never over a file there.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence

from ..errors import AudioToTextError, MediaError, OptionsError
from ..outputs import output_stems
from . import colab, fields
from .output import human_size, setup_logging, stop, write


# --- step 2: input ------------------------------------------------------------------------------


@dataclass
class Inputs:
    """The media chosen in the Input step.

    Attributes:
        sources: paths or http(s) links, as the pipeline takes them.
        upload: an ``ipywidgets.FileUpload`` whose files are saved when the next step runs
            (plain Jupyter, where a cell cannot wait for an upload), or None.
        upload_dir: where uploaded files are saved.
    """

    sources: list[str] = field(default_factory=list)
    upload: object | None = None
    upload_dir: Path = Path(".")
    _saved: tuple = ((), [])  # (what the upload box held, the paths it was saved as)

    def resolve(self) -> list[str]:
        """The sources, saving the upload box's files first (once: running the next step again
        transcribes the same saved files, it does not save copies).

        Raises:
            OptionsError: nothing was chosen or uploaded yet.
        """
        if self.upload is not None:
            held = _fingerprint(self.upload)
            if held and held != self._saved[0]:
                self._saved = (held, save_uploads(self.upload, self.upload_dir))
            if held:
                return list(self._saved[1])
            if not self.sources:
                raise OptionsError(
                    "No file uploaded yet: choose files with the Upload button above "
                    "(or set audio_file), then run this step again"
                )
        if not self.sources:
            raise OptionsError(
                "No audio_file given: set audio_file to a file name, a link or a Drive "
                "path, or leave it empty and upload files"
            )
        return list(self.sources)


def _fingerprint(upload) -> tuple:
    items = _upload_items(getattr(upload, "value", upload))
    return tuple((name, len(content), hashlib.sha1(content).hexdigest()) for name, content in items)


def _upload_items(value) -> list[tuple[str, bytes]]:
    # ipywidgets 8: a tuple of {"name", "content": memoryview, ...}; ipywidgets 7: {name: {"content"}}.
    if isinstance(value, dict):
        return [(name, bytes(item["content"])) for name, item in value.items()]
    return [(item["name"], bytes(item["content"])) for item in value or ()]


def save_uploads(upload, directory: str | Path = ".") -> list[str]:
    """Write the files of an ``ipywidgets.FileUpload`` into ``directory``; returns their paths.

    As Colab does, a name already taken (a file beside the notebook, or an earlier upload of the
    same name) gets `` (1)``, `` (2)``... before its extension: nothing is overwritten.
    """
    directory = Path(directory)
    paths = []
    for name, content in _upload_items(getattr(upload, "value", upload)):
        safe = os.path.basename(name.replace("\\", "/")).lstrip(".") or "upload"
        directory.mkdir(parents=True, exist_ok=True)
        target = colab.free_path(directory, safe)
        with open(target, "xb") as out:  # "x": never over a file that appeared meanwhile
            out.write(content)
        write(f"Saved upload {target} ({human_size(len(content))})")
        paths.append(str(target))
    return paths


def choose_input(audio_file: str = "", *, upload_dir: str | Path = ".") -> Inputs:
    """Step 2: what to transcribe.

    Args:
        audio_file: empty to upload files (Colab's upload dialog, or an upload box in Jupyter);
            a path, several separated by commas, an http(s) link, a Google Drive path
            ("MyDrive/talk.mp4", Drive is mounted when needed) or "microphone" to record (Colab).
        upload_dir: where uploads and recordings are saved.

    Raises:
        NotebookError: a local file does not exist, or the way chosen is not available here.
    """
    setup_logging()
    value = str(audio_file or "").strip()
    try:
        if value.lower() == fields.MICROPHONE:
            inputs = Inputs([str(colab.record(Path(upload_dir)))])
        elif not value:
            inputs = _upload(Path(upload_dir))
            if inputs.upload is not None:
                return inputs
        else:
            inputs = Inputs([fields.drive_path(p) for p in fields.parse_audio_files(value)])
            colab.ensure_drive(inputs.sources)
            _check_local(inputs.sources)
            inputs.sources = [_fetch(s, Path(upload_dir)) for s in inputs.sources]
    except AudioToTextError as e:
        raise stop(e) from e
    _list_inputs(inputs.sources)
    return inputs


def _list_inputs(sources: Sequence[str]) -> None:
    """One line per input, with its size and, for same-named inputs, the name its files get."""
    for source, stem in zip(sources, output_stems(sources)):
        path = Path(source)
        size = f" ({human_size(path.stat().st_size)})" if path.is_file() else ""
        renamed = f" -> files named {stem}.*" if stem and stem != path.stem else ""
        print(f"🎧 {source}{size}{renamed}")


def _fetch(source: str, folder: Path) -> str:
    """A video page's link (YouTube...) downloaded beside the notebook through yt-dlp, under a name no
    other file has, so that the player and burned subtitles have its media; anything else as it is
    (a media link is downloaded when transcribed, and played from the link)."""
    from ..media import is_url, resolve
    from ..pages import is_page

    if not (is_url(source) and is_page(source)):
        return source
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".audiototext-download-", dir=folder) as temporary:
        item = resolve(source, download_dir=Path(temporary), progress=True)
        target = colab.free_path(folder, item.path.name)
        shutil.move(str(item.path), target)
    write(f"⬇️ {source} -> {target}")
    return str(target)


def _check_local(sources: Sequence[str]) -> None:
    from ..media import is_url

    local = [s for s in sources if not is_url(s)]
    missing = [s for s in local if not Path(s).expanduser().exists()]
    if missing:
        drive = any(fields.on_drive(s) for s in missing)
        raise MediaError(
            f"No such file: {', '.join(missing)}; upload it or check the name (relative to "
            f"{os.getcwd()})" + ("; Google Drive paths look like MyDrive/talks/talk.mp4" if drive else ""),
            source=missing[0],
        )
    folders = [s for s in local if Path(s).expanduser().is_dir()]
    if folders:
        raise MediaError(f"{folders[0]} is a folder: give the audio or video files inside it", source=folders[0])


def _upload(upload_dir: Path) -> Inputs:
    if colab.in_colab():
        return Inputs(colab.upload(upload_dir))
    if colab.in_jupyter():
        import ipywidgets as widgets

        from .output import display

        upload = widgets.FileUpload(accept="audio/*,video/*", multiple=True, description="Upload")
        upload.add_class("audiototext-upload")
        display(widgets.HTML("Choose the audio or video files, then run the next step:"))
        display(upload)
        return Inputs(upload=upload, upload_dir=upload_dir)
    raise OptionsError("No audio_file given: pass a file name, a link or a Drive path")


__all__ = ["Inputs", "save_uploads", "choose_input"]

"""The notebook's steps: what each form cell of AudioToText.ipynb calls, one call per cell.

``setup()`` -> ``choose_input(audio_file)`` -> ``transcribe(inputs, **fields)`` ->
``translate(transcription, **fields)`` -> ``show_results(transcription, burn_subtitles=...)``.
Each step fails with one line (:class:`~audiototext.notebook.output.NotebookError`) and keeps
what was already written.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .. import __version__
from ..errors import AudioToTextError, MediaError, OptionsError, TranslationError
from ..languages import language_name
from ..pipeline import FileResult, Options, Pipeline, output_stems, translate_result
from . import colab, fields, results
from .output import (NotebookError, callbacks, human_size, print_segment, rich, setup_logging, show, show_error,
                     stop, write)


# --- step 1: setup ------------------------------------------------------------------------------


def gpu_names() -> list[str]:
    """GPU names as ``nvidia-smi -L`` lists them; empty without an NVIDIA GPU."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [re.sub(r"\s*\(UUID:.*\)$", "", line.strip()) for line in out.splitlines() if line.strip()]


def setup() -> None:
    """Step 1: check the machine: audiototext's version, ffmpeg, and the GPU (or a warning for the CPU)."""
    from ..media import require_ffmpeg

    setup_logging()
    print(f"audiototext {__version__} ({colab.environment()}), Python {sys.version.split()[0]}")
    try:
        require_ffmpeg()
    except MediaError as e:
        raise stop(e) from e
    gpus = gpu_names()
    for name in gpus:
        print(f"✅ {name}")
    if not gpus:
        show("<p>⚠️ <b>No GPU</b>: transcription runs on the CPU and is much slower. In Colab choose "
             "<i>Runtime › Change runtime type › T4 GPU</i>. On a CPU prefer <code>use_model</code> "
             "tiny, base or small.</p>",
             "⚠️ No GPU: transcription runs on the CPU and is much slower. In Colab choose "
             "Runtime > Change runtime type > T4 GPU. On a CPU prefer use_model tiny, base or small.")


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

    def resolve(self) -> list[str]:
        """The sources, saving the upload box's files first.

        Raises:
            OptionsError: nothing was chosen or uploaded yet.
        """
        if self.upload is not None:
            saved = save_uploads(self.upload, self.upload_dir)
            if saved:
                return saved
            if not self.sources:
                raise OptionsError("No file uploaded yet: choose files with the Upload button above "
                                   "(or set audio_file), then run this step again")
        if not self.sources:
            raise OptionsError("No audio_file given: set audio_file to a file name, a link or a Drive "
                               "path, or leave it empty and upload files")
        return list(self.sources)


def _upload_items(value) -> list[tuple[str, bytes]]:
    # ipywidgets 8: a tuple of {"name", "content": memoryview, ...}; ipywidgets 7: {name: {"content"}}.
    if isinstance(value, dict):
        return [(name, bytes(item["content"])) for name, item in value.items()]
    return [(item["name"], bytes(item["content"])) for item in value or ()]


def save_uploads(upload, directory: str | Path = ".") -> list[str]:
    """Write the files of an ``ipywidgets.FileUpload`` into ``directory``; returns their paths."""
    directory = Path(directory)
    paths = []
    for name, content in _upload_items(getattr(upload, "value", upload)):
        safe = os.path.basename(name.replace("\\", "/")).lstrip(".") or "upload"
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / safe
        target.write_bytes(content)
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


def _check_local(sources: Sequence[str]) -> None:
    from ..media import is_url

    local = [s for s in sources if not is_url(s)]
    missing = [s for s in local if not Path(s).expanduser().exists()]
    if missing:
        drive = any(fields.on_drive(s) for s in missing)
        raise MediaError(f"No such file: {', '.join(missing)}; upload it or check the name (relative to "
                         f"{os.getcwd()})" + ("; Google Drive paths look like MyDrive/talks/talk.mp4"
                                              if drive else ""), source=missing[0])
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


# --- step 3: transcribe -------------------------------------------------------------------------


@dataclass
class Transcription:
    """What the Transcribe step did; the DeepL and Results steps take it and add to it.

    Attributes:
        results: one per input, in input order.
        options: the options it ran with.
        translations: input index -> its DeepL results (``TranslationResult``), one per target.
        burned: input index -> its video with burned-in subtitles, written by the Results step.
    """

    results: list[FileResult]
    options: Options
    translations: dict[int, list] = field(default_factory=dict)
    burned: dict[int, Path] = field(default_factory=dict)

    def files_by_input(self) -> list[list[Path]]:
        """The files written for each input: transcripts, translations, burned video."""
        return [[*r.outputs, *r.translated_outputs, *([self.burned[i]] if i in self.burned else [])]
                for i, r in enumerate(self.results)]

    @property
    def files(self) -> list[Path]:
        """Every file written, input by input: transcripts first."""
        return [p for group in self.files_by_input() for p in group]


def _sources(inputs: Inputs | str | Sequence[str]) -> list[str]:
    if isinstance(inputs, Inputs):
        return inputs.resolve()
    if isinstance(inputs, (str, os.PathLike)):
        return fields.parse_audio_files(str(inputs))
    return [str(s) for s in inputs]


def _header(options: Options) -> str:
    decode = options.decode
    what = "-- TRANSLATE TO ENGLISH --" if decode.task == "translate" else "-- TRANSCRIPTION --"
    language = language_name(decode.language) if decode.language else "auto-detected"
    if options.engine == "openai-api":
        how = "OpenAI's API"
    elif options.parallel.mode == "off":
        how = "sequential decoding, coherence_preference applies"
    else:
        how = "windows of speech decoded independently (coherence_preference applies with parallel off only)"
    return f"{what}  model {options.model}, {options.engine}, language {language}; {how}"


def transcribe(inputs: Inputs | str | Sequence[str], **values) -> Transcription:
    """Step 3: transcribe (or translate to English) every input and write its files.

    Args:
        inputs: what :func:`choose_input` returned, or paths/links ("a.mp3, b.wav").
        **values: the Transcribe form's fields (:data:`~audiototext.notebook.fields.STEPS`), as the
            form holds them; ``output_dir`` may be a Google Drive folder ("MyDrive/subtitles"),
            mounted when needed, where every file and checkpoint is written as soon as it exists.

    Each input is isolated: one that fails shows its error and the others go on; the step stops
    with one message only when none succeeded. Run it again after an interruption with the same
    inputs and fields, and it resumes from the checkpoints in ``output_dir``.
    """
    setup_logging()
    try:
        fields.check_fields(values, "transcribe")
        colab.ensure_drive(fields.drive_paths(values))
        options = fields.transcribe_options(values)
        sources = _sources(inputs)
    except AudioToTextError as e:
        raise stop(e) from e
    print(_header(options))
    done = Pipeline(options, callbacks()).run(sources)
    failed = [r for r in done if not r.ok]
    if failed and len(failed) == len(done):
        raise NotebookError(f"Nothing was transcribed: {'the input' if len(failed) == 1 else 'every input'} "
                            "failed (the reason is above)")
    if failed:
        print(f"⚠️ {len(failed)} of {len(done)} inputs failed (see above); the others were written.")
    return Transcription(done, options)


# --- step 4: DeepL ------------------------------------------------------------------------------


def translate(transcription: Transcription, **values) -> list[Path]:
    """Step 4 (optional): translate the transcripts' lines with DeepL and write those files too.

    Args:
        transcription: what :func:`transcribe` returned.
        **values: the DeepL form's fields. The key is ``deepl_api_key``, else the Colab secret
            ``DEEPL_AUTH_KEY``, else the environment variable ``DEEPL_AUTH_KEY``; never printed.
            With a key, DeepL's current target list is read first, so a language DeepL added
            after the built-in list was written can be chosen.

    Returns:
        The translated files written (empty when no target language is chosen).

    A DeepL failure shows one message and keeps every file already written.
    """
    from ..translation import available_targets

    setup_logging()
    try:
        fields.check_fields(values, "translate")
        if not str(values.get("deepl_target_language") or "").strip():
            print("No deepl_target_language chosen: DeepL translation skipped.")
            return []
        key = str(values.get("deepl_api_key") or "").strip() or colab.secret(fields.DEEPL_SECRET) \
            or os.environ.get("DEEPL_AUTH_KEY", "").strip()
        if not key:
            raise TranslationError(f"No DeepL API key: fill deepl_api_key, or add a Colab secret named "
                                   f"{fields.DEEPL_SECRET} (🔑 in the left bar) and give this notebook access, "
                                   "or set the environment variable DEEPL_AUTH_KEY", kind="config")
        colab.ensure_drive(fields.drive_paths(values))
        available_targets(key)  # new DeepL targets become known before the target is checked
        options = fields.deepl_options({**values, "deepl_api_key": key})
    except AudioToTextError as e:
        raise stop(e) from e
    return _translate_all(transcription, options)


def _translate_all(transcription: Transcription, options) -> list[Path]:
    written: list[Path] = []
    run = transcription.options
    for index, result in enumerate(transcription.results):
        if not result.ok or result.transcript is None or not result.outputs:
            continue
        write(f"\n▶ DeepL: {result.source}")
        try:
            paths = translate_result(result, options, output_dir=run.output_dir, formats=run.formats,
                                     writer=run.writer, on_line=print_segment)
        except (TranslationError, OptionsError) as e:
            show_error(e, "The transcription files are kept.")
            if getattr(e, "kind", None) in ("config", "auth", "quota") or isinstance(e, OptionsError):
                break  # the same answer for every other file
            continue
        kept = [t for t in transcription.translations.get(index, []) if t.target != result.translation.target]
        transcription.translations[index] = [*kept, result.translation]
        written.extend(paths)
    return written


# --- step 5: results ----------------------------------------------------------------------------


def show_results(transcription: Transcription, *, burn_subtitles: bool = False, download: bool = True) -> Path | None:
    """Step 5: the files by input, one zip of them all, a player with the subtitles, a preview.

    Args:
        transcription: what :func:`transcribe` returned (and :func:`translate` added to).
        burn_subtitles: also write ``<name>_subtitled.mp4`` per input with the subtitles burned in
            (the DeepL translation when there is one), listed and zipped with the rest.
        download: in Colab, download the zip (``files.download``); in Jupyter the files are links.

    Returns:
        The zip's path, or None when nothing was written.
    """
    setup_logging()
    if burn_subtitles:
        _burn_all(transcription)
    files = [p for p in transcription.files if Path(p).is_file()]
    if not files:
        errors = "; ".join(str(r.error) for r in transcription.results if not r.ok)
        print("No files were written." + (f" Errors: {errors}" if errors else ""))
        return None
    output_dir = Path(transcription.options.output_dir)
    archive = results.zip_files(files, output_dir.parent / f"{output_dir.name}.zip")
    env = colab.environment()
    found, groups = transcription.results, transcription.files_by_input()
    show(f"<div class='audiototext-results'><p><b>{len(files)} files in {output_dir}/</b></p>"
         f"{results.table_html(found, groups, env)}"
         f"<p>📦 All of them: {results.file_link(archive, env)} ({human_size(archive.stat().st_size)})</p></div>",
         f"{len(files)} files in {output_dir}/:\n{results.table_text(found, groups)}\n"
         f"All of them: {archive} ({human_size(archive.stat().st_size)})")
    for index, result in enumerate(found):
        if result.ok:
            _show_player(result, transcription.translations.get(index, []), transcription.options, env)
            _show_previews(result)
    if download and colab.in_colab():
        colab.download(archive)
    return archive


def _show_player(result: FileResult, translations: list, options: Options, env: str) -> None:
    if not rich():
        return
    found = results.tracks(result, translations)
    if not found:
        return
    src, reason = results.media_source(result.source, env)
    if src is None:
        show(f"<p>▶️ {reason}</p>", reason)
        return
    show(results.player_html(src, found, video=results.has_video(result.source), writer=options.writer),
         f"▶️ {result.source}")


def _show_previews(result: FileResult) -> None:
    for paths in (result.outputs, result.translated_outputs):
        path = results.preview_file(paths)
        if path is not None:
            show(*results.preview(path))


def _burn_all(transcription: Transcription) -> None:
    """Burn each input's subtitles (its last DeepL translation, else its transcript) into an mp4."""
    if not results.can_burn():
        show_error(MediaError("This ffmpeg cannot render subtitles (it was built without libass): "
                              "burn_subtitles skipped"))
        return
    for index, result in enumerate(transcription.results):
        found = results.tracks(result, transcription.translations.get(index, [])) if result.ok else []
        if not found or not result.stem:
            continue
        track = found[-1]
        suffix = f"_{track.label}" if len(found) > 1 else ""  # named like the translation's files
        target = Path(transcription.options.output_dir) / results.burned_name(result.stem, suffix)
        write(f"🔥 Burning the {track.label} subtitles into {target.name} (the video is encoded again)")
        try:
            transcription.burned[index] = results.burn(result.source, track, target,
                                                       video=results.has_video(result.source),
                                                       writer=transcription.options.writer)
        except MediaError as e:
            show_error(e)


__all__ = ["gpu_names", "setup", "Inputs", "save_uploads", "choose_input", "Transcription", "transcribe", "translate",
           "show_results"]

"""The notebook's steps: what each form cell of AudioToText.ipynb calls, one call per cell.

``setup()`` -> ``choose_input(audio_file)`` (in :mod:`.inputs`) -> ``transcribe(inputs, **fields)`` ->
``translate(transcription, **fields)`` -> ``save(save_formats=..., from_json=...)`` (in :mod:`.saving`)
-> ``show_results(transcription, burn_subtitles=...)``.
Each step fails with one line (:class:`~audiototext.notebook.output.NotebookError`) and keeps
what was already written.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence

from .. import __version__
from ..engines import engine_class
from ..errors import AudioToTextError, MediaError, OptionsError, TranslationError
from ..languages import language_name
from ..options import Options
from ..pipeline import FileResult, Pipeline, translate_result
from ..transcript import Transcript
from . import colab, fields, results
from .inputs import Inputs, choose_input, save_uploads
from .output import (
    NotebookError,
    callbacks,
    human_size,
    print_segment,
    rich,
    setup_logging,
    show,
    show_error,
    stop,
    write,
)


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
        show(
            "<p>⚠️ <b>No GPU</b>: transcription runs on the CPU and is much slower. In Colab choose "
            "<i>Runtime › Change runtime type › T4 GPU</i>. On a CPU prefer <code>use_model</code> "
            "tiny, base or small.</p>",
            "⚠️ No GPU: transcription runs on the CPU and is much slower. In Colab choose "
            "Runtime > Change runtime type > T4 GPU. On a CPU prefer use_model tiny, base or small.",
        )


# --- step 3: transcribe -------------------------------------------------------------------------


@dataclass
class Transcription:
    """What the Transcribe step did; the DeepL and Results steps take it and add to it.

    Attributes:
        results: one per input, in input order.
        options: the options it ran with.
        translations: input index -> its DeepL results (``TranslationResult``), one per target.
        burned: input index -> its video with burned-in subtitles, written by the Results step.
        references: input index -> for a DeepL translation read back from its ``.json`` (Step 5's
            ``from_json``), the source transcript whose word times time its cues.
    """

    results: list[FileResult]
    options: Options
    translations: dict[int, list] = field(default_factory=dict)
    burned: dict[int, Path] = field(default_factory=dict)
    references: dict[int, Transcript] = field(default_factory=dict)

    def files_by_input(self) -> list[list[Path]]:
        """The files written for each input: transcripts, translations, burned video."""
        return [
            [*r.outputs, *r.translated_outputs, *([self.burned[i]] if i in self.burned else [])]
            for i, r in enumerate(self.results)
        ]

    @property
    def files(self) -> list[Path]:
        """Every file written, input by input: transcripts first."""
        return [p for group in self.files_by_input() for p in group]


_LAST: list[Transcription] = []


def remember(transcription: Transcription | None) -> None:
    """Keep ``transcription`` as this session's last one (the Save step writes from it)."""
    _LAST[:] = [transcription] if transcription is not None else []


def last_transcription() -> Transcription | None:
    """This session's last transcription (from the Transcribe or Save step), or None."""
    return _LAST[0] if _LAST else None


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
    engine = engine_class(options.engine)
    if engine.hosted:
        how = engine.title
    elif options.parallel.mode == "off":
        prompted = "prompted with" if decode.condition_on_previous_text else "without"
        how = f"sequential decoding, each 30 s window {prompted} the text before it"
    else:  # More coherence with parallel auto selected parallel off: asked with another, it is unused (warned)
        how = "windows of speech decoded independently, without the text before them"
    return f"{what}  model {options.model}, {options.engine}, language {language}; {how}"


def _with_key(options: Options) -> Options:
    """A hosted engine's key, resolved here and passed down: the ``api_key`` field, else the Colab
    secret (read only for a hosted engine: Colab asks for access on the first read)."""
    from ..engines import engine_class

    if options.api_key or not getattr(engine_class(options.engine), "hosted", False):
        return options
    key = colab.openai_key()
    return dataclasses.replace(options, api_key=key) if key else options


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
        options = _with_key(fields.transcribe_options(values))
        sources = _sources(inputs)
    except AudioToTextError as e:
        raise stop(e) from e
    print(_header(options))
    done = Pipeline(options, callbacks()).run(sources)
    failed = [r for r in done if not r.ok]
    if failed and len(failed) == len(done):
        raise NotebookError(
            f"Nothing was transcribed: {'the input' if len(failed) == 1 else 'every input'} "
            "failed (the reason is above)"
        )
    if failed:
        print(f"⚠️ {len(failed)} of {len(done)} inputs failed (see above); the others were written.")
    transcription = Transcription(done, options)
    remember(transcription)
    return transcription


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
        key = colab.deepl_key(values.get("deepl_api_key"))
        if not key:
            raise TranslationError(
                f"No DeepL API key: fill deepl_api_key, or add a Colab secret named "
                f"{fields.DEEPL_SECRET} (🔑 in the left bar) and give this notebook access, "
                "or set the environment variable DEEPL_AUTH_KEY",
                kind="config",
            )
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
            paths = translate_result(
                result, options, output_dir=run.output_dir, formats=run.formats, style=run.style, on_line=print_segment
            )
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
        download: in Colab, offer the zip for download (``files.download``), asking once per
            session; in Jupyter the files are links.

    Returns:
        The zip's path, or None when nothing was written.
    """
    setup_logging()
    if transcription is None:
        raise NotebookError("Nothing to show yet: run the Transcribe step (or the Save step with from_json) first")
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
    show(
        f"<div class='audiototext-results'><p><b>{len(files)} files in {output_dir}/</b></p>"
        f"{results.table_html(found, groups, env)}"
        f"<p>📦 All of them: {results.file_link(archive, env)} ({human_size(archive.stat().st_size)})</p></div>",
        f"{len(files)} files in {output_dir}/:\n{results.table_text(found, groups)}\n"
        f"All of them: {archive} ({human_size(archive.stat().st_size)})",
    )
    measured = results.subtitle_lines(found)
    if measured:
        show(results.lines_html(["Subtitles against the reading rules:", *measured]), "\n".join(measured))
    for index, result in enumerate(found):
        if result.ok:
            _show_player(result, transcription.translations.get(index, []), transcription.options, env)
            _show_previews(result)
    if download and colab.in_colab():
        _offer_zip(archive)
    return archive


#: This session's answer to "download the results zip?" (asked once: each step asking again is noise).
_ZIP_ANSWER: list[bool] = []


def _offer_zip(archive: Path) -> None:
    """Colab: ask once whether to download the results zip; later runs of the step do as answered."""
    if not _ZIP_ANSWER:
        try:
            reply = input(f"⬇️ Download {archive.name} to your computer? [y/N] (asked once this session) ")
        except (EOFError, RuntimeError, OSError):  # no one to ask (Run all without a browser): no
            reply = ""
        _ZIP_ANSWER.append(reply.strip().lower() in ("y", "yes"))
        if not _ZIP_ANSWER[0]:
            print(f"Not downloaded: {archive} is in the Files pane (📁), and this step won't ask again.")
    if _ZIP_ANSWER[0]:
        colab.download(archive)


def _show_player(result: FileResult, translations: list, options: Options, env: str) -> None:
    if not rich() or result.source.lower().endswith(".json"):  # read from a .json: no media to play
        return
    found = results.tracks(result, translations)
    if not found:
        return
    src, reason = results.media_source(result.source, env, stream=_stream if env == "colab" else None)
    if src is None:
        show(f"<p>▶️ {reason}</p>", reason)
        return
    show(
        results.player_html(src, found, video=results.has_video(result.source), cue_style=options.style),
        f"▶️ {result.source}",
    )


def _stream(path: Path) -> str:
    """``path`` streamed from this kernel to Colab's page (its port proxy), for the player."""
    from .serve import media_server

    server = media_server("0.0.0.0")  # Colab's proxy reaches the runtime's ports; files only by token
    return colab.proxy_url(server.port) + server.add(path)


def _show_previews(result: FileResult) -> None:
    paths = results.preview_files(result.outputs, result.translated_outputs)
    if paths:
        show(*results.previews(paths))


def _burn_all(transcription: Transcription) -> None:
    """Burn each input's subtitles (its last DeepL translation, else its transcript) into an mp4."""
    if not results.can_burn():
        show_error(
            MediaError("This ffmpeg cannot render subtitles (it was built without libass): burn_subtitles skipped")
        )
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
            transcription.burned[index] = results.burn(
                result.source, track, target, video=results.has_video(result.source), style=transcription.options.style
            )
        except MediaError as e:
            show_error(e)


__all__ = [
    "gpu_names",
    "setup",
    "Inputs",
    "save_uploads",
    "choose_input",
    "Transcription",
    "transcribe",
    "translate",
    "remember",
    "last_transcription",
    "show_results",
]

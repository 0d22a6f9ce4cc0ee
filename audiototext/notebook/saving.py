"""Step 5 of the notebook (optional): more formats from the kept result, without transcribing again
(transcribing is the slow part).

The Transcribe step keeps its result in memory (and every step before this one's DeepL
translations); :func:`save` writes ``save_formats`` from it, or from ``.json`` files written
earlier (``from_json``: after a reconnect, or in a new session), through :mod:`audiototext.saving`.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import AudioToTextError, OptionsError
from ..outputs import FileResult
from ..saving import kept_from_json, save_formats
from . import colab, fields
from .output import NotebookError, setup_logging, stop
from .steps import Transcription, last_transcription, remember


def save(
    transcription: Transcription | None = None, *, save_formats: str = "", from_json: str = ""
) -> Transcription | None:
    """Step 5: write ``save_formats`` from the kept transcription, or from ``.json`` files.

    Args:
        transcription: what :func:`~audiototext.notebook.transcribe` returned; default: this
            session's last one (the notebook's cell passes none).
        save_formats: txt, vtt, srt, tsv, json, comma-separated, or all; empty: nothing is written.
        from_json: ``.json`` outputs of an earlier run (comma-separated; Google Drive paths work):
            the files are written beside them, and the result is what the Results step shows.

    Returns:
        The transcription the files were written from (for the Results step), or None when
        there is none yet and nothing to write.
    """
    setup_logging()
    jsons = [fields.drive_path(p) for p in fields.parse_audio_files(from_json)]
    try:
        colab.ensure_drive(jsons)
        if jsons:
            transcription = _from_json(jsons, save_formats or "json")
        transcription = transcription or last_transcription()
        if not str(save_formats or "").strip():
            print("No save_formats chosen: nothing more written.")
            return transcription
        if transcription is None:
            raise OptionsError(
                "Nothing to save yet: run the Transcribe step first, or set from_json to a .json file "
                "written before (audio_transcription/talk.json)"
            )
        _write(transcription, save_formats, keep=jsons)
    except AudioToTextError as e:
        raise stop(e) from e
    remember(transcription)
    return transcription


def _from_json(paths: list[str], formats: str) -> Transcription:
    kept = [kept_from_json(p) for p in paths]
    results = [FileResult(p, transcript, [Path(p)], stem=Path(p).stem) for p, (transcript, _) in zip(paths, kept)]
    options = fields.transcribe_options({"output_dir": str(Path(paths[0]).parent), "output_formats": formats})
    references = {i: reference for i, (_, reference) in enumerate(kept) if reference is not None}
    return Transcription(results, options, references=references)


def _write(transcription: Transcription, formats: str, *, keep: list[str]) -> None:
    """Each input's transcript and DeepL translations in ``formats``, beside its other files."""
    from ..translation import translated_suffix

    style = transcription.options.style
    for index, result in enumerate(transcription.results):
        if not result.ok or result.transcript is None:
            continue
        folder = Path(result.outputs[0]).parent if result.outputs else transcription.options.output_dir
        stem = result.stem or Path(result.source).stem
        new = save_formats(
            result.transcript,
            folder,
            stem,
            formats,
            style,
            source=result.source,
            keep=keep,
            reference=transcription.references.get(index),
            result=result,
        )
        result.outputs = [*result.outputs, *(p for p in new if p not in result.outputs)]
        for translation in transcription.translations.get(index, []):
            if translation.transcript is None or translation.skipped:
                continue
            suffix = translated_suffix(translation.target)
            new = save_formats(
                translation.transcript,
                folder,
                stem,
                formats,
                style,
                suffix=suffix,
                source=result.source,
                reference=result.transcript,
                result=result,
            )
            result.translated_outputs = [
                *result.translated_outputs,
                *(p for p in new if p not in result.translated_outputs),
            ]
    if not any(r.ok for r in transcription.results):
        raise NotebookError("Nothing to save: no input was transcribed (the reasons are above)")


__all__ = ["save"]

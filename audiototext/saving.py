"""Writing formats from a kept result, without transcribing again (transcribing is the slow part).

A transcript is kept as the ``.json`` output (Whisper's result dict: ``text``, ``segments`` with
their ``words`` when word timestamps were on, ``language``) or, in the notebook, in memory.
:func:`save_formats` writes any formats from it with the current writer options — a new format,
or the same ones with other line limits — and :func:`save_from_json` does it for a ``.json``
file, translating with DeepL too when asked: ``audiototext --from-json out/talk.json -f srt,vtt``.
A file is never written over the ``.json`` it was read from.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from collections.abc import Callable, Sequence

from .errors import AudioToTextError, OptionsError
from .outputs import FileResult, report_written, translate_result, write_or_rescue
from .style import NETFLIX, SubtitleStyle
from .formats import output_path, parse_formats
from .transcript import Segment, Transcript

log = logging.getLogger(__name__)


def transcript_from_json(path: str | Path) -> Transcript:
    """The transcript kept in a ``.json`` output (this package's or the ``whisper`` CLI's).

    Raises:
        OptionsError: the file is missing, not JSON, or holds no ``segments`` list; says what to give.
    """
    return kept_from_json(path)[0]


def kept_from_json(path: str | Path) -> tuple[Transcript, Transcript | None]:
    """The transcript kept in a ``.json`` output, and for a DeepL translation the source it was
    translated from (its ``"reference"``, whose word times time the cues; else None), so the
    formats written from it are the ones the run wrote.

    Raises:
        OptionsError: as :func:`transcript_from_json`.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        transcript = Transcript.from_dict(data)
        if not isinstance(data.get("segments"), list):
            raise ValueError("no segments list")
        kept = data.get("reference")
        reference = Transcript.from_dict(kept) if isinstance(kept, dict) else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__
        raise OptionsError(
            f"{path}: not a transcript .json ({reason}); give a .json file that audiototext or whisper wrote "
            "(output format json)",
            option="from_json",
            value=str(path),
        ) from e
    if not transcript.duration and transcript.segments:
        transcript = Transcript(transcript.segments, transcript.language, transcript.segments[-1].end, transcript.task)
    return transcript, reference


def save_formats(
    transcript: Transcript,
    output_dir: Path,
    stem: str,
    formats: str | Sequence[str],
    style: SubtitleStyle = NETFLIX,
    *,
    suffix: str = "",
    source: str = "",
    keep: Sequence[Path] = (),
    reference: Transcript | None = None,
    result: FileResult | None = None,
) -> list[Path]:
    """Write ``transcript`` as ``<output_dir>/<stem><suffix>.<fmt>`` for each format; a target that
    is one of ``keep`` (the file it was read from) is left as it is and not listed. ``reference``:
    for a translation, its source transcript (its word times time the cues); ``result``: where
    each srt/vtt file's report against the reading rules is kept.

    Raises:
        OptionsError: an unknown format.
        OutputError: the folder refused the files (they were rescued; the message says where).
    """
    kept = {Path(p).resolve() for p in keep}
    chosen = [f for f in parse_formats(formats) if output_path(output_dir, stem, f, suffix).resolve() not in kept]
    if len(chosen) < len(parse_formats(formats)):
        log.info("%s: the .json it was read from is kept as it is", source or stem)
    if not chosen:
        return []
    _say_if_untimed(transcript, chosen, style, reference, source or stem)
    written = write_or_rescue(
        transcript, Path(output_dir), stem, chosen, style, suffix=suffix, source=source, reference=reference
    )
    if written.error:
        raise written.error
    report_written(result or FileResult(source), written.paths, transcript, style, reference=reference)
    return written.paths


def _say_if_untimed(transcript: Transcript, formats, style: SubtitleStyle, reference, name: str) -> None:
    """Cues cut by the reading rules follow word times: a transcript kept without them (transcribed
    for txt only, or with word_timestamps False) gives cues timed from its segments instead, which
    differ from those of a run that wrote srt/vtt itself. Said, so nobody expects the same times."""
    from .formats import get

    cues = any(get(f).cues for f in formats)
    if not cues or style.is_whisper or reference is not None or any(s.words for s in transcript.segments):
        return
    log.warning(
        "%s has no word times (it was transcribed without srt/vtt, or with word_timestamps False): its cues "
        "are timed from its segments, not its words; for word-timed cues transcribe again with srt or vtt "
        "among the formats (or word_timestamps True)",
        name,
    )


def save_from_json(path: str | Path, options, *, on_line: Callable[[Segment], None] | None = None) -> FileResult:
    """Write ``options.formats`` from a ``.json`` transcript into ``options.output_dir``, named after
    the file (``talk.json`` -> ``talk.srt``), then translate them with DeepL when ``options.deepl``
    is set. Errors are caught and recorded in the result, as :meth:`Pipeline.run_file` does.

    Args:
        path: the ``.json`` output of an earlier run.
        options: the pipeline's :class:`~audiototext.options.Options` (formats, folder, writer, DeepL).
        on_line: each DeepL-translated line as it is written.
    """
    path = Path(path)
    result = FileResult(str(path), stem=path.stem)
    try:
        result.transcript, reference = kept_from_json(path)
        result.outputs = save_formats(
            result.transcript,
            options.output_dir,
            path.stem,
            options.formats,
            options.style,
            source=str(path),
            keep=[path],
            reference=reference,
            result=result,
        )
        if options.deepl is not None:
            translate_result(
                result,
                options.deepl,
                output_dir=options.output_dir,
                formats=options.formats,
                style=options.style,
                on_line=on_line,
            )
    except AudioToTextError as e:
        log.error("%s", e)
        result.error = e
    return result


__all__ = ["transcript_from_json", "kept_from_json", "save_formats", "save_from_json"]

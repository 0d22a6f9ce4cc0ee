"""Where output files go: their names, the folder checked up front, and files rescued when it refuses them.

Two inputs with the same name get distinct names (:func:`output_stems`); the output folder is
checked before any input is touched (:func:`check_output_dir`); when it refuses files in the
middle of a run (read-only, full), the transcript is written to :func:`rescue_dir` instead and
the error says where (:func:`write_or_rescue`), so a finished transcript is never lost.
What one input led to is a :class:`FileResult`; :func:`translate_result` adds its DeepL files.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Sequence

from . import media
from .style import NETFLIX, CueReport, SubtitleStyle
from .errors import AudioToTextError, OutputError
from .formats import by_extension, output_path, parse_formats, subtitle_report, write_files
from .names import OutputNames, deepl_suffix
from .transcript import Segment, Transcript

log = logging.getLogger(__name__)


def output_stems(sources: Sequence[str | Path]) -> list[str | None]:
    """The output name of each input of one run, distinct: ``clip``, ``clip (2)``, ``clip (3)``...

    Names are compared ignoring case (macOS and Windows folders do), and with the names derived
    from them (``talk_German`` is talk's German translation, so an input ``talk_German.wav`` beside
    ``talk.wav`` is named ``talk_German (2)``). A name comes from the path alone (its stem) and is
    numbered in the order of the inputs, so the same command names the same files again and a
    resumed run finds its checkpoints. None for a link: it is named after its download, numbered
    past every name reserved here. See :class:`~audiototext.names.OutputNames`.
    """
    names = OutputNames(".")
    return [None if stem is None else names.claim(stem, source=str(source)) for source, stem in _stems(sources)]


def _stems(sources: Sequence[str | Path]) -> list[tuple[str | Path, str | None]]:
    return [(source, media.natural_stem(str(source))) for source in sources]


def rescue_dir() -> Path:
    """Where transcripts go when the output folder refuses them: ``<cache>/rescued``.

    The cache is ``$AUDIOTOTEXT_CACHE`` or ``~/.cache/audiototext``; when that cannot be written
    either, the system's temporary folder (``/tmp/audiototext-rescued``).
    """
    from .models import cache_dir

    for candidate in (cache_dir() / "rescued", Path(tempfile.gettempdir()) / "audiototext-rescued"):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
            if os.access(candidate, os.W_OK):
                return candidate
        except OSError:
            continue
    return Path(tempfile.gettempdir())


def check_output_dir(output_dir: Path) -> None:
    """Create ``output_dir`` if needed and write and remove a probe file in it.

    Raises:
        OutputError: the folder cannot be created or written (read-only, full, not a folder).
    """
    probe = Path(output_dir) / f".audiototext-probe-{uuid.uuid4().hex[:8]}"
    try:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        with open(probe, "x", encoding="utf-8") as f:
            f.write("probe\n")
    except OSError as e:
        raise OutputError(
            f"{output_dir}: cannot write the output files there ({e.strerror or e}); choose "
            "another output folder or free some space",
            path=str(output_dir),
            reason=e.strerror,
        ) from e
    finally:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass


@dataclass
class Written:
    """What :func:`write_or_rescue` wrote: in the output folder, or rescued elsewhere with the error saying so."""

    paths: list[Path] = field(default_factory=list)
    rescued: list[Path] = field(default_factory=list)
    error: OutputError | None = None


def write_or_rescue(
    transcript: Transcript,
    output_dir: Path,
    stem: str,
    formats: Sequence[str],
    style: SubtitleStyle,
    *,
    suffix: str = "",
    source: str = "",
    reference: Transcript | None = None,
) -> Written:
    """Write ``transcript``'s files into ``output_dir``; when it refuses them, into a new folder of
    :func:`rescue_dir` (one per rescue, so a later rescue of a same-named input never replaces it).
    The files are written as a set (:func:`~audiototext.files.atomic_paths`): when the folder fills
    up, none of them changes there, and the error says so (and which were there before).
    ``reference``: for a translation, its source transcript (its word times time the cues)."""
    planned = [output_path(Path(output_dir), stem, fmt, suffix) for fmt in parse_formats(formats)]
    earlier = [p for p in planned if p.exists()]
    try:
        return Written(write_files(transcript, output_dir, stem, formats, style, suffix=suffix, reference=reference))
    except OutputError as error:
        try:
            where = _rescue_folder()
            saved = write_files(transcript, where, stem, formats, style, suffix=suffix, reference=reference)
        except (OutputError, OSError) as second:
            reason = getattr(second, "reason", None) or getattr(second, "strerror", None) or second
            return Written(
                error=OutputError(
                    f"{source}: could not write its files to {output_dir} ({error.reason}) nor to {rescue_dir()} "
                    f"({reason}); free some space or choose another output folder, then run again",
                    source=source,
                    path=str(output_dir),
                )
            )
        names = ", ".join(str(p) for p in saved)
        return Written(
            rescued=saved,
            error=OutputError(
                f"{source}: could not write its files to {output_dir} ({error.reason}); "
                f"{_left_there(planned, earlier, getattr(error, 'written', ()))}; they were saved "
                f"instead as {names}. Free some space or choose another output folder",
                source=source,
                path=str(output_dir),
                rescued=[str(p) for p in saved],
            ),
        )


def _left_there(planned: Sequence[Path], earlier: Sequence[Path], written: Sequence[str]) -> str:
    """What a refused set left in the output folder, in words: nothing of this run, or (rarely,
    a rename refused after others) the files replaced; and which files there are from before."""
    replaced = set(map(str, written))
    new = [p for p in planned if str(p) in replaced]
    verb = "was" if len(new) == 1 else "were"
    said = f"only {', '.join(p.name for p in new)} {verb} written there" if new else "none was written there"
    old = [p.name for p in earlier if p not in new]
    return said + (f" ({', '.join(old)} there {'is' if len(old) == 1 else 'are'} from an earlier run)" if old else "")


def _rescue_folder() -> Path:
    """A new folder in :func:`rescue_dir`, named by the time: ``20250101-120000-k3j9x2``."""
    return Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=rescue_dir()))


@dataclass
class FileResult:
    """What happened to one input.

    Attributes:
        source: the input as given (path or link).
        transcript: the transcript, once transcribed.
        outputs: files written to the output folder.
        translation: the DeepL result (``translation.TranslationResult``), if translated.
        translated_outputs: the translated files.
        error: what went wrong, or None.
        stem: the name its files take (``<stem>.srt``): the input's name, or ``"clip (2)"`` when
            an earlier input of the run has the same name.
        rescued: files written to :func:`rescue_dir` because the output folder refused them.
        subtitles: each written srt/vtt file -> how its cues measure against the reading rules.
    """

    source: str
    transcript: Transcript | None = None
    outputs: list[Path] = field(default_factory=list)
    translation: object | None = None  # translation.TranslationResult
    translated_outputs: list[Path] = field(default_factory=list)
    error: AudioToTextError | None = None
    stem: str | None = None
    rescued: list[Path] = field(default_factory=list)
    subtitles: dict[Path, CueReport] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def report_written(
    result: FileResult,
    paths: Sequence[Path],
    transcript: Transcript,
    style: SubtitleStyle,
    *,
    reference: Transcript | None = None,
) -> None:
    """Log each written file, and how each srt/vtt file's cues measure (kept in ``result.subtitles``)."""
    cue_files = {p for p in paths if getattr(by_extension(p.suffix), "cues", False)}
    report = subtitle_report(transcript, style, reference=reference) if cue_files else None
    for path in paths:
        log.info("Wrote %s", path)
        if report is not None and path in cue_files:
            result.subtitles[path] = report
            log.info("  subtitles: %s", report.summary())


def translate_result(
    result: FileResult,
    deepl,
    *,
    output_dir: Path,
    formats: Sequence[str],
    style: SubtitleStyle = NETFLIX,
    on_line: Callable[[Segment], None] | None = None,
) -> list[Path]:
    """Translate a finished input's lines with DeepL and write ``<stem>_<target>.<ext>`` beside them
    (``<stem>_<target>_lines.<ext>`` in the mode that translates each line independently).

    Returns the translated files (none when the transcript is already in the target language).

    Raises:
        TranslationError: DeepL failed; the transcript files already written are untouched.
        OutputError: the folder refused the translated files; they were saved elsewhere, and the
            message says where (DeepL's characters are paid for: they are never thrown away).
    """
    from .translation import translate_transcript

    translation = translate_transcript(result.transcript, deepl, on_line=on_line)
    result.translation = translation
    if translation.skipped:
        return []
    stem = result.stem or result.outputs[0].stem  # name these like the transcript files
    suffix = deepl_suffix(translation.target.name, deepl.coherence)
    written = write_or_rescue(
        translation.transcript,
        output_dir,
        stem,
        formats,
        style,
        suffix=suffix,
        source=result.source,
        reference=result.transcript,  # the source's word times time the translated cues
    )
    result.rescued += written.rescued
    if written.error:
        raise written.error
    paths = written.paths
    report_written(result, paths, translation.transcript, style, reference=result.transcript)
    # translating again into another target adds that language's files
    result.translated_outputs = [*(p for p in result.translated_outputs if p not in paths), *paths]
    return paths


__all__ = [
    "output_stems",
    "rescue_dir",
    "check_output_dir",
    "Written",
    "write_or_rescue",
    "FileResult",
    "report_written",
    "translate_result",
]

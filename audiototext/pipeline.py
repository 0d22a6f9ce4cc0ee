"""The one orchestration used by the CLI, the notebook and the HTTP service.

For each input: resolve (path or URL) -> decode -> transcribe -> write files -> (optionally)
translate with DeepL and write the translated files. Inputs are isolated: one that fails is
recorded and the others go on. Transcript files are on disk before translation starts, so a
DeepL failure never loses them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import media
from .engines import DEFAULT_ENGINE, DecodeOptions, Engine, Hooks, load_engine
from .errors import AudioToTextError
from .languages import language_name
from .parallel import Backend, Checkpoints, ParallelOptions, Progress, ProgressBar, make_backend, resolve_mode
from .subtitles import WriterOptions, write_files
from .transcript import Segment, Transcript

log = logging.getLogger(__name__)

#: Below this peak (about -80 dBFS) the audio is treated as silence and not sent to the model.
SILENCE_PEAK = 1e-4


@dataclass(frozen=True)
class Options:
    """Everything a run needs besides its inputs. Defaults do the right thing.

    Attributes:
        model: official name ("base", "large-v3", "turbo") or a local path.
        engine: "openai-whisper" or "faster-whisper".
        device: "cuda", "cpu" or None (a GPU when there is one).
        threads: CPU threads (None: all cores).
        decode: task, language, prompt and decoding options.
        output_dir: where ``<stem>.<ext>`` files go.
        formats: which of txt, vtt, srt, tsv, json to write.
        writer: line-width and word-highlight options of the writers.
        deepl: translate the lines with DeepL after writing (None: don't).
        progress: show tqdm.auto progress bars.
        parallel: long audio: cut at silences and decode the chunks in parallel (see
            :class:`~audiototext.parallel.ParallelOptions`; ``mode="off"`` is the engine's own
            sequential decoding, identical to its CLI).
    """

    model: str = "base"
    engine: str = DEFAULT_ENGINE
    device: str | None = None
    threads: int | None = None
    decode: DecodeOptions = DecodeOptions()
    output_dir: Path = Path(".")
    formats: tuple[str, ...] = ("txt", "vtt", "srt")
    writer: WriterOptions = WriterOptions()
    deepl: object | None = None  # translation.DeepLOptions; typed loosely so deepl stays optional
    progress: bool = False
    parallel: ParallelOptions = ParallelOptions()


@dataclass
class FileResult:
    """What happened to one input."""

    source: str
    transcript: Transcript | None = None
    outputs: list[Path] = field(default_factory=list)
    translation: object | None = None  # translation.TranslationResult
    translated_outputs: list[Path] = field(default_factory=list)
    error: AudioToTextError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Callbacks:
    """Live reporting for front ends (the library itself never prints)."""

    on_segment: Callable[[Segment], None] | None = None
    on_translated_line: Callable[[Segment], None] | None = None
    on_file_start: Callable[[str], None] | None = None
    on_progress: Callable[[Progress], None] | None = None


class Pipeline:
    """Runs inputs through one loaded model (loaded once, on first use)."""

    def __init__(self, options: Options = Options(), callbacks: Callbacks | None = None):
        self.options = options
        self.callbacks = callbacks or Callbacks()
        self._engine: Engine | None = None
        self._backends: dict[str, Backend] = {}

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = load_engine(self.options.engine, self.options.model,
                                       device=self.options.device, threads=self.options.threads)
        return self._engine

    def backend(self, mode: str) -> Backend:
        """The executor for a parallel ``mode``, made once and kept for the next inputs."""
        if mode not in self._backends:
            o = self.options
            self._backends[mode] = make_backend(mode, engine=o.engine, model=o.model, device=o.device,
                                                threads=o.threads, options=o.parallel, loaded=lambda: self.engine)
        return self._backends[mode]

    def close(self) -> None:
        """Stop worker processes and Ray actors (the in-process model stays loaded)."""
        while self._backends:
            self._backends.popitem()[1].close()

    def transcribe_audio(self, audio: np.ndarray, *, name: str = "audio", checkpoint_root: Path | None = None,
                         stem: str = "audio") -> Transcript:
        """Transcribe decoded 16 kHz mono float32 audio.

        Long audio is cut at silences and decoded in parallel unless ``options.parallel.mode`` is
        "off"; with ``checkpoint_root`` each finished chunk is checkpointed there (see
        :func:`audiototext.parallel.transcribe_parallel`).
        """
        decode = self.options.decode
        duration = len(audio) / media.SAMPLE_RATE
        if audio.size == 0 or float(np.max(np.abs(audio))) < SILENCE_PEAK:
            log.warning("%s: the audio is silent (peak below -80 dBFS); nothing to transcribe", name)
            return Transcript((), decode.language, duration, decode.task)

        def on_language(code: str) -> None:
            if decode.language is None:
                log.info("Detected language: %s", language_name(code))

        mode = resolve_mode(self.options.parallel, duration)
        if mode == "off":
            hooks = Hooks(on_segment=self.callbacks.on_segment, on_language=on_language,
                          progress=self.options.progress)
            transcript = self.engine.transcribe(audio, decode, hooks)
        else:
            transcript = self._transcribe_parallel(audio, mode, on_language, checkpoint_root, stem)
        if not transcript.text.strip():
            log.warning("%s: no speech found", name)
        return transcript

    def _transcribe_parallel(self, audio, mode, on_language, checkpoint_root, stem) -> Transcript:
        from .parallel import transcribe_parallel

        listeners = [f for f in (self.callbacks.on_progress, ProgressBar() if self.options.progress else None) if f]

        def on_progress(event: Progress) -> None:
            for listener in listeners:
                listener(event)

        o = self.options
        return transcribe_parallel(audio, o.decode, o.parallel, mode=mode, engine=o.engine, model=o.model,
                                   device=o.device, threads=o.threads, checkpoint_root=checkpoint_root, stem=stem,
                                   backend=self.backend(mode) if mode in ("processes", "ray") else None,
                                   loaded=lambda: self.engine, on_progress=on_progress,
                                   on_segment=self.callbacks.on_segment, on_language=on_language)

    def run_file(self, source: str | Path) -> FileResult:
        """Transcribe (and translate) one input; errors are caught and recorded, not raised."""
        result = FileResult(str(source))
        if self.callbacks.on_file_start:
            self.callbacks.on_file_start(str(source))
        try:
            item = media.resolve(source, progress=self.options.progress)
            audio = media.load_audio(item.path)
            result.transcript = self.transcribe_audio(audio, name=str(source),
                                                      checkpoint_root=self.options.output_dir, stem=item.stem)
            result.outputs = write_files(result.transcript, self.options.output_dir, item.stem,
                                         self.options.formats, self.options.writer)
            for path in result.outputs:
                log.info("Wrote %s", path)
            if result.transcript.extra.get("checkpoint_dir"):
                # The outputs are on disk: the chunk checkpoints have served their purpose.
                Checkpoints(result.transcript.extra["checkpoint_dir"]).remove()
            if self.options.deepl is not None:
                o = self.options
                translate_result(result, o.deepl, output_dir=o.output_dir, formats=o.formats, writer=o.writer,
                                 on_line=self.callbacks.on_translated_line)
        except AudioToTextError as e:
            log.error("%s", e)
            result.error = e
        return result

    def run(self, sources: Sequence[str | Path]) -> list[FileResult]:
        """Every input in turn, each isolated from the others' failures."""
        try:
            return [self.run_file(source) for source in sources]
        finally:
            self.close()


def translate_result(result: FileResult, deepl, *, output_dir: Path, formats: Sequence[str],
                     writer: WriterOptions = WriterOptions(), on_line: Callable[[Segment], None] | None = None,
                     ) -> list[Path]:
    """Translate a finished input's lines with DeepL and write ``<stem>_<target>.<ext>`` beside them.

    Returns the translated files (none when the transcript is already in the target language).

    Raises:
        TranslationError: DeepL failed; the transcript files already written are untouched.
    """
    from .translation import translate_transcript, translated_suffix

    translation = translate_transcript(result.transcript, deepl, on_line=on_line)
    result.translation = translation
    if translation.skipped:
        return []
    stem = result.outputs[0].stem  # the transcript files are written first: name these alike
    paths = write_files(translation.transcript, output_dir, stem, formats, writer,
                        suffix=translated_suffix(translation.target))
    for path in paths:
        log.info("Wrote %s", path)
    # translating again into another target adds that language's files
    result.translated_outputs = [*(p for p in result.translated_outputs if p not in paths), *paths]
    return paths


def run(sources: Sequence[str | Path], options: Options = Options(),
        callbacks: Callbacks | None = None) -> list[FileResult]:
    """Transcribe ``sources`` and write their files; see :class:`Options`."""
    return Pipeline(options, callbacks).run(list(sources))


def transcribe(source: str | Path, *, model: str = "base", engine: str = DEFAULT_ENGINE,
               device: str | None = None, progress: bool = False,
               parallel: str | ParallelOptions = "auto", **decode) -> Transcript:
    """Transcribe one file or URL and return its :class:`Transcript` (writes no files).

    Args:
        source: a media file path or an http(s) URL.
        model: official Whisper name or local model path.
        engine: "openai-whisper" (default) or "faster-whisper".
        device: "cuda"/"cpu"/None.
        progress: show a progress bar.
        parallel: "auto", "off", "batched", "processes", "ray", or a
            :class:`~audiototext.parallel.ParallelOptions`.
        **decode: fields of :class:`~audiototext.engines.DecodeOptions`, e.g. ``task="translate"``,
            ``language="Spanish"``, ``initial_prompt=...``, ``beam_size=5``.

    Raises:
        AudioToTextError: the input, model or options are invalid.
    """
    if isinstance(parallel, str):
        parallel = ParallelOptions(mode=parallel)
    options = Options(model=model, engine=engine, device=device, progress=progress,
                      decode=DecodeOptions(**decode), parallel=parallel)
    pipeline = Pipeline(options)
    item = media.resolve(source, progress=progress)
    try:
        return pipeline.transcribe_audio(media.load_audio(item.path), name=str(source))
    finally:
        pipeline.close()


__all__ = ["Options", "FileResult", "Callbacks", "Pipeline", "run", "transcribe"]

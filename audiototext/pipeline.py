"""The one orchestration used by the CLI, the notebook and the HTTP service.

First a preflight (:meth:`Pipeline.preflight`): the model resolves, the output folder takes a
file, the DeepL key is accepted with quota left, all before any input is downloaded or decoded.
Then for each input: resolve (path or URL, downloaded into a temporary folder removed right
after) -> decode -> transcribe -> write files -> (optionally) translate with DeepL and write the
translated files. Inputs are isolated: one that fails is recorded and the others go on.
Transcript files are on disk before translation starts, so a DeepL failure never loses them; an
output folder that cannot take them (read-only, full) gets them rescued elsewhere
(:func:`rescue_dir`), and the error says where. Output names are chosen before decoding
(:class:`~audiototext.names.OutputNames`): two inputs never share one, no output is written over
an input, and a read-only earlier output is refused, not replaced.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence

import numpy as np

from . import media
from .engines import engine_class
from .engines.device import default_device
from .errors import AudioToTextError, OptionsError
from .events import Callbacks, ProgressBar, fan_out
from .languages import language_name
from .loaded import LoadedModel, loaded_with
from .longaudio import LongAudioResult, ParallelOptions, resolve_mode
from .longaudio.source import SILENT_PEAK, AudioSource, DecodedFile, as_source, duration_of, peak, whole
from .names import OutputNames, check_outputs, short_name
from .options.record import Options
from .outputs import FileResult, check_output_dir, report_written, translate_result, write_or_rescue
from .transcript import Transcript

log = logging.getLogger(__name__)

#: Below this peak (about -80 dBFS) the audio is treated as silence and not sent to the model.
SILENCE_PEAK = SILENT_PEAK


@dataclass(frozen=True)
class _Run:
    """What one call runs with: its options and callbacks and, for :meth:`Pipeline.run`, the output
    names its inputs were given. Passed down the call, never kept on the shared pipeline, so runs
    in threads never mix their options."""

    options: Options
    callbacks: Callbacks
    names: OutputNames | None = None

    @property
    def mode(self) -> str:
        return resolve_mode(self.options.parallel)


class Pipeline(LoadedModel):
    """Runs inputs through one loaded model (loaded once, on first use).

    ``options`` say what is loaded — the engine and model, the device and threads, the key, and
    where and by how many workers windows are decoded (:func:`loaded_with`) — and are each run's
    options unless the run passes its own: :meth:`run_file`, :meth:`run` and
    :meth:`transcribe_audio` take ``options`` and ``callbacks`` per call, as faster-whisper's
    ``WhisperModel.transcribe`` takes its options. Calls from several threads share the model
    and never mix their options (the HTTP service's jobs).
    """

    def __init__(self, options: Options | None = None, callbacks: Callbacks | None = None):
        super().__init__(options, callbacks)
        self._checked: Options | None = None  # the options the last successful preflight checked

    def _run(self, options: Options | None, callbacks: Callbacks | None, names: OutputNames | None = None) -> _Run:
        """A call's run: its own options (checked against what this pipeline loads) or the pipeline's.

        Raises:
            OptionsError: ``options`` need another engine, model, device, key or workers.
        """
        if options is not None and loaded_with(options) != loaded_with(self.options):
            raise OptionsError(
                f"This pipeline runs {self.options.engine} {self.options.model} as loaded; options for "
                f"{options.engine} {options.model} (or other devices, threads or workers) need their own Pipeline",
                engine=options.engine,
                model=options.model,
            )
        return _Run(options if options is not None else self.options, callbacks or self.callbacks, names)

    def preflight(self, options: Options | None = None) -> None:
        """Check what can fail before the first input of a run with ``options`` (None: the
        pipeline's) is downloaded or decoded.

        The model resolves (an unknown name fails at once) and suits the task and language (no
        English-only model for Spanish), the device exists, the model cache can be written, the
        engine exists, the output folder exists or is created and takes a file, and with DeepL
        the key is accepted and quota is left (one usage request). Done once per options.

        Raises:
            AudioToTextError: ``ModelError``, ``OptionsError``, ``OutputError`` or
                ``TranslationError``, saying what to change.
        """
        o = self._run(options, None).options
        if self._checked is not None and self._checked == o:
            return

        cls = engine_class(o.engine)
        if not cls.hosted:  # a hosted engine's models are not Whisper checkpoints
            from .preflight import check_model_and_device

            check_model_and_device(o.engine, o.model, o.device, o.decode.task, o.decode.language)
        elif hasattr(cls, "check_key"):  # once, not per input
            cls.check_key(o.api_key)
        check_output_dir(o.output_dir)
        if o.deepl is not None:
            from .translation import check_access

            check_access(o.deepl)
        self._checked = o

    def transcribe_audio(
        self,
        audio: np.ndarray | AudioSource,
        *,
        name: str = "audio",
        checkpoint_root: Path | None = None,
        stem: str = "audio",
        options: Options | None = None,
        callbacks: Callbacks | None = None,
    ) -> Transcript:
        """Transcribe 16 kHz mono audio (an array, or a :class:`~audiototext.longaudio.source.AudioSource`),
        with this call's ``options`` and ``callbacks`` (None: the pipeline's).

        With ``checkpoint_root`` each decoded window is checkpointed under it (see
        :func:`audiototext.longaudio.transcribe_windows`) and left there for the caller.
        """
        run = self._run(options, callbacks)
        return self._transcribe(as_source(audio), run, name=name, checkpoint_root=checkpoint_root, stem=stem).transcript

    def _transcribe(
        self, source: AudioSource, run: _Run, *, name: str, checkpoint_root: Path | None, stem: str
    ) -> LongAudioResult:
        o, decode = run.options, run.options.decode
        duration = duration_of(source)
        if duration == 0 or peak(source) < SILENCE_PEAK:
            log.warning("%s: the audio is silent (peak below -80 dBFS); nothing to transcribe", name)
            return LongAudioResult(Transcript((), decode.language, duration, decode.task))

        def on_language(code: str) -> None:
            if decode.language is None:
                log.info("Detected language: %s", language_name(code))

        callbacks = Callbacks(
            on_segment=run.callbacks.on_segment,
            on_language=on_language,
            on_progress=fan_out(run.callbacks.on_progress, ProgressBar() if o.progress else None),
        )
        if run.mode == "off" or engine_class(o.engine).hosted:  # a hosted engine decodes by itself
            result = LongAudioResult(self.engine.transcribe(whole(source), decode, callbacks))
        else:
            result = self._transcribe_windows(source, run, callbacks, checkpoint_root, stem)
        if not result.transcript.text.strip():
            log.warning("%s: no speech found", name)
        return result

    def _transcribe_windows(
        self, source: AudioSource, run: _Run, callbacks: Callbacks, checkpoint_root: Path | None, stem: str
    ) -> LongAudioResult:
        from .longaudio import default_batch_size, open_checkpoints, plan, transcribe_windows
        from .events import Progress

        o = run.options
        windows = plan(source, o.parallel.speech)
        if not windows:  # no speech, no decoding, no invented text
            log.warning("No speech found by %s voice detection; nothing to transcribe", o.parallel.speech.vad)
            callbacks.progress(Progress(0, 0, 0, True))
            return LongAudioResult(Transcript((), o.decode.language, duration_of(source), o.decode.task))
        backend = self.backend(run.mode)
        device = getattr(self._engine, "device", None) or o.device or default_device(o.engine)
        batch_size = o.parallel.batch_size or default_batch_size(device)
        checkpoints = None
        if o.parallel.checkpoints and checkpoint_root is not None:
            checkpoints = open_checkpoints(
                source,
                windows,
                root=checkpoint_root,
                stem=stem,
                engine=o.engine,
                model=o.model,
                options=o.decode,
                batch_size=batch_size,
                tasks=backend.tasks,
            )
        return transcribe_windows(
            source, windows, o.decode, backend, batch_size=batch_size, callbacks=callbacks, checkpoints=checkpoints
        )

    def _transcribe_file(self, path: Path, run: _Run, folder: Path | None) -> LongAudioResult:
        """A hosted engine (OpenAI's API) takes the file itself; its pieces are checkpointed in ``folder``."""
        from .longaudio.checkpoints import Checkpoints

        o = run.options
        callbacks = Callbacks(
            on_segment=run.callbacks.on_segment,
            on_language=run.callbacks.on_language,
            on_progress=fan_out(run.callbacks.on_progress, ProgressBar() if o.progress else None),
        )
        transcript = self.engine.transcribe_file(
            path, o.decode, callbacks, checkpoint_dir=folder, audio_track=o.audio_track
        )
        return LongAudioResult(transcript, Checkpoints(folder) if folder is not None else None)

    def run_file(
        self,
        source: str | Path,
        *,
        stem: str | None = None,
        options: Options | None = None,
        callbacks: Callbacks | None = None,
    ) -> FileResult:
        """Transcribe (and translate) one input; errors are caught and recorded, not raised.

        Args:
            source: a media file or an http(s) link (downloaded into a temporary folder that is
                removed as soon as the audio is decoded, also when that fails).
            stem: the output files' name; None: the input's own name, made distinct from the
                names this run gave before.
            options, callbacks: this input's (None: the pipeline's); the options may differ from
                the pipeline's in anything but what it loads (:func:`loaded_with`).

        Raises:
            OptionsError: ``options`` need another model (or device, key, workers) than this pipeline's.
        """
        return self._run_file(source, stem, self._run(options, callbacks))

    def _run_file(self, source: str | Path, stem: str | None, run: _Run) -> FileResult:
        result = FileResult(str(source), stem=stem)
        if run.callbacks.on_file_start:
            run.callbacks.on_file_start(str(source))
        try:
            o = run.options
            self.preflight(o)
            done = self._transcribe_input(source, stem, result, run)
            result.transcript = done.transcript
            try:
                result.outputs = self._write(result, result.transcript, run)
            finally:  # the files are on disk, here or rescued: the checkpoints have served their purpose
                if done.checkpoints and (result.outputs or result.rescued):
                    done.checkpoints.remove()
            if o.deepl is not None:
                translate_result(
                    result,
                    o.deepl,
                    output_dir=o.output_dir,
                    formats=o.formats,
                    style=o.style,
                    on_line=run.callbacks.on_translated_line,
                )
        except AudioToTextError as e:
            log.error("%s", e)
            result.error = e
        except OSError as e:
            # The disk or the system refused something (checkpoints on a read-only folder, a full
            # temporary folder): report it like any other failure of this input, and go on.
            error = AudioToTextError(
                f"{source}: {e.strerror or e} ({e.filename or 'no file'}); free some "
                "space or choose a writable output folder, then run again",
                source=str(source),
            )
            log.error("%s", error)
            result.error = error
        return result

    def _transcribe_input(self, source: str | Path, stem: str | None, result: FileResult, run: _Run) -> LongAudioResult:
        """Fetch, name and check the outputs, decode to a temporary file (the download goes as soon
        as it is decoded), transcribe."""
        from .longaudio.checkpoints import CHECKPOINT_DIR

        o = run.options
        if media.is_url(str(source)):
            self.load_ahead()  # while the link downloads
        with media.fetched(source, progress=o.progress) as item:
            result.stem = self._claim(stem, item, str(source), run)
            self.load_ahead()  # a local input that got this far: none is loaded for inputs refused up front
            if engine_class(o.engine).hosted:
                folder = Path(o.output_dir) / CHECKPOINT_DIR / f"{short_name(result.stem)}-api"
                return self._transcribe_file(item.path, run, folder if o.parallel.checkpoints else None)
            audio = DecodedFile(item.path, name=str(source), track=o.audio_track)
        with audio:
            return self._transcribe(
                audio, run, name=str(source), checkpoint_root=o.output_dir, stem=short_name(result.stem)
            )

    def _claim(self, stem: str | None, item: media.MediaInput, source: str, run: _Run) -> str:
        """The output name for ``item`` (``stem`` when given, else its own name made distinct), its
        files checked before anything is decoded.

        Raises:
            OutputError: an output file is read-only or not a file (see :func:`check_outputs`).
        """
        names = run.names or OutputNames.of_run(run.options, [item.path])
        names.add_input(item.path)
        name = stem if stem is not None else names.claim(item.stem, source=source)
        check_outputs(names.paths(name), source=source)
        return name

    def _write(self, result: FileResult, transcript: Transcript, run: _Run) -> list[Path]:
        """Write ``transcript`` into the output folder, rescued elsewhere when the folder refuses.

        Raises:
            OutputError: the folder refused the files; the message says where they were saved.
        """
        o = run.options
        written = write_or_rescue(transcript, o.output_dir, result.stem, o.formats, o.style, source=result.source)
        result.rescued += written.rescued
        if written.error:
            raise written.error
        report_written(result, written.paths, transcript, o.style)
        return written.paths

    def run(
        self, sources: Sequence[str | Path], *, options: Options | None = None, callbacks: Callbacks | None = None
    ) -> list[FileResult]:
        """Every input in turn, each isolated from the others' failures, with this call's ``options``
        and ``callbacks`` (None: the pipeline's; see :meth:`run_file`); the workers stop at the end.

        The preflight runs first: when it fails, no input is touched and every result carries
        its error. Inputs with the same name get distinct output names (:class:`OutputNames`).
        """
        sources = list(sources)
        run = self._run(options, callbacks)
        try:
            try:
                self.preflight(run.options)
            except AudioToTextError as e:
                log.error("%s", e)
                return [FileResult(str(source), error=e) for source in sources]
            local = [Path(str(s)).expanduser() for s in sources if not media.is_url(str(s))]
            run = dataclasses.replace(run, names=OutputNames.of_run(run.options, local))
            # Links are named once downloaded; naming every local input first keeps them apart.
            stems = [media.natural_stem(str(s)) for s in sources]
            names = [run.names.claim(stem, source=str(s)) if stem else None for s, stem in zip(sources, stems)]
            return [self._run_file(source, name, run) for source, name in zip(sources, names)]
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: worker processes stop now, not after their batch
            for backend in list(self._backends.values()):
                getattr(backend, "terminate", backend.close)()
            raise
        finally:
            self.close()


def run(
    sources: Sequence[str | Path], options: Options | None = None, callbacks: Callbacks | None = None
) -> list[FileResult]:
    """Transcribe ``sources`` and write their files; see :class:`Options`."""
    return Pipeline(options, callbacks).run(list(sources))


def transcribe(
    source: str | Path, *, progress: bool = False, parallel: str | ParallelOptions | None = None, **options
) -> Transcript:
    """Transcribe one file or URL and return its :class:`Transcript` (writes no files).

    The options are the CLI's, by name, checked and completed by the same contract and rules
    (:func:`audiototext.options.build`; messages name them as the CLI's flags): an engine's model
    or key chooses the engine (``model="whisper-1"``: OpenAI's API), a model not given is the
    engine's default, ``language="en"`` with ``base`` uses ``base.en``. A hosted engine
    (``engine="openai-api"``, key from ``api_key=`` or ``$OPENAI_API_KEY``) is sent the file itself.

    Args:
        source: a media file path or an http(s) URL.
        progress: show a progress bar.
        parallel: "auto", "off", "batched", "processes", "ray", or a
            :class:`~audiototext.longaudio.ParallelOptions` (None: its defaults, "auto").
        **options: ``model``, ``engine``, ``device``, ``audio_track``, ``api_key``, ``vad``... and the
            fields of :class:`~audiototext.engines.DecodeOptions`, e.g. ``task="translate"``,
            ``language="Spanish"``, ``initial_prompt=...``, ``beam_size=5``. Output and DeepL
            options are :func:`run`'s (this writes nothing).

    Raises:
        AudioToTextError: the input, model or options are invalid.
    """
    from .options import build
    from .options.registry import REGISTRY

    writing = [n for n in options if n in REGISTRY and REGISTRY[n].group in ("output", "deepl")]
    if writing:
        raise OptionsError(
            f"transcribe() writes no files and translates nothing, so {', '.join(writing)} do nothing here: "
            "use audiototext.run(sources, options.build({...})) for files and DeepL",
            option=writing[0],
        )
    values = {**options, "no_progress": not progress}
    if not isinstance(parallel, ParallelOptions):
        values["parallel"] = parallel
    # json holds the transcript as it is: no subtitle cues that would turn word timestamps on.
    o = build({**values, "output_formats": "json"}, explicit=set(values) - {"no_progress"})
    if isinstance(parallel, ParallelOptions):
        o = dataclasses.replace(o, parallel=parallel)
    pipeline = Pipeline(o)
    try:
        with media.fetched(source, progress=progress) as item:
            if engine_class(o.engine).hosted:  # takes the file itself; nothing is checkpointed
                return pipeline._transcribe_file(item.path, pipeline._run(None, None), None).transcript
            audio = DecodedFile(item.path, name=str(source), track=o.audio_track)
        with audio:
            return pipeline.transcribe_audio(audio, name=str(source))
    finally:
        pipeline.close()


__all__ = ["FileResult", "Callbacks", "Pipeline", "loaded_with", "run", "transcribe", "translate_result"]

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

import logging
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence

import numpy as np

from . import media
from .engines import DecodeOptions, Engine, load_engine
from .engines.device import default_device, default_workers
from .errors import AudioToTextError
from .events import Callbacks, DownloadBar, ProgressBar, fan_out
from .languages import language_name
from .longaudio import Backend, EngineSpec, LongAudioResult, ParallelOptions, make_backend, resolve_mode
from .longaudio.source import SILENT_PEAK, AudioSource, DecodedFile, as_source, duration_of, peak, whole
from .names import OutputNames, check_outputs, short_name
from .outputs import FileResult, check_output_dir, report_written, translate_result, write_or_rescue
from .style import NETFLIX, SubtitleStyle
from .transcript import Transcript

log = logging.getLogger(__name__)

#: Below this peak (about -80 dBFS) the audio is treated as silence and not sent to the model.
SILENCE_PEAK = SILENT_PEAK


def _default_engine() -> str:
    from .options import default_engine  # the rule lives with the other option rules

    return default_engine()


@dataclass(frozen=True)
class Options:
    """Everything a run needs besides its inputs. Defaults do the right thing.

    Attributes:
        model: official name ("base", "large-v3", "turbo") or a local path.
        engine: "faster-whisper" (the default when installed), "openai-whisper", or "openai-api"
            (OpenAI's API, with ``api_key``).
        device: "cuda", "cpu" or None (a GPU when there is one).
        threads: CPU threads (None: all cores).
        decode: task, language, prompt and decoding options.
        output_dir: where ``<stem>.<ext>`` files go.
        formats: which of txt, vtt, srt, tsv, json to write.
        style: how srt and vtt cues are made (reading rules by default, or the whisper CLI's).
        deepl: translate the lines with DeepL after writing (None: don't).
        progress: show tqdm.auto progress bars.
        parallel: how audio is decoded: windows of speech packed across pauses, decoded in
            batches (see :class:`~audiototext.longaudio.ParallelOptions`); ``mode="off"`` is the
            engine's own sequential decoding, identical to its CLI.
        api_key: OpenAI API key for the "openai-api" engine.
        audio_track: the audio track of each input, from 1 (None: the one flagged default, else
            the first that is not silent).
    """

    model: str = "base"
    engine: str = field(default_factory=_default_engine)
    device: str | None = None
    threads: int | None = None
    decode: DecodeOptions = DecodeOptions()
    output_dir: Path = Path(".")
    formats: tuple[str, ...] = ("txt", "vtt", "srt")
    style: SubtitleStyle = NETFLIX
    deepl: object | None = None  # translation.DeepLOptions; typed loosely so deepl stays optional
    progress: bool = False
    parallel: ParallelOptions = ParallelOptions()
    api_key: str | None = None
    audio_track: int | None = None


class Pipeline:
    """Runs inputs through one loaded model (loaded once, on first use)."""

    def __init__(self, options: Options | None = None, callbacks: Callbacks | None = None):
        self.options = options if options is not None else Options()
        self.callbacks = callbacks or Callbacks()
        self._engine: Engine | None = None
        self._loading: Future | None = None  # the engine loading in the background (see load_ahead)
        self._backends: dict[str, Backend] = {}
        self._checked: Options | None = None  # the options the last successful preflight checked
        self._names: OutputNames | None = None  # the output names of the run in progress

    @property
    def mode(self) -> str:
        """How audio is decoded: "off" (the engine's own sequential decoding), "batched", "processes", "ray"."""
        return resolve_mode(self.options.parallel)

    @property
    def engine(self) -> Engine:
        """The engine in this process, loaded on first use (once, whatever the number of inputs)."""
        if self._engine is None:
            loading, self._loading = self._loading, None
            self._engine = loading.result() if loading is not None else self._load_engine()
        return self._engine

    def _fetch_weights(self) -> None:
        """Download the model's weights with a bar, and say "Loading model … (size)": gigabytes are no silent wait."""
        from .downloads import fetch_weights

        bar = DownloadBar() if self.options.progress else None
        fetch_weights(self.options.engine, self.options.model, fan_out(self.callbacks.on_download, bar))

    def _load_engine(self) -> Engine:
        o = self.options
        self._fetch_weights()
        workers = 1 if self.mode == "off" else (o.parallel.workers or default_workers(o.engine, o.device))
        return load_engine(o.engine, o.model, device=o.device, threads=o.threads, workers=workers, api_key=o.api_key)

    def load_ahead(self) -> None:
        """Start loading the in-process engine in a thread, while the input is fetched, decoded and
        scanned for speech (ffmpeg and voice detection each keep one core busy; loading keeps the
        other). Its errors surface where the engine is first used. Nothing to do for workers in
        other processes or on Ray, which load their own."""
        if self._engine is not None or self._loading is not None or self.mode in ("processes", "ray"):
            return
        # The pool's thread ends with the load, and the interpreter waits for it at exit rather than
        # tearing it down inside torch or CTranslate2 (an abort, seen when no speech was found).
        pool = ThreadPoolExecutor(1, thread_name_prefix="audiototext-load")
        self._loading = pool.submit(self._load_engine)
        pool.shutdown(wait=False)

    def backend(self, mode: str) -> Backend:
        """The executor for a parallel ``mode``, made once and kept for the next inputs."""
        if mode not in self._backends:
            o = self.options
            if mode != "batched":  # workers elsewhere load their own: the weights are fetched here first
                self._fetch_weights()
            spec = EngineSpec(o.engine, o.model, o.device, o.threads)
            self._backends[mode] = make_backend(mode, spec, o.parallel, loaded=lambda: self.engine)
        return self._backends[mode]

    def close(self) -> None:
        """Stop worker processes and Ray actors (the in-process model stays loaded, a load in
        progress is waited for); never raises."""
        if self._loading is not None:
            wait([self._loading])
        while self._backends:
            mode, backend = self._backends.popitem()
            try:
                backend.close()
            except Exception as e:  # noqa: BLE001 - clean-up must not hide the error that led here
                log.warning("Could not stop the %s workers cleanly: %s", mode, e)

    def preflight(self) -> None:
        """Check what can fail before the first input is downloaded or decoded.

        The model resolves (an unknown name fails at once) and suits the task and language (no
        English-only model for Spanish), the device exists, the model cache can be written, the
        engine exists, the output folder exists or is created and takes a file, and with DeepL
        the key is accepted and quota is left (one usage request). Done once per options.

        Raises:
            AudioToTextError: ``ModelError``, ``OptionsError``, ``OutputError`` or
                ``TranslationError``, saying what to change.
        """
        o = self.options
        if self._checked is not None and self._checked == o:
            return
        from .engines import engine_class
        from .options import API_ENGINE

        if o.engine != API_ENGINE:  # the API's models are not Whisper checkpoints
            from .preflight import check_model_and_device

            check_model_and_device(o.engine, o.model, o.device, o.decode.task, o.decode.language)
        engine_class(o.engine)
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
    ) -> Transcript:
        """Transcribe 16 kHz mono audio (an array, or a :class:`~audiototext.longaudio.source.AudioSource`).

        With ``checkpoint_root`` each decoded window is checkpointed under it (see
        :func:`audiototext.longaudio.transcribe_windows`) and left there for the caller.
        """
        return self._transcribe(as_source(audio), name=name, checkpoint_root=checkpoint_root, stem=stem).transcript

    def _transcribe(
        self, source: AudioSource, *, name: str, checkpoint_root: Path | None, stem: str
    ) -> LongAudioResult:
        o, decode = self.options, self.options.decode
        duration = duration_of(source)
        if duration == 0 or peak(source) < SILENCE_PEAK:
            log.warning("%s: the audio is silent (peak below -80 dBFS); nothing to transcribe", name)
            return LongAudioResult(Transcript((), decode.language, duration, decode.task))

        def on_language(code: str) -> None:
            if decode.language is None:
                log.info("Detected language: %s", language_name(code))

        callbacks = Callbacks(
            on_segment=self.callbacks.on_segment,
            on_language=on_language,
            on_progress=fan_out(self.callbacks.on_progress, ProgressBar() if o.progress else None),
        )
        if self.mode == "off":
            result = LongAudioResult(self.engine.transcribe(whole(source), decode, callbacks))
        else:
            result = self._transcribe_windows(source, callbacks, checkpoint_root, stem)
        if not result.transcript.text.strip():
            log.warning("%s: no speech found", name)
        return result

    def _transcribe_windows(
        self, source: AudioSource, callbacks: Callbacks, checkpoint_root: Path | None, stem: str
    ) -> LongAudioResult:
        from .longaudio import default_batch_size, open_checkpoints, plan, transcribe_windows
        from .events import Progress

        o = self.options
        windows = plan(source, o.parallel.speech)
        if not windows:  # no speech, no decoding, no invented text
            log.warning("No speech found by %s voice detection; nothing to transcribe", o.parallel.speech.vad)
            callbacks.progress(Progress(0, 0, 0, True))
            return LongAudioResult(Transcript((), o.decode.language, duration_of(source), o.decode.task))
        backend = self.backend(self.mode)
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

    def _transcribe_file(self, path: Path, result: FileResult) -> LongAudioResult:
        """A hosted engine (OpenAI's API) takes the file itself; its pieces are checkpointed."""
        from .longaudio.checkpoints import CHECKPOINT_DIR, Checkpoints

        o = self.options
        callbacks = Callbacks(
            on_segment=self.callbacks.on_segment,
            on_language=self.callbacks.on_language,
            on_progress=fan_out(self.callbacks.on_progress, ProgressBar() if o.progress else None),
        )
        folder = Path(o.output_dir) / CHECKPOINT_DIR / f"{short_name(result.stem)}-api"
        transcript = self.engine.transcribe_file(
            path,
            o.decode,
            callbacks,
            checkpoint_dir=folder if o.parallel.checkpoints else None,
            audio_track=o.audio_track,
        )
        return LongAudioResult(transcript, Checkpoints(folder) if o.parallel.checkpoints else None)

    def run_file(self, source: str | Path, *, stem: str | None = None) -> FileResult:
        """Transcribe (and translate) one input; errors are caught and recorded, not raised.

        Args:
            source: a media file or an http(s) link (downloaded into a temporary folder that is
                removed as soon as the audio is decoded, also when that fails).
            stem: the output files' name; None: the input's own name, made distinct from the
                names this run gave before.
        """
        result = FileResult(str(source), stem=stem)
        if self.callbacks.on_file_start:
            self.callbacks.on_file_start(str(source))
        try:
            self.preflight()
            self.load_ahead()
            done = self._transcribe_input(source, stem, result)
            result.transcript = done.transcript
            result.outputs = self._write(result, result.transcript)
            if done.checkpoints:  # the outputs are on disk: the checkpoints have served their purpose
                done.checkpoints.remove()
            if self.options.deepl is not None:
                o = self.options
                translate_result(
                    result,
                    o.deepl,
                    output_dir=o.output_dir,
                    formats=o.formats,
                    style=o.style,
                    on_line=self.callbacks.on_translated_line,
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

    def _transcribe_input(self, source: str | Path, stem: str | None, result: FileResult) -> LongAudioResult:
        """Fetch, name and check the outputs, decode to a temporary file (the download goes as soon
        as it is decoded), transcribe."""
        from .engines import engine_class

        hosted = getattr(engine_class(self.options.engine), "hosted", False)
        with media.fetched(source, progress=self.options.progress) as item:
            result.stem = self._claim(stem, item, str(source))
            if hosted:
                return self._transcribe_file(item.path, result)
            audio = DecodedFile(item.path, name=str(source), track=self.options.audio_track)
        with audio:
            return self._transcribe(
                audio, name=str(source), checkpoint_root=self.options.output_dir, stem=short_name(result.stem)
            )

    def _claim(self, stem: str | None, item: media.MediaInput, source: str) -> str:
        """The output name for ``item`` (``stem`` when given, else its own name made distinct), its
        files checked before anything is decoded.

        Raises:
            OutputError: an output file is read-only or not a file (see :func:`check_outputs`).
        """
        names = self._names or OutputNames.of_run(self.options, [item.path])
        names.add_input(item.path)
        name = stem if stem is not None else names.claim(item.stem, source=source)
        check_outputs(names.paths(name), source=source)
        return name

    def _write(self, result: FileResult, transcript: Transcript, *, suffix: str = "") -> list[Path]:
        """Write ``transcript`` into the output folder, rescued elsewhere when the folder refuses.

        Raises:
            OutputError: the folder refused the files; the message says where they were saved.
        """
        o = self.options
        written = write_or_rescue(
            transcript, o.output_dir, result.stem, o.formats, o.style, suffix=suffix, source=result.source
        )
        result.rescued += written.rescued
        if written.error:
            raise written.error
        report_written(result, written.paths, transcript, o.style)
        return written.paths

    def run(self, sources: Sequence[str | Path]) -> list[FileResult]:
        """Every input in turn, each isolated from the others' failures.

        The preflight runs first: when it fails, no input is touched and every result carries
        its error. Inputs with the same name get distinct output names (:class:`OutputNames`).
        """
        sources = list(sources)
        try:
            try:
                self.preflight()
            except AudioToTextError as e:
                log.error("%s", e)
                return [FileResult(str(source), error=e) for source in sources]
            local = [Path(str(s)).expanduser() for s in sources if not media.is_url(str(s))]
            self._names = OutputNames.of_run(self.options, local)
            # Links are named once downloaded; naming every local input first keeps them apart.
            stems = [media.natural_stem(str(s)) for s in sources]
            names = [self._names.claim(stem, source=str(s)) if stem else None for s, stem in zip(sources, stems)]
            return [self.run_file(source, stem=name) for source, name in zip(sources, names)]
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: worker processes stop now, not after their batch
            for backend in self._backends.values():
                getattr(backend, "terminate", backend.close)()
            raise
        finally:
            self._names = None
            self.close()


def run(
    sources: Sequence[str | Path], options: Options | None = None, callbacks: Callbacks | None = None
) -> list[FileResult]:
    """Transcribe ``sources`` and write their files; see :class:`Options`."""
    return Pipeline(options, callbacks).run(list(sources))


def transcribe(
    source: str | Path,
    *,
    model: str = "base",
    engine: str | None = None,
    device: str | None = None,
    progress: bool = False,
    parallel: str | ParallelOptions = "auto",
    audio_track: int | None = None,
    **decode,
) -> Transcript:
    """Transcribe one file or URL and return its :class:`Transcript` (writes no files).

    Args:
        source: a media file path or an http(s) URL.
        model: official Whisper name or local model path.
        engine: "faster-whisper" (default when installed) or "openai-whisper".
        device: "cuda"/"cpu"/None.
        progress: show a progress bar.
        parallel: "auto", "off", "batched", "processes", "ray", or a
            :class:`~audiototext.longaudio.ParallelOptions`.
        audio_track: the audio track, from 1 (None: the one flagged default, else the first that
            is not silent).
        **decode: fields of :class:`~audiototext.engines.DecodeOptions`, e.g. ``task="translate"``,
            ``language="Spanish"``, ``initial_prompt=...``, ``beam_size=5``.

    Raises:
        AudioToTextError: the input, model or options are invalid.
    """
    if isinstance(parallel, str):
        parallel = ParallelOptions(mode=parallel)
    options = Options(
        model=model,
        engine=engine or _default_engine(),
        device=device,
        progress=progress,
        decode=DecodeOptions(**decode),
        parallel=parallel,
    )
    pipeline = Pipeline(options)
    try:
        with media.fetched(source, progress=progress) as item:
            audio = DecodedFile(item.path, name=str(source), track=audio_track)
        with audio:
            return pipeline.transcribe_audio(audio, name=str(source))
    finally:
        pipeline.close()


__all__ = ["Options", "FileResult", "Callbacks", "Pipeline", "run", "transcribe", "translate_result"]

"""Long audio, fast: find the speech, pack it into windows, decode them in parallel, stitch them exactly.

The package's modules, in the order a run uses them:

* :mod:`.source` — the audio, read in pieces (memory stays flat with duration);
* :mod:`.speech` — where the speech is (Silero, silencedetect, or everything);
* :mod:`.plan` — windows of up to 30 s packed across pauses, each with its time map;
* :mod:`.backends` — threads, a process pool or Ray actors decoding batches of windows;
* :mod:`.checkpoints` — each decoded window on disk, so a killed run resumes;
* :mod:`.stitch` — words back onto the recording's time line, as cues; the loop guard.

This module holds the run itself (:func:`transcribe_windows`): fixed batches of windows, a
continuation window only where Whisper really stopped early, progress counted in windows
really decoded, live cues in time order.
"""

from __future__ import annotations

import dataclasses
import logging
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..engines import DecodeOptions
from ..engines.windows import WindowText
from ..errors import OptionsError
from ..events import Callbacks, Progress
from ..transcript import Segment, Transcript
from .backends import Backend, Batch, EngineSpec, ProcessBackend, RayBackend, RaySettings, ThreadBackend
from .checkpoints import CHECKPOINT_DIR, Checkpoints, checkpoint_key
from .plan import WINDOW, Window, continuation, plan_windows
from .source import AudioSource, duration_of, fingerprint
from .speech import DETECTORS, detect_speech
from .stitch import make_cues, place_words, trim_loops

log = logging.getLogger(__name__)

MODES = ("auto", "off", "batched", "processes", "ray")
#: A window whose words end this many seconds before its audio does was ended early by Whisper.
EARLY_STOP = 3.0
#: Continuation rounds at most (a window that stops early again gets another one).
MAX_ROUNDS = 2


@dataclass(frozen=True)
class SpeechOptions:
    """How speech is found and packed.

    Attributes:
        vad: "silero" (voice activity, ignores noise and music), "silencedetect" (ffmpeg, by
            level) or "off" (decode every second: songs, music).
        threshold: Silero speech probability above which a 32 ms frame is speech.
        noise_db: silencedetect level in dBFS (None: 30 dB under the recording's loud parts).
        min_silence: shortest pause, in seconds, that separates two stretches of speech.
        pause: longest pause kept inside a window; longer ones are shortened to this.
    """

    vad: str = "silero"
    threshold: float = 0.5
    noise_db: float | None = None
    min_silence: float = 0.16
    pause: float = 0.4

    def __post_init__(self):
        if self.vad not in DETECTORS:
            raise OptionsError(f"Unknown voice detector {self.vad!r}: use one of {', '.join(DETECTORS)}", vad=self.vad)
        if not 0 <= self.pause <= 5 or self.min_silence < 0:
            raise OptionsError("pause must be within 0..5 s and min_silence must not be negative")


@dataclass(frozen=True)
class ParallelOptions:
    """How long audio is decoded.

    Attributes:
        mode: "auto" (windows batched in this process; the engine's own sequential decoding for
            ``off``), "off", "batched", "processes" or "ray".
        batch_size: windows decoded together at most (None: by device and model, see
            :func:`default_batch_size`).
        workers: decoding threads, processes or Ray actors (None: by device: one on a GPU, the
            cores shared out on a CPU; Ray: one actor per GPU or per two CPUs).
        ray: the Ray cluster and each actor's resources.
        speech: voice detection and packing.
        checkpoints: keep each decoded window next to the output so a re-run resumes.
    """

    mode: str = "auto"
    batch_size: int | None = None
    workers: int | None = None
    ray: RaySettings = RaySettings()
    speech: SpeechOptions = SpeechOptions()
    checkpoints: bool = True

    def __post_init__(self):
        if self.mode not in MODES:
            raise OptionsError(f"Unknown parallel mode {self.mode!r}: use one of {', '.join(MODES)}", mode=self.mode)
        for name in ("batch_size", "workers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise OptionsError(f"{name} must be at least 1, not {value}", **{name: value})


def resolve_mode(options: ParallelOptions) -> str:
    """The mode ``auto`` stands for: ``batched`` (windows, whatever the duration: voice detection
    guards short audio too, and one window is one window)."""
    return "batched" if options.mode == "auto" else options.mode


def default_batch_size(device: str) -> int:
    """Windows per batch at most: 16 on a GPU; 4 per worker on a CPU, where bigger batches decode
    no faster and only take memory (measured: the same time for 4, 8 and 16 on the benchmark CPU)."""
    return 16 if str(device).startswith("cuda") else 4


def batch_groups(windows: Sequence[Window], batch_size: int, tasks: int = 1) -> list[list[Window]]:
    """``windows`` cut into consecutive batches of at most ``batch_size``, as equal as possible, and
    as many as a multiple of ``tasks`` (so no worker is left alone with the last batch).

    The batches depend only on the windows and these two numbers, never on timing: a resumed
    run decodes exactly the batches an uninterrupted one would.
    """
    n = len(windows)
    if n == 0:
        return []
    count = -(-n // batch_size)
    if tasks > 1 and n >= tasks:
        count = min(n, -(-count // tasks) * tasks)
    size, extra = divmod(n, count)
    groups, start = [], 0
    for k in range(count):
        end = start + size + (1 if k < extra else 0)
        groups.append(list(windows[start:end]))
        start = end
    return groups


def make_backend(mode: str, spec: EngineSpec, options: ParallelOptions, *, loaded=None) -> Backend:
    """The backend for ``mode``; ``loaded()`` gives the in-process engine for ``batched``."""
    if mode == "batched":
        return ThreadBackend(loaded() if loaded else spec.load(options.workers or 1))
    if mode == "processes":
        return ProcessBackend(spec, workers=options.workers)
    if mode == "ray":
        return RayBackend(spec, dataclasses.replace(options.ray, actors=options.workers or options.ray.actors))
    raise OptionsError(f"No backend for parallel mode {mode!r}: use one of batched, processes, ray", mode=mode)


@dataclass
class LongAudioResult:
    """What :func:`transcribe_windows` did: the transcript, and what to clean up once it is written."""

    transcript: Transcript
    checkpoints: Checkpoints | None = None
    windows: int = 0
    extra_windows: int = 0


def plan(source: AudioSource, speech: SpeechOptions = SpeechOptions()) -> list[Window]:
    """Detect the speech in ``source`` and pack it into windows (empty when there is none)."""
    duration = duration_of(source)
    regions = detect_speech(source, vad=speech.vad, threshold=speech.threshold, min_silence=speech.min_silence,
                            noise_db=speech.noise_db, max_len=WINDOW - speech.pause)
    windows = plan_windows(regions, duration, pause=speech.pause)
    log.info("Found %.0f s of speech in %.0f s of audio (%s); packed into %d window%s of at most %.0f s",
             sum(e - s for s, e in regions), duration, speech.vad, len(windows), "s" if len(windows) != 1 else "",
             WINDOW)
    return windows


def early_stop(window: Window, result: WindowText) -> float | None:
    """Window time from which Whisper wrote nothing although the window holds audio, or None."""
    if result.silent or not result.words:
        return None
    last = result.words[-1].end
    return last if window.duration - last > EARLY_STOP else None


class _Run:
    """One long-audio transcription: decode the windows, continue those Whisper ended early, and
    place each window's cues as soon as it and every window before it are final.

    A window that stopped early gets a continuation window for the rest, at once (it is decoded
    while the other batches still run, not after them). Its index is fixed by its origin — window
    ``i``'s continuation is ``i + n``, that one's ``i + 2n`` (``n`` first-pass windows) — so a
    resumed run finds its checkpoint whatever order the batches finished in.
    """

    def __init__(self, source: AudioSource, options: DecodeOptions, backend: Backend, *, batch_size: int,
                 callbacks: Callbacks, checkpoints: Checkpoints | None):
        self.source, self.options, self.backend = source, options, backend
        self.batch_size, self.callbacks, self.checkpoints = batch_size, callbacks, checkpoints
        self.windows: dict[int, Window] = {}
        self.results: dict[int, WindowText] = checkpoints.load() if checkpoints else {}
        self.first: list[Window] = []
        self.todo: list[list[Window]] = []
        self.cues: list[Segment] = []
        self.decoded = self.placed = self.extra = self.cut = 0

    def progress(self, finished: bool = False) -> None:
        total = len(self.windows)
        self.callbacks.progress(Progress(total, total if finished else self.decoded, self.backend.tasks, finished))

    def save(self, index: int, result: WindowText) -> None:
        """Checkpoint one window; a folder that refuses (read-only, full) costs only the resume, said once."""
        if self.checkpoints is None:
            return
        try:
            self.checkpoints.save(index, result)
        except OSError as e:
            log.warning("Cannot save checkpoints in %s (%s): this run goes on, but could not resume if interrupted",
                        self.checkpoints.directory, e.strerror or e)
            self.checkpoints.remove()  # a partial set is of no use and must not fill the folder further
            self.checkpoints = None

    def run(self, first: list[Window]) -> list[Segment]:
        self.first = first
        for w in first:
            self.windows[w.index] = w
        groups = batch_groups(first, self.batch_size, self.backend.tasks)
        self.todo = [g for g in groups if not all(w.index in self.results for w in g)]
        for w in (w for g in groups if g not in self.todo for w in g):
            self.decoded += 1
            self.follow(w)
        self.progress()
        self.emit_ready()
        running: dict[Future, list[Window]] = {}
        while self.todo or running:
            while self.todo and len(running) < self.backend.tasks + 1:
                group = self.todo.pop(0)
                batch = Batch(tuple(w.index for w in group), tuple(w.audio(self.source) for w in group))
                running[self.backend.submit(batch, self.options)] = group
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                group = running.pop(future)
                for index, result in future.result():
                    self.results[index] = result
                    self.save(index, result)
                    self.decoded += 1
                for w in group:
                    self.follow(w)
                self.progress()
                self.emit_ready()
        if self.extra:
            log.info("Whisper ended %d window%s early: %d more decoded for the rest", self.extra,
                     "s" if self.extra > 1 else "", self.extra)
        if self.cut:
            log.warning("Cut %d word%s that Whisper repeated in a loop (a hallucination)", self.cut,
                        "s" if self.cut > 1 else "")
        self.progress(finished=True)
        return self.cues

    def follow(self, window: Window) -> None:
        """After ``window`` is decoded: its continuation, when Whisper stopped early and rounds are left."""
        n = len(self.first)
        stop = early_stop(window, self.results[window.index])
        if stop is None or window.index // n >= MAX_ROUNDS:
            return
        [rest] = continuation([(window, stop)], first_index=window.index + n)
        self.windows[rest.index] = rest
        self.extra += 1
        log.debug("Whisper ended window %d at %.1f of %.1f s; decoding the rest", window.index, stop, window.duration)
        if rest.index in self.results:  # resumed
            self.decoded += 1
            self.follow(rest)
        else:
            self.todo.append([rest])

    def chain(self, index: int) -> list[int] | None:
        """A first-pass window and its continuations, when every one is decoded; else None."""
        chain = []
        while index in self.windows:
            if index not in self.results:
                return None
            chain.append(index)
            index += len(self.first)
        return chain

    def emit_ready(self) -> None:
        """Place the cues of every first-pass window that is final, in time order, and report them."""
        while self.placed < len(self.first) and (chain := self.chain(self.first[self.placed].index)):
            words = sorted((p for i in chain for p in place_words(self.windows[i], self.results[i].words)),
                           key=lambda p: p.word.start)
            words, cut = trim_loops(words)
            self.cut += cut
            for cue in make_cues(words, self.windows, keep_words=self.options.word_timestamps):
                if self.cues and cue.start < self.cues[-1].end:
                    cue = cue.clamped(self.cues[-1].end, max(cue.end, self.cues[-1].end))
                self.cues.append(cue)
                self.callbacks.segment(cue)
            self.placed += 1


def transcribe_windows(source: AudioSource, windows: list[Window], options: DecodeOptions, backend: Backend, *,
                       batch_size: int, callbacks: Callbacks = Callbacks(),
                       checkpoints: Checkpoints | None = None) -> LongAudioResult:
    """Decode planned ``windows`` of ``source`` with ``backend`` and stitch them into a transcript.

    Batches are fixed runs of ``batch_size`` windows, so a resumed run decodes exactly the batches
    an uninterrupted one would. ``callbacks.on_segment`` receives the cues in time order as soon
    as they are final.
    """
    duration = duration_of(source)
    language = options.language or (checkpoints.get_meta("language") if checkpoints else None)
    if language is None:
        language = backend.detect_language(windows[0].audio(source))
        if checkpoints:
            try:
                checkpoints.set_meta("language", language)
            except OSError:
                pass  # the first window's checkpoint will say why, once
    callbacks.language(language)
    run = _Run(source, dataclasses.replace(options, language=language), backend, batch_size=batch_size,
               callbacks=callbacks, checkpoints=checkpoints)
    if run.results:
        log.info("Resuming: %d window%s already transcribed (checkpoints in %s)", len(run.results),
                 "s" if len(run.results) > 1 else "", checkpoints.directory)
    cues = run.run(windows)
    transcript = Transcript(tuple(cues), language, duration, options.task)
    return LongAudioResult(transcript, run.checkpoints, len(windows), run.extra)


def open_checkpoints(source: AudioSource, windows: Sequence[Window], *, root: Path, stem: str, engine: str,
                     model: str, options: DecodeOptions, batch_size: int, tasks: int) -> Checkpoints:
    """The checkpoint directory of this input, model, options and plan under ``root/.audiototext/``."""
    key = checkpoint_key(fingerprint(source), engine=engine, model=model, options=options, windows=windows,
                         batching=(batch_size, tasks))
    return Checkpoints(Path(root) / CHECKPOINT_DIR / f"{stem}-{key}")


__all__ = ["MODES", "SpeechOptions", "ParallelOptions", "LongAudioResult", "resolve_mode", "default_batch_size",
           "make_backend", "batch_groups", "plan", "early_stop", "transcribe_windows", "open_checkpoints", "EngineSpec", "RaySettings"]

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
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence

from ..engines import DecodeOptions
from ..errors import OptionsError
from ..events import Callbacks
from ..records import check, value
from ..transcript import Transcript
from .backends import Backend, EngineSpec, ProcessBackend, RayBackend, RaySettings, ThreadBackend
from .checkpoints import CHECKPOINT_DIR, Checkpoints, checkpoint_key
from .plan import WINDOW, Window, plan_windows
from .source import AudioSource, duration_of, fingerprint
from .music import music_without_speech
from .speech import DETECTORS, SpeechOptions, detect_speech, speech_regions
from .run import EARLY_STOP, MAX_ROUNDS, WindowRun, uncovered

log = logging.getLogger(__name__)

MODES = ("auto", "off", "batched", "processes", "ray")


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

    mode: str = value("auto", choices=MODES)
    batch_size: int | None = value(None, min=1, max=256)
    workers: int | None = value(None, min=1)
    ray: RaySettings = RaySettings()
    speech: SpeechOptions = SpeechOptions()
    checkpoints: bool = True

    def __post_init__(self):
        check(self)


def resolve_mode(options: ParallelOptions) -> str:
    """The mode ``auto`` stands for: ``batched`` (windows, whatever the duration: voice detection
    guards short audio too, and one window is one window)."""
    return "batched" if options.mode == "auto" else options.mode


def default_batch_size(device: str) -> int:
    """Windows per batch at most: 16 on a GPU; 4 per worker on a CPU, where bigger batches decode
    no faster and only take memory (measured: the same time for 4, 8 and 16 on the benchmark CPU)."""
    return 16 if str(device).startswith("cuda") else 4


#: The first batches' sizes: one window, then two, so the first lines show within seconds.
RAMP = (1, 2)


def batch_groups(windows: Sequence[Window], batch_size: int, tasks: int = 1) -> list[list[Window]]:
    """``windows`` cut into consecutive batches of at most ``batch_size``, as equal as possible, and
    as many as a multiple of ``tasks`` (so no worker is left alone with the last batch).

    The batches depend only on the windows and these two numbers, never on timing: a resumed
    run decodes exactly the batches an uninterrupted one would. Whenever there is more than one
    window, the first batches ramp up (:data:`RAMP`: one window, then two while more than a batch
    is left), so the first lines show after one window's decoding instead of after a whole batch
    (on a GPU 20 windows run as 1, 2, 9 and 8, not 10 and 10); that costs one or two extra passes.
    """
    head, used = [], 0
    for size in RAMP:
        left = len(windows) - used
        if size < batch_size and left > size and (not head or left > batch_size):
            head.append(list(windows[used : used + size]))
            used += size
    return head + _even_groups(windows[used:], batch_size, tasks)


def _even_groups(windows: Sequence[Window], batch_size: int, tasks: int) -> list[list[Window]]:
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
    """Detect the speech in ``source`` and pack it into windows (empty when there is none).

    Music in which voice detection finds (almost) no speech — a song — is decoded whole, as with
    ``vad="off"``, and a warning says so (:mod:`.music`); noise and silence still give no window.
    """
    duration = duration_of(source)
    vad = speech.vad
    regions = detect_speech(source, speech, max_len=WINDOW - speech.pause)
    music = music_without_speech(source, sum(e - s for s, e in regions)) if vad != "off" else None
    if music is not None:
        log.warning(
            "%s voice detection found %.0f s of speech in %.0f s of music: decoding all of it, as with vad off "
            "(songs, speech over music)",
            vad,
            sum(e - s for s, e in regions),
            music.audible,
        )
        vad = "off"
        regions = detect_speech(source, dataclasses.replace(speech, vad=vad), max_len=WINDOW - speech.pause)
    windows = plan_windows(regions, duration, pause=speech.pause, known_speech=vad != "off")
    log.debug(
        "Found %.0f s of speech in %.0f s of audio (%s); packed into %d window%s of at most %.0f s",
        sum(e - s for s, e in regions),
        duration,
        vad,
        len(windows),
        "s" if len(windows) != 1 else "",
        WINDOW,
    )
    return windows


def transcribe_windows(
    source: AudioSource,
    windows: list[Window],
    options: DecodeOptions,
    backend: Backend,
    *,
    batch_size: int,
    callbacks: Callbacks = Callbacks(),
    checkpoints: Checkpoints | None = None,
    onsets: bool = True,
) -> LongAudioResult:
    """Decode planned ``windows`` of ``source`` with ``backend`` and stitch them into a transcript.

    Batches are fixed groups of at most ``batch_size`` windows (:func:`batch_groups`), so a resumed
    run decodes exactly the batches an uninterrupted one would (see :mod:`.run`).
    ``callbacks.on_segment`` receives the cues in time order as soon as they are final.
    ``onsets``: read the start of each word said after a pause from the audio (:mod:`.onsets`).
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
    run = WindowRun(
        source,
        dataclasses.replace(options, language=language),
        backend,
        callbacks=callbacks,
        checkpoints=checkpoints,
        onsets=onsets,
    )
    if run.results:
        log.info(
            "Resuming: %d window%s already transcribed (checkpoints in %s)",
            len(run.results),
            "s" if len(run.results) > 1 else "",
            checkpoints.directory,
        )
    cues = run.run(windows, batch_groups(windows, batch_size, backend.tasks))
    transcript = Transcript(tuple(cues), language, duration, options.task)
    return LongAudioResult(transcript, run.checkpoints, len(windows), run.extra)


def open_checkpoints(
    source: AudioSource,
    windows: Sequence[Window],
    *,
    root: Path,
    stem: str,
    engine: str,
    model: str,
    options: DecodeOptions,
    batch_size: int,
    tasks: int,
) -> Checkpoints:
    """The checkpoint directory of this input, model, options and plan under ``root/.audiototext/``."""
    key = checkpoint_key(
        fingerprint(source), engine=engine, model=model, options=options, windows=windows, batching=(batch_size, tasks)
    )
    return Checkpoints(Path(root) / CHECKPOINT_DIR / f"{stem}-{key}")


__all__ = [
    "EARLY_STOP",
    "MAX_ROUNDS",
    "WindowRun",
    "MODES",
    "DETECTORS",
    "SpeechOptions",
    "speech_regions",
    "ParallelOptions",
    "LongAudioResult",
    "resolve_mode",
    "default_batch_size",
    "make_backend",
    "batch_groups",
    "plan",
    "uncovered",
    "transcribe_windows",
    "open_checkpoints",
    "EngineSpec",
    "RaySettings",
]

"""Long audio, fast: decode the planned chunks side by side, then stitch them back exactly.

One interface, three executors, each loading the model once per worker:

* ``batched``: in this process, chunks decoded together through the engine's ``transcribe_batch``
  (one encoder call and one ``generate`` per batch; the winner on a GPU, and on a small CPU too);
* ``processes``: a spawn process pool, each worker holding its own model with the cores split
  between the workers;
* ``ray``: Ray actors holding a loaded model, on a local Ray or a cluster (``ray_address``).

Around them: checkpoints (one JSON per finished chunk next to the output, so a killed run
resumes where it stopped), one stream of :class:`Progress` events, the stitch (each segment is
re-based by its chunk's start in :meth:`Segment.shifted <audiototext.transcript.Segment.shifted>`
and nowhere else), and a guard that drops repeated-phrase loops.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Protocol, Sequence

import numpy as np

from .engines import DecodeOptions, Engine
from .errors import AudioToTextError, OptionsError
from .segmentation import SAMPLE_RATE, Chunk, SegmentationOptions, plan
from .transcript import Segment, Transcript

log = logging.getLogger(__name__)

MODES = ("auto", "off", "batched", "processes", "ray")

#: Below this many seconds ``auto`` decodes sequentially: one or two windows gain nothing from chunking.
AUTO_MIN_DURATION = 60.0

CHECKPOINT_DIR = ".audiototext"


@dataclass(frozen=True)
class ParallelOptions:
    """How long audio is cut and decoded in parallel.

    Attributes:
        mode: "auto" (sequential under a minute, else ``batched``), "off" (the engine's own
            sequential decoding, identical to its CLI), "batched", "processes" or "ray".
        batch_size: chunks decoded together (None: 16 on a GPU, 8 on a CPU; 1 per task for
            processes and Ray).
        workers: processes or Ray actors (None: processes split the cores in workers of one or
            two threads; Ray starts one actor per GPU, or per two CPUs of the cluster).
        ray_address: Ray cluster to join ("auto" or "ray://host:10001"); None starts a local Ray.
        ray_num_cpus: CPUs each Ray actor reserves (None: its thread count).
        ray_num_gpus: GPUs each Ray actor reserves (None: 1 when the cluster has GPUs, else 0).
        segmentation: voice detection and chunk sizes.
        checkpoints: keep each finished chunk next to the output so a re-run resumes.
    """

    mode: str = "auto"
    batch_size: int | None = None
    workers: int | None = None
    ray_address: str | None = None
    ray_num_cpus: float | None = None
    ray_num_gpus: float | None = None
    segmentation: SegmentationOptions = SegmentationOptions()
    checkpoints: bool = True

    def __post_init__(self):
        if self.mode not in MODES:
            raise OptionsError(f"Unknown parallel mode {self.mode!r}: use one of {', '.join(MODES)}",
                               mode=self.mode)
        for name in ("batch_size", "workers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise OptionsError(f"{name} must be at least 1, not {value}", **{name: value})


@dataclass(frozen=True)
class Progress:
    """One progress event; the CLI, the notebook and the HTTP service's job table read these fields.

    Attributes:
        total_segments: chunks the audio was cut into.
        done_segments: chunks decoded so far (resumed ones included).
        tasks: workers in use (1 for in-process batching).
        finished: the last event of a run.
    """

    total_segments: int
    done_segments: int
    tasks: int
    finished: bool = False


ProgressCallback = Callable[[Progress], None]


class ProgressBar:
    """A :class:`ProgressCallback` that draws a ``tqdm.auto`` bar (terminal or notebook) over chunks."""

    def __init__(self, desc: str = "Transcribing"):
        self.desc = desc
        self.bar = None

    def __call__(self, event: Progress) -> None:
        from tqdm.auto import tqdm

        if self.bar is None:
            self.bar = tqdm(total=event.total_segments, unit="chunk", desc=self.desc)
        self.bar.set_postfix_str(f"{event.tasks} worker{'s' if event.tasks != 1 else ''}", refresh=False)
        self.bar.update(event.done_segments - self.bar.n)
        if event.finished:
            self.bar.close()


def resolve_mode(options: ParallelOptions, duration: float, device: str | None = None) -> str:
    """The mode ``auto`` stands for: ``off`` under :data:`AUTO_MIN_DURATION`, else ``batched``.

    ``batched`` is the benchmark's winner on a GPU and on this project's 2-core CPU as well
    (bench/README.md), so it is the default on both.
    """
    if options.mode != "auto":
        return options.mode
    return "off" if duration < AUTO_MIN_DURATION else "batched"


def default_batch_size(mode: str, device: str) -> int:
    if mode in ("processes", "ray"):
        return 1
    return 16 if str(device).startswith("cuda") else 8


def split_cores(workers: int | None, cores: int | None = None) -> tuple[int, int]:
    """(workers, threads per worker) for a CPU pool: 2 cores -> 2 x 1, 8 -> 4 x 2, 16 -> 8 x 2."""
    cores = cores or os.cpu_count() or 1
    if workers is None:
        workers = cores if cores <= 2 else max(1, min(cores // 2, 8))
    return workers, max(1, cores // workers)


# --- backends --------------------------------------------------------------------------------------

#: A batch: chunk indices with their audio.
Batch = list[tuple[int, np.ndarray]]
BatchResult = list[tuple[int, tuple[Segment, ...]]]


class Backend(Protocol):
    """What the orchestration needs from an executor."""

    name: str
    tasks: int

    def detect_language(self, audio: np.ndarray) -> str:
        ...

    def run(self, batches: list[Batch], options: DecodeOptions) -> Iterator[BatchResult]:
        """Decode every batch; yield each batch's results as it finishes (any order)."""
        ...

    def close(self) -> None:
        ...


class BatchedBackend:
    """In-process batched decoding with an already loaded engine."""

    name = "batched"
    tasks = 1

    def __init__(self, engine: Engine):
        self.engine = engine

    def detect_language(self, audio: np.ndarray) -> str:
        return self.engine.detect_language(audio)

    def run(self, batches: list[Batch], options: DecodeOptions) -> Iterator[BatchResult]:
        for batch in batches:
            results = self.engine.transcribe_batch([a for _, a in batch], options)
            yield [(i, r) for (i, _), r in zip(batch, results)]

    def close(self) -> None:
        pass


# The worker side of the process pool: one engine per process, loaded by the initializer.
_WORKER_ENGINE: Engine | None = None


def _worker_init(engine: str, model: str, device: str | None, threads: int) -> None:
    global _WORKER_ENGINE
    from .engines import load_engine

    logging.getLogger("audiototext").setLevel(logging.WARNING)
    _WORKER_ENGINE = load_engine(engine, model, device=device, threads=threads)


def _worker_detect(audio: np.ndarray) -> str:
    return _WORKER_ENGINE.detect_language(audio)


def _worker_batch(batch: Batch, options: DecodeOptions) -> BatchResult:
    results = _WORKER_ENGINE.transcribe_batch([a for _, a in batch], options)
    return [(i, r) for (i, _), r in zip(batch, results)]


class ProcessBackend:
    """A spawn process pool; each worker loads the model once and uses ``threads`` cores."""

    name = "processes"

    def __init__(self, engine: str, model: str, *, device: str | None = None, workers: int | None = None,
                 threads: int | None = None):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.tasks, per_worker = split_cores(workers, threads)
        # spawn, not fork: torch and CTranslate2 hold threads that a forked child would inherit broken.
        self.pool = ProcessPoolExecutor(self.tasks, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_worker_init, initargs=(engine, model, device, per_worker))
        log.info("Decoding in %d processes of %d thread%s each", self.tasks, per_worker,
                 "s" if per_worker > 1 else "")

    def detect_language(self, audio: np.ndarray) -> str:
        return self.pool.submit(_worker_detect, audio).result()

    def run(self, batches: list[Batch], options: DecodeOptions) -> Iterator[BatchResult]:
        from concurrent.futures import as_completed

        futures = [self.pool.submit(_worker_batch, batch, options) for batch in batches]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _RayWorker:
    """The Ray actor: an engine loaded once, then batches."""

    def __init__(self, engine: str, model: str, device: str | None, threads: int):
        _worker_init(engine, model, device, threads)

    def detect_language(self, audio: np.ndarray) -> str:
        return _worker_detect(audio)

    def transcribe(self, batch: Batch, options: DecodeOptions) -> BatchResult:
        return _worker_batch(batch, options)


class RayBackend:
    """Ray actors holding a loaded model, on a local Ray or on the cluster at ``address``.

    Each actor reserves ``num_cpus`` and ``num_gpus``; on a small machine give actors a fraction
    of a CPU (e.g. 0.5) so that they cannot starve the other tasks of the cluster.
    """

    name = "ray"

    def __init__(self, engine: str, model: str, *, device: str | None = None, workers: int | None = None,
                 threads: int | None = None, address: str | None = None, num_cpus: float | None = None,
                 num_gpus: float | None = None):
        try:
            import ray
        except ImportError as e:
            raise OptionsError("--parallel ray needs Ray: pip install 'audiototext[ray]'") from e
        self.ray = ray
        self.started = not ray.is_initialized()
        if self.started:
            try:
                ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING,
                         log_to_driver=False)
            except Exception as e:  # noqa: BLE001 - any connection failure gets the same advice
                raise AudioToTextError(f"Could not start or join Ray at {address or 'a new local cluster'} ({e}); "
                                       "check --ray-address", address=address) from e
        resources = ray.cluster_resources()
        gpus = num_gpus if num_gpus is not None else (1.0 if resources.get("GPU", 0) >= 1 else 0.0)
        if workers is None:
            workers = int(resources.get("GPU", 0) // gpus) if gpus else max(1, int(resources.get("CPU", 1) // 2))
        self.tasks = max(1, workers)
        threads = threads or max(1, int(resources.get("CPU", 1) // self.tasks))
        cpus = num_cpus if num_cpus is not None else float(threads)
        actor = ray.remote(num_cpus=cpus, num_gpus=gpus)(_RayWorker)
        self.actors = [actor.remote(engine, model, device, threads) for _ in range(self.tasks)]
        log.info("Decoding on %d Ray actor%s (%g CPU, %g GPU, %d threads each)", self.tasks,
                 "s" if self.tasks > 1 else "", cpus, gpus, threads)

    def detect_language(self, audio: np.ndarray) -> str:
        return self.ray.get(self.actors[0].detect_language.remote(audio))

    def run(self, batches: list[Batch], options: DecodeOptions) -> Iterator[BatchResult]:
        ray = self.ray
        options_ref = ray.put(options)
        queue = list(reversed(batches))
        running: dict = {}
        for actor in self.actors:
            if queue:
                running[actor.transcribe.remote(queue.pop(), options_ref)] = actor
        while running:
            [ready], _ = ray.wait(list(running), num_returns=1)
            actor = running.pop(ready)
            if queue:
                running[actor.transcribe.remote(queue.pop(), options_ref)] = actor
            yield ray.get(ready)

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        if self.started:
            self.ray.shutdown()


# --- checkpoints -----------------------------------------------------------------------------------


def checkpoint_key(audio: np.ndarray, *, engine: str, model: str, options: DecodeOptions,
                   chunks: Sequence[Chunk], batch_size: int) -> str:
    """A hash of everything a chunk's text depends on: audio, model, engine, options, plan, batch."""
    digest = hashlib.sha1(np.ascontiguousarray(audio, np.float32).tobytes())
    digest.update(repr((engine, model, options, [(c.start, c.end) for c in chunks], batch_size)).encode())
    return digest.hexdigest()[:16]


class Checkpoints:
    """Each finished chunk as ``chunk-00012.json`` in one directory, written atomically.

    The directory lives next to the output (``<output_dir>/.audiototext/<stem>-<key>/``) and is
    removed once the output files are written; a run killed before that resumes from it.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def _path(self, index: int) -> Path:
        return self.directory / f"chunk-{index:05d}.json"

    def load(self) -> dict[int, tuple[Segment, ...]]:
        done: dict[int, tuple[Segment, ...]] = {}
        for path in sorted(self.directory.glob("chunk-*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                done[int(data["index"])] = tuple(Segment.from_dict(s) for s in data["segments"])
            except (OSError, ValueError, KeyError, TypeError) as e:
                log.warning("Ignoring the unreadable checkpoint %s (%s)", path, e)
        return done

    def save(self, index: int, segments: Sequence[Segment]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(index)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        data = {"index": index, "segments": [s.to_dict(i) for i, s in enumerate(segments)]}
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)  # a kill -9 leaves either the whole file or none

    def get_meta(self, name: str) -> str | None:
        try:
            return json.loads((self.directory / "meta.json").read_text(encoding="utf-8")).get(name)
        except (OSError, ValueError):
            return None

    def set_meta(self, name: str, value: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / "meta.json"
        tmp = path.with_name(f".meta.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({name: value}), encoding="utf-8")
        os.replace(tmp, path)

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
        try:
            self.directory.parent.rmdir()  # .audiototext/, when no other input left checkpoints there
        except OSError:
            pass


# --- stitching and the hallucination guard ---------------------------------------------------------


def place(chunk: Chunk, segments: Sequence[Segment], after: float = 0.0) -> list[Segment]:
    """One chunk's segments on the whole audio's time line, none starting before ``after``.

    Each segment is re-based by the chunk's start in :meth:`Segment.shifted` (the one place),
    then kept inside its chunk and after the previous segment, so time never goes backwards.
    """
    out = []
    for segment in segments:
        segment = segment.shifted(chunk.start).clamped(max(after, chunk.start), chunk.end)
        out.append(segment)
        after = segment.end
    return out


class Stitcher:
    """Places chunks on the whole audio's time line in start order, each as soon as every chunk
    before it is done, so live output and the final transcript come from the same placement."""

    def __init__(self, chunks: Sequence[Chunk]):
        self.order = sorted(chunks, key=lambda c: c.start)
        self.segments: list[Segment] = []
        self.placed = 0

    def advance(self, results: dict[int, Sequence[Segment]]) -> list[Segment]:
        """Place the chunks now ready; return their segments (time order, after all earlier ones)."""
        new: list[Segment] = []
        while self.placed < len(self.order) and self.order[self.placed].index in results:
            chunk = self.order[self.placed]
            segments = place(chunk, results[chunk.index], self.segments[-1].end if self.segments else 0.0)
            self.segments.extend(segments)
            new.extend(segments)
            self.placed += 1
        return new


def stitch(chunks: Sequence[Chunk], results: dict[int, Sequence[Segment]]) -> list[Segment]:
    """Segments of every chunk on the whole audio's time line, in order (a chunk with no result: none).

    Chunks do not overlap, so no word is decoded twice; the planner cuts in silences, so none
    is cut in half.
    """
    stitcher = Stitcher(chunks)
    stitcher.advance({c.index: results.get(c.index, ()) for c in chunks})
    return stitcher.segments


_WORD = re.compile(r"\w+", re.UNICODE)


def is_loop(text: str, *, min_repeats: int = 4, max_ngram: int = 8) -> bool:
    """True when ``text`` holds a phrase of 1-8 words said ``min_repeats`` or more times in a row.

    Single words need more repeats (8 words in a row), so "no, no, no" stays.
    """
    words = [w.lower() for w in _WORD.findall(text)]
    for n in range(1, max_ngram + 1):
        need = max(min_repeats, -(-8 // n))
        for start in range(0, len(words) - n * need + 1):
            gram = words[start:start + n]
            count = 1
            while words[start + count * n: start + (count + 1) * n] == gram:
                count += 1
                if count >= need:
                    return True
    return False


def drop_loops(segments: Sequence[Segment], *, max_same: int = 2) -> tuple[list[Segment], int]:
    """Drop repeated-phrase loops: segments looping inside, and runs of identical segments.

    Returns:
        The kept segments and how many were dropped. Of a run of identical lines the first
        ``max_same`` stay.
    """
    kept: list[Segment] = []
    dropped = 0
    run = 0
    previous = None
    for segment in segments:
        key = " ".join(_WORD.findall(segment.text.lower()))
        run = run + 1 if key and key == previous else 1
        previous = key
        if is_loop(segment.text) or run > max_same:
            dropped += 1
            continue
        kept.append(segment)
    return kept, dropped


# --- orchestration ---------------------------------------------------------------------------------


def make_backend(mode: str, *, engine: str, model: str, device: str | None, threads: int | None,
                 options: ParallelOptions, loaded: Callable[[], Engine]) -> Backend:
    """The backend for ``mode``; ``loaded()`` gives the in-process engine (loaded on first use)."""
    if mode == "batched":
        return BatchedBackend(loaded())
    if mode == "processes":
        return ProcessBackend(engine, model, device=device, workers=options.workers, threads=threads)
    if mode == "ray":
        return RayBackend(engine, model, device=device, workers=options.workers, threads=threads,
                          address=options.ray_address, num_cpus=options.ray_num_cpus,
                          num_gpus=options.ray_num_gpus)
    raise OptionsError(f"No backend for parallel mode {mode!r}: use one of {', '.join(MODES[2:])}", mode=mode)


def transcribe_chunks(audio: np.ndarray, options: DecodeOptions, backend: Backend, *,
                      chunks: Sequence[Chunk], batch_size: int, checkpoints: Checkpoints | None = None,
                      on_progress: ProgressCallback | None = None,
                      on_segment: Callable[[Segment], None] | None = None,
                      on_language: Callable[[str], None] | None = None) -> Transcript:
    """Decode planned ``chunks`` of 16 kHz ``audio`` with ``backend`` and stitch the result.

    Batches are fixed runs of ``batch_size`` chunks, so a resumed run decodes exactly the batches
    an uninterrupted one would (batch composition can move a float, and so a word).
    ``on_segment`` receives the stitched segments in time order as soon as they are final.
    """
    duration = len(audio) / SAMPLE_RATE
    total = len(chunks)
    emit = on_progress or (lambda event: None)
    done = checkpoints.load() if checkpoints else {}
    if done:
        log.info("Resuming: %d of %d chunks were already transcribed (checkpoints in %s)", len(done), total,
                 checkpoints.directory)
    language = options.language or (checkpoints.get_meta("language") if checkpoints else None)
    if language is None:
        first = chunks[0]
        language = backend.detect_language(audio[first.samples()])
        if checkpoints:
            checkpoints.set_meta("language", language)
    if on_language:
        on_language(language)
    decode = dataclasses.replace(options, language=language)

    batches: list[Batch] = []
    ordered = sorted(chunks, key=lambda c: c.index)
    for k in range(0, total, batch_size):
        group = ordered[k:k + batch_size]
        if all(c.index in done for c in group):
            continue
        batches.append([(c.index, audio[c.samples()]) for c in group])
    if done:
        log.info("Skipping %d finished chunks; %d batches left", sum(c.index in done for c in chunks), len(batches))

    # A checkpointed chunk in a batch that is decoded again gets that batch's new result (what an
    # uninterrupted run writes), so only results that will not change are placed.
    redo = {index for batch in batches for index, _ in batch}
    final = {index: segments for index, segments in done.items() if index not in redo}
    stitcher = Stitcher(chunks)

    def show_ready() -> None:
        for segment in stitcher.advance(final):
            if on_segment:
                on_segment(segment)

    dropped = 0
    emit(Progress(total, len(done), backend.tasks))
    show_ready()
    for result in backend.run(batches, decode):
        for index, segments in result:
            # The guard runs per chunk, before the checkpoint: Whisper's loops live inside a window.
            segments, n = drop_loops(segments)
            dropped += n
            done[index] = final[index] = tuple(segments)
            if checkpoints:
                checkpoints.save(index, segments)
        emit(Progress(total, len(done), backend.tasks))
        show_ready()

    if dropped:
        log.warning("Dropped %d segment%s that repeated a phrase in a loop (a Whisper hallucination)",
                    dropped, "s" if dropped > 1 else "")
    emit(Progress(total, total, backend.tasks, True))
    return Transcript(tuple(stitcher.segments), language, duration, options.task)


def transcribe_parallel(audio: np.ndarray, options: DecodeOptions, parallel: ParallelOptions, *, mode: str,
                        engine: str, model: str, device: str | None = None, threads: int | None = None,
                        loaded: Callable[[], Engine] | None = None, checkpoint_root: Path | None = None,
                        stem: str = "audio", backend: Backend | None = None,
                        on_progress: ProgressCallback | None = None,
                        on_segment: Callable[[Segment], None] | None = None,
                        on_language: Callable[[str], None] | None = None) -> Transcript:
    """Plan, decode in ``mode`` (batched/processes/ray), stitch; checkpoint under ``checkpoint_root``.

    Args:
        audio: 16 kHz mono float32 samples.
        options: decoding options (``condition_on_previous_text`` cannot cross chunks).
        parallel: chunking, batch size, workers, Ray.
        mode: "batched", "processes" or "ray" (see :func:`resolve_mode` for "auto").
        engine, model, device, threads: what the workers load.
        loaded: gives the already loaded in-process engine for ``batched``.
        checkpoint_root: the output directory; checkpoints go under its ``.audiototext/``.
        stem: the output files' name, part of the checkpoint directory's name.
        backend: a backend to reuse across inputs (left open); None makes one and closes it.
        on_progress, on_segment, on_language: live reporting.

    Returns:
        The stitched transcript; ``extra["checkpoint_dir"]`` names the checkpoints to remove
        (:meth:`Checkpoints.remove`) once the outputs are written.
    """
    from .engines import load_engine

    chunks = plan(audio, parallel.segmentation)
    device_name = device or ("cuda" if _has_cuda(engine) else "cpu")
    batch_size = parallel.batch_size or default_batch_size(mode, device_name)
    checkpoints = None
    if parallel.checkpoints and checkpoint_root is not None and chunks:
        key = checkpoint_key(audio, engine=engine, model=model, options=options, chunks=chunks,
                             batch_size=batch_size)
        checkpoints = Checkpoints(Path(checkpoint_root) / CHECKPOINT_DIR / f"{stem}-{key}")
    if not chunks:
        # The hallucination guard's first line: no speech, no decoding, no invented text.
        log.warning("No speech found by %s voice detection; nothing to transcribe", parallel.segmentation.vad)
        if on_progress:
            on_progress(Progress(0, 0, 0, True))
        transcript = Transcript((), options.language, len(audio) / SAMPLE_RATE, options.task)
        transcript.extra["chunks"] = 0
        return transcript
    owned = backend is None
    if owned:
        loaded = loaded or (lambda: load_engine(engine, model, device=device, threads=threads))
        backend = make_backend(mode, engine=engine, model=model, device=device, threads=threads,
                               options=parallel, loaded=loaded)
    try:
        transcript = transcribe_chunks(audio, options, backend, chunks=chunks, batch_size=batch_size,
                                       checkpoints=checkpoints, on_progress=on_progress, on_segment=on_segment,
                                       on_language=on_language)
    finally:
        if owned:
            backend.close()
    if checkpoints:
        transcript.extra["checkpoint_dir"] = checkpoints.directory
    transcript.extra["chunks"] = len(chunks)
    return transcript


def _has_cuda(engine: str) -> bool:
    try:
        if engine == "faster-whisper":
            import ctranslate2

            return ctranslate2.get_cuda_device_count() > 0
        import torch

        return torch.cuda.is_available()
    except Exception:  # noqa: BLE001 - no GPU stack installed means no GPU
        return False


__all__ = ["MODES", "ParallelOptions", "Progress", "ProgressCallback", "ProgressBar", "Backend",
           "BatchedBackend", "ProcessBackend", "RayBackend", "Checkpoints", "checkpoint_key", "place", "stitch",
           "Stitcher", "is_loop", "drop_loops", "resolve_mode", "split_cores", "make_backend", "transcribe_chunks",
           "transcribe_parallel"]

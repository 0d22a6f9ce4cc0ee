"""Where batches of windows are decoded: threads in this process, a process pool, or Ray actors.

Every backend loads the model once per worker and offers the same two calls: ``submit`` a batch
(window indices and their audio) and get a ``concurrent.futures.Future``
of its results; ``detect_language``. The orchestration (:mod:`audiototext.longaudio`) decides
what to submit when.

* ``batched``: in this process; ``tasks`` threads share one loaded model (on a CPU each thread
  gets its share of the cores; on a GPU one thread feeds it big batches);
* ``processes``: a spawn process pool, each worker with its own model and share of the cores;
* ``ray``: Ray actors holding a loaded model, on a local Ray or a cluster. Actors restart and
  their batches are retried when a node is lost (``max_restarts``/``max_task_retries``).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..engines import DecodeOptions, Engine
from ..engines.windows import WindowText
from ..errors import AudioToTextError, OptionsError
from ..records import check, value

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
    """Windows decoded together: their indices and audio."""

    indices: tuple[int, ...]
    audio: tuple[np.ndarray, ...]


#: A batch's results: (window index, what decoding it gave), in the batch's order.
BatchResult = list[tuple[int, WindowText]]


@dataclass(frozen=True)
class EngineSpec:
    """What a worker loads: engine, model, device and threads (one record, not four arguments)."""

    engine: str
    model: str
    device: str | None = None
    threads: int | None = None

    def load(self, workers: int = 1) -> Engine:
        from ..engines import load_engine

        return load_engine(self.engine, self.model, device=self.device, threads=self.threads, workers=workers)


class Backend(Protocol):
    """What the orchestration needs from an executor."""

    name: str
    tasks: int

    def detect_language(self, audio: np.ndarray) -> str: ...

    def submit(self, batch: Batch, options: DecodeOptions) -> Future: ...

    def close(self) -> None: ...


def decode_batch(engine: Engine, batch: Batch, options: DecodeOptions) -> BatchResult:
    results = engine.decode_windows(list(batch.audio), options)
    return list(zip(batch.indices, results))


class ThreadBackend:
    """Batches decoded in this process by ``engine.workers`` threads sharing the loaded model."""

    name = "batched"

    def __init__(self, engine: Engine):
        self.engine = engine
        self.tasks = max(1, getattr(engine, "workers", 1))
        self.pool = ThreadPoolExecutor(self.tasks, thread_name_prefix="audiototext-decode")

    def detect_language(self, audio: np.ndarray) -> str:
        return self.engine.detect_language(audio)

    def submit(self, batch: Batch, options: DecodeOptions) -> Future:
        return self.pool.submit(decode_batch, self.engine, batch, options)

    def submit_encode(self, audio: np.ndarray) -> Future:
        """One window encoded (a future of its :class:`~audiototext.engines.windows.Encoded`)."""
        return self.pool.submit(lambda: self.engine.encode_windows([audio])[0])

    def submit_decode(self, encoded: list, options: DecodeOptions) -> Future:
        """Encoded windows decoded as one batch (a future of their results, in order)."""
        return self.pool.submit(self.engine.decode_encoded, encoded, options)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


# The worker side of the process pool and of Ray: one engine per process, loaded once.
_WORKER_ENGINE: Engine | None = None


def _worker_init(spec: EngineSpec) -> None:
    global _WORKER_ENGINE
    logging.getLogger("audiototext").setLevel(logging.WARNING)
    _WORKER_ENGINE = spec.load()


def _worker_detect(audio: np.ndarray) -> str:
    return _WORKER_ENGINE.detect_language(audio)


def _worker_batch(batch: Batch, options: DecodeOptions) -> BatchResult:
    return decode_batch(_WORKER_ENGINE, batch, options)


class ProcessBackend:
    """A spawn process pool; each worker loads the model once and uses its share of the cores."""

    name = "processes"

    def __init__(self, spec: EngineSpec, *, workers: int | None = None):
        import dataclasses
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from ..engines.device import split_cores

        self.tasks, per_worker = split_cores(workers, spec.threads)
        # spawn, not fork: torch and CTranslate2 hold threads that a forked child would inherit broken.
        self.pool = ProcessPoolExecutor(
            self.tasks,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(dataclasses.replace(spec, threads=per_worker),),
        )
        log.info("Decoding in %d processes of %d thread%s each", self.tasks, per_worker, "s" if per_worker > 1 else "")

    def detect_language(self, audio: np.ndarray) -> str:
        return self.pool.submit(_worker_detect, audio).result()

    def submit(self, batch: Batch, options: DecodeOptions) -> Future:
        return self.pool.submit(_worker_batch, batch, options)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def terminate(self) -> None:
        """Stop the workers now, mid-batch (after Ctrl-C or SIGTERM: a batch can take minutes)."""
        for process in list((getattr(self.pool, "_processes", None) or {}).values()):
            process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)


class _RayWorker:
    """The Ray actor: an engine loaded once, then batches."""

    def __init__(self, spec: EngineSpec):
        _worker_init(spec)

    def detect_language(self, audio: np.ndarray) -> str:
        return _worker_detect(audio)

    def decode(self, batch: Batch, options: DecodeOptions) -> BatchResult:
        return _worker_batch(batch, options)


@dataclass(frozen=True)
class RaySettings:
    """Ray cluster and per-actor resources."""

    address: str | None = None
    actors: int | None = value(None, min=1)
    num_cpus: float | None = value(None, min=0.0, min_open=True)
    num_gpus: float | None = value(None, min=0.0)

    def __post_init__(self):
        check(self)


def start_ray(address: str | None):
    """``ray`` joined to the cluster at ``address`` (None: a new local one); True when this call started it.

    None means a new local Ray (or the one ``$RAY_ADDRESS`` names), never "whatever Ray runs on
    this machine": left to itself, ``ray.init()`` joins any cluster it finds here, another
    user's or another test's, and its jobs would share that cluster's workers. Ray installs its own
    SIGINT/SIGTERM handlers; the process's own (uvicorn's, the CLI's) are put back, or a stop
    would not be graceful.
    """
    import os
    import signal
    import threading

    try:
        import ray
    except ImportError as e:
        raise OptionsError("Ray is not installed: pip install 'audiototext[ray]'") from e
    if ray.is_initialized():
        return ray, False
    target = address or os.environ.get("RAY_ADDRESS") or "local"
    main = threading.current_thread() is threading.main_thread()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)} if main else {}
    try:
        ray.init(address=target, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    except Exception as e:  # noqa: BLE001 - any connection failure gets the same advice
        raise AudioToTextError(
            f"Could not start or join Ray at {address or 'a new local cluster'} ({e}); check --ray-address",
            address=address,
        ) from e
    finally:
        for sig, handler in handlers.items():
            if handler is not None:
                signal.signal(sig, handler)
    log.info("Joined Ray at %s: %s", address or "a new local cluster", ray.cluster_resources())
    return ray, True


class RayBackend:
    """Ray actors holding a loaded model, on a local Ray or on the cluster at ``settings.address``.

    Each actor reserves ``num_cpus`` and ``num_gpus``; on a small machine give actors a fraction
    of a CPU (e.g. 0.5) so that they cannot starve the other tasks of the cluster. Actors are
    spread over the cluster's nodes.

    A lost node: its actors' batches fail as soon as Ray notices and go to the live
    actors here, so a job never waits on an actor that may find no room to restart; the lost
    actors restart wherever the cluster has room (``max_restarts=-1``) and take batches again
    once they answer. ``tasks`` counts the actors decoding now.
    """

    name = "ray"
    #: Times one batch is sent again after losing its actor, per actor, before the job fails.
    RESENDS_PER_ACTOR = 3

    def __init__(self, spec: EngineSpec, settings: RaySettings = RaySettings()):
        import threading

        self.ray, self.started = start_ray(settings.address)
        resources = self.ray.cluster_resources()
        gpus = settings.num_gpus if settings.num_gpus is not None else (1.0 if resources.get("GPU", 0) >= 1 else 0.0)
        workers = settings.actors
        if workers is None:
            workers = int(resources.get("GPU", 0) // gpus) if gpus else max(1, int(resources.get("CPU", 1) // 2))
        count = max(1, workers)
        threads = spec.threads or max(1, int(resources.get("CPU", 1) // count))
        cpus = settings.num_cpus if settings.num_cpus is not None else float(threads)
        # max_task_retries=0: a batch on a lost actor fails here, to be sent to a live actor
        # (_settle), instead of waiting inside Ray for that actor's restart.
        actor = self.ray.remote(
            num_cpus=cpus, num_gpus=gpus, max_restarts=-1, max_task_retries=0, scheduling_strategy="SPREAD"
        )(_RayWorker)
        worker_spec = EngineSpec(spec.engine, spec.model, spec.device, threads)
        self.actors = [actor.remote(worker_spec) for _ in range(count)]
        self._lost: dict[int, object] = {}  # actor index -> readiness probe (ObjectRef) of a lost actor
        self._lock = threading.Lock()
        self.next = 0
        log.info(
            "Decoding on %d Ray actor%s (%g CPU, %g GPU, %d threads each)",
            count,
            "s" if count > 1 else "",
            cpus,
            gpus,
            threads,
        )

    @property
    def tasks(self) -> int:
        """Actors decoding now: all of them, less those lost and not back yet."""
        with self._lock:
            self._check_lost()
            return len(self.actors) - len(self._lost)

    def _check_lost(self) -> None:
        """Lost actors whose readiness probe has answered are live again (call with the lock held)."""
        for index, probe in list(self._lost.items()):
            ready, _ = self.ray.wait([probe], timeout=0)
            if not ready:
                continue
            try:
                self.ray.get(probe)
            except self.ray.exceptions.RayError:
                self._lost[index] = self.actors[index].__ray_ready__.remote()  # lost again: ask again
            else:
                log.info("Ray actor %d is back", index)
                del self._lost[index]

    def _pick(self) -> int:
        """The next live actor, round robin; when none is live, the next one (the batch waits for it)."""
        with self._lock:
            self._check_lost()
            for _ in range(len(self.actors)):
                index = self.next % len(self.actors)
                self.next += 1
                if index not in self._lost:
                    return index
            self.next += 1
            return (self.next - 1) % len(self.actors)

    def _lose(self, index: int, error: BaseException) -> None:
        with self._lock:
            if index not in self._lost:
                log.warning(
                    "Ray actor %d was lost (%s); its batches go to the other actors until it is back",
                    index,
                    str(error).splitlines()[0][:200] if str(error) else type(error).__name__,
                )
                self._lost[index] = self.actors[index].__ray_ready__.remote()

    def detect_language(self, audio: np.ndarray) -> str:
        for _ in range(self.RESENDS_PER_ACTOR * len(self.actors)):
            index = self._pick()
            try:
                return self.ray.get(self.actors[index].detect_language.remote(audio))
            except self.ray.exceptions.RayActorError as e:
                self._lose(index, e)
        raise AudioToTextError("Every Ray actor was lost while detecting the language; check the cluster")

    def submit(self, batch: Batch, options: DecodeOptions) -> Future:
        outer: Future = Future()
        self._send(batch, options, outer, sent=1)
        return outer

    def _send(self, batch: Batch, options: DecodeOptions, outer: Future, sent: int) -> None:
        index = self._pick()
        inner = self.actors[index].decode.remote(batch, options).future()
        inner.add_done_callback(lambda done: self._settle(done, index, batch, options, outer, sent))

    def _settle(self, done: Future, index: int, batch: Batch, options: DecodeOptions, outer: Future, sent: int) -> None:
        """A batch's answer: its result; or, when its actor was lost, the batch sent to another actor."""
        error = done.exception()
        if error is None:
            outer.set_result(done.result())
        elif isinstance(error, self.ray.exceptions.RayActorError) and sent < self.RESENDS_PER_ACTOR * len(self.actors):
            self._lose(index, error)
            try:
                self._send(batch, options, outer, sent + 1)
            except Exception as e:  # noqa: BLE001 - the job must fail, not wait for a future never settled
                outer.set_exception(e)
        elif isinstance(error, self.ray.exceptions.RayActorError):
            outer.set_exception(
                AudioToTextError(
                    f"Ray lost the actor of windows {list(batch.indices)} {sent} times ({error}); check the cluster",
                    windows=list(batch.indices),
                )
            )
        else:
            outer.set_exception(error)

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        if self.started:
            self.ray.shutdown()


__all__ = [
    "Batch",
    "BatchResult",
    "EngineSpec",
    "Backend",
    "ThreadBackend",
    "ProcessBackend",
    "RayBackend",
    "RaySettings",
    "start_ray",
    "decode_batch",
]

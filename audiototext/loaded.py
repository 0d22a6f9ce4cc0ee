"""A loaded model: the engine in this process, loaded once (in the background while the first
input is fetched and decoded), and the executors that decode windows with it or in worker
processes and Ray actors. Safe from several threads: one load, one executor per mode.

What is loaded is fixed by :func:`loaded_with`; everything else is a run's to choose, call by
call (:class:`~audiototext.pipeline.Pipeline`, built on this).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

from .engines import Engine, engine_class, load_engine
from .engines.device import default_workers
from .events import Callbacks, DownloadBar, fan_out
from .longaudio import Backend, EngineSpec, make_backend, resolve_mode, speech_regions
from .options.record import Options

log = logging.getLogger(__name__)


def loaded_with(options: Options) -> tuple:
    """What a pipeline loads for ``options`` (see :class:`Pipeline`): runs that differ in anything
    else share one pipeline, and one loaded model."""
    mode = resolve_mode(options.parallel)
    where = mode if mode in ("processes", "ray") else "here"
    o, p = options, options.parallel
    return (o.engine, o.model, o.device, o.threads, o.api_key, where, p.workers, p.ray)


class LoadedModel:
    """The engine and executors ``options`` load (see :func:`loaded_with`), made on first use."""

    def __init__(self, options: Options | None = None, callbacks: Callbacks | None = None):
        self.options = options if options is not None else Options()
        self.callbacks = callbacks or Callbacks()
        self._engine: Engine | None = None
        self._loading: Future | None = None  # the engine loading in the background (see load_ahead)
        self._backends: dict[str, Backend] = {}
        self._lock = threading.RLock()  # one load, one backend per mode, whatever the threads

    @property
    def mode(self) -> str:
        """How audio is decoded: "off" (the engine's own sequential decoding), "batched", "processes", "ray"."""
        return resolve_mode(self.options.parallel)

    @property
    def engine(self) -> Engine:
        """The engine in this process, loaded on first use (once, whatever the number of inputs or threads)."""
        with self._lock:
            if self._engine is None:
                loading, self._loading = self._loading, None
                self._engine = loading.result() if loading is not None else self._load_engine()
        return self._engine

    def _fetch_weights(self) -> None:
        """Download the model's weights with a bar, and say "Loading model … (size)": gigabytes are no silent wait."""
        from .downloads import fetch_weights

        bar = DownloadBar() if self.options.progress else None
        weights = engine_class(self.options.engine).weights
        fetch_weights(weights, self.options.model, fan_out(self.callbacks.on_download, bar))

    def _load_engine(self) -> Engine:
        o = self.options
        self._fetch_weights()
        workers = 1 if self.mode == "off" else (o.parallel.workers or default_workers(o.engine, o.device))
        return load_engine(
            o.engine,
            o.model,
            device=o.device,
            threads=o.threads,
            workers=workers,
            api_key=o.api_key,
            find_speech=speech_regions,
        )

    def load_ahead(self) -> None:
        """Start loading the in-process engine in a thread, while the input is fetched, decoded and
        scanned for speech (ffmpeg and voice detection each keep one core busy; loading keeps the
        other). Its errors surface where the engine is first used. Nothing to do for workers in
        other processes or on Ray, which load their own. The pipeline calls it once an input has
        passed the checks made before decoding (a link: as its download starts)."""
        with self._lock:
            if self._engine is not None or self._loading is not None or self.mode in ("processes", "ray"):
                return
            # The pool's thread ends with the load, and the interpreter waits for it at exit rather than
            # tearing it down inside torch or CTranslate2 (an abort, seen when no speech was found).
            pool = ThreadPoolExecutor(1, thread_name_prefix="audiototext-load")
            self._loading = pool.submit(self._load_engine)
            pool.shutdown(wait=False)

    def backend(self, mode: str) -> Backend:
        """The executor for a parallel ``mode``, made once and kept for the next inputs."""
        with self._lock:
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
        with self._lock:
            backends, self._backends = self._backends, {}
        while backends:
            mode, backend = backends.popitem()
            try:
                backend.close()
            except Exception as e:  # noqa: BLE001 - clean-up must not hide the error that led here
                log.warning("Could not stop the %s workers cleanly: %s", mode, e)


__all__ = ["LoadedModel", "loaded_with"]

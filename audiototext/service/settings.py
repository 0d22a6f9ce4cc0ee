"""How one ``audiototext serve`` runs: :class:`Settings`, checked when made, and its data-dir layout.

No heavy imports: the settings are checked (and unit-tested) without FastAPI or a model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import OptionsError
from .checks import check_slug

BACKENDS = ("local", "ray")
#: Hosts that keep the service on this machine; any other needs a token or a warning.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Settings:
    """How ``audiototext serve`` runs; one per server.

    Attributes:
        data_dir: ``jobs.sqlite3``, ``audio/<slug>/`` results, ``downloads/<call_id>/`` inputs (kept
            until their job has finished, for a restart to resume it) and the ``.lock`` that keeps a
            second server off it.
        host, port: where uvicorn listens (loopback by default: expose it on purpose).
        workers: transcription threads, each with its own loaded model (1 on CPU).
        queue_size: jobs waiting at most; more are answered 429.
        max_bytes: largest download or upload.
        timeout: seconds a download may stall (per network read) before it fails.
        token: bearer token every endpoint but the docs needs (None: open).
        model: the jobs' default model, which may be a path on this machine (None: the options
            registry's default: base, or whisper-1 for the openai-api engine).
        engine: the jobs' default engine (None: faster-whisper when installed).
        device, threads: where and on how many CPU threads each worker decodes (None: the GPU
            when there is one; the cores shared out between the workers).
        backend: "local" (windows batched in the worker's process) or "ray" (on Ray actors).
        ray_address: the Ray cluster for ``backend="ray"`` ("auto", "host:6379", "ray://host:10001";
            None: a new local Ray).
        ray_actors: Ray actors per worker (None: the long-audio default for the cluster's size).
        ray_num_cpus: CPUs each Ray actor reserves (None: its thread count).
        batch_size: windows decoded together (None: the long-audio default); 1 checkpoints
            every window as soon as it is decoded.
        keep_media: keep a finished job's input (``downloads/<call_id>/``) for the web page's
            player until the job is deleted (False: removed as soon as the job ends).
        allow_private_urls: fetch ``src_url`` links to loopback, private, link-local and other
            non-public addresses (False: refused, so a client cannot make the server fetch what
            only it can reach; for trusted networks and tests).

    Raises:
        OptionsError: a value out of range, or a Ray setting without ``backend="ray"``.
    """

    data_dir: Path = Path("audiototext-data")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    queue_size: int = 100
    max_bytes: int = 2 * 1024**3
    timeout: float = 60.0
    token: str | None = None
    model: str | None = None
    engine: str | None = None
    device: str | None = None
    threads: int | None = None
    backend: str = "local"
    ray_address: str | None = None
    ray_actors: int | None = None
    ray_num_cpus: float | None = None
    batch_size: int | None = None
    keep_media: bool = True
    allow_private_urls: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        for name in ("workers", "queue_size", "max_bytes", "threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise OptionsError(f"{name.replace('_', '-')} must be at least 1, not {value}", **{name: value})
        if not self.timeout > 0:
            raise OptionsError(f"timeout must be more than 0, not {self.timeout}", timeout=self.timeout)
        self._check_long_audio()
        if not 0 <= self.port <= 65535:
            raise OptionsError(f"port must be between 0 and 65535, not {self.port}", port=self.port)
        if self.backend not in BACKENDS:
            raise OptionsError(
                f"Unknown backend {self.backend!r}: use one of {', '.join(BACKENDS)}", backend=self.backend
            )
        ray_only = [n for n in ("ray_address", "ray_actors", "ray_num_cpus") if getattr(self, n) is not None]
        if ray_only and self.backend != "ray":
            names = ", ".join("--" + n.replace("_", "-") for n in ray_only)
            raise OptionsError(f"{names} need{'s' if len(ray_only) == 1 else ''} --backend ray", backend=self.backend)
        if self.engine is not None:
            from .. import options

            # An unknown engine fails at start, not per job.
            object.__setattr__(self, "engine", options.option("engine").parse(self.engine))
        self._check_model()

    def _check_long_audio(self) -> None:
        """The settings every job's long-audio options take, checked as those options declare them."""
        from ..longaudio import ParallelOptions, RaySettings
        from ..records import declared

        for name, record, field in (
            ("batch_size", ParallelOptions, "batch_size"),
            ("ray_actors", RaySettings, "actors"),
            ("ray_num_cpus", RaySettings, "num_cpus"),
        ):
            declared(record, field).check(getattr(self, name), name.replace("_", "-"), name)

    def _check_model(self) -> None:
        """The jobs' default model resolves and, offline, is on this machine: found at start, not per job."""
        from ..engines import default_engine, default_model, engine_class
        from ..errors import ModelError
        from ..models import check_offline

        engine = engine_class(self.engine or default_engine())
        if not engine.hosted:
            try:
                check_offline(self.model or default_model(engine.name), engine.weights)
            except ModelError as e:
                raise OptionsError(f"--model: {e}", model=self.model) from e

    @property
    def exposed(self) -> bool:
        """Listening beyond this machine."""
        return self.host not in LOOPBACK

    @property
    def database(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    @property
    def audio_dir(self) -> Path:
        return self.data_dir / "audio"

    @property
    def downloads_dir(self) -> Path:
        return self.data_dir / "downloads"

    def result_dir(self, slug: str) -> Path:
        """``audio/<slug>/``: the job's output files and long-audio checkpoints (after a check of ``slug``)."""
        return self.audio_dir / check_slug(slug)

    def transcript_json(self, slug: str) -> Path | None:
        """The JSON transcript of ``slug``'s job (``GET /api/audio/{slug}`` reads it), if written:
        ``<slug>.json``, or ``<slug>_English.json`` for Whisper's "Translate to English" (named by
        the task as the CLI and the notebook name it; a job's folder holds one job's files)."""
        from ..names import task_suffix

        for task in ("transcribe", "translate"):
            path = self.result_dir(slug) / f"{slug}{task_suffix(task)}.json"
            if path.is_file():
                return path
        return None

    def has_result(self, slug: str) -> bool:
        """A finished transcript of ``slug`` is on disk (its JSON, which ``GET /api/audio/{slug}`` reads)."""
        return self.transcript_json(slug) is not None

    @property
    def worker_threads(self) -> int:
        """CPU threads per worker: the cores shared out, so workers don't fight over them."""
        return self.threads or max(1, (os.cpu_count() or 1) // self.workers)


__all__ = ["Settings", "BACKENDS", "LOOPBACK"]

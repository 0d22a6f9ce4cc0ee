"""HTTP service: ``audiototext serve`` — transcription jobs over the one pipeline, with a job store.

Endpoints (the seed's contract; OpenAPI docs at ``/docs``):

* ``POST /api/transcribe?src_url=<url>&title_slug=<slug>&is_video=false`` (or a multipart ``file``
  instead of ``src_url``) -> ``{"call_id": "<id>"}``. The media is fetched and checked by ffmpeg
  *before* the job is queued, so a bad link or a file that is not media is answered at once.
  A slug that is already transcribed returns its finished job's ``call_id``; a slug in progress
  returns the running job's ``call_id``.
* ``GET /api/status/{call_id}`` -> ``{"finished", "total_segments", "done_segments", "tasks", ...}``;
  a failed job answers ``{"finished": true, "error": "..."}`` with HTTP 422 (its media or options),
  502 (DeepL) or 500 (anything else).
* ``GET /api/audio/{slug}`` -> ``{"segments": [{"text", "start", "end"}], "language"}``;
  ``GET /api/audio/{slug}.srt|.vtt|.txt|.tsv|.json`` -> the file; ``DELETE /api/audio/{slug}``.

Jobs live in SQLite (:mod:`audiototext.jobstore`) under ``--data-dir``; results are the
pipeline's own files in ``<data-dir>/audio/<slug>/``. A server killed mid-job resumes its
queued and running jobs on the next start, in the same output directory, so the long-audio
checkpoints there are found and finished chunks are not decoded again.

Every input is untrusted: slugs are ``[A-Za-z0-9_-]{1,100}``, only ``http``/``https`` links are
fetched, downloads and uploads have a size limit and a timeout, models are official names only,
and ``--token`` (or ``AUDIOTOTEXT_TOKEN``) makes every endpoint but the docs need
``Authorization: Bearer <token>``.

FastAPI, uvicorn, python-multipart and yt-dlp are the ``service`` extra, imported here only.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the route functions' annotations at
# run time, and the fastapi types they name are imported inside create_app (an optional extra).
import argparse
import contextlib
import dataclasses
import hmac
import json
import logging
import math
import os
import queue
import re
import shutil
import signal
import sys
import threading
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from . import __version__, media
from .errors import AudioToTextError, MediaError, OptionsError, TranslationError
from .jobstore import FAILED, Job, JobStore, SlugBusy

log = logging.getLogger(__name__)

SLUG_PATTERN = r"[A-Za-z0-9_-]{1,100}"
_SLUG_RE = re.compile(SLUG_PATTERN)
_SLUG_MESSAGE = "title_slug must be 1 to 100 characters from A-Z, a-z, 0-9, '_' and '-'"
#: Files ``GET /api/audio/{slug}.<ext>`` serves, with their media types.
FILE_TYPES = {
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "json": "application/json",
}
#: Paths that stay open when a token is set.
OPEN_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"})
BACKENDS = ("local", "ray")
#: Starts of one job (restarts included) before it is marked failed.
MAX_ATTEMPTS = 3
#: Seconds of audio per progress step when the pipeline reports segments, not chunks.
PROGRESS_WINDOW = 30.0


@dataclass(frozen=True)
class Settings:
    """How ``audiototext serve`` runs; one per server.

    Attributes:
        data_dir: jobs.sqlite3, ``audio/<slug>/`` results, ``downloads/<call_id>/`` inputs (kept
            until their job has finished, for a restart to resume it).
        host, port: where uvicorn listens (loopback by default: expose it on purpose).
        workers: transcription threads, each with its own loaded model (1 on CPU).
        queue_size: jobs waiting at most; more are answered 429.
        max_bytes: largest download or upload.
        timeout: seconds a download may stall (per network read) before it fails.
        token: bearer token every endpoint but the docs needs (None: open).
        model, engine, device, threads: defaults for jobs (a job may pick another official model).
        backend: "local" (long audio's chunks batched in this process) or "ray" (on Ray actors).
        ray_address: the Ray cluster for ``backend="ray"`` ("auto", "ray://host:10001"; None: local).
        ray_actors: Ray actors per job (None: the long-audio default for the cluster's size).
        ray_num_cpus: CPUs each Ray actor reserves (None: its thread count).
        batch_size: chunks decoded together (None: the long-audio default); 1 checkpoints
            every chunk as soon as it is decoded.
    """

    data_dir: Path = Path("audiototext-data")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    queue_size: int = 100
    max_bytes: int = 2 * 1024 ** 3
    timeout: float = 60.0
    token: str | None = None
    model: str = "base"
    engine: str | None = None
    device: str | None = None
    threads: int | None = None
    backend: str = "local"
    ray_address: str | None = None
    ray_actors: int | None = None
    ray_num_cpus: float | None = None
    batch_size: int | None = None

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise OptionsError(f"workers must be at least 1, not {self.workers}")
        if self.queue_size < 1:
            raise OptionsError(f"queue_size must be at least 1, not {self.queue_size}")
        if self.backend not in BACKENDS:
            raise OptionsError(f"Unknown backend {self.backend!r}: use one of {', '.join(BACKENDS)}")

    @property
    def audio_dir(self) -> Path:
        return self.data_dir / "audio"

    @property
    def downloads_dir(self) -> Path:
        return self.data_dir / "downloads"

    @property
    def worker_threads(self) -> int:
        """CPU threads per worker: the cores shared out, so workers don't fight over them."""
        return self.threads or max(1, (os.cpu_count() or 1) // self.workers)


@dataclass(frozen=True)
class JobRequest:
    """A job's transcription options, as the client gave them (same names as the CLI's flags).

    Stored with the job as JSON, so a resumed job runs exactly as asked.
    """

    task: str = "transcribe"
    language: str = "auto"
    model: str | None = None
    engine: str | None = None
    output_formats: str = "txt,vtt,srt"
    initial_prompt: str | None = None
    beam_size: int | None = None
    best_of: int | None = None
    temperature: float | None = None
    condition_on_previous_text: bool | None = None
    word_timestamps: bool = False
    max_line_width: int | None = None
    max_line_count: int | None = None
    max_words_per_line: int | None = None
    highlight_words: bool = False
    deepl_target: str | None = None
    deepl_formality: str = "default"

    def to_dict(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict) -> "JobRequest":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def pipeline_options(request: JobRequest, settings: Settings, output_dir: Path):
    """The pipeline :class:`~audiototext.pipeline.Options` for one job.

    Raises:
        OptionsError: an option has a value the library refuses (the message says which).
    """
    from .engines import DEFAULT_ENGINE, ENGINES, DecodeOptions
    from .models import MODELS
    from .pipeline import Options
    from .subtitles import WriterOptions, parse_formats

    model = request.model or settings.model
    # A client may choose any official model, never a path on this machine.
    if model not in MODELS and model != settings.model:
        raise OptionsError(f"Unknown model {model!r}: use one of {', '.join(MODELS)}", model=model)
    engine = request.engine or settings.engine or DEFAULT_ENGINE
    if engine not in ENGINES:
        raise OptionsError(f"Unknown engine {engine!r}: use one of {', '.join(ENGINES)}", engine=engine)
    decode_fields = {name: getattr(request, name) for name in
                     ("beam_size", "best_of", "temperature", "condition_on_previous_text")
                     if getattr(request, name) is not None}
    decode = DecodeOptions(task=request.task, language=request.language, initial_prompt=request.initial_prompt,
                           word_timestamps=request.word_timestamps, **decode_fields)
    if not request.word_timestamps and (request.highlight_words or request.max_line_width
                                        or request.max_line_count or request.max_words_per_line):
        raise OptionsError("highlight_words, max_line_width, max_line_count and max_words_per_line "
                           "need word_timestamps=true")
    writer = WriterOptions(max_line_width=request.max_line_width, max_line_count=request.max_line_count,
                           highlight_words=request.highlight_words,
                           max_words_per_line=request.max_words_per_line)
    formats = parse_formats(request.output_formats)
    if "json" not in formats:  # GET /api/audio/{slug} reads it
        formats = (*formats, "json")
    deepl = None
    if request.deepl_target:
        from .translation import DeepLOptions

        deepl = DeepLOptions(target=request.deepl_target, formality=request.deepl_formality)
    return Options(model=model, engine=engine, device=settings.device, threads=settings.worker_threads,
                   decode=decode, output_dir=output_dir, formats=formats, writer=writer, deepl=deepl,
                   progress=False, parallel=parallel_options(settings))


def parallel_options(settings: Settings):
    """Where a job's chunks are decoded: the long-audio :class:`~audiototext.parallel.ParallelOptions`.

    Local: "auto" (sequential under a minute, else chunks batched in the worker's process). Ray:
    every job's chunks on Ray actors. Checkpoints stay on: they go under the job's output
    directory, which is the same after a restart, so a resumed job skips its finished chunks.
    """
    from .parallel import ParallelOptions

    if settings.backend == "ray":
        return ParallelOptions(mode="ray", ray_address=settings.ray_address, workers=settings.ray_actors,
                               ray_num_cpus=settings.ray_num_cpus, batch_size=settings.batch_size)
    return ParallelOptions(mode="auto", batch_size=settings.batch_size)


def progress_callbacks(store: JobStore, call_id: str, duration: float):
    """The pipeline :class:`~audiototext.pipeline.Callbacks` that keep a job's progress current.

    This is the one place that turns the pipeline's reports into ``total_segments``,
    ``done_segments`` and ``tasks``. Chunked decoding reports :class:`~audiototext.parallel.Progress`
    events (chunks planned, chunks done, workers): they are stored as they are. Short audio is
    decoded sequentially and reports only segments: progress is then counted in windows of
    :data:`PROGRESS_WINDOW` seconds, advanced by each segment's end, on one worker.
    """
    from .pipeline import Callbacks

    total = estimated_segments(duration)
    chunked = threading.Event()

    def on_progress(event) -> None:
        chunked.set()
        # The last chunk is counted when the job is done (its files written): finish() does it.
        done = min(event.done_segments, max(event.total_segments - 1, 0))
        store.progress(call_id, total_segments=event.total_segments, done_segments=done, tasks=event.tasks)

    def on_segment(segment) -> None:
        if not chunked.is_set():
            done = min(total - 1, int(segment.end // PROGRESS_WINDOW))
            store.progress(call_id, total_segments=total, done_segments=done, tasks=1)

    return Callbacks(on_progress=on_progress, on_segment=on_segment)


def estimated_segments(duration: float) -> int:
    """Pieces of :data:`PROGRESS_WINDOW` seconds in ``duration`` (at least 1), before the real plan."""
    return max(1, math.ceil(duration / PROGRESS_WINDOW))


def failure_status(error: BaseException) -> int:
    """The HTTP status a failed job's status answer carries."""
    if isinstance(error, (MediaError, OptionsError)):
        return 422  # the job's own input cannot be processed
    if isinstance(error, TranslationError):
        return 502  # DeepL, upstream, failed
    return 500


# --- input checks and fetching -------------------------------------------------------------------

def check_slug(slug: str) -> str:
    """``slug`` when it is a safe file stem; OptionsError otherwise (no traversal, no dots)."""
    if not isinstance(slug, str) or not _SLUG_RE.fullmatch(slug):
        raise OptionsError(f"{_SLUG_MESSAGE}; got {slug!r}"[:300], slug=slug)
    return slug


def check_url(url: str) -> str:
    """``url`` when it is an ``http(s)://`` link with a host; OptionsError otherwise."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise OptionsError(f"src_url must be an http:// or https:// link; {url[:200]!r} is refused "
                           "(file://, local paths and other schemes are never read)", source=url)
    return url


def _suffix(name: str | None) -> str:
    suffix = Path(name or "").suffix
    return suffix.lower() if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", suffix) else ""


def fetch_url(url: str, dest_dir: Path, stem: str, *, is_video: bool, max_bytes: int, timeout: float) -> Path:
    """Download ``url`` (a media link, or with ``is_video`` a video page via yt-dlp) as ``<stem>.<ext>``.

    Raises:
        MediaError: the download failed, timed out or passed ``max_bytes`` (then with ``limit``).
    """
    if is_video:
        return _fetch_video_page(url, dest_dir, stem, max_bytes=max_bytes, timeout=timeout)
    item = media.resolve(url, download_dir=dest_dir, progress=False, max_bytes=max_bytes, timeout=timeout)
    path = dest_dir / f"{stem}{_suffix(item.path.name)}"
    os.replace(item.path, path)
    return path


class _YtdlpLog:
    """yt-dlp's messages into our log; remembers them to explain a missing file."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def debug(self, msg: str) -> None:
        self.lines.append(msg)
        log.debug("yt-dlp: %s", msg)

    info = debug

    def warning(self, msg: str) -> None:
        self.lines.append(msg)
        log.warning("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        self.lines.append(msg)
        log.error("yt-dlp: %s", msg)


def _fetch_video_page(url: str, dest_dir: Path, stem: str, *, max_bytes: int, timeout: float) -> Path:
    try:
        import yt_dlp
    except ImportError as e:
        raise MediaError("is_video=true needs yt-dlp: pip install 'audiototext[service]'", source=url) from e
    dest_dir.mkdir(parents=True, exist_ok=True)
    logger = _YtdlpLog()
    options = {
        "outtmpl": str(dest_dir / f"{stem}.%(ext)s"), "format": "bestaudio/best", "noplaylist": True,
        "playlist_items": "1", "max_filesize": max_bytes, "socket_timeout": timeout, "logger": logger,
        "quiet": True, "no_warnings": False, "noprogress": True, "overwrites": True, "cachedir": False,
    }
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            ydl.download([url])
    except yt_dlp.utils.DownloadError as e:
        reason = re.sub(r"^ERROR:\s*", "", str(e)).strip()
        raise MediaError(f"{url}: could not get the video ({reason}); check the link", source=url) from e
    files = [p for p in dest_dir.glob(f"{stem}.*") if not p.name.endswith((".part", ".ytdl"))]
    if not files:
        if any("max-filesize" in line for line in logger.lines):
            raise MediaError(f"{url}: the video is more than the limit of {max_bytes} bytes",
                             source=url, limit=max_bytes)
        raise MediaError(f"{url}: the page has no video or audio to download; check the link", source=url)
    return files[0]


def save_upload(stream: BinaryIO, dest_dir: Path, stem: str, *, filename: str | None, max_bytes: int) -> Path:
    """Copy an uploaded file to ``<dest_dir>/<stem>.<ext>``, refusing more than ``max_bytes``.

    Raises:
        MediaError: the upload is larger than ``max_bytes`` (with ``limit``).
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{stem}{_suffix(filename)}"
    partial = path.with_name(path.name + ".part")
    done = 0
    with open(partial, "wb") as out:
        while chunk := stream.read(1 << 20):
            done += len(chunk)
            if done > max_bytes:
                out.close()
                partial.unlink(missing_ok=True)
                raise MediaError(f"upload {filename!r}: more than the limit of {max_bytes} bytes",
                                 source=filename, limit=max_bytes)
            out.write(chunk)
    os.replace(partial, path)
    return path


# --- the job runner ------------------------------------------------------------------------------

class QueueFull(AudioToTextError):
    """The job queue is full; the client should retry later."""


class JobRunner:
    """A bounded queue of call_ids and the worker threads that run them through the pipeline.

    Each worker keeps its own :class:`~audiototext.pipeline.Pipeline` per (engine, model), so a
    model is loaded once per worker and reused by every job that asks for it.
    """

    def __init__(self, settings: Settings, store: JobStore):
        self.settings = settings
        self.store = store
        self.queue: queue.Queue[str | None] = queue.Queue(maxsize=settings.queue_size)
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._slug_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    @contextlib.contextmanager
    def slug_lock(self, slug: str):
        """Serialise submissions for one slug (the dedupe rules need a consistent view)."""
        with self._locks_lock:
            lock = self._slug_locks.setdefault(slug, threading.Lock())
        with lock:
            yield

    def submit(self, call_id: str) -> None:
        """Queue a stored job.

        Raises:
            QueueFull: ``queue_size`` jobs are waiting already.
        """
        try:
            self.queue.put_nowait(call_id)
        except queue.Full:
            raise QueueFull(f"the queue is full ({self.settings.queue_size} jobs waiting); retry later",
                            call_id=call_id) from None

    def start(self) -> None:
        """Start the workers, then queue the jobs a previous run left unfinished.

        Raises:
            AudioToTextError: ``backend="ray"`` and Ray cannot be started or joined.
        """
        if self.settings.backend == "ray":
            start_ray(self.settings.ray_address)
        for number in range(self.settings.workers):
            thread = threading.Thread(target=self._work, name=f"audiototext-worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        unfinished = self.store.unfinished()
        if unfinished:
            log.info("Resuming %d unfinished job(s) from %s", len(unfinished), self.store.path)
            # Blocking puts, off the startup path: there may be more than queue_size of them.
            threading.Thread(target=lambda: [self.queue.put(job.call_id) for job in unfinished],
                             name="audiototext-resume", daemon=True).start()

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the workers to stop after their current job; running jobs resume on the next start."""
        self._stopping.set()
        for _ in self._threads:
            with contextlib.suppress(queue.Full):
                self.queue.put_nowait(None)
        for thread in self._threads:
            thread.join(timeout)

    def _work(self) -> None:
        pipelines: dict[tuple, object] = {}
        try:
            while not self._stopping.is_set():
                call_id = self.queue.get()
                if call_id is None:
                    break
                try:
                    self._run(call_id, pipelines)
                except Exception:  # noqa: BLE001 - a worker must survive any one job
                    log.exception("job %s: unexpected failure", call_id)
                    with contextlib.suppress(Exception):
                        self.store.fail(call_id, "internal error while transcribing; see the server log",
                                        http_status=500)
                finally:
                    self.queue.task_done()
        finally:
            for pipeline in pipelines.values():
                pipeline.close()

    def _run(self, call_id: str, pipelines: dict) -> None:
        from .pipeline import Pipeline

        job = self.store.start(call_id)
        if job is None:  # deleted, or finished by an earlier run
            return
        if job.attempts > MAX_ATTEMPTS:
            # A job that takes the server down with it (out of memory...) must not do so forever.
            self.store.fail(call_id, f"the server stopped {MAX_ATTEMPTS} times while transcribing this job; "
                                     "giving up (see the server log)", http_status=500)
            return
        if job.attempts > 1:
            log.info("job %s (%s): resuming, attempt %d", call_id, job.slug, job.attempts)
        try:
            options = pipeline_options(JobRequest.from_dict(job.params), self.settings,
                                       self.settings.audio_dir / job.slug)
            duration = media.probe(job.media_path).duration
        except AudioToTextError as e:
            self.store.fail(call_id, _public_message(e, job), http_status=failure_status(e))
            return
        key = (options.engine, options.model)
        pipeline = pipelines.get(key)
        if pipeline is None:
            while pipelines:  # one model per worker at a time: memory is the scarce thing
                pipelines.popitem()[1].close()
            pipeline = pipelines[key] = Pipeline(options)
        # Same model, this job's options and progress reporting.
        pipeline.options = options
        pipeline.callbacks = progress_callbacks(self.store, call_id, duration)
        log.info("job %s (%s): transcribing %s", call_id, job.slug, job.source)
        result = pipeline.run_file(job.media_path)
        if result.ok:
            self.store.finish(call_id)
            log.info("job %s (%s): done, %d segments", call_id, job.slug, len(result.transcript.segments))
        else:
            self.store.fail(call_id, _public_message(result.error, job), http_status=failure_status(result.error))
            log.info("job %s (%s): failed: %s", call_id, job.slug, result.error)
        # The input is kept only while a restart may need it.
        shutil.rmtree(self.settings.downloads_dir / call_id, ignore_errors=True)


def start_ray(address: str | None) -> None:
    """Join the Ray cluster at ``address`` (None: start a local one) for every worker's actors.

    Done once, before the workers start: each worker's actors then live as long as the service,
    and the long-audio backend, which only shuts down a Ray it started itself, leaves it running.
    """
    try:
        import ray
    except ImportError as e:
        raise OptionsError("--backend ray needs Ray: pip install 'ray[default]'") from e
    if ray.is_initialized():
        return
    # ray.init installs its own SIGTERM handler; uvicorn's must stay, or a stop is not graceful.
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    except Exception as e:  # noqa: BLE001 - any connection failure gets the same advice
        raise AudioToTextError(f"Could not start or join Ray at {address or 'a new local cluster'} ({e}); "
                               "check --ray-address", address=address) from e
    finally:
        if threading.current_thread() is threading.main_thread():
            for sig, handler in handlers.items():
                if handler is not None:
                    signal.signal(sig, handler)
    log.info("Joined Ray at %s: %s", address or "a new local cluster", ray.cluster_resources())


def _public_message(error: BaseException, job: Job) -> str:
    """The error's message with this server's file paths replaced by what the client sent."""
    message = str(error)
    if job.media_path:
        message = message.replace(str(job.media_path), job.source)
    return message


# --- the app -------------------------------------------------------------------------------------

def result_dir(settings: Settings, slug: str) -> Path:
    return settings.audio_dir / check_slug(slug)


def has_result(settings: Settings, slug: str) -> bool:
    return (result_dir(settings, slug) / f"{slug}.json").is_file()


def create_app(settings: Settings = Settings()):
    """The FastAPI app for ``settings``: routes, auth, the job store and (at startup) the workers.

    The workers start with the app's lifespan (uvicorn, or ``with TestClient(app)``).
    """
    from fastapi import Depends, FastAPI, File, HTTPException, Query, Request, UploadFile
    from fastapi.responses import FileResponse, JSONResponse
    from fastapi.security import HTTPBearer

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = JobStore(settings.data_dir / "jobs.sqlite3")
    runner = JobRunner(settings, store)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        runner.start()
        log.info("audiototext service on http://%s:%d, data in %s, %d worker(s), backend %s",
                 settings.host, settings.port, settings.data_dir, settings.workers, settings.backend)
        yield
        runner.stop()

    app = FastAPI(title="audiototext", version=__version__, lifespan=lifespan,
                  description="Whisper transcription jobs: submit media, poll the status, get the subtitles.")
    app.state.settings, app.state.store, app.state.runner = settings, store, runner
    # Only for the docs' "Authorize" button: the middleware below enforces the token.
    bearer = [Depends(HTTPBearer(auto_error=False, description="needed when the server has a --token"))]

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if settings.token and request.url.path not in OPEN_PATHS:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if not given or scheme.lower() != "bearer":
                return JSONResponse({"detail": "missing bearer token: send 'Authorization: Bearer <token>'"},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
            if not hmac.compare_digest(given.strip().encode(), settings.token.encode()):
                return JSONResponse({"detail": "wrong bearer token"}, status_code=401,
                                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if request.method == "POST" and request.url.path == "/api/transcribe":
            length = request.headers.get("content-length", "")
            # Refuse an oversized upload before its body is read (multipart adds a little).
            if length.isdigit() and int(length) > settings.max_bytes + 1024 * 1024:
                return JSONResponse({"detail": f"upload: {length} bytes is more than the limit of "
                                               f"{settings.max_bytes} bytes"}, status_code=413)
        return await call_next(request)

    def job_request(
        task: str = Query("transcribe", description="transcribe, or translate (to English)"),
        language: str = Query("auto", description="spoken language, name or code, or auto"),
        model: str | None = Query(None, description=f"official Whisper model (default {settings.model})"),
        engine: str | None = Query(None, description="openai-whisper or faster-whisper"),
        output_formats: str = Query("txt,vtt,srt", description="comma list of txt,vtt,srt,tsv,json or all"),
        initial_prompt: str | None = Query(None, max_length=2000),
        beam_size: int | None = Query(None, ge=1, le=20, description="1: greedy (fastest)"),
        best_of: int | None = Query(None, ge=1, le=20),
        temperature: float | None = Query(None, ge=0.0, le=1.0),
        condition_on_previous_text: bool | None = Query(None),
        word_timestamps: bool = Query(False),
        max_line_width: int | None = Query(None, ge=1),
        max_line_count: int | None = Query(None, ge=1),
        max_words_per_line: int | None = Query(None, ge=1),
        highlight_words: bool = Query(False),
        deepl_target: str | None = Query(None, description="translate the lines with DeepL into this language"),
        deepl_formality: str = Query("default"),
    ) -> JobRequest:
        return JobRequest(task=task, language=language, model=model, engine=engine, output_formats=output_formats,
                          initial_prompt=initial_prompt, beam_size=beam_size, best_of=best_of,
                          temperature=temperature, condition_on_previous_text=condition_on_previous_text,
                          word_timestamps=word_timestamps, max_line_width=max_line_width,
                          max_line_count=max_line_count, max_words_per_line=max_words_per_line,
                          highlight_words=highlight_words, deepl_target=deepl_target,
                          deepl_formality=deepl_formality)

    def checked_slug(slug: str) -> str:
        try:
            return check_slug(slug)
        except OptionsError as e:
            raise HTTPException(400, str(e)) from None

    @app.post("/api/transcribe", dependencies=bearer, summary="Submit media for transcription")
    def transcribe(title_slug: str = Query(..., description=f"names the result; {SLUG_PATTERN}"),
                   src_url: str | None = Query(None, description="http(s) link to the media (or upload a file)"),
                   is_video: bool = Query(False, description="src_url is a video page: fetch it with yt-dlp"),
                   request: JobRequest = Depends(job_request),
                   file: UploadFile | None = File(None, description="the media, instead of src_url")) -> dict:
        """Fetch the media, check it with ffmpeg, queue the job; answer its ``call_id``.

        The same ``title_slug`` again answers the finished job's ``call_id`` (the result is reused)
        or, while it runs, the running job's. ``DELETE /api/audio/{title_slug}`` to transcribe again.
        """
        slug = checked_slug(title_slug)
        if (src_url is None) == (file is None):
            raise HTTPException(400, "give the media either as src_url=<http(s) link> or as an uploaded file")
        try:
            if src_url is not None:
                check_url(src_url)
            pipeline_options(request, settings, result_dir(settings, slug))  # refuse bad options now
        except AudioToTextError as e:
            raise HTTPException(400, str(e)) from None
        with runner.slug_lock(slug):
            if active := store.active_for_slug(slug):
                return {"call_id": active.call_id}
            if (done := store.done_for_slug(slug)) and has_result(settings, slug):
                return {"call_id": done.call_id}
            if runner.queue.full():
                raise HTTPException(429, f"the queue is full ({settings.queue_size} jobs waiting); retry later",
                                    headers={"Retry-After": "30"})
            return {"call_id": _new_job(slug, src_url, is_video, file, request)}

    def _new_job(slug: str, src_url: str | None, is_video: bool, file, request: JobRequest) -> str:
        call_id = uuid.uuid4().hex
        download_dir = settings.downloads_dir / call_id
        source = src_url if src_url is not None else f"upload:{file.filename or 'file'}"
        path = None
        try:
            if src_url is not None:
                path = fetch_url(src_url, download_dir, slug, is_video=is_video,
                                 max_bytes=settings.max_bytes, timeout=settings.timeout)
            else:
                path = save_upload(file.file, download_dir, slug, filename=file.filename,
                                   max_bytes=settings.max_bytes)
            info = media.probe(path)
        except MediaError as e:
            shutil.rmtree(download_dir, ignore_errors=True)
            message = str(e).replace(str(path), source) if path else str(e)
            if not is_video and src_url is not None and "not an audio or video file" in message:
                message += "; if it is a web page with a video, send is_video=true"
            raise HTTPException(413 if getattr(e, "limit", None) else 422, message) from None
        # A new job starts clean: leftovers of a failed earlier job must not pass for checkpoints.
        shutil.rmtree(result_dir(settings, slug), ignore_errors=True)
        try:
            store.create(slug, source, media_path=str(path), params=request.to_dict(), call_id=call_id,
                         total_segments=estimated_segments(info.duration))
            runner.submit(call_id)
        except (SlugBusy, QueueFull) as e:
            store.delete(call_id)
            shutil.rmtree(download_dir, ignore_errors=True)
            raise HTTPException(429, str(e) if isinstance(e, QueueFull) else "this slug is busy; retry",
                                headers={"Retry-After": "30"}) from None
        log.info("job %s (%s): queued %s (%.1f s)", call_id, slug, source, info.duration)
        return call_id

    @app.get("/api/status/{call_id}", dependencies=bearer, summary="A job's progress")
    def status(call_id: str):
        """``finished`` false while queued or running, with progress; a failed job carries ``error``."""
        job = store.get(call_id)
        if job is None:
            raise HTTPException(404, f"unknown call_id {call_id[:100]!r}: no such job here "
                                     "(never submitted, or its audio was deleted)")
        body = {"finished": job.finished, "status": job.status, "title_slug": job.slug,
                "total_segments": job.total_segments, "done_segments": job.done_segments, "tasks": job.tasks}
        if job.status == FAILED:
            body["error"] = job.error
            return JSONResponse(body, status_code=job.http_status or 500)
        return body

    @app.get("/api/audio/{name:path}", dependencies=bearer, summary="A finished transcript",
             responses={200: {"content": {t.split(";")[0]: {} for t in FILE_TYPES.values()}}})
    def audio(name: str):
        """``{slug}``: segments and language as JSON; ``{slug}.srt`` (``.vtt``, ``.txt``, ...): the file."""
        slug, _, ext = name.partition(".")
        if not _SLUG_RE.fullmatch(slug):
            raise HTTPException(400, f"{_SLUG_MESSAGE}, optionally followed by .srt, .vtt, .txt, .tsv or .json; "
                                     f"got {name[:200]!r}")
        if ext and ext not in FILE_TYPES:
            raise HTTPException(400, f"unknown file type {ext[:20]!r}: ask for {slug}.srt, .vtt, .txt, .tsv or .json")
        if active := store.active_for_slug(slug):
            raise HTTPException(409, f"{slug} is still being transcribed: poll /api/status/{active.call_id}")
        if not has_result(settings, slug):
            raise HTTPException(404, f"no transcript for {slug!r}: POST /api/transcribe?title_slug={slug} first")
        if not ext:
            data = json.loads((result_dir(settings, slug) / f"{slug}.json").read_text(encoding="utf-8"))
            segments = [{"text": s["text"], "start": s["start"], "end": s["end"]} for s in data.get("segments", [])]
            return {"segments": segments, "language": data.get("language")}
        path = result_dir(settings, slug) / f"{slug}.{ext}"
        if not path.is_file():
            raise HTTPException(404, f"{slug}.{ext} was not written: submit with output_formats including {ext}")
        return FileResponse(path, media_type=FILE_TYPES[ext], filename=path.name)

    @app.delete("/api/audio/{slug}", dependencies=bearer, summary="Delete a transcript and its job")
    def delete(slug: str) -> dict:
        """Remove the result files, the downloaded media and the finished jobs of ``slug``."""
        slug = checked_slug(slug)
        with runner.slug_lock(slug):
            if active := store.active_for_slug(slug):
                raise HTTPException(409, f"{slug} is still being transcribed (call_id {active.call_id}); "
                                         "delete it when it has finished")
            jobs = store.for_slug(slug)
            folder = result_dir(settings, slug)
            if not jobs and not folder.exists():
                raise HTTPException(404, f"no transcript for {slug!r}")
            for job in jobs:
                shutil.rmtree(settings.downloads_dir / job.call_id, ignore_errors=True)
            shutil.rmtree(folder, ignore_errors=True)
            store.delete_slug(slug)
        return {"deleted": slug}

    @app.get("/api/health", dependencies=bearer, summary="Liveness and job counts")
    def health() -> dict:
        return {"ok": True, "jobs": store.counts(), "queued": runner.queue.qsize(), "workers": settings.workers,
                "backend": settings.backend}

    return app


# --- command line --------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    from .engines import ENGINES

    p = argparse.ArgumentParser(
        prog="audiototext serve", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="HTTP transcription service: POST /api/transcribe, GET /api/status/{call_id}, "
                    "GET /api/audio/{slug}[.srt|.vtt|.txt]; docs at /docs.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 exposes it to the network)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1,
                   help="transcription threads, each with its own model (1 on CPU; more on a big GPU)")
    p.add_argument("--queue-size", "--queue_size", dest="queue_size", type=int, default=100,
                   help="jobs that may wait; more are answered 429")
    p.add_argument("--data-dir", "--data_dir", dest="data_dir", type=Path, default=Path("audiototext-data"),
                   help="job database, results (audio/<slug>/) and downloads")
    p.add_argument("--backend", choices=BACKENDS, default="local",
                   help="where chunks are transcribed: this process, or Ray actors")
    p.add_argument("--ray-address", "--ray_address", dest="ray_address", default=None,
                   help="Ray cluster address for --backend ray (auto, ray://head:10001); default: a local Ray")
    p.add_argument("--ray-actors", "--ray_actors", dest="ray_actors", type=int, default=None,
                   help="Ray actors per job (default: one per GPU, or per two CPUs of the cluster)")
    p.add_argument("--ray-num-cpus", "--ray_num_cpus", dest="ray_num_cpus", type=float, default=None,
                   help="CPUs each Ray actor reserves (default: its thread count)")
    p.add_argument("--batch-size", "--batch_size", dest="batch_size", type=int, default=None,
                   help="chunks of long audio decoded together (1: checkpoint every chunk at once)")
    p.add_argument("--token", default=os.environ.get("AUDIOTOTEXT_TOKEN"),
                   help="require 'Authorization: Bearer TOKEN' (default: $AUDIOTOTEXT_TOKEN; unset: open)")
    p.add_argument("--model", default="base", help="default Whisper model for jobs (may be a local path)")
    p.add_argument("--engine", default=None, choices=list(ENGINES), help="default engine for jobs")
    p.add_argument("--device", default=None, help="cuda or cpu (default: the GPU when there is one)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads per worker (0: cores / workers)")
    p.add_argument("--max-download-mb", "--max_download_mb", dest="max_download_mb", type=float, default=2048,
                   help="largest download or upload, in MiB")
    p.add_argument("--download-timeout", "--download_timeout", dest="timeout", type=float, default=60.0,
                   help="seconds a download may stall before it fails")
    p.add_argument("--log-level", "--log_level", dest="log_level", default="info",
                   choices=["debug", "info", "warning", "error"])
    return p


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(data_dir=args.data_dir, host=args.host, port=args.port, workers=args.workers,
                    queue_size=args.queue_size, max_bytes=int(args.max_download_mb * 1024 * 1024),
                    timeout=args.timeout, token=args.token or None, model=args.model, engine=args.engine,
                    device=args.device, threads=args.threads or None, backend=args.backend,
                    ray_address=args.ray_address, ray_actors=args.ray_actors, ray_num_cpus=args.ray_num_cpus,
                    batch_size=args.batch_size)


def main(argv: list[str] | None = None) -> int:
    """``audiototext serve ...``: run the service until interrupted; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = settings_from_args(args)
    except AudioToTextError as e:
        parser.error(str(e))
    try:
        import uvicorn
    except ImportError:
        print("audiototext serve needs the service extra: pip install 'audiototext[service]'", file=sys.stderr)
        return 2
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("audiototext")
    root.handlers[:] = [handler]
    root.setLevel(args.log_level.upper())
    root.propagate = False
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.token:
        log.warning("Listening on %s without --token: anyone who can reach it can submit jobs", settings.host)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=args.log_level)
    return 0


__all__ = ["Settings", "JobRequest", "JobRunner", "create_app", "main", "pipeline_options", "progress_callbacks",
           "check_slug", "check_url", "fetch_url", "save_upload", "QueueFull"]

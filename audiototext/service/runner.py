"""The job runner: a bounded queue of call_ids and the worker threads that run them through the pipeline.

Each worker keeps one :class:`~audiototext.pipeline.Pipeline` per model it loads (engine, model
and the server's device and workers), so a model is loaded once per worker and reused by every
job that asks for it; each job passes its own options and callbacks to the call
(``run_file(options=..., callbacks=...)``), so the loaded pipeline holds no job's options. A job's live progress and
its lines as they are decoded reach the job store through the pipeline's
:class:`~audiototext.events.Callbacks` only (:func:`progress_callbacks`); nothing here reads
``sys.stdout``. The same callbacks stop a job a client cancelled: at its next window or line
they raise :class:`JobCancelled`, which ends the run like any failure of the input, and what it
wrote stays (its lines, its checkpoints, and the transcript files when DeepL was running).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import shutil
import threading
from collections.abc import Callable

from ..errors import AudioToTextError
from ..events import Callbacks, Download, Progress
from ..names import task_suffix
from ..transcript import Segment
from .checks import failure_status, public_message
from .jobstore import RUNNING, Job, JobStore
from .joboptions import job_options
from .settings import Settings

log = logging.getLogger(__name__)

#: Starts of one job (restarts included) before it is marked failed.
MAX_ATTEMPTS = 3


class QueueFull(AudioToTextError):
    """The job queue is full; the client should retry later."""


class JobCancelled(AudioToTextError):
    """A client cancelled the job while it ran (raised from its callbacks, to stop the pipeline)."""


#: Why a job stops when the server does (SIGTERM, Ctrl-C): not a client's cancel, and it resumes.
SERVER_STOPPING = "the server is stopping (SIGTERM or Ctrl-C): the job resumes on the next start"


def progress_callbacks(store: JobStore, call_id: str, cancelled: Callable[[], bool | str] | None = None) -> Callbacks:
    """The pipeline Callbacks that keep a job's progress and lines current, and stop it when cancelled.

    Progress is counted in windows decoded (:class:`~audiototext.events.Progress`), on every path
    (long audio, the API engine's pieces). The last window is counted when the job is done, its
    files written (:meth:`JobStore.finish`), so ``finished`` and ``done == total`` come together.
    Each line is stored as it is decoded (:meth:`JobStore.add_line`). When ``cancelled()`` turns
    true, the next report raises :class:`JobCancelled` (after storing the line it brought), with
    ``cancelled()``'s text as its message when it is one (the server stopping), else "cancelled by
    a client".
    """
    numbers = itertools.count()

    def stop_if_cancelled() -> None:
        why = cancelled() if cancelled is not None else False
        if why:
            raise JobCancelled(why if isinstance(why, str) else "cancelled by a client", call_id=call_id)

    def on_progress(event: Progress) -> None:
        done = min(event.done_segments, max(event.total_segments - 1, 0))
        store.progress(call_id, total_segments=event.total_segments, done_segments=done, tasks=event.tasks)
        stop_if_cancelled()

    def on_segment(segment: Segment) -> None:
        store.add_line(call_id, next(numbers), segment.start, segment.end, segment.text.strip())
        stop_if_cancelled()

    def on_translated_line(segment: Segment) -> None:
        stop_if_cancelled()

    return Callbacks(on_progress=on_progress, on_segment=on_segment, on_translated_line=on_translated_line)


class JobRunner:
    """``settings.workers`` threads taking call_ids from a queue of at most ``settings.queue_size``."""

    def __init__(self, settings: Settings, store: JobStore):
        self.settings = settings
        self.store = store
        self.queue: queue.Queue[str | None] = queue.Queue(maxsize=settings.queue_size)
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._slug_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._cancelling: set[str] = set()  # call_ids of running jobs a client cancelled
        #: A running job's model download (model weights fetched before its first window), by call_id.
        self.downloads: dict[str, Download] = {}

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
            raise QueueFull(
                f"the queue is full ({self.settings.queue_size} jobs waiting); retry later", call_id=call_id
            ) from None

    def cancel(self, call_id: str) -> Job | None:
        """Cancel a job: a queued one at once; a running one stops at its next window or line.

        Returns the job as it is now (None: no such job); a finished job is left as it is.
        """
        job = self.store.cancel(call_id)
        if job is not None and job.status == RUNNING:
            self._cancelling.add(call_id)
            log.info("job %s (%s): cancel asked; it stops at its next window", call_id, job.slug)
        return job

    def start(self) -> None:
        """Start the workers, then queue the jobs a previous run left unfinished.

        Raises:
            AudioToTextError: ``backend="ray"`` and Ray cannot be started or joined.
        """
        if self.settings.backend == "ray":
            # Joined once, before the workers: their actors then live as long as the service, and
            # the long-audio backend, which shuts down only a Ray it started itself, leaves it running.
            from ..longaudio.backends import start_ray

            start_ray(self.settings.ray_address)
        for number in range(self.settings.workers):
            thread = threading.Thread(target=self._work, name=f"audiototext-worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        unfinished = self.store.unfinished()
        if unfinished:
            log.info("Resuming %d unfinished job(s) from %s", len(unfinished), self.store.path)
            # Blocking puts, off the startup path: there may be more than queue_size of them.
            threading.Thread(
                target=lambda: [self.queue.put(job.call_id) for job in unfinished],
                name="audiototext-resume",
                daemon=True,
            ).start()

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the workers to stop after their current job; running jobs resume on the next start."""
        self._stopping.set()
        log.info("Stopping: jobs still running resume on the next start")
        for _ in self._threads:
            with contextlib.suppress(queue.Full):
                self.queue.put_nowait(None)
        for thread in self._threads:
            thread.join(timeout)

    def _stop_reason(self, call_id: str) -> str | bool:
        """Why the running job ``call_id`` must stop now (False: it goes on)."""
        if self._stopping.is_set():
            return SERVER_STOPPING
        return call_id in self._cancelling

    def _work(self) -> None:
        pipelines: dict[tuple, object] = {}
        current: list[str] = []  # this worker's job: its model download is reported there
        try:
            while not self._stopping.is_set():
                call_id = self.queue.get()
                if call_id is None:
                    break
                current[:] = [call_id]
                try:
                    self._run(call_id, pipelines, current)
                except Exception:  # noqa: BLE001 - a worker must survive any one job
                    if self._stopping.is_set():
                        break  # its ffmpeg or temporary file was taken away by the stop: resumes later
                    log.exception("job %s: unexpected failure", call_id)
                    with contextlib.suppress(Exception):
                        self.store.fail(
                            call_id, "internal error while transcribing; see the server log", http_status=500
                        )
                finally:
                    self.downloads.pop(call_id, None)
                    current.clear()
                    self.queue.task_done()
        finally:
            for pipeline in pipelines.values():
                pipeline.close()

    def _run(self, call_id: str, pipelines: dict, current: list[str] | None = None) -> None:
        job = self.store.start(call_id)
        if job is None:  # deleted, or finished by an earlier run
            return
        if job.attempts > MAX_ATTEMPTS:
            # A job that takes the server down with it (out of memory...) must not do so forever.
            self.store.fail(
                call_id,
                f"the server stopped {MAX_ATTEMPTS} times while transcribing this job; giving up (see the server log)",
                http_status=500,
            )
            return
        if job.cancel_asked:  # cancelled while the server was down
            self.store.cancelled(call_id, "cancelled by a client before the server restarted")
            return
        if job.attempts > 1:
            log.info("job %s (%s): resuming, attempt %d", call_id, job.slug, job.attempts)
        try:
            options = job_options(job.params, self.settings, self.settings.result_dir(job.slug))
        except AudioToTextError as e:
            self._fail(job, e)
            return
        pipeline = self._pipeline(pipelines, options, [call_id] if current is None else current)
        callbacks = progress_callbacks(self.store, call_id, lambda: self._stop_reason(call_id))
        log.info("job %s (%s): transcribing %s", call_id, job.slug, job.source)
        # The task names the files as the CLI and the notebook name them: Whisper's translation is <slug>_English.
        stem = job.slug + task_suffix(options.decode.task)
        try:
            result = pipeline.run_file(job.media_path, stem=stem, options=options, callbacks=callbacks)
        finally:
            self._cancelling.discard(call_id)
        if not result.ok and result.transcript is not None:
            # Transcribed and written, then a later step (DeepL) failed: every window was decoded.
            now = self.store.get(call_id)
            self.store.progress(
                call_id, total_segments=now.total_segments, done_segments=now.total_segments, tasks=now.tasks
            )
        if self._stopping.is_set() and not result.ok:  # stopped under it: resumes on the next start
            log.info("job %s (%s): stopped with the server; it resumes on the next start", call_id, job.slug)
            return
        if result.ok:
            self.store.finish(call_id)
            log.info("job %s (%s): done, %d segments", call_id, job.slug, len(result.transcript.segments))
        elif isinstance(result.error, JobCancelled):
            self._cancelled(job, result)
        else:
            self._fail(job, result.error)
        # The input is kept for the page's player when the job is done (until it is deleted), else
        # only while a restart may need it.
        if not (result.ok and self.settings.keep_media):
            shutil.rmtree(self.settings.downloads_dir / call_id, ignore_errors=True)

    def _cancelled(self, job: Job, result) -> None:
        now = self.store.get(job.call_id)
        kept = ", ".join(p.name for p in result.outputs)
        message = f"cancelled by a client after {now.done_segments} of {now.total_segments} windows" + (
            f"; the files written before are kept ({kept})" if kept else "; the lines decoded so far are kept"
        )
        self.store.cancelled(job.call_id, message)
        log.info("job %s (%s): %s", job.call_id, job.slug, message)

    def _pipeline(self, pipelines: dict, options, current: list[str]):
        """This worker's pipeline for the model ``options`` load (one model per worker at a time).

        The model is loaded (its weights downloaded, if need be) by the first job that uses it: the
        download's progress goes to the worker's ``current`` job (:attr:`downloads`, in its status).
        """
        from ..pipeline import Pipeline, loaded_with

        def on_download(event: Download) -> None:
            for call_id in current:
                if event.finished:
                    self.downloads.pop(call_id, None)
                else:
                    self.downloads[call_id] = event

        key = loaded_with(options)
        if key not in pipelines:
            while pipelines:  # memory is the scarce thing: the previous model goes first
                pipelines.popitem()[1].close()
            pipelines[key] = Pipeline(options, Callbacks(on_download=on_download))
        return pipelines[key]

    def _fail(self, job: Job, error: BaseException) -> None:
        self.store.fail(
            job.call_id,
            public_message(error, media_path=job.media_path, source=job.source),
            http_status=failure_status(error),
        )
        log.info("job %s (%s): failed: %s", job.call_id, job.slug, error)


__all__ = ["MAX_ATTEMPTS", "SERVER_STOPPING", "QueueFull", "JobCancelled", "JobRunner", "progress_callbacks"]

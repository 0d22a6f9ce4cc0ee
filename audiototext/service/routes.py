"""The job endpoints, on one :class:`fastapi.APIRouter`; each reaches the server through :func:`service`.

* ``POST /api/transcribe`` -> ``{"call_id"}`` (the media fetched and probed before the job is queued);
* ``GET /api/status/{call_id}`` -> progress (with ``lines_from``: the lines decoded so far), or
  ``{"finished": true, "error"}`` with 422/502/500 (a cancelled job: 200);
* ``POST /api/cancel/{call_id}``; ``GET /api/jobs`` (the recent jobs); ``GET /api/health``.

The results (files, zip, media, delete) are in :mod:`.results`, the web page in :mod:`.page`.
FastAPI reads these functions' annotations at run time, so this module imports fastapi at the
top; it is imported only when an app is made (:func:`audiototext.service.app.create_app`).
"""

import logging
import shutil
import sqlite3
import uuid
from dataclasses import dataclass

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer

from .. import options as registry
from ..errors import AudioToTextError, MediaError
from ..events import Download, windows_in
from .checks import SLUG_PATTERN, StorageError, check_slug, check_url, storage_error, unknown_parameters, upload_name
from .fetching import check_public, fetch_media
from .joboptions import job_options, query_dependency
from .jobstore import ACTIVE, CANCELLED, FAILED, Job, JobStore, SlugBusy
from .runner import JobRunner, QueueFull
from .settings import Settings

log = logging.getLogger(__name__)

#: The query parameters of ``POST /api/transcribe`` besides the registry's options.
REQUEST_PARAMETERS = ("title_slug", "src_url", "is_video")


@dataclass(frozen=True)
class Service:
    """What the endpoints work with: one per app (``app.state.service``)."""

    settings: Settings
    store: JobStore
    runner: JobRunner


def service(request: Request) -> Service:
    return request.app.state.service


# Only for the docs' "Authorize" button: the app's middleware enforces the token.
router = APIRouter(
    dependencies=[Depends(HTTPBearer(auto_error=False, description="needed when the server has a --token"))]
)
job_parameters = query_dependency()


def bad_input(check, value):
    """``check(value)``, its OptionsError answered as 400."""
    try:
        return check(value)
    except AudioToTextError as e:
        raise HTTPException(400, str(e)) from None


async def refuse_unknown(request: Request) -> None:
    """422 for a query parameter the endpoint does not take (``temperatur=5``, ``output_dir``), one
    given twice, or more than one uploaded file: each would otherwise be silently dropped, and the
    job run with options the client did not mean. Runs before anything is fetched or stored."""
    names = [name for name, _ in request.query_params.multi_items()]
    known = (*REQUEST_PARAMETERS, *(row.name for row in registry.query_parameters()))
    why = {o.name: o.why for o in registry.OPTIONS if "service" not in o.faces}
    if message := unknown_parameters(names, known, why):
        raise HTTPException(422, message)
    if repeated := sorted({name for name in names if names.count(name) > 1}):
        raise HTTPException(422, f"query parameter {', '.join(repeated)} given more than once: give each once")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return
    form = await request.form()  # already read (and kept) by FastAPI for the file parameter
    others = sorted({key for key in form.keys() if key != "file"})
    if others:
        raise HTTPException(422, f"unknown form field {', '.join(others)}: send the media as one part named 'file'")
    files = form.getlist("file")
    if len(files) > 1:
        listed = ", ".join(str(getattr(f, "filename", None) or "?") for f in files)
        raise HTTPException(
            422,
            f"one file per request: got {len(files)} parts named 'file' ({listed}); "
            "send each file in its own POST (each becomes its own job)",
        )


@router.post("/api/transcribe", summary="Submit media for transcription", dependencies=[Depends(refuse_unknown)])
def transcribe(
    title_slug: str = Query(..., description=f"names the result; {SLUG_PATTERN}"),
    src_url: str | None = Query(None, description="http(s) link to the media (or upload a file)"),
    is_video: bool = Query(False, description="src_url is a video page: fetch it with yt-dlp"),
    params: dict = Depends(job_parameters),
    file: UploadFile | None = File(None, description="the media, instead of src_url"),
    svc: Service = Depends(service),
) -> dict:
    """Fetch the media, check it with ffmpeg, queue the job; answer its ``call_id``.

    The same ``title_slug`` again answers the finished job's ``call_id`` (the result is reused)
    or, while it runs, the running job's. ``DELETE /api/audio/{title_slug}`` to transcribe again.
    Unknown or repeated query parameters and more than one file are refused (422).
    """
    slug = bad_input(check_slug, title_slug)
    if (src_url is None) == (file is None):
        raise HTTPException(400, "give the media either as src_url=<http(s) link> or as an uploaded file")
    if src_url is not None:
        bad_input(check_url, src_url)
    try:
        job_options(params, svc.settings, svc.settings.result_dir(slug))  # bad options are refused now
    except AudioToTextError as e:
        raise HTTPException(400, str(e)) from None
    if src_url is not None:  # last: its host is resolved
        bad_input(lambda url: check_public(url, allow_private=svc.settings.allow_private_urls), src_url)
    with svc.runner.slug_lock(slug):
        if active := svc.store.active_for_slug(slug):
            return {"call_id": active.call_id}
        if (done := svc.store.done_for_slug(slug)) and svc.settings.has_result(slug):
            return {"call_id": done.call_id}
        if svc.runner.queue.full():
            raise HTTPException(
                429,
                f"the queue is full ({svc.settings.queue_size} jobs waiting); retry later",
                headers={"Retry-After": "30"},
            )
        return {"call_id": _new_job(svc, slug, src_url, is_video, file, params)}


def _new_job(
    svc: Service, slug: str, src_url: str | None, is_video: bool, file: UploadFile | None, params: dict
) -> str:
    settings, call_id = svc.settings, uuid.uuid4().hex
    download_dir = settings.downloads_dir / call_id
    try:
        fetched = fetch_media(
            download_dir,
            slug,
            src_url=src_url,
            is_video=is_video,
            upload=file.file if file else None,
            filename=upload_name(file.filename) if file else None,
            max_bytes=settings.max_bytes,
            timeout=settings.timeout,
            allow_private=settings.allow_private_urls,
        )
    except MediaError as e:
        raise HTTPException(413 if e.limit else 422, str(e)) from None
    except StorageError as e:
        log.error("job %s (%s): %s", call_id, slug, e)
        raise HTTPException(e.status, str(e)) from None
    # A new job starts clean: leftovers of a failed earlier job must not pass for checkpoints.
    shutil.rmtree(settings.result_dir(slug), ignore_errors=True)
    try:
        svc.store.create(
            slug,
            fetched.source,
            media_path=str(fetched.path),
            params=params,
            call_id=call_id,
            total_segments=windows_in(fetched.duration),
        )
        svc.runner.submit(call_id)
    except (SlugBusy, QueueFull) as e:
        svc.store.delete(call_id)
        shutil.rmtree(download_dir, ignore_errors=True)
        raise HTTPException(
            429, str(e) if isinstance(e, QueueFull) else "this slug is busy; retry", headers={"Retry-After": "30"}
        ) from None
    except sqlite3.OperationalError as e:  # "database or disk is full": the job cannot be recorded
        shutil.rmtree(download_dir, ignore_errors=True)
        error = storage_error(f"{fetched.source}: the job could not be recorded", OSError(28, str(e)))
        log.error("job %s (%s): %s", call_id, slug, error)
        raise HTTPException(error.status, str(error)) from None
    log.info("job %s (%s): queued %s (%.1f s)", call_id, slug, fetched.source, fetched.duration)
    return call_id


@router.get("/api/status/{call_id}", summary="A job's progress")
def status(
    call_id: str,
    lines_from: int | None = Query(None, ge=0, description="add the lines decoded so far, from this number (0: all)"),
    svc: Service = Depends(service),
):
    """``finished`` false while queued or running, with progress; a failed or cancelled job carries ``error``."""
    job = svc.store.get(call_id)
    if job is None:
        raise HTTPException(
            404, f"unknown call_id {call_id[:100]!r}: no such job here (never submitted, or its audio was deleted)"
        )
    body = {
        "finished": job.finished,
        "status": job.status,
        "title_slug": job.slug,
        "source": job.source.removeprefix("upload:"),
        "total_segments": job.total_segments,
        "done_segments": job.done_segments,
        "tasks": job.tasks,
    }
    if job.cancel_asked and not job.finished:
        body["cancelling"] = True
    if not job.finished and (download := svc.runner.downloads.get(call_id)) is not None:
        body["download"] = download_body(download)
    if lines_from is not None:
        body["lines"] = svc.store.lines(call_id, lines_from)
    if job.status in (FAILED, CANCELLED):
        body["error"] = job.error
    if job.status == FAILED:
        return JSONResponse(body, status_code=job.http_status or 500)
    return body


@router.post("/api/cancel/{call_id}", summary="Cancel a job")
def cancel(call_id: str, svc: Service = Depends(service)) -> dict:
    """A queued job is cancelled at once; a running one stops at its next window (``"cancelling"``),
    keeping the lines decoded so far and any file already written. A finished job answers 409."""
    before = svc.store.get(call_id)
    if before is None:
        raise HTTPException(404, f"unknown call_id {call_id[:100]!r}: no such job here")
    if before.finished:
        raise HTTPException(409, f"job {call_id} has already finished ({before.status}): nothing to cancel")
    job = svc.runner.cancel(call_id)
    return {"call_id": call_id, "status": "cancelled" if job.status == CANCELLED else "cancelling"}


def download_body(download: Download) -> dict:
    """A running job's model download: the weights fetched before its first window (gigabytes for a
    large model, so a status without it would look stuck)."""
    return {"model": download.name, "done_bytes": download.done, "total_bytes": download.total}


def job_summary(job: Job, download: Download | None = None) -> dict:
    """A job as the jobs list shows it."""
    extra = {"download": download_body(download)} if download is not None and not job.finished else {}
    return extra | {
        "call_id": job.call_id,
        "title_slug": job.slug,
        "status": job.status,
        "source": job.source.removeprefix("upload:"),
        "finished": job.finished,
        "total_segments": job.total_segments,
        "done_segments": job.done_segments,
        "error": job.error,
        "cancelling": job.cancel_asked and job.status in ACTIVE,
        "created": job.created,
        "updated": job.updated,
    }


@router.get("/api/jobs", summary="The recent jobs, newest first")
def jobs(limit: int = Query(50, ge=1, le=10_000), svc: Service = Depends(service)) -> dict:
    return {"jobs": [job_summary(job, svc.runner.downloads.get(job.call_id)) for job in svc.store.recent(limit)]}


@router.get("/api/health", summary="Liveness and job counts")
def health(svc: Service = Depends(service)) -> dict:
    return {
        "ok": True,
        "jobs": svc.store.counts(),
        "queued": svc.runner.queue.qsize(),
        "workers": svc.settings.workers,
        "backend": svc.settings.backend,
    }


__all__ = ["Service", "service", "router", "bad_input", "refuse_unknown", "job_summary", "REQUEST_PARAMETERS"]

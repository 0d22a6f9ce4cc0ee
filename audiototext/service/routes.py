"""The endpoints, on one :class:`fastapi.APIRouter`; each reaches the server through :func:`service`.

* ``POST /api/transcribe`` -> ``{"call_id"}`` (the media fetched and probed before the job is queued);
* ``GET /api/status/{call_id}`` -> progress, or ``{"finished": true, "error"}`` with 422/502/500;
* ``GET /api/audio/{slug}`` (segments and language) and ``/api/audio/{slug}.srt|.vtt|.txt|.tsv|.json``;
* ``DELETE /api/audio/{slug}``; ``GET /api/health``.

FastAPI reads these functions' annotations at run time, so this module imports fastapi at the
top; it is imported only when an app is made (:func:`audiototext.service.app.create_app`).
"""

import json
import logging
import shutil
import uuid
from dataclasses import dataclass

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPBearer

from ..errors import AudioToTextError, MediaError
from ..events import windows_in
from .checks import FILE_TYPES, SLUG_PATTERN, check_slug, check_url, split_result_name
from .fetching import fetch_media
from .joboptions import job_options, query_dependency
from .jobstore import FAILED, JobStore, SlugBusy
from .runner import JobRunner, QueueFull
from .settings import Settings

log = logging.getLogger(__name__)


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


def _bad_input(check, value):
    """``check(value)``, its OptionsError answered as 400."""
    try:
        return check(value)
    except AudioToTextError as e:
        raise HTTPException(400, str(e)) from None


@router.post("/api/transcribe", summary="Submit media for transcription")
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
    """
    slug = _bad_input(check_slug, title_slug)
    if (src_url is None) == (file is None):
        raise HTTPException(400, "give the media either as src_url=<http(s) link> or as an uploaded file")
    if src_url is not None:
        _bad_input(check_url, src_url)
    try:
        job_options(params, svc.settings, svc.settings.result_dir(slug))  # bad options are refused now
    except AudioToTextError as e:
        raise HTTPException(400, str(e)) from None
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
            filename=file.filename if file else None,
            max_bytes=settings.max_bytes,
            timeout=settings.timeout,
        )
    except MediaError as e:
        raise HTTPException(413 if e.limit else 422, str(e)) from None
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
    log.info("job %s (%s): queued %s (%.1f s)", call_id, slug, fetched.source, fetched.duration)
    return call_id


@router.get("/api/status/{call_id}", summary="A job's progress")
def status(call_id: str, svc: Service = Depends(service)):
    """``finished`` false while queued or running, with progress; a failed job carries ``error``."""
    job = svc.store.get(call_id)
    if job is None:
        raise HTTPException(
            404, f"unknown call_id {call_id[:100]!r}: no such job here (never submitted, or its audio was deleted)"
        )
    body = {
        "finished": job.finished,
        "status": job.status,
        "title_slug": job.slug,
        "total_segments": job.total_segments,
        "done_segments": job.done_segments,
        "tasks": job.tasks,
    }
    if job.status == FAILED:
        body["error"] = job.error
        return JSONResponse(body, status_code=job.http_status or 500)
    return body


@router.get(
    "/api/audio/{name:path}",
    summary="A finished transcript",
    responses={200: {"content": {t.split(";")[0]: {} for t in FILE_TYPES.values()}}},
)
def audio(name: str, svc: Service = Depends(service)):
    """``{slug}``: segments and language as JSON; ``{slug}.srt`` (``.vtt``, ``.txt``, ...): the file."""
    slug, ext = _bad_input(split_result_name, name)
    if active := svc.store.active_for_slug(slug):
        raise HTTPException(409, f"{slug} is still being transcribed: poll /api/status/{active.call_id}")
    if not svc.settings.has_result(slug):
        raise HTTPException(404, f"no transcript for {slug!r}: POST /api/transcribe?title_slug={slug} first")
    folder = svc.settings.result_dir(slug)
    if not ext:
        data = json.loads((folder / f"{slug}.json").read_text(encoding="utf-8"))
        segments = [{"text": s["text"], "start": s["start"], "end": s["end"]} for s in data.get("segments", [])]
        return {"segments": segments, "language": data.get("language")}
    path = folder / f"{slug}.{ext}"
    if not path.is_file():
        raise HTTPException(404, f"{slug}.{ext} was not written: submit with output_formats including {ext}")
    return FileResponse(path, media_type=FILE_TYPES[ext], filename=path.name)


@router.delete("/api/audio/{slug}", summary="Delete a transcript and its job")
def delete(slug: str, svc: Service = Depends(service)) -> dict:
    """Remove the result files, the downloaded media and the finished jobs of ``slug``."""
    slug = _bad_input(check_slug, slug)
    with svc.runner.slug_lock(slug):
        if active := svc.store.active_for_slug(slug):
            raise HTTPException(
                409, f"{slug} is still being transcribed (call_id {active.call_id}); delete it when it has finished"
            )
        jobs = svc.store.for_slug(slug)
        folder = svc.settings.result_dir(slug)
        if not jobs and not folder.exists():
            raise HTTPException(404, f"no transcript for {slug!r}")
        for job in jobs:
            shutil.rmtree(svc.settings.downloads_dir / job.call_id, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        svc.store.delete_slug(slug)
    return {"deleted": slug}


@router.get("/api/health", summary="Liveness and job counts")
def health(svc: Service = Depends(service)) -> dict:
    return {
        "ok": True,
        "jobs": svc.store.counts(),
        "queued": svc.runner.queue.qsize(),
        "workers": svc.settings.workers,
        "backend": svc.settings.backend,
    }


__all__ = ["Service", "service", "router"]

"""The result endpoints: what a job wrote, served whole (every file, each translation's too) and as
the web page uses it.

* ``GET /api/audio/{slug}`` -> segments, language, every written file (with a link), the zip,
  the media and the subtitle tracks (the transcript's and each translation's);
* ``GET /api/audio/{file}`` -> any file the job wrote (``talk.srt``, ``talk_German.srt``...);
* ``GET /api/audio/{slug}.zip`` -> them all; ``GET /api/media/{slug}`` -> the job's input (kept
  for the player, see ``--keep-media``); ``DELETE /api/audio/{slug}``.

What is served is what is in the job's folder (``audio/<slug>/``): a job's files are written
there and nowhere else, and a new job of the slug starts with an empty folder. So whatever the
pipeline names its files (translations, other tasks), each is listed and served, and what an
interrupted or failed job wrote before it stopped stays available. Links carry a signature when
the server has a token (:mod:`.access`), so a player and a download link can open them.
"""

import io
import json
import logging
import mimetypes
import shutil
import zipfile
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse, Response
from fastapi.security import HTTPBearer

from ..languages import language_name
from .access import signed
from .checks import FILE_TYPES, ZIP_TYPE, check_slug, slug_candidates, split_result_name
from .jobstore import CANCELLED, DONE, FAILED, Job
from .routes import Service, bad_input, service

log = logging.getLogger(__name__)

router = APIRouter(
    dependencies=[Depends(HTTPBearer(auto_error=False, description="needed when the server has a --token"))]
)


def served_files(folder: Path) -> list[Path]:
    """The files of a job's folder that are served: plain files of a served type, not hidden (checkpoints)."""
    if not folder.is_dir():
        return []
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix[1:] in FILE_TYPES),
        key=lambda p: (p.stem, p.suffix),
    )


def _why_missing(svc: Service, slug: str, name: str) -> str:
    """Why ``name`` of ``slug`` cannot be served: never made, the job failed or was cancelled, not asked for."""
    job = svc.store.latest_for_slug(slug)
    if job is None and not svc.settings.result_dir(slug).exists():
        return f"no transcript for {slug!r}: POST /api/transcribe?title_slug={slug} first"
    if job is not None and job.status == FAILED:
        return f"{name} was not written: the job of {slug} failed: {job.error}. Fix that and send it again"
    if job is not None and job.status == CANCELLED:
        return f"{name} was not written: the job of {slug} was {job.error}. Send it again to transcribe it"
    stem, _, ext = name.rpartition(".")
    if stem == slug:
        return f"{name} was not written: submit with output_formats including {ext}"
    return f"{name} was not written by the job of {slug}: GET /api/audio/{slug} lists its files"


def _owner(svc: Service, stem: str) -> str:
    """The slug a file stem belongs to: the longest candidate with a job or a folder (else the first)."""
    candidates = slug_candidates(stem)
    for slug in candidates:
        if svc.store.latest_for_slug(slug) is not None or svc.settings.result_dir(slug).exists():
            return slug
    return candidates[0]


@router.get(
    "/api/audio/{name:path}",
    summary="A finished transcript, or one of its files",
    responses={200: {"content": {t.split(";")[0]: {} for t in (*FILE_TYPES.values(), ZIP_TYPE)}}},
)
def audio(name: str, svc: Service = Depends(service)):
    """``{slug}``: segments, language, files, tracks as JSON; ``{slug}.srt`` (``.vtt``, ``_German.srt``,
    ...): a file the job wrote; ``{slug}.zip``: every file. ``{slug}/{file}`` names the job too: job
    ``talk``'s ``talk_German.srt`` and job ``talk_German``'s own srt have the same file name."""
    owner, _, name = name.rpartition("/")
    owner = owner and bad_input(check_slug, owner)  # "../..": refused as no slug
    stem, ext = bad_input(split_result_name, name)
    if owner:
        slug = owner
    else:
        slug = bad_input(check_slug, stem) if ext in ("", "zip") else _owner(svc, stem)
    if active := svc.store.active_for_slug(slug):
        raise HTTPException(409, f"{slug} is still being transcribed: poll /api/status/{active.call_id}")
    folder = svc.settings.result_dir(slug)
    if not ext:
        if not svc.settings.has_result(slug):
            raise HTTPException(404, _why_missing(svc, slug, f"{slug}.json"))
        return result_body(svc, slug)
    if ext == "zip":
        files = served_files(folder)
        if not files:
            raise HTTPException(404, _why_missing(svc, slug, name))
        return Response(
            _zip(files), media_type=ZIP_TYPE, headers={"Content-Disposition": f'attachment; filename="{slug}.zip"'}
        )
    path = folder / name
    if path not in served_files(folder):
        raise HTTPException(404, _why_missing(svc, slug, name))
    return FileResponse(path, media_type=FILE_TYPES[ext], filename=path.name)


def _zip(files: list[Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.name)
    return buffer.getvalue()


def result_body(svc: Service, slug: str) -> dict:
    """``GET /api/audio/{slug}``: the transcript's lines and language, and links to all its files."""
    folder, token = svc.settings.result_dir(slug), svc.settings.token
    main = svc.settings.transcript_json(slug)
    data = json.loads(main.read_text(encoding="utf-8"))
    files = served_files(folder)
    job = svc.store.latest_for_slug(slug)  # the one whose files the folder holds
    body = {
        "segments": [{"text": s["text"], "start": s["start"], "end": s["end"]} for s in data.get("segments", [])],
        "language": data.get("language"),
        "status": job.status if job else DONE,
        "files": [
            {"name": p.name, "bytes": p.stat().st_size, "url": signed(f"/api/audio/{slug}/{p.name}", token)}
            for p in files
        ],
        "zip": signed(f"/api/audio/{slug}.zip", token),
        "media": signed(f"/api/media/{slug}", token) if _media(svc, slug) else None,
        "media_note": _no_media(svc, slug, job),
        "tracks": _tracks(slug, main.stem, files, data, job, token),
        "subtitles": _subtitle_reports(files),
    }
    if job is not None and job.status != DONE:
        body["error"] = job.error
    return body


def _subtitle_reports(files: list[Path]) -> dict[str, dict]:
    """Each written srt/vtt file -> how its cues measure against the reading rules (the report its
    transcript's JSON carries; none for the whisper subtitle style)."""
    reports = {}
    for path in files:
        if path.suffix == ".json":
            report = json.loads(path.read_text(encoding="utf-8")).get("subtitles")
            for sub in files:
                if report and sub.stem == path.stem and sub.suffix in (".srt", ".vtt"):
                    reports[sub.name] = report
    return reports


def _tracks(owner: str, slug: str, files: list[Path], main: dict, job: Job | None, token: str | None) -> list[dict]:
    """Subtitle tracks for a player: the transcript's, then each translation's (every JSON transcript
    in the folder), each as its WebVTT file when one was written, else as its JSON. ``owner`` is the
    job's slug, ``slug`` the transcript's stem (``talk``, or ``talk_English`` for Whisper's translation)."""
    names = {p.name for p in files}
    tracks = []
    for path in sorted((p for p in files if p.suffix == ".json"), key=lambda p: p.stem != slug):  # transcript first
        stem = path.stem
        data = main if stem == slug else _read_json(path)
        if data is None:
            continue
        language = data.get("language") or ""
        if stem == slug:
            translated = job is not None and job.params.get("task") == "translate"
            language = "en" if translated else language
            label = language_name(language) + (" (Whisper's translation)" if translated else "")
        else:
            label = stem[len(slug) + 1 :] if stem.startswith(slug + "_") else stem
        vtt = f"{stem}.vtt" in names
        tracks.append(
            {
                "label": label,
                "language": language,
                "format": "vtt" if vtt else "json",
                "url": signed(f"/api/audio/{owner}/{stem}.{'vtt' if vtt else 'json'}", token),
            }
        )
    return tracks


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "segments" in data else None


def _media(svc: Service, slug: str) -> Path | None:
    """The kept input of ``slug``'s job when it is done, the server keeps media and it is there."""
    job = svc.store.latest_for_slug(slug)
    if job is None or job.status != DONE or not job.media_path or not svc.settings.keep_media:
        return None
    path = Path(job.media_path)
    return path if path.is_file() else None


def _no_media(svc: Service, slug: str, job: Job | None) -> str | None:
    """Why there is no media to play for ``slug`` (None: there is), as the page's player says it."""
    if _media(svc, slug) is not None:
        return None
    if not svc.settings.keep_media:
        return "This server does not keep media (--no-keep-media), so there is nothing to play."
    if job is not None and job.status in (FAILED, CANCELLED):
        ended = "failed" if job.status == FAILED else "was cancelled"
        return f"This job {ended}: the server removed its media then, so there is nothing to play."
    return "This job's media is no longer on the server, so there is nothing to play."


@router.get("/api/media/{slug}", summary="A finished job's media, for the web page's player")
def media(slug: str, svc: Service = Depends(service)):
    """The input the job transcribed (ranges supported, so a player can seek)."""
    slug = bad_input(check_slug, slug)
    path = _media(svc, slug)
    if path is None:
        job = svc.store.latest_for_slug(slug)
        reason = _no_media(svc, slug, job) if job is not None or not svc.settings.keep_media else None
        raise HTTPException(404, f"no media for {slug!r}. {reason or 'No finished job of it has its media here.'}")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, filename=path.name, content_disposition_type="inline")


@router.delete("/api/audio/{slug}", summary="Delete a transcript and its job")
def delete(slug: str, svc: Service = Depends(service)) -> dict:
    """Remove the result files, the downloaded media and the finished jobs of ``slug``."""
    slug = bad_input(check_slug, slug)
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


__all__ = ["router", "served_files", "result_body"]

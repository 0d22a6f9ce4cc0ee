"""HTTP service: ``audiototext serve`` — transcription jobs over the one pipeline, with a job store
and a web page.

Endpoints (OpenAPI docs at ``/docs``; the web page at ``/``):

* ``POST /api/transcribe?src_url=<url>&title_slug=<slug>&is_video=false`` (or a multipart ``file``
  instead of ``src_url``) -> ``{"call_id": "<id>"}``. The media is fetched and checked by ffmpeg
  *before* the job is queued, so a bad link or a file that is not media is answered at once.
  A slug that is already transcribed returns its finished job's ``call_id``; a slug in progress
  returns the running job's ``call_id``. The other query parameters are the options the registry
  (:mod:`audiototext.options`) offers the service, named as the CLI's flags; any other parameter,
  one given twice, or a second file is refused (422).
* ``GET /api/status/{call_id}[?lines_from=N]`` -> ``{"finished", "total_segments",
  "done_segments", "tasks", ...}`` (progress in windows decoded; the lines decoded so far); a
  failed job answers ``{"finished": true, "error": "..."}`` with HTTP 422 (its media or options),
  502 (DeepL, OpenAI's API) or 500 (anything else); a cancelled one with 200.
* ``POST /api/cancel/{call_id}``; ``GET /api/jobs`` (recent jobs); ``GET /api/options`` (the
  options, for forms).
* ``GET /api/audio/{slug}`` -> segments, language, every written file with its link, the zip, the
  media and the subtitle tracks; ``GET /api/audio/<any written file>`` (``talk.srt``,
  ``talk_German.srt``...), ``.zip``; ``GET /api/media/{slug}``; ``DELETE /api/audio/{slug}``.

The package, one concern per module: :mod:`.settings` (how a server runs), :mod:`.checks` (slugs,
links, failure statuses, disk errors), :mod:`.joboptions` (query parameters -> pipeline Options),
:mod:`.fetching` (links, video pages, uploads), :mod:`.jobstore` (SQLite), :mod:`.lock` (one
server per data dir), :mod:`.runner` (queue, workers, cancel), :mod:`.routes` (the job endpoints),
:mod:`.results` (files, zip, media), :mod:`.page` (the web page, ``static/``), :mod:`.access`
(token, signed links), :mod:`.app` (FastAPI, token guard) and :mod:`.cli` (``audiototext serve``).

FastAPI, uvicorn, python-multipart and yt-dlp are the ``service`` extra, imported only by
:mod:`.routes`, :mod:`.results`, :mod:`.page`, :mod:`.app` and :mod:`.cli`'s ``main``; the rest
imports without them.
"""

from __future__ import annotations

from .checks import check_slug, check_url, failure_status
from .cli import main
from .joboptions import job_options, parallel_options
from .jobstore import Job, JobStore, SlugBusy
from .lock import DataDirBusy, DataDirLock
from .runner import JobCancelled, JobRunner, QueueFull, progress_callbacks
from .settings import Settings


def create_app(settings: Settings = Settings()):
    """The FastAPI app for ``settings`` (see :func:`audiototext.service.app.create_app`)."""
    from .app import create_app as create

    return create(settings)


__all__ = [
    "Settings",
    "create_app",
    "main",
    "job_options",
    "parallel_options",
    "progress_callbacks",
    "JobRunner",
    "QueueFull",
    "JobCancelled",
    "Job",
    "JobStore",
    "SlugBusy",
    "DataDirLock",
    "DataDirBusy",
    "check_slug",
    "check_url",
    "failure_status",
]

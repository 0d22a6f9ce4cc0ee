"""The FastAPI app: the data dir's lock, the job store, the runner, the token guard and the routes."""

from __future__ import annotations

import contextlib
import logging

from .. import __version__
from .access import OPEN_PATHS, check_bearer, check_signed, is_open
from .checks import disk_error, storage_error
from .jobstore import JobStore
from .lock import DataDirLock
from .runner import JobRunner
from .settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings = Settings()):
    """The FastAPI app for ``settings``; the workers start with its lifespan (uvicorn, ``with TestClient(app)``).

    The data dir's lock is taken first, before the job store is opened, and held as long as the
    app lives (in practice: the process), so a second server on the same data dir never touches
    its jobs.

    Raises:
        DataDirBusy: another server (or app) holds ``settings.data_dir``.
    """
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from . import apidocs, page, results
    from .routes import Service, router

    lock = DataDirLock(settings.data_dir).acquire()
    store = JobStore(settings.database)
    runner = JobRunner(settings, store)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        runner.start()
        log.info(
            "audiototext service on http://%s:%d, data in %s, %d worker(s), backend %s",
            settings.host,
            settings.port,
            settings.data_dir,
            settings.workers,
            settings.backend,
        )
        yield
        runner.stop()
        # SIGTERM or Ctrl-C (uvicorn stops the app for both): what the workers' jobs run is ended and
        # their temporary audio removed; the jobs stay unfinished and resume on the next start.
        from ..interrupts import stop_children

        stop_children()

    app = FastAPI(
        title="audiototext",
        version=__version__,
        lifespan=lifespan,
        # FastAPI's Swagger UI and ReDoc load from a CDN: /docs is this server's own page (.apidocs).
        docs_url=None,
        redoc_url=None,
        description="Whisper transcription jobs: submit media, poll the status, get the subtitles. "
        "The web page is at /.",
    )
    app.state.service = Service(settings, store, runner)
    app.state.settings, app.state.store, app.state.runner, app.state.lock = settings, store, runner, lock
    app.middleware("http")(_guard(settings))
    app.exception_handler(StarletteHTTPException)(_disk_full_upload)
    app.exception_handler(RequestValidationError)(_option_messages)
    app.include_router(router)
    app.include_router(results.router)
    app.include_router(page.router)
    app.include_router(apidocs.router)
    return app


async def _option_messages(request, exc):
    """FastAPI's 422 for a bad query value (its list of problems, as ever), each option's problem in
    the registry's words: the same message the CLI and the notebook give for the same value."""
    from fastapi.encoders import jsonable_encoder
    from fastapi.responses import JSONResponse

    from .checks import option_messages

    return JSONResponse({"detail": jsonable_encoder(option_messages(exc.errors()))}, status_code=422)


async def _disk_full_upload(request, exc):
    """FastAPI answers 400 "error parsing the body" when receiving an upload fails; when that was this
    server's full disk (its temporary folder), say so with 507: the server's problem, not the client's file."""
    from fastapi.exception_handlers import http_exception_handler
    from fastapi.responses import JSONResponse

    full = disk_error(exc.__cause__) if exc.status_code == 400 else None
    if full is None:
        return await http_exception_handler(request, exc)
    error = storage_error("the upload could not be received", full)
    log.error("%s %s: %s", request.method, request.url.path, error)
    return JSONResponse({"detail": str(error)}, status_code=error.status)


def _guard(settings: Settings):
    """The middleware that checks the bearer token and refuses an oversized upload before reading it."""
    from fastapi.responses import JSONResponse

    async def guard(request, call_next):
        path = request.url.path
        if (
            settings.token
            and not is_open(path)
            and not check_signed(request.method, path, dict(request.query_params), settings.token)
        ):
            wrong = check_bearer(request.headers.get("authorization", ""), settings.token)
            if wrong:
                invalid = wrong.startswith("wrong")
                return JSONResponse(
                    {"detail": wrong},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"' if invalid else "Bearer"},
                )
        if request.method == "POST" and request.url.path == "/api/transcribe":
            length = request.headers.get("content-length", "")
            # multipart adds a little to the file itself
            if length.isdigit() and int(length) > settings.max_bytes + 1024 * 1024:
                return JSONResponse(
                    {"detail": f"upload: {length} bytes is more than the limit of {settings.max_bytes} bytes"},
                    status_code=413,
                )
        return await call_next(request)

    return guard


__all__ = ["create_app", "OPEN_PATHS"]

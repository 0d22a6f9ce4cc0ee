"""The FastAPI app: the data dir's lock, the job store, the runner, the token guard and the routes."""

from __future__ import annotations

import contextlib
import hmac
import logging

from .. import __version__
from .jobstore import JobStore
from .lock import DataDirLock
from .runner import JobRunner
from .settings import Settings

log = logging.getLogger(__name__)

#: Paths that stay open when a token is set.
OPEN_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"})


def create_app(settings: Settings = Settings()):
    """The FastAPI app for ``settings``; the workers start with its lifespan (uvicorn, ``with TestClient(app)``).

    The data dir's lock is taken first, before the job store is opened, and held as long as the
    app lives (in practice: the process), so a second server on the same data dir never touches
    its jobs.

    Raises:
        DataDirBusy: another server (or app) holds ``settings.data_dir``.
    """
    from fastapi import FastAPI

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
        description="Whisper transcription jobs: submit media, poll the status, get the subtitles.",
    )
    app.state.service = Service(settings, store, runner)
    app.state.settings, app.state.store, app.state.runner, app.state.lock = settings, store, runner, lock
    app.middleware("http")(_guard(settings))
    app.include_router(router)
    return app


def _guard(settings: Settings):
    """The middleware that checks the bearer token and refuses an oversized upload before reading it."""
    from fastapi.responses import JSONResponse

    async def guard(request, call_next):
        if settings.token and request.url.path not in OPEN_PATHS:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if not given or scheme.lower() != "bearer":
                return JSONResponse(
                    {"detail": "missing bearer token: send 'Authorization: Bearer <token>'"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            if not hmac.compare_digest(given.strip().encode(), settings.token.encode()):
                return JSONResponse(
                    {"detail": "wrong bearer token"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
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

"""The web page of ``audiototext serve``: ``GET /`` and its static files, and ``GET /api/options``.

The page is three static files shipped inside the package (``static/``: HTML, CSS, JavaScript;
no build step, nothing loaded from anywhere but this server, which its Content-Security-Policy
enforces). It builds its form at run time from ``GET /api/options``, which describes every
option the registry offers the service (:func:`audiototext.options.query_parameters`) with its
name, type, default, choices and range, so an option added to the registry appears on the page
with no change here. The page and its files hold no data and stay open when the server has a
token; ``/api/options`` and everything else need it (:mod:`.access`).
"""

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse
from fastapi.security import HTTPBearer

from .. import options as registry
from ..engines import default_engine, default_model
from ..translation.connection import deepl_key
from .joboptions import with_server_defaults
from .routes import Service, service
from .settings import Settings

STATIC = Path(__file__).with_name("static")
#: The options the form shows first; every other one is under "Advanced options", grouped as the
#: registry groups them (so a new option lands there, folded away, until it is named here).
MAIN_OPTIONS = (
    "task",
    "language",
    "model",
    "engine",
    "output_formats",
    "subtitle_style",
    "deepl_target",
    "deepl_formality",
    "deepl_coherence",
)
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".js": "text/javascript"}
#: Nothing but this server: no CDN, no font service, no analytics; media and tracks may be blob: URLs.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter()


def _static(name: str) -> FileResponse:
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file() or path.suffix not in TYPES:
        raise HTTPException(404, f"no such page file: {name[:100]!r}")
    return FileResponse(path, media_type=TYPES[path.suffix], headers=HEADERS)


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    return _static("index.html")


@router.get("/index.html", include_in_schema=False)
def index_html() -> FileResponse:
    return _static("index.html")


@router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> FileResponse:
    return _static(name)


def _json(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def option_rows(settings: Settings) -> list[dict]:
    """Every option the service takes, as the page's form needs it, with this server's defaults."""
    server = with_server_defaults({}, settings)
    engine = server.get("engine") or default_engine()
    defaults = {"engine": engine, "model": server.get("model") or default_model(engine)}
    rows = []
    for row in registry.query_parameters():
        o = registry.REGISTRY[row.name]
        if o.labels:
            choices = [{"value": _json(value), "label": str(label)} for label, value in o.labels.items()]
        else:
            choices = [{"value": _json(value), "label": str(value)} for value in row.choices]
        rows.append(
            {
                "name": row.name,
                "type": row.type.__name__,
                "default": _json(defaults.get(row.name) or row.default),
                "help": (o.doc or o.help).replace("`", ""),
                "group": o.group,
                "main": row.name in MAIN_OPTIONS,
                "choices": choices,
                "suggestions": [] if choices else [_json(s) for s in o.dropdown()],
                "min": o.min,
                "max": o.max,
                "min_open": o.min_open,
                "range": o.range_text(),
                "nullable": row.nullable,
            }
        )
    return rows


@router.get("/api/options", summary="The options of POST /api/transcribe, for forms")
def options(
    svc: Service = Depends(service),
    _=Depends(HTTPBearer(auto_error=False, description="needed when the server has a --token")),
) -> dict:
    """Each option's name, type, default (this server's), choices or suggestions, range and group;
    ``main`` ones first on the page, the others folded away."""
    settings = svc.settings
    return {
        "options": option_rows(settings),
        "groups": [{"name": name, "title": title} for name, title in registry.GROUPS.items()],
        "deepl_key": bool(deepl_key()),
        "max_bytes": settings.max_bytes,
        "keep_media": settings.keep_media,
    }


__all__ = ["router", "option_rows", "MAIN_OPTIONS", "STATIC"]

"""``GET /docs``: the HTTP API's reference, made on this server from its OpenAPI schema.

FastAPI's own ``/docs`` (Swagger UI) and ``/redoc`` load their scripts, styles and fonts from a
CDN: on a server for users offline or behind an air gap they are blank pages, and they break the
rule of the web page that nothing is loaded from outside the server. So they are turned off
(:func:`audiototext.service.app.create_app`), and this page lists every endpoint, its parameters
and its answers as plain HTML with the web page's own style sheet, under the same
Content-Security-Policy. ``/openapi.json`` stays for tools; ``/redoc`` leads here.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from .page import HEADERS

router = APIRouter()
METHODS = ("get", "post", "put", "delete")


def _type(schema: dict[str, Any]) -> str:
    """A parameter's type in a word or two: ``integer``, ``string or null``, ``one of a, b``."""
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    if "anyOf" in schema:
        return " or ".join(dict.fromkeys(_type(s) for s in schema["anyOf"]))
    limits = [f"{word} {schema[key]}" for key, word in (("minimum", "≥"), ("maximum", "≤")) if key in schema]
    return schema.get("type", "any") + (f" ({', '.join(limits)})" if limits else "")


def _operation(method: str, path: str, op: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
        f"<td>{escape(_type(p.get('schema', {})))}</td><td>{'yes' if p.get('required') else ''}</td>"
        f"<td>{escape(p.get('description', ''))}</td></tr>"
        for p in op.get("parameters", [])
    )
    table = (
        '<div class="table-wrap"><table><thead><tr><th scope="col">Parameter</th><th scope="col">In</th>'
        f'<th scope="col">Type</th><th scope="col">Required</th><th scope="col">What</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
        if rows
        else ""
    )
    body = op.get("requestBody", {}).get("content", {})
    upload = "<p>Body: a file, as <code>multipart/form-data</code>.</p>" if "multipart/form-data" in body else ""
    answers = ", ".join(
        f"{escape(code)} {escape(answer.get('description', ''))}" for code, answer in op.get("responses", {}).items()
    )
    anchor = f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", "")
    return (
        f'<section id="{escape(anchor)}"><h2><code>{method.upper()} {escape(path)}</code></h2>'
        f"<p>{escape(op.get('summary', ''))}</p>"
        f'<p class="hint pre-line">{escape(op.get("description", ""))}</p>'
        f'{table}{upload}<p class="hint">Answers: {answers}</p></section>'
    )


def render(schema: dict[str, Any]) -> str:
    """The reference page of an OpenAPI ``schema``: one section per endpoint, in the schema's order."""
    info = schema.get("info", {})
    sections = "".join(
        _operation(method, path, op)
        for path, item in schema.get("paths", {}).items()
        for method, op in item.items()
        if method in METHODS
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(info.get("title", "API"))} API</title><link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/static/style.css"></head><body>'
        f"<header><h1>{escape(info.get('title', ''))} API {escape(info.get('version', ''))}</h1>"
        f"<p>{escape(info.get('description', ''))}</p></header><main>"
        '<p>The schema for tools: <a href="/openapi.json">/openapi.json</a>. The web page: <a href="/">/</a>. '
        "When the server has a <code>--token</code>, every <code>/api/</code> request needs "
        "<code>Authorization: Bearer TOKEN</code>.</p>"
        f"{sections}</main></body></html>"
    )


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    return HTMLResponse(render(request.app.openapi()), headers=HEADERS)


@router.get("/redoc", include_in_schema=False)
def redoc() -> RedirectResponse:
    return RedirectResponse("/docs")


__all__ = ["router", "render"]

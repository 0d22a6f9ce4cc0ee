"""The HTTP service's view of the options: one query parameter of ``POST /api/transcribe`` per
option the service offers, and query parameters -> the pipeline's Options, through :mod:`.build`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Mapping

from .build import build
from .record import Options
from .registry import for_face


@dataclass(frozen=True)
class QueryParameter:
    """One query parameter of ``POST /api/transcribe``: feed it to FastAPI's ``Query``.

    Attributes:
        name: the parameter (the option's name).
        type: str, int, float or bool (``type | None`` when ``nullable``).
        default: the option's default, for the documentation (use ``Query(None)`` and let
            :func:`options_from_query` fill it in, so "not given" stays distinguishable).
        description: help text, with the choices.
        ge, gt, le: the numeric range, as FastAPI names it.
        choices: the allowed values (empty: any).
        nullable: None is a value.
    """

    name: str
    type: type
    default: Any
    description: str
    ge: float | None
    gt: float | None
    le: float | None
    choices: tuple
    nullable: bool


def query_parameters() -> list[QueryParameter]:
    """The service's query parameters, one per option the service offers."""
    rows = []
    for o in for_face("service"):
        description = o.help + (f" ({', '.join(map(str, o.choices))})" if o.choices else "")
        rows.append(
            QueryParameter(
                o.name,
                str if o.type is Path else o.type,
                o.default_value("service"),
                description,
                None if o.min_open else o.min,
                o.min if o.min_open else None,
                o.max,
                tuple(o.choices),
                o.nullable,
            )
        )
    return rows


def options_from_query(params: Mapping[str, Any]) -> Options:
    """A request's query parameters (None: not given) as pipeline Options.

    The service then fixes what is its own: ``dataclasses.replace(options, output_dir=...,
    device=..., threads=..., parallel=..., progress=False)``.

    Raises:
        OptionsError: a bad value, or an option the service does not offer (see :data:`OPTIONS`).
    """
    return build({k: v for k, v in params.items() if v is not None}, face="service")


__all__ = ["QueryParameter", "query_parameters", "options_from_query"]

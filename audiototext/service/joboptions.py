"""A job's options: the request's query parameters -> the pipeline's Options, through the one registry.

The query parameters of ``POST /api/transcribe`` are the rows of
:func:`audiototext.options.query_parameters` (every option the registry offers the service), and
:func:`audiototext.options.options_from_query` turns them into pipeline Options with the same
checks and rules as the CLI and the notebook. What is the server's stays the server's: output
folder, device, threads, where long audio is decoded, the API keys (from its environment, never
from a request), and the rule that a client names official models only, never a path.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional
from collections.abc import Callable, Mapping

from .. import options as registry
from ..engines import default_engine, engine_class
from ..errors import OptionsError
from .settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from ..longaudio import ParallelOptions
    from ..options import Options

#: Longest text a query parameter may carry (a prompt, a language name).
MAX_TEXT = 2000
#: Parameters whose default is the server's (``--model``, ``--engine``), not the registry's.
SERVER_DEFAULTS = {"model": "the server's --model", "engine": "the server's --engine"}


def query_dependency() -> Callable[..., dict[str, Any]]:
    """A FastAPI dependency whose parameters are the service's options, one ``Query`` per registry row.

    It returns the parameters the client gave (None ones left out), as the job stores them.
    Numbers are typed and range-checked by FastAPI (422, as every FastAPI validation); choices,
    languages and formats are checked by the registry when the job is made (400, with its message).
    """
    from fastapi import Query

    parameters = []
    for row in registry.query_parameters():
        default = SERVER_DEFAULTS.get(row.name, row.default)
        description = row.description + (f" (default: {default})" if default not in (None, "") else "")
        limits = {"max_length": MAX_TEXT} if row.type is str else {"ge": row.ge, "gt": row.gt, "le": row.le}
        query = Query(None, description=description, **limits)
        parameters.append(
            inspect.Parameter(row.name, inspect.Parameter.KEYWORD_ONLY, default=query, annotation=Optional[row.type])
        )

    def job_parameters(**given: Any) -> dict[str, Any]:
        return {name: value for name, value in given.items() if value is not None}

    job_parameters.__signature__ = inspect.Signature(parameters, return_annotation=dict)
    return job_parameters


def job_options(params: Mapping[str, Any], settings: Settings, output_dir: Path) -> Options:
    """The pipeline Options of one job: the client's ``params`` (as stored), the server's own settings.

    Raises:
        OptionsError: a bad value (the registry's message), a model that is not an official name
            (or the server's own), or an engine whose key (its ``key_env``) is not in the server's environment.
    """
    values = with_server_defaults(params, settings)
    options = registry.options_from_query(values)
    check_model(params.get("model"), options.engine, settings)
    key_env = engine_class(options.engine).key_env
    if key_env and not os.environ.get(key_env, "").strip():
        raise OptionsError(
            f"engine {options.engine} is not available on this server: it has no "
            f"{key_env} in its environment (a key is never taken from a request)",
            engine=options.engine,
        )
    formats = options.formats if "json" in options.formats else (*options.formats, "json")  # GET /api/audio reads it
    return dataclasses.replace(
        options,
        output_dir=Path(output_dir),
        device=settings.device,
        threads=settings.worker_threads,
        parallel=parallel_options(settings, options.parallel),
        progress=False,
        formats=formats,
        api_key=None,
    )


def with_server_defaults(params: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """``params`` with the server's engine and model where the client gave none.

    The server's model goes with its engine: a job that picks a hosted engine (OpenAI's API) on a
    server of local models (or the reverse) gets that engine's default model, not the server's.
    """
    values = {name: value for name, value in params.items() if value is not None}
    server_engine = settings.engine or default_engine()
    if "engine" not in values and settings.engine:
        values["engine"] = settings.engine
    job_engine = str(values.get("engine", server_engine)).lower()
    same_kind = job_engine in registry.REGISTRY["engine"].choices and (
        engine_class(job_engine).hosted == engine_class(server_engine).hosted
    )
    if "model" not in values and settings.model and same_kind:
        values["model"] = settings.model
    return values


def check_model(model: str | None, engine: str, settings: Settings) -> None:
    """A client may choose any official model of its engine, never a path on this machine.

    Raises:
        OptionsError: ``model`` is neither an official name nor the server's own ``--model``.
    """
    if model is None or model == settings.model:
        return
    models = engine_class(engine).models
    if model not in models:
        raise OptionsError(
            f"Unknown model {str(model)[:100]!r} for engine {engine}: use one of {', '.join(models)}", model=model
        )


def parallel_options(settings: Settings, base: ParallelOptions | None = None) -> ParallelOptions:
    """Where a job's windows are decoded: the long-audio options, the server's choice.

    Local: windows batched in the worker's process, its share of the cores split into decoding
    streams. Ray: every job's windows on Ray actors. Checkpoints stay on: they go under the job's
    output directory, which is the same after a restart, so a resumed job skips its decoded windows.
    """
    from ..engines.device import split_cores
    from ..longaudio import ParallelOptions, RaySettings

    base = base or ParallelOptions()
    if settings.backend == "ray":
        return dataclasses.replace(
            base,
            mode="ray",
            workers=settings.ray_actors,
            batch_size=settings.batch_size,
            checkpoints=True,
            ray=RaySettings(address=settings.ray_address, num_cpus=settings.ray_num_cpus),
        )
    return dataclasses.replace(
        base,
        mode="auto",
        batch_size=settings.batch_size,
        checkpoints=True,
        workers=split_cores(cores=settings.worker_threads)[0],
    )


__all__ = ["MAX_TEXT", "query_dependency", "job_options", "with_server_defaults", "check_model", "parallel_options"]

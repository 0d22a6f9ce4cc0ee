"""``audiototext serve``: the command line, :class:`~.settings.Settings` from it, and the server's start.

The start is ordered so that a server that cannot run touches nothing: the settings are
checked, then the data dir's lock is taken (a second server on it exits here with status 1),
then the port is bound (a port in use exits here with status 1, before any job is resumed),
and only then does the app start its workers and resume the unfinished jobs.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from pathlib import Path

from ..engines import ENGINES, engine_class
from ..errors import AudioToTextError, OptionsError
from ..interrupts import SIGINT_STATUS, SIGTERM_STATUS, Terminated, terminate_as_interrupt
from .settings import BACKENDS, Settings

log = logging.getLogger("audiototext.service")


# The flag table: one add_argument per row (not reflowed by the formatter).
# fmt: off
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="audiototext serve", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="HTTP transcription service with a web page at /: POST /api/transcribe, "
                    "GET /api/status/{call_id}, GET /api/audio/{slug}[.srt|.vtt|.txt]; docs at /docs. "
                    "One server per --data-dir.")
    p.add_argument("--host", default=Settings.host, help="address to listen on (0.0.0.0 exposes it to the network)")
    p.add_argument("--port", type=int, default=Settings.port)
    p.add_argument("--workers", type=int, default=Settings.workers,
                   help="transcription threads, each with its own model (1 on CPU; more on a big GPU)")
    p.add_argument("--queue-size", "--queue_size", dest="queue_size", type=int, default=Settings.queue_size,
                   help="jobs that may wait; more are answered 429")
    p.add_argument("--data-dir", "--data_dir", dest="data_dir", type=Path, default=Settings.data_dir,
                   help="job database, results (audio/<slug>/) and downloads; locked while the server runs")
    p.add_argument("--backend", choices=BACKENDS, default=Settings.backend,
                   help="where windows are decoded: this process, or Ray actors")
    p.add_argument("--ray-address", "--ray_address", dest="ray_address", default=None,
                   help="Ray cluster for --backend ray (auto, host:6379, ray://head:10001); default: a local Ray")
    p.add_argument("--ray-actors", "--ray_actors", dest="ray_actors", type=int, default=None,
                   help="Ray actors per worker (default: one per GPU, or per two CPUs of the cluster)")
    p.add_argument("--ray-num-cpus", "--ray_num_cpus", dest="ray_num_cpus", type=float, default=None,
                   help="CPUs each Ray actor reserves (default: its thread count)")
    p.add_argument("--batch-size", "--batch_size", dest="batch_size", type=int, default=None,
                   help="windows of long audio decoded together (1: checkpoint every window at once)")
    p.add_argument("--token", default=os.environ.get("AUDIOTOTEXT_TOKEN"),
                   help="require 'Authorization: Bearer TOKEN' (default: $AUDIOTOTEXT_TOKEN; unset: open)")
    p.add_argument("--model", default=None,
                   help="default model for jobs, may be a local path (default: base; whisper-1 for openai-api)")
    keys = ", ".join(f"{n}: ${engine_class(n).key_env}" for n in ENGINES if engine_class(n).key_env)
    p.add_argument("--engine", default=None, help=f"default engine for jobs: {', '.join(ENGINES)} (one with a key "
                                                  f"needs it in the environment: {keys})")
    p.add_argument("--device", default=None, help="cuda or cpu (default: the GPU when there is one)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads per worker (0: cores / workers)")
    p.add_argument("--max-download-mb", "--max_download_mb", dest="max_download_mb", type=float,
                   default=Settings.max_bytes / 2**20, help="largest download or upload, in MiB")
    p.add_argument("--download-timeout", "--download_timeout", dest="timeout", type=float, default=Settings.timeout,
                   help="seconds a download may stall before it fails")
    p.add_argument("--keep-media", "--keep_media", dest="keep_media", action=argparse.BooleanOptionalAction,
                   default=Settings.keep_media,
                   help="keep each finished job's media for the web page's player until it is deleted")
    p.add_argument("--allow-private-urls", "--allow_private_urls", dest="allow_private_urls",
                   action=argparse.BooleanOptionalAction, default=_env_flag("AUDIOTOTEXT_ALLOW_PRIVATE_URLS"),
                   help="fetch src_url links to loopback, private and link-local addresses (default: refused, "
                        "so clients cannot reach what only this server can; $AUDIOTOTEXT_ALLOW_PRIVATE_URLS=1)")
    p.add_argument("--log-level", "--log_level", dest="log_level", default="info",
                   choices=["debug", "info", "warning", "error"])
    return p
# fmt: on


def _env_flag(name: str) -> bool:
    """A yes/no environment variable: 1, true, yes, on (any case) are yes."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The parsed flags as :class:`Settings`.

    Raises:
        OptionsError: a value out of range (the message names the flag).
    """
    return Settings(
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        workers=args.workers,
        queue_size=args.queue_size,
        max_bytes=int(args.max_download_mb * 1024 * 1024),
        timeout=args.timeout,
        token=args.token or None,
        model=args.model,
        engine=args.engine,
        device=args.device,
        threads=args.threads or None,
        backend=args.backend,
        ray_address=args.ray_address,
        ray_actors=args.ray_actors,
        ray_num_cpus=args.ray_num_cpus,
        batch_size=args.batch_size,
        keep_media=args.keep_media,
        allow_private_urls=args.allow_private_urls,
    )


def preflight(settings: Settings) -> None:
    """What would fail every job, checked before the server starts (as the CLI checks before its
    first input): the jobs' default options as a job gets them, their model, device and cache
    (:func:`audiototext.preflight.check_model_and_device`, the pipeline's preflight), and the
    environment's ``DEEPL_SERVER_URL``. A server that starts anyway would fail each job late, and
    answer a bad DeepL URL with 400 as if the client were at fault.

    Raises:
        OptionsError: a bad ``--device`` (or no GPU for cuda), ``DEEPL_SERVER_URL`` without a scheme,
            the hosted engine without its key.
        ModelError: the model does not resolve, or the model cache cannot be written.
    """
    from ..engines import engine_class
    from ..preflight import check_device, check_model_and_device
    from ..translation.connection import SERVER_VARIABLE, deepl_server_url
    from ..translation.options import check_server_url
    from .joboptions import job_options

    check_server_url(deepl_server_url(), SERVER_VARIABLE)
    options = job_options({}, settings, settings.audio_dir)
    if engine_class(options.engine).hosted:  # its models are not Whisper checkpoints, its device not ours
        return
    check_device(settings.device, options.engine, flag="--device")
    check_model_and_device(options.engine, options.model, settings.device, options.decode.task, None)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, bound before any job is resumed.

    Raises:
        AudioToTextError: the port is taken or the address is not this machine's.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise AudioToTextError(
            f"cannot listen on {host}:{port} ({e.strerror or e}): is another server using "
            "the port? Give another --port",
            host=host,
            port=port,
        ) from None
    return sock


def _setup_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("audiototext")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def main(argv: list[str] | None = None) -> int:
    """``audiototext serve ...``: run the service until interrupted; returns the exit status.

    1 when the data dir is in use by another server, the port cannot be bound or the model cache
    cannot be written; 2 for bad flags or environment values (``--device tpu``, ``--device cuda``
    without a GPU, ``DEEPL_SERVER_URL`` without a scheme: :func:`preflight`) or a missing service
    extra; 143 after SIGTERM and 130 after Ctrl-C, each once the server has stopped cleanly.
    """
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = settings_from_args(args)
        preflight(settings)
    except OptionsError as e:
        parser.error(str(e))
    except AudioToTextError as e:  # the machine's fault (an unwritable cache), not a flag's
        print(f"audiototext serve: {e}", file=sys.stderr)
        return 1
    try:
        import uvicorn

        from .app import create_app
    except ImportError:
        print("audiototext serve needs the service extra: pip install 'audiototext[service]'", file=sys.stderr)
        return 2
    _setup_logging(args.log_level)
    try:
        app = create_app(settings)  # takes the data dir's lock first
    except AudioToTextError as e:
        print(f"audiototext serve: {e}", file=sys.stderr)
        return 1
    try:
        sock = bind(settings.host, settings.port)
    except AudioToTextError as e:
        app.state.lock.release()
        print(f"audiototext serve: {e}", file=sys.stderr)
        return 1
    if settings.exposed and not settings.token:
        log.warning("Listening on %s without --token: anyone who can reach it can submit jobs", settings.host)
    config = uvicorn.Config(app, host=settings.host, port=sock.getsockname()[1], log_level=args.log_level)
    try:
        # uvicorn stops cleanly on SIGTERM and Ctrl-C, then raises the signal again: here it ends in
        # the CLI's statuses (143, 130), not in a death by signal.
        with terminate_as_interrupt():
            uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt as e:
        status = SIGTERM_STATUS if isinstance(e, Terminated) else SIGINT_STATUS
        log.info("Stopped (%s): exit status %d", "SIGTERM" if status == SIGTERM_STATUS else "Ctrl-C", status)
        return status
    return 0


__all__ = ["build_parser", "settings_from_args", "bind", "main"]

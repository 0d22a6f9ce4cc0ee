"""Command line: ``audiototext FILE_OR_URL ... [options]``; flags named like the ``whisper`` CLI's.

The flags are the options of :mod:`audiototext.options` (``--name`` and ``--name-with-dashes``),
plus the original AudioToText's names (``--prompt``, ``--coherence_preference``,
``--deepl_target_language``...). Each input is isolated: one that fails is reported and the others
go on; the exit status is 1 when any failed, 2 for a bad option, 130 after Ctrl-C, 143 after
SIGTERM (handled like Ctrl-C: workers, ffmpeg and temporary files go, the same message).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from . import options as registry
from .errors import AudioToTextError
from .events import close_bars, write_line
from .logs import printable, show_logs
from .interrupts import SIGINT_STATUS, SIGTERM_STATUS, Terminated, terminate_as_interrupt
from .longaudio.checkpoints import CHECKPOINT_DIR
from .options import Options
from .pipeline import Callbacks, Pipeline
from .formats import format_timestamp


def build_parser() -> argparse.ArgumentParser:
    """The parser, one argument per option of :data:`audiototext.options.OPTIONS` the CLI offers.

    Values stay strings here: :func:`audiototext.options.build` parses and checks them all, with
    the same messages every face gives. Options not given are absent from the namespace, so the
    rules between options know what the user chose.
    """
    p = argparse.ArgumentParser(
        prog="audiototext",
        description="Transcribe or translate audio/video files and links with Whisper; "
        "write txt/vtt/srt/tsv/json; optionally translate the lines with DeepL. "
        "Everything is checked before the first input is read.",
    )
    p.add_argument("audio", nargs="+", help="media files (any format ffmpeg reads) or http(s) links")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    groups = {}
    for o in registry.for_face("cli"):
        group = groups.get(o.group) or groups.setdefault(
            o.group, p if o.group in ("model", "decode", "output") else p.add_argument_group(registry.GROUPS[o.group])
        )
        if o.flag:
            group.add_argument(*o.flags, dest=o.name, action="store_true", default=argparse.SUPPRESS, help=o.help)
        else:
            group.add_argument(*o.flags, dest=o.name, default=argparse.SUPPRESS, help=_help(o), metavar=_metavar(o))
    return p


def _metavar(o: registry.Option) -> str:
    if o.metavar:
        return o.metavar
    if o.choices and all(" " not in str(c) for c in o.choices):
        return "{" + ",".join(map(str, o.choices)) + "}"
    return {bool: "{True,False}", int: "N", float: "X", Path: "PATH"}.get(o.type, "TEXT")


def _help(o: registry.Option) -> str:
    text = o.help
    if o.range_text():
        text += f"; {o.range_text()}"
    default = o.default_text or o.default_value("cli")
    if default is not None and default is not False:
        text += f" (default: {default})"
    return text.replace("%", "%%")


def options_from_args(args: argparse.Namespace) -> Options:
    """The parsed flags as pipeline :class:`Options` (raises OptionsError on bad values)."""
    return registry.build({k: v for k, v in vars(args).items() if k in registry.REGISTRY}, face="cli")


def _print_line(segment) -> None:
    write_line(f"[{format_timestamp(segment.start)} --> {format_timestamp(segment.end)}] {segment.text}")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0: every input succeeded; 130: Ctrl-C; 143: SIGTERM).

    ``audiototext serve ...`` is the HTTP service's: :mod:`audiototext.command` dispatches it there.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet = getattr(args, "quiet", False)
    # Before the options: their rules log what they change. --quiet: errors only.
    restore_logging = show_logs(logging.ERROR if quiet else logging.INFO)
    options = None
    try:
        with terminate_as_interrupt():  # SIGTERM (kill, docker stop) cleans up as Ctrl-C does
            try:
                options = options_from_args(args)
            except AudioToTextError as e:
                parser.error(str(e))
            if getattr(args, "from_json", False):
                return _save(args, options, quiet)
            return _run(args, options, quiet)
    except KeyboardInterrupt as e:  # one line, no traceback: the user asked for it
        close_bars()  # as they stand, before the line: never drawn again after it
        print("\n" + printable(interrupted_message(options.output_dir if options else None)), file=sys.stderr)
        return SIGTERM_STATUS if isinstance(e, Terminated) else SIGINT_STATUS
    finally:
        restore_logging()


def interrupted_message(output_dir: Path | None) -> str:
    """The one line Ctrl-C prints: what is kept, and how to go on."""
    kept = "Interrupted: the files already written are kept"
    checkpoints = Path(output_dir) / CHECKPOINT_DIR if output_dir is not None else None
    if checkpoints is not None and checkpoints.is_dir() and any(checkpoints.iterdir()):
        return (
            f"{kept}, and the decoded windows are saved in {checkpoints}/: "
            "run the same command again to resume from them."
        )
    return f"{kept}; run the same command again to transcribe the rest."


def _run(args: argparse.Namespace, options: Options, quiet: bool = False) -> int:
    callbacks = Callbacks(
        on_segment=None if quiet else _print_line,
        on_translated_line=None if quiet else _print_line,
        on_file_start=None if quiet else (lambda s: print(printable(f"==> {s}"), file=sys.stderr)),
    )
    results = Pipeline(options, callbacks).run(args.audio)
    failed = [r for r in results if not r.ok]
    # After a failed preflight every input carries the same error, already shown once.
    if len(args.audio) > 1 and failed and len({id(r.error) for r in failed}) > 1:
        names = ", ".join(r.source for r in failed)
        print(printable(f"{len(failed)} of {len(results)} inputs failed: {names}"), file=sys.stderr)
    return 1 if failed else 0


def _save(args: argparse.Namespace, options: Options, quiet: bool = False) -> int:
    """``--from-json``: each input is a .json transcript; its formats are written without transcribing."""
    from .saving import save_from_json

    failed = 0
    for source in args.audio:
        if not quiet:
            print(printable(f"==> {source}"), file=sys.stderr)
        failed += not save_from_json(source, options, on_line=None if quiet else _print_line).ok
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Command line: ``audiototext FILE_OR_URL ... [options]``; flags named like the ``whisper`` CLI's.

Each input is isolated: one that fails is reported and the others go on; the exit status is
non-zero when any failed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from .engines import DEFAULT_ENGINE, ENGINES, DecodeOptions
from .errors import AudioToTextError
from .models import MODELS
from .parallel import MODES, ParallelOptions
from .pipeline import Callbacks, Options, Pipeline
from .segmentation import DETECTORS, SegmentationOptions
from .subtitles import FORMATS, WriterOptions, format_timestamp, parse_formats


def _str2bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "y", "on"):
        return True
    if lowered in ("false", "0", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got {value!r}")


def _optional(kind):
    def parse(value: str):
        return None if value.strip().lower() == "none" else kind(value)

    parse.__name__ = kind.__name__
    return parse


def _add(parser, name: str, **kwargs) -> None:
    """Add ``--name_with_underscores`` and ``--name-with-dashes`` as one option."""
    flags = [f"--{name}"]
    if "_" in name:
        flags.append(f"--{name.replace('_', '-')}")
    parser.add_argument(*flags, dest=name, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    from .translation import COHERENCE_MODES, FORMALITIES, TARGET_NAMES

    defaults = DecodeOptions()
    p = argparse.ArgumentParser(
        prog="audiototext",
        description="Transcribe or translate audio/video files and links with Whisper; "
                    "write txt/vtt/srt/tsv/json; optionally translate the lines with DeepL.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("audio", nargs="+", help="media files (any format ffmpeg reads) or http(s) links")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add(p, "model", default="base", metavar="NAME_OR_PATH",
         help=f"Whisper model: {', '.join(MODELS)}, or a .pt checkpoint / CTranslate2 directory")
    _add(p, "engine", default=DEFAULT_ENGINE, choices=list(ENGINES), help="transcription engine")
    _add(p, "device", default=None, help="cuda or cpu (default: the GPU when there is one)")
    _add(p, "threads", type=int, default=0, help="CPU threads (0: all cores)")
    p.add_argument("--output_dir", "--output-dir", "-o", dest="output_dir", default=".",
                   help="directory for the output files")
    p.add_argument("--output-formats", "--output_formats", "--output_format", "-f", dest="output_formats",
                   default="txt,vtt,srt", help=f"comma-separated list of {', '.join(FORMATS)}, or all")
    _add(p, "task", default="transcribe", choices=["transcribe", "translate"],
         help="transcribe in the spoken language, or translate to English")
    _add(p, "language", default="auto", help="spoken language (name or code), or auto to detect it")
    _add(p, "initial_prompt", default=None, help="text to prime the first window (names, spelling, style)")
    _add(p, "condition_on_previous_text", type=_str2bool, default=defaults.condition_on_previous_text,
         help="give the previous output as a prompt for the next window (False avoids repetition loops)")
    _add(p, "temperature", type=float, default=defaults.temperature, help="sampling temperature")
    _add(p, "temperature_increment_on_fallback", type=_optional(float),
         default=defaults.temperature_increment_on_fallback,
         help="temperature step when decoding fails the thresholds below (None: no fallback)")
    _add(p, "best_of", type=_optional(int), default=defaults.best_of, help="candidates when sampling")
    _add(p, "beam_size", type=_optional(int), default=defaults.beam_size,
         help="beams in beam search (None or 1: greedy)")
    _add(p, "patience", type=_optional(float), default=None, help="beam search patience")
    _add(p, "length_penalty", type=_optional(float), default=None, help="beam search length penalty")
    _add(p, "suppress_tokens", default=defaults.suppress_tokens, help="token ids to suppress (-1: symbols)")
    _add(p, "compression_ratio_threshold", type=_optional(float), default=defaults.compression_ratio_threshold,
         help="treat output as failed above this gzip compression ratio")
    _add(p, "logprob_threshold", type=_optional(float), default=defaults.logprob_threshold,
         help="treat output as failed below this average log probability")
    _add(p, "no_speech_threshold", type=_optional(float), default=defaults.no_speech_threshold,
         help="treat a window as silence above this no-speech probability")
    _add(p, "word_timestamps", type=_str2bool, default=False, help="word-level timestamps")
    _add(p, "highlight_words", type=_str2bool, default=False,
         help="underline each word as it is spoken in srt/vtt (needs --word_timestamps True)")
    _add(p, "max_line_width", type=_optional(int), default=None,
         help="characters per line before breaking (needs --word_timestamps True)")
    _add(p, "max_line_count", type=_optional(int), default=None,
         help="lines per subtitle cue (needs --word_timestamps True)")
    _add(p, "max_words_per_line", type=_optional(int), default=None,
         help="words per line (needs --word_timestamps True)")
    _add(p, "quiet", action="store_true", help="print only errors")
    _add(p, "no_progress", action="store_true", help="hide progress bars")

    seg = SegmentationOptions()
    g = p.add_argument_group("Long audio: cut at silences, decode the chunks in parallel, resume")
    g.add_argument("--parallel", default="auto", choices=list(MODES),
                   help="auto: sequential under a minute, else batched; off: the engine's own sequential "
                        "decoding (identical to its CLI); batched: chunks decoded together in this process; "
                        "processes: a CPU process pool; ray: Ray actors (pip install 'audiototext[ray]')")
    _add(g, "batch_size", type=int, default=None, help="chunks decoded together (None: 16 on a GPU, 8 on a CPU, 1 per task for processes/ray)")
    _add(g, "workers", type=int, default=None,
         help="processes or Ray actors (None: split the cores; one Ray actor per GPU)")
    _add(g, "ray_address", default=None, help="Ray cluster to join, e.g. auto or ray://host:10001 "
                                             "(None: start a local Ray)")
    _add(g, "ray_num_cpus", type=float, default=None, help="CPUs each Ray actor reserves (None: its threads)")
    _add(g, "ray_num_gpus", type=float, default=None, help="GPUs each Ray actor reserves (None: 1 if the cluster has GPUs)")
    _add(g, "vad", default=seg.vad, choices=list(DETECTORS),
         help="how speech is found: silero voice activity (ignores noise), or ffmpeg silencedetect (level)")
    _add(g, "silence_db", type=float, default=None,
         help="silencedetect level in dBFS (None: 30 dB below the recording's loud parts)")
    _add(g, "min_silence", type=float, default=seg.min_silence, help="shortest pause to cut at, in seconds")
    _add(g, "min_chunk", type=float, default=seg.min_chunk,
         help="from this many seconds, cut a chunk at its longest pause")
    _add(g, "max_chunk", type=float, default=seg.max_chunk, help="longest chunk in seconds (at most 30)")
    _add(g, "resume", type=_str2bool, default=True,
         help="checkpoint finished chunks in OUTPUT_DIR/.audiototext/ and resume from them after an "
              "interruption (removed once the files are written)")

    d = p.add_argument_group("DeepL translation of the lines (needs an API key)")
    d.add_argument("--deepl-target", "--deepl_target", dest="deepl_target", default=None, metavar="LANGUAGE",
                   help="translate into this DeepL language (name or code): " + ", ".join(TARGET_NAMES))
    d.add_argument("--deepl-api-key", "--deepl_api_key", dest="deepl_api_key", default=None,
                   help="DeepL API key (default: $DEEPL_AUTH_KEY)")
    d.add_argument("--deepl-formality", "--deepl_formality", dest="deepl_formality", default="default",
                   choices=list(FORMALITIES), help="formality, where the target language has it")
    d.add_argument("--deepl-coherence", "--deepl_coherence", dest="deepl_coherence",
                   default=COHERENCE_MODES[0], choices=list(COHERENCE_MODES), help="how lines are sent")
    d.add_argument("--deepl-glossary", "--deepl_glossary", dest="deepl_glossary", type=Path, default=None,
                   metavar="CSV", help="glossary file, one 'source,target' pair per row")
    d.add_argument("--deepl-server-url", "--deepl_server_url", dest="deepl_server_url", default=None,
                   help="another DeepL API server (default: $DEEPL_SERVER_URL or DeepL's)")
    return p


def options_from_args(args: argparse.Namespace) -> Options:
    """The parsed flags as pipeline :class:`Options` (raises AudioToTextError on bad values)."""
    word_options = ("highlight_words", "max_line_width", "max_line_count", "max_words_per_line")
    if not args.word_timestamps:
        for name in word_options:
            if getattr(args, name):
                raise AudioToTextError(f"--{name} requires --word_timestamps True")
    decode = DecodeOptions(
        task=args.task, language=args.language, initial_prompt=args.initial_prompt,
        condition_on_previous_text=args.condition_on_previous_text, temperature=args.temperature,
        temperature_increment_on_fallback=args.temperature_increment_on_fallback,
        beam_size=args.beam_size, best_of=args.best_of, patience=args.patience,
        length_penalty=args.length_penalty, suppress_tokens=args.suppress_tokens,
        compression_ratio_threshold=args.compression_ratio_threshold,
        logprob_threshold=args.logprob_threshold, no_speech_threshold=args.no_speech_threshold,
        word_timestamps=args.word_timestamps,
    )
    deepl = None
    if args.deepl_target:
        from .translation import DeepLOptions, resolve_target

        resolve_target(args.deepl_target)  # an unknown target fails before any transcription
        deepl = DeepLOptions(target=args.deepl_target, auth_key=args.deepl_api_key,
                             formality=args.deepl_formality, coherence=args.deepl_coherence,
                             glossary=args.deepl_glossary, server_url=args.deepl_server_url)
    return Options(
        model=args.model, engine=args.engine, device=args.device, threads=args.threads or None,
        decode=decode, output_dir=Path(args.output_dir), formats=parse_formats(args.output_formats),
        writer=WriterOptions(max_line_width=args.max_line_width, max_line_count=args.max_line_count,
                             highlight_words=args.highlight_words, max_words_per_line=args.max_words_per_line),
        deepl=deepl, progress=not args.no_progress and not args.quiet,
        parallel=ParallelOptions(
            mode=args.parallel, batch_size=args.batch_size, workers=args.workers, ray_address=args.ray_address,
            ray_num_cpus=args.ray_num_cpus, ray_num_gpus=args.ray_num_gpus, checkpoints=args.resume,
            segmentation=SegmentationOptions(vad=args.vad, noise_db=args.silence_db, min_silence=args.min_silence,
                                             min_chunk=min(args.min_chunk, args.max_chunk),
                                             max_chunk=args.max_chunk)),
    )


def _print_line(segment) -> None:
    from tqdm.auto import tqdm

    tqdm.write(f"[{format_timestamp(segment.start)} --> {format_timestamp(segment.end)}] {segment.text}")


class _TqdmHandler(logging.Handler):
    """Log lines written around any live progress bar instead of through it."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm.auto import tqdm

        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def _setup_logging(quiet: bool):
    """Print the library's log lines plainly; returns a function that restores the logger."""
    root = logging.getLogger("audiototext")
    saved = (root.handlers[:], root.level, root.propagate)
    handler = _TqdmHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.handlers[:] = [handler]
    root.setLevel(logging.ERROR if quiet else logging.INFO)
    root.propagate = False

    def restore() -> None:
        root.handlers[:], root.level, root.propagate = saved[0], saved[1], saved[2]

    return restore


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0: every input succeeded).

    ``audiototext serve ...`` starts the HTTP service instead (see :mod:`audiototext.service`).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["serve"]:
        from .service import main as serve_main

        return serve_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        options = options_from_args(args)
    except AudioToTextError as e:
        parser.error(str(e))
    restore_logging = _setup_logging(args.quiet)
    try:
        return _run(args, options)
    finally:
        restore_logging()


def _run(args: argparse.Namespace, options: Options) -> int:
    callbacks = Callbacks(on_segment=None if args.quiet else _print_line,
                          on_translated_line=None if args.quiet else _print_line,
                          on_file_start=None if args.quiet else (lambda s: print(f"==> {s}", file=sys.stderr)))
    results = Pipeline(options, callbacks).run(args.audio)
    failed = [r for r in results if not r.ok]
    if len(args.audio) > 1 and failed:
        print(f"{len(failed)} of {len(results)} inputs failed: " + ", ".join(r.source for r in failed),
              file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

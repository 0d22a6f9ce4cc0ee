"""Every option, defined once: the registry the CLI, the notebook and the service derive from.

The checks and suggestion lists import what they need when called, so importing the registry
stays light (no engine, no DeepL package).
"""

from __future__ import annotations

from pathlib import Path

from ..engines import ENGINES, engine_class
from ..errors import OptionsError
from ..records import declared
from .record import Options
from .spec import _CLI, _LOCAL, FACES, Option

#: The original AudioToText's output folder, the command line's and the notebook's default.
ORIGINAL_DIR = Path("audio_transcription")

#: Why a face lacks an option (``Option.why``).
_SERVER = "a server setting of the service (audiototext serve --help)"
_SECRET = "the service reads secrets from its own environment, never from a request"
_CLUSTER = "a deployment setting: the service has --backend ray"
_LONG_AUDIO_SERVER = "the service decodes long audio as its --backend says"

# --- checks of free values (lazy imports keep this module light) ---------------------------------


def _check_language(value: str) -> str:
    from ..languages import resolve_language

    resolve_language(value)
    return value


def _check_formats(value: str) -> tuple[str, ...]:
    from ..subtitles import parse_formats

    return parse_formats(value)


def _check_tokens(value: str) -> str:
    try:
        [int(token) for token in value.split(",") if token.strip()]
    except ValueError:
        raise OptionsError(
            f"suppress_tokens must be comma-separated token ids (-1: symbols), not {value!r}",
            option="suppress_tokens",
            value=value,
        ) from None
    return value


def _check_target(value: str | None) -> str | None:
    # Checked when the DeepL options are made (DeepLOptions), before any transcription: a name the
    # built-in list lacks is looked up in DeepL's live list there, with the key, so that a language
    # DeepL added (shown by the notebook's dropdown) is not refused.
    return value.strip() or None if value else None


def _check_model(value: str) -> str:
    if not value.strip():
        raise OptionsError("model must not be empty: give an official name such as base, or a path", option="model")
    return value.strip()


def _check_device(value: str) -> str | None:
    from ..preflight import check_device

    return check_device(value)


def _models() -> tuple[str, ...]:
    return tuple(dict.fromkeys(model for name in ENGINES for model in engine_class(name).models))


def _languages() -> tuple[str, ...]:
    from ..languages import LANGUAGE_NAMES

    return ("Auto-Detect", *LANGUAGE_NAMES)


def _output_presets() -> tuple[str, ...]:
    from ..subtitles import OUTPUT_PRESETS

    return OUTPUT_PRESETS


def _deepl_targets() -> tuple[str, ...]:
    from ..translation import TARGET_NAMES

    return ("", *TARGET_NAMES)


# The option table: one Option per row, keywords aligned by hand (not reflowed by the formatter).
# fmt: off
def _model_options() -> tuple[Option, ...]:
    """Model and engine."""
    return (
        Option("model", record=Options, group="model", check=_check_model, suggestions=_models,
               form_name="use_model", form_default="large-v3", metavar="NAME_OR_PATH",
               help="Whisper model: tiny, base, small, medium (+ .en), large-v1/v2/v3, turbo, or a .pt "
                    "checkpoint / CTranslate2 directory (English with tiny..medium uses the .en model)"),
        Option("engine", record=Options, group="model",
               default_text="faster-whisper if installed, else openai-whisper",
               help="transcription engine (openai-api: OpenAI's API, with an OpenAI key: --api_key or "
                    "$OPENAI_API_KEY; the service uses its server's $OPENAI_API_KEY)"),
        Option("device", record=Options, group="model", faces=_LOCAL, why=_SERVER, check=_check_device,
               help="cuda or cpu (default: the GPU when there is one)"),
        Option("threads", record=Options, group="model", zero_is_none=True, faces=_LOCAL,
               why=_SERVER, help="CPU threads (0: all cores)"),
    )


def _decode_options() -> tuple[Option, ...]:
    """Decoding (whisper's names and defaults, declared by DecodeOptions)."""
    from ..engines import DecodeOptions as D

    return (
        Option("task", record=D,
               labels={"Transcribe": "transcribe", "Translate to English": "translate"},
               help="transcribe in the spoken language, or translate to English"),
        # The text form of None (detect): "auto".
        Option("language", str, "auto", record=D, nullable=False, check=_check_language, suggestions=_languages,
               synonyms={"Auto-Detect": "auto"}, form_default="Auto-Detect",
               help="spoken language (name or code), or auto to detect it"),
        Option("audio_track", record=Options, zero_is_none=True,
               help="audio track to transcribe, from 1 as players number them (0: the track the file flags "
                    "default, else the first that is not silent)"),
        Option("initial_prompt", record=D, form_name="prompt", aliases=("--prompt",),
               help="text to prime the first window (names, spelling, style)"),
        Option("condition_on_previous_text", record=D, form_name="coherence_preference", form_default=False,
               aliases=("--coherence_preference", "--coherence-preference"),
               labels={"More coherence, but may repeat text": True,
                       "Less repetitions, but may have less coherence": False},
               default_text="True, used by --parallel off only: by default windows are decoded alone",
               help="give each 30 s window the previous text as a prompt: True when set decodes sequentially "
                    "(--parallel off, slower); the default windows are decoded alone (2 WER points better "
                    "measured), and False avoids repetition loops in sequential decoding"),
        Option("temperature", record=D, help="sampling temperature"),
        Option("temperature_increment_on_fallback", record=D,
               help="temperature step when decoding fails the thresholds below (None: no fallback)"),
        Option("best_of", record=D, help="candidates when sampling"),
        Option("beam_size", record=D,
               help="beams in beam search (None or 1: greedy, fastest)"),
        Option("patience", record=D, help="beam search patience"),
        Option("length_penalty", record=D,
               help="beam search length penalty alpha (None: length normalisation)"),
        Option("suppress_tokens", record=D, check=_check_tokens, help="token ids to suppress (-1: symbols)"),
        Option("compression_ratio_threshold", record=D,
               help="treat output as failed above this gzip compression ratio"),
        Option("logprob_threshold", record=D,
               help="treat output as failed below this average log probability"),
        Option("no_speech_threshold", record=D,
               help="treat a window as silence above this no-speech probability"),
        Option("word_timestamps", record=D,
               help="word-level timestamps (turned on by the four subtitle layout options)"),
    )


def _output_options() -> tuple[Option, ...]:
    """Output files and subtitle layout (the style's options declared by SubtitleStyle: None keeps the preset's)."""
    from ..formats import WHISPER_FORMATS, names
    from ..style import NETFLIX, WIDE_LINE_WIDTHS
    from ..style import SubtitleStyle as S

    formats = ",".join(declared(Options, "formats").default)
    return (
        # The original AudioToText's defaults: its folder, and on its command line all five formats.
        Option("output_dir", record=Options, group="output", aliases=("-o",), cli_default=ORIGINAL_DIR,
               form_default=ORIGINAL_DIR, faces=_LOCAL, why="the service keeps each job's files under --data-dir",
               help="directory for the output files"),
        Option("output_formats", str, formats, record=Options, field="formats", group="output", check=_check_formats,
               suggestions=_output_presets, aliases=("--output_format", "--output-format", "-f"),
               cli_default=",".join(WHISPER_FORMATS), help=f"comma-separated list of {', '.join(names())}, or all",
               doc="comma-separated list of the output formats (see \"Output formats\"), or all"),
        Option("subtitle_style", record=S, field="preset", group="output",
               help="how srt and vtt cues are made: netflix (reading rules: 2 lines of 42 characters, 20 "
                    "characters per second, 5/6 to 7 s, 2 frames apart, on the speech) or whisper (the whisper "
                    "CLI's cues); txt, tsv and json keep sentence segments"),
        Option("max_line_width", record=S, default=None, group="output",
               default_text=f"{NETFLIX.max_line_width} (netflix; Japanese {WIDE_LINE_WIDTHS['ja']}, Chinese and "
                            f"Korean {WIDE_LINE_WIDTHS['zh']}), none (whisper)",
               help="characters per subtitle line (whisper style: turns on word timestamps)"),
        Option("max_line_count", record=S, default=None, group="output",
               default_text=f"{NETFLIX.max_line_count} (netflix)",
               help="lines per subtitle cue (whisper style: with --max_line_width; turns on word timestamps)"),
        Option("max_cps", record=S, default=None, group="output", default_text=f"{NETFLIX.max_cps:g} (netflix)",
               help="reading speed at most, in characters per second (netflix style)"),
        Option("min_cue_duration", record=S, default=None, nullable=True, group="output",
               default_text=f"{NETFLIX.min_cue_duration:.3f} (netflix)",
               help="shortest cue, in seconds (netflix style)"),
        Option("max_cue_duration", record=S, default=None, group="output",
               default_text=f"{NETFLIX.max_cue_duration:g} (netflix)",
               help="longest cue, in seconds (netflix style)"),
        Option("min_cue_gap", record=S, default=None, nullable=True, group="output",
               default_text=f"{NETFLIX.min_cue_gap:.3f} (netflix)",
               help="seconds between two cues at least (netflix style)"),
        Option("highlight_words", record=S, group="output",
               help="underline each word as it is spoken in srt/vtt (turns on word timestamps)"),
        Option("max_words_per_line", record=S, group="output",
               help="words per subtitle cue (turns on word timestamps)"),
        Option("quiet", bool, False, group="output", flag=True, faces=_CLI,
               why="terminal presentation", help="print only errors"),
        Option("no_progress", bool, False, group="output", flag=True, faces=_CLI,
               why="terminal presentation", help="hide progress bars"),
        Option("from_json", bool, False, group="output", flag=True, faces=_CLI,
               why="the notebook's Save step and Python (audiototext.saving) read a .json themselves",
               help="the inputs are .json transcripts written before: write the output formats (and the DeepL "
                    "translation) from them without transcribing again"),
        Option("skip_install", bool, False, group="output", flag=True, faces=_CLI,
               why="the original AudioToText's command line; accepted and ignored",
               help="accepted for the original AudioToText command line; does nothing"),
    )


def _long_audio_options() -> tuple[Option, ...]:
    """Long audio: voice detection, windows, workers, Ray (declared by ParallelOptions, SpeechOptions, RaySettings)."""
    from ..longaudio import ParallelOptions as P
    from ..longaudio import RaySettings as R
    from ..longaudio import SpeechOptions as S

    return (
        Option("parallel", record=P, field="mode", group="long audio", faces=_LOCAL, why=_LONG_AUDIO_SERVER,
               help="auto: windows of speech packed across pauses, decoded in batches in this process "
                    "(= batched); off: the engine's own sequential decoding (identical to its CLI); "
                    "processes: a CPU process pool; ray: Ray actors (pip install 'audiototext[ray]')"),
        Option("batch_size", record=P, group="long audio", faces=_LOCAL,
               why=_SERVER, help="windows decoded together at most (None: 16 on a GPU, 4 per worker on a CPU)"),
        Option("workers", record=P, group="long audio", faces=_LOCAL, why=_SERVER,
               help="decoding threads, processes or Ray actors (None: 1 on a GPU; on a CPU the cores shared "
                    "out, 2 cores -> 2 workers of 1 thread; one Ray actor per GPU)"),
        Option("vad", record=S, group="long audio", faces=_LOCAL, why=_LONG_AUDIO_SERVER,
               help="how speech is found: silero voice activity (ignores noise and most music), ffmpeg "
                    "silencedetect (by level), or off (every second is decoded: songs, music)"),
        Option("silence_db", record=S, field="noise_db", group="long audio", faces=_LOCAL,
               why=_LONG_AUDIO_SERVER, help="silencedetect level in dBFS (None: 30 dB below the loud parts)"),
        Option("min_silence", record=S, group="long audio", faces=_LOCAL,
               why=_LONG_AUDIO_SERVER, help="shortest pause between two stretches of speech, in seconds"),
        Option("pause", record=S, group="long audio", faces=_LOCAL, why=_LONG_AUDIO_SERVER,
               help="longest pause kept inside a window, in seconds; longer ones are shortened to this "
                    "(times stay exact)"),
        Option("resume", record=P, field="checkpoints", group="long audio", faces=_LOCAL,
               why="the service always resumes",
               help="checkpoint decoded windows in OUTPUT_DIR/.audiototext/ and resume from them after an "
                    "interruption (removed once the files are written)"),
        Option("ray_address", record=R, field="address", group="long audio", faces=_CLI, why=_CLUSTER,
               help="Ray cluster to join, e.g. auto or ray://host:10001 (None: start a local Ray)"),
        Option("ray_num_cpus", record=R, field="num_cpus", group="long audio", faces=_CLI, why=_CLUSTER,
               help="CPUs each Ray actor reserves (None: its threads)"),
        Option("ray_num_gpus", record=R, field="num_gpus", group="long audio", faces=_CLI, why=_CLUSTER,
               help="GPUs each Ray actor reserves (None: 1 if the cluster has GPUs)"),
    )


def _deepl_options() -> tuple[Option, ...]:
    """DeepL translation (declared by DeepLOptions; no target: no translation)."""
    from ..translation import COHERENCE_MODES, TARGET_NAMES
    from ..translation import DeepLOptions as D

    return (
        Option("deepl_target", record=D, field="target", default=None, nullable=True, group="deepl",
               check=_check_target,
               suggestions=_deepl_targets, form_name="deepl_target_language", metavar="LANGUAGE",
               aliases=("--deepl_target_language", "--deepl-target-language"),
               help="translate the lines into this DeepL language, by name or code (EN-GB, de): "
                    + ", ".join(TARGET_NAMES),
               doc="translate the lines into this DeepL target, by name (`\"Portuguese (Brazilian)\"`) or code "
                   "(`EN-GB`, `de`); `English`, `Portuguese` and `Chinese` mean British, European and simplified; "
                   "bare `EN`/`PT` are refused"),
        Option("deepl_api_key", record=D, field="auth_key", group="deepl", faces=_LOCAL, why=_SECRET,
               help="DeepL API key (default: $DEEPL_AUTH_KEY)"),
        Option("deepl_formality", record=D, field="formality", group="deepl",
               help="formality, where the target language has it"),
        Option("deepl_coherence", record=D, field="coherence", group="deepl",
               form_name="deepl_coherence_preference", metavar="MODE",
               aliases=("--deepl_coherence_preference", "--deepl-coherence-preference"),
               synonyms={"True": COHERENCE_MODES[0], "False": COHERENCE_MODES[1]},  # the original notebook's
               help="how lines are sent (True: share context; False: each line independently)"),
        Option("deepl_glossary", record=D, field="glossary", group="deepl", faces=_LOCAL, metavar="CSV",
               why="a file on the user's machine", help="glossary file, one 'source,target' pair per row"),
        Option("deepl_server_url", record=D, field="server_url", group="deepl", faces=_CLI,
               why="testing and self-hosted DeepL: elsewhere set $DEEPL_SERVER_URL",
               help="another DeepL API server (default: $DEEPL_SERVER_URL or DeepL's)"),
    )


def _api_options() -> tuple[Option, ...]:
    """The OpenAI API engine."""
    api = next(engine_class(name) for name in ENGINES if engine_class(name).key_option == "api_key")
    return (
        Option("api_key", record=Options, group="api", faces=_LOCAL, why=_SECRET,
               help=f"OpenAI API key: transcribe with {api.title} (engine {api.name}, model {api.default_model}) "
                    f"instead of a local model (with --engine {api.name} and no key: ${api.key_env})"),
    )


#: Every option, in help order.
OPTIONS: tuple[Option, ...] = (*_model_options(), *_decode_options(), *_output_options(), *_long_audio_options(),
                               *_deepl_options(), *_api_options())
#: Options by name.
REGISTRY: dict[str, Option] = {o.name: o for o in OPTIONS}
# fmt: on


def option(name: str) -> Option:
    """The option called ``name`` (or whose notebook field is ``name``).

    Raises:
        OptionsError: no such option; the message lists them.
    """
    if name in REGISTRY:
        return REGISTRY[name]
    for o in OPTIONS:
        if o.form == name:
            return o
    raise OptionsError(f"Unknown option {name!r}: use one of {', '.join(REGISTRY)}", option=name)


def for_face(face: str) -> list[Option]:
    """The options ``face`` ("cli", "notebook", "service") offers, in help order."""
    if face not in FACES:
        raise OptionsError(f"Unknown face {face!r}: use one of {', '.join(FACES)}")
    return [o for o in OPTIONS if face in o.faces]

"""Every user-facing option, defined once; the CLI, the notebook and the HTTP service map to it.

An :class:`Option` holds an option's name (the CLI flag ``--name`` / ``--name-with-dashes``, the
service's query parameter and, unless ``form_name`` says otherwise, the notebook's field), its
type, default, allowed values or range, help and the faces that expose it. :func:`build` turns a
mapping of values (typed, or strings from a command line, form or query) into the pipeline's
:class:`~audiototext.pipeline.Options`; it validates every value and applies the rules between
options before any model is loaded (issue 10, point 6), so ``temperature=5`` fails at once with
the option's name and range.

The rules between options live here and nowhere else:

1. ``highlight_words``, ``max_line_width``, ``max_line_count`` and ``max_words_per_line`` need
   word timestamps: they turn ``word_timestamps`` on (logged), unless it was explicitly set to
   False, which is an error.
2. ``engine`` defaults to faster-whisper when it is installed (:func:`default_engine`).
3. English with tiny/base/small/medium uses the English-only ``.en`` model, as the original
   AudioToText did (issue 12, point 5); never to translate.
4. An ``api_key`` without an explicit engine selects the OpenAI API engine (issue 12, point 6).
5. A DeepL target is checked at once (:func:`audiototext.translation.resolve_target`).

Per face: the CLI builds its parser from :data:`OPTIONS` (``cli.build_parser``); the notebook
uses :func:`form_fields`, :func:`dropdown` and :func:`options_from_form`; the service uses
:func:`query_parameters` and :func:`options_from_query`. No heavy imports here.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Collection, Mapping

from .errors import OptionsError

if TYPE_CHECKING:  # pragma: no cover
    from .longaudio import ParallelOptions
    from .pipeline import Options
    from .translation import DeepLOptions

log = logging.getLogger(__name__)

FACES = ("cli", "notebook", "service")
_ALL = frozenset(FACES)
_CLI = frozenset({"cli"})
_LOCAL = frozenset({"cli", "notebook"})

#: Option groups, in the order help, forms and documentation show them.
GROUPS: dict[str, str] = {
    "model": "Model and engine",
    "decode": "Decoding",
    "output": "Output files and subtitle layout",
    "long audio": "Long audio: speech packed into windows across pauses, decoded in parallel, resumable",
    "deepl": "DeepL translation of the lines (needs a DeepL API key)",
    "api": "OpenAI API engine (needs an OpenAI API key)",
}

#: The engine that sends the audio to OpenAI's API (audiototext/engines/openai_api.py).
API_ENGINE = "openai-api"
#: The API engine's model when none is given.
API_MODEL = "whisper-1"
#: Options that cut subtitle lines by word times, so they need word timestamps (rule 1).
LINE_OPTIONS = ("highlight_words", "max_line_width", "max_line_count", "max_words_per_line")
#: Sizes that have an English-only ``.en`` model (rule 3).
ENGLISH_SIZES = ("tiny", "base", "small", "medium")

_UNSET: Any = object()


def default_engine() -> str:
    """faster-whisper when the ``faster_whisper`` package is importable, else openai-whisper.

    faster-whisper is 4x faster on a CPU with the same accuracy (README, "Long audio, fast").
    """
    return "faster-whisper" if importlib.util.find_spec("faster_whisper") is not None else "openai-whisper"


@dataclass(frozen=True, eq=False)
class Option:
    """One user-facing option.

    Attributes:
        name: snake_case; the CLI flag (``--name`` and ``--name-with-dashes``), the service's
            query parameter and the notebook's field unless ``form_name`` is set.
        type: str, int, float, bool or Path; strings are converted to it.
        default: the value when the option is not given, or a function called at use.
        help: one line of help.
        group: a key of :data:`GROUPS`.
        choices: the allowed values (empty: any value of the type).
        labels: display label -> value, for dropdowns ("Translate to English" -> "translate").
        synonyms: other accepted spellings -> value, not shown in dropdowns.
        suggestions: dropdown entries for a free value (model names, languages), or a function
            returning them.
        check: validates and normalises a value (raises :class:`OptionsError`).
        min, max: numeric range, inclusive; ``min_open`` excludes ``min`` itself.
        nullable: None is a value ("none" or "" from a string).
        zero_is_none: 0 means None (``threads 0``: all cores).
        flag: a CLI switch without value (``--quiet``).
        aliases: extra CLI flags ("-o", "--prompt").
        faces: where the option is offered; ``why`` says why a face lacks it.
        form_name: the notebook's field name, when it differs (AudioToText's names).
        form_default: the notebook's default, when it differs (``large-v3`` on a Colab GPU).
        default_text: how the help shows a computed default.
        metavar: the CLI's placeholder for the value.
        doc: the README's text, when ``help`` is too long for a table.
    """

    name: str
    type: type
    default: Any = None
    help: str = ""
    group: str = "decode"
    choices: tuple = ()
    labels: Mapping[str, Any] = field(default_factory=dict)
    synonyms: Mapping[str, Any] = field(default_factory=dict)
    suggestions: tuple | Callable[[], tuple] = ()
    check: Callable[[Any], Any] | None = None
    min: float | None = None
    max: float | None = None
    min_open: bool = False
    nullable: bool = False
    zero_is_none: bool = False
    flag: bool = False
    aliases: tuple[str, ...] = ()
    faces: frozenset[str] = _ALL
    why: str = ""
    form_name: str | None = None
    form_default: Any = _UNSET
    default_text: str | None = None
    metavar: str | None = None
    doc: str | None = None

    @property
    def flags(self) -> list[str]:
        """The CLI flags: ``--name``, ``--name-with-dashes``, then the aliases."""
        flags = [f"--{self.name}"]
        if "_" in self.name:
            flags.append(f"--{self.name.replace('_', '-')}")
        return flags + [a for a in self.aliases if a not in flags]

    @property
    def form(self) -> str:
        """The notebook's field name."""
        return self.form_name or self.name

    def default_value(self, face: str = "cli") -> Any:
        """The default, computed when it is a function (the notebook's own where it has one)."""
        value = self.form_default if face == "notebook" and self.form_default is not _UNSET else self.default
        return value() if callable(value) else value

    def dropdown(self) -> tuple:
        """What a dropdown lists: the labels, else the choices, else the suggestions."""
        if self.labels:
            return tuple(self.labels)
        if self.choices:
            return tuple(self.choices)
        return tuple(self.suggestions() if callable(self.suggestions) else self.suggestions)

    def display(self, face: str = "cli") -> str:
        """The option's name as the user typed it on ``face`` (``--temperature``, ``prompt``)."""
        return f"--{self.name}" if face == "cli" else self.form if face == "notebook" else self.name

    def range_text(self) -> str:
        """ "between 0 and 1", "at least 1", "greater than 0", "at most 0" or ""."""
        if self.min is not None and self.max is not None and not self.min_open:
            return f"between {_num(self.min)} and {_num(self.max)}"
        parts = []
        if self.min is not None:
            parts.append(f"{'greater than' if self.min_open else 'at least'} {_num(self.min)}")
        if self.max is not None:
            parts.append(f"at most {_num(self.max)}")
        return " and ".join(parts)

    def parse(self, raw: Any, face: str = "cli") -> Any:
        """``raw`` (typed, or a string) as this option's value, validated.

        Raises:
            OptionsError: wrong type, not an allowed value, or out of range; the message names
                the option as ``face`` shows it and says what is allowed.
        """
        label = self.display(face)
        if isinstance(raw, str):
            text = raw.strip()
            for mapping in (self.labels, self.synonyms):
                for key, value in mapping.items():
                    if text.lower() == str(key).lower():
                        return value
            if self.nullable and text.lower() in ("", "none"):
                return None
            value = self._from_string(text, label)
        elif raw is None:
            if not self.nullable:
                raise OptionsError(f"{label} needs a value", option=self.name)
            return None
        else:
            value = self._from_typed(raw, label)
        if self.zero_is_none and value == 0:
            return None
        if self.choices:
            value = self._choice(value, raw, label, face)
        self._check_range(value, label)
        return self.check(value) if self.check else value

    def _from_string(self, text: str, label: str) -> Any:
        try:
            if self.type is bool:
                lowered = text.lower()
                if lowered in ("true", "1", "yes", "y", "on"):
                    return True
                if lowered in ("false", "0", "no", "n", "off"):
                    return False
                raise ValueError
            if self.type is int:
                return int(text)
            if self.type is float:
                return float(text)
        except ValueError:
            raise OptionsError(f"{label} must be {_kind(self.type)}, not {text!r}", option=self.name,
                               value=text) from None
        return Path(text).expanduser() if self.type is Path else text

    def _from_typed(self, raw: Any, label: str) -> Any:
        ok = {bool: isinstance(raw, bool),
              int: isinstance(raw, int) and not isinstance(raw, bool)
              or isinstance(raw, float) and raw.is_integer(),
              float: isinstance(raw, (int, float)) and not isinstance(raw, bool),
              Path: isinstance(raw, (str, Path))}.get(self.type, True)
        if not ok:
            raise OptionsError(f"{label} must be {_kind(self.type)}, not {raw!r}", option=self.name, value=raw)
        if self.type in (int, float):
            return self.type(raw)
        return Path(raw).expanduser() if self.type is Path else raw

    def _choice(self, value: Any, raw: Any, label: str, face: str) -> Any:
        for choice in self.choices:
            if value == choice or isinstance(value, str) and value.lower() == str(choice).lower():
                return choice
        accepted = list(self.labels) if self.labels and face == "notebook" else list(self.choices)
        raise OptionsError(f"Unknown {label} {raw!r}: use one of {', '.join(map(str, accepted))}",
                           option=self.name, value=raw)

    def _check_range(self, value: Any, label: str) -> None:
        if value is None or self.type not in (int, float):
            return
        low = self.min is not None and (value <= self.min if self.min_open else value < self.min)
        high = self.max is not None and value > self.max
        if low or high:
            raise OptionsError(f"{label} must be {self.range_text()}, not {_num(value)}", option=self.name,
                               value=value)


def _num(value: float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _kind(kind: type) -> str:
    return {bool: "True or False", int: "a whole number", float: "a number", Path: "a path"}.get(kind, "text")


# --- checks of free values (lazy imports keep this module light) ---------------------------------

def _check_language(value: str) -> str:
    from .languages import resolve_language

    resolve_language(value)
    return value


def _check_formats(value: str) -> tuple[str, ...]:
    from .subtitles import parse_formats

    return parse_formats(value)


def _check_tokens(value: str) -> str:
    try:
        [int(token) for token in value.split(",") if token.strip()]
    except ValueError:
        raise OptionsError(f"suppress_tokens must be comma-separated token ids (-1: symbols), not {value!r}",
                           option="suppress_tokens", value=value) from None
    return value


def _check_target(value: str | None) -> str | None:
    from .translation import resolve_target

    if value:
        resolve_target(value)  # an unknown target fails before any transcription
    return value or None


def _check_model(value: str) -> str:
    if not value.strip():
        raise OptionsError("model must not be empty: give an official name such as base, or a path",
                           option="model")
    return value.strip()


def _models() -> tuple[str, ...]:
    from .models import MODELS

    return MODELS


def _languages() -> tuple[str, ...]:
    from .languages import LANGUAGE_NAMES

    return ("Auto-Detect", *LANGUAGE_NAMES)


def _output_presets() -> tuple[str, ...]:
    from .subtitles import OUTPUT_PRESETS

    return OUTPUT_PRESETS


def _deepl_targets() -> tuple[str, ...]:
    from .translation import TARGET_NAMES

    return ("", *TARGET_NAMES)


def _registry() -> tuple[Option, ...]:
    from .engines import ENGINES
    from .longaudio import DETECTORS, MODES
    from .translation import COHERENCE_MODES, FORMALITIES, TARGET_NAMES

    # The API engine is chosen here even before its module registers it in ENGINES.
    engines = (*ENGINES, *(() if API_ENGINE in ENGINES else (API_ENGINE,)))
    server = "a server setting of the service (audiototext serve --help)"
    secret = "the service reads secrets from its own environment, never from a request"
    cluster = "a deployment setting: the service has --backend ray"
    long_audio_server = "the service decodes long audio as its --backend says"
    return (
        # model and engine
        Option("model", str, "base", group="model", check=_check_model, suggestions=_models,
               form_name="use_model", form_default="large-v3", metavar="NAME_OR_PATH",
               help="Whisper model: tiny, base, small, medium (+ .en), large-v1/v2/v3, turbo, or a .pt "
                    "checkpoint / CTranslate2 directory (English with tiny..medium uses the .en model)"),
        Option("engine", str, default_engine, group="model", choices=engines,
               default_text="faster-whisper if installed, else openai-whisper",
               help="transcription engine (openai-api: OpenAI's API, needs --api_key)"),
        Option("device", str, None, group="model", nullable=True, faces=_LOCAL, why=server,
               help="cuda or cpu (default: the GPU when there is one)"),
        Option("threads", int, None, group="model", nullable=True, zero_is_none=True, min=0, faces=_LOCAL,
               why=server, help="CPU threads (0: all cores)"),
        # decoding
        Option("task", str, "transcribe", choices=("transcribe", "translate"),
               labels={"Transcribe": "transcribe", "Translate to English": "translate"},
               help="transcribe in the spoken language, or translate to English"),
        Option("language", str, "auto", check=_check_language, suggestions=_languages,
               synonyms={"Auto-Detect": "auto"}, form_default="Auto-Detect",
               help="spoken language (name or code), or auto to detect it"),
        Option("initial_prompt", str, None, nullable=True, form_name="prompt", aliases=("--prompt",),
               help="text to prime the first window (names, spelling, style)"),
        Option("condition_on_previous_text", bool, True, form_name="coherence_preference",
               aliases=("--coherence_preference", "--coherence-preference"),
               labels={"More coherence, but may repeat text": True,
                       "Less repetitions, but may have less coherence": False},
               help="give the previous output as a prompt for the next window (False avoids repetition "
                    "loops)"),
        Option("temperature", float, 0.0, min=0.0, max=1.0, help="sampling temperature"),
        Option("temperature_increment_on_fallback", float, 0.2, nullable=True, min=0.0, max=1.0,
               help="temperature step when decoding fails the thresholds below (None: no fallback)"),
        Option("best_of", int, 5, nullable=True, min=1, max=20, help="candidates when sampling"),
        Option("beam_size", int, 5, nullable=True, min=1, max=20,
               help="beams in beam search (None or 1: greedy, fastest)"),
        Option("patience", float, None, nullable=True, min=0.0, min_open=True, help="beam search patience"),
        Option("length_penalty", float, None, nullable=True, min=0.0, max=1.0,
               help="beam search length penalty alpha (None: length normalisation)"),
        Option("suppress_tokens", str, "-1", check=_check_tokens, help="token ids to suppress (-1: symbols)"),
        Option("compression_ratio_threshold", float, 2.4, nullable=True, min=0.0, min_open=True,
               help="treat output as failed above this gzip compression ratio"),
        Option("logprob_threshold", float, -1.0, nullable=True, max=0.0,
               help="treat output as failed below this average log probability"),
        Option("no_speech_threshold", float, 0.6, nullable=True, min=0.0, max=1.0,
               help="treat a window as silence above this no-speech probability"),
        Option("word_timestamps", bool, False,
               help="word-level timestamps (turned on by the four subtitle layout options)"),
        # output files and layout
        Option("output_dir", Path, Path("."), group="output", aliases=("-o",), form_default="audio_transcription",
               faces=_LOCAL, why="the service keeps each job's files under --data-dir",
               help="directory for the output files"),
        Option("output_formats", str, "txt,vtt,srt", group="output", check=_check_formats,
               suggestions=_output_presets, aliases=("--output_format", "--output-format", "-f"),
               help="comma-separated list of txt, vtt, srt, tsv, json, or all"),
        Option("highlight_words", bool, False, group="output",
               help="underline each word as it is spoken in srt/vtt (turns on word timestamps)"),
        Option("max_line_width", int, None, group="output", nullable=True, min=1,
               help="characters per line before breaking (turns on word timestamps)"),
        Option("max_line_count", int, None, group="output", nullable=True, min=1,
               help="lines per subtitle cue, with --max_line_width (turns on word timestamps)"),
        Option("max_words_per_line", int, None, group="output", nullable=True, min=1,
               help="words per subtitle cue (turns on word timestamps)"),
        Option("quiet", bool, False, group="output", flag=True, faces=_CLI,
               why="terminal presentation", help="print only errors"),
        Option("no_progress", bool, False, group="output", flag=True, faces=_CLI,
               why="terminal presentation", help="hide progress bars"),
        Option("skip_install", bool, False, group="output", flag=True, faces=_CLI,
               why="the original AudioToText's command line; accepted and ignored",
               help="accepted for the original AudioToText command line; does nothing"),
        # long audio
        Option("parallel", str, "auto", group="long audio", choices=MODES, faces=_LOCAL, why=long_audio_server,
               help="auto: windows of speech packed across pauses, decoded in batches in this process "
                    "(= batched); off: the engine's own sequential decoding (identical to its CLI); "
                    "processes: a CPU process pool; ray: Ray actors (pip install 'audiototext[ray]')"),
        Option("batch_size", int, None, group="long audio", nullable=True, min=1, max=256, faces=_LOCAL,
               why=server, help="windows decoded together at most (None: 16 on a GPU, 4 per worker on a CPU)"),
        Option("workers", int, None, group="long audio", nullable=True, min=1, faces=_LOCAL, why=server,
               help="decoding threads, processes or Ray actors (None: 1 on a GPU; on a CPU the cores shared "
                    "out, 2 cores -> 2 workers of 1 thread; one Ray actor per GPU)"),
        Option("vad", str, "silero", group="long audio", choices=DETECTORS,
               faces=_LOCAL, why=long_audio_server,
               help="how speech is found: silero voice activity (ignores noise and most music), ffmpeg "
                    "silencedetect (by level), or off (every second is decoded: songs, music)"),
        Option("silence_db", float, None, group="long audio", nullable=True, min=-100.0, max=0.0, faces=_LOCAL,
               why=long_audio_server, help="silencedetect level in dBFS (None: 30 dB below the loud parts)"),
        Option("min_silence", float, 0.16, group="long audio", min=0.0, max=10.0, faces=_LOCAL,
               why=long_audio_server, help="shortest pause between two stretches of speech, in seconds"),
        Option("pause", float, 0.4, group="long audio", min=0.0, max=5.0, faces=_LOCAL, why=long_audio_server,
               help="longest pause kept inside a window, in seconds; longer ones are shortened to this "
                    "(times stay exact)"),
        Option("resume", bool, True, group="long audio", faces=_LOCAL, why="the service always resumes",
               help="checkpoint decoded windows in OUTPUT_DIR/.audiototext/ and resume from them after an "
                    "interruption (removed once the files are written)"),
        Option("ray_address", str, None, group="long audio", nullable=True, faces=_CLI, why=cluster,
               help="Ray cluster to join, e.g. auto or ray://host:10001 (None: start a local Ray)"),
        Option("ray_num_cpus", float, None, group="long audio", nullable=True, min=0.0, min_open=True,
               faces=_CLI, why=cluster, help="CPUs each Ray actor reserves (None: its threads)"),
        Option("ray_num_gpus", float, None, group="long audio", nullable=True, min=0.0, faces=_CLI, why=cluster,
               help="GPUs each Ray actor reserves (None: 1 if the cluster has GPUs)"),
        # DeepL
        Option("deepl_target", str, None, group="deepl", nullable=True, check=_check_target,
               suggestions=_deepl_targets, form_name="deepl_target_language", metavar="LANGUAGE",
               aliases=("--deepl_target_language", "--deepl-target-language"),
               help="translate the lines into this DeepL language, by name or code (EN-GB, de): "
                    + ", ".join(TARGET_NAMES),
               doc="translate the lines into this DeepL target, by name (`\"Portuguese (Brazilian)\"`) or code "
                   "(`EN-GB`, `de`); `English`, `Portuguese` and `Chinese` mean British, European and simplified; "
                   "bare `EN`/`PT` are refused"),
        Option("deepl_api_key", str, None, group="deepl", nullable=True, faces=_LOCAL, why=secret,
               help="DeepL API key (default: $DEEPL_AUTH_KEY)"),
        Option("deepl_formality", str, "default", group="deepl", choices=FORMALITIES,
               help="formality, where the target language has it"),
        Option("deepl_coherence", str, COHERENCE_MODES[0], group="deepl", choices=COHERENCE_MODES,
               form_name="deepl_coherence_preference", metavar="MODE",
               aliases=("--deepl_coherence_preference", "--deepl-coherence-preference"),
               synonyms={"True": COHERENCE_MODES[0], "False": COHERENCE_MODES[1],
                         "context": COHERENCE_MODES[0], "lines": COHERENCE_MODES[1]},
               help="how lines are sent (True: share context; False: each line independently)"),
        Option("deepl_glossary", Path, None, group="deepl", nullable=True, faces=_LOCAL, metavar="CSV",
               why="a file on the user's machine", help="glossary file, one 'source,target' pair per row"),
        Option("deepl_server_url", str, None, group="deepl", nullable=True, faces=_CLI,
               why="testing and self-hosted DeepL: elsewhere set $DEEPL_SERVER_URL",
               help="another DeepL API server (default: $DEEPL_SERVER_URL or DeepL's)"),
        # OpenAI API engine
        Option("api_key", str, None, group="api", nullable=True, faces=_LOCAL, why=secret,
               help=f"OpenAI API key: transcribe with OpenAI's API (engine {API_ENGINE}, model {API_MODEL}) "
                    "instead of a local model"),
    )


#: Every option, in help order.
OPTIONS: tuple[Option, ...] = _registry()
#: Options by name.
REGISTRY: dict[str, Option] = {o.name: o for o in OPTIONS}


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


# --- values -> pipeline Options -------------------------------------------------------------------


def resolve(values: Mapping[str, Any], *, face: str = "cli",
            explicit: Collection[str] | None = None) -> dict[str, Any]:
    """Every option's value: ``values`` parsed and validated, defaults filled in, the rules applied.

    Args:
        values: option name -> value (typed, or a string). None for an option that does not
            allow None means "not given".
        face: who asks; names in messages follow it, and options it does not offer are refused.
        explicit: the names the user chose (default: every key of ``values``). Rules 1 and 4
            change only options the user did not choose; a form, which holds every field, passes
            the fields changed from their defaults.

    Raises:
        OptionsError: an unknown option, a bad value, or options that contradict each other.
    """
    unknown = [k for k in values if k not in REGISTRY]
    if unknown:
        raise OptionsError(f"Unknown option(s) {', '.join(sorted(unknown))}: use "
                           f"{', '.join(o.name for o in for_face(face))}", option=unknown[0])
    hidden = [k for k in values if face not in REGISTRY[k].faces]
    if hidden:
        o = REGISTRY[hidden[0]]
        raise OptionsError(f"{o.name} cannot be set here: {o.why}", option=o.name)
    given = {name: REGISTRY[name].parse(raw, face) for name, raw in values.items()
             if raw is not None or REGISTRY[name].nullable}
    chosen = set(given if explicit is None else explicit) & set(given)
    v = {o.name: given[o.name] if o.name in given else o.default_value(face) for o in OPTIONS}
    for name in ("language", "output_formats"):  # normalised by their checks when given, not as defaults
        if name not in given:
            v[name] = REGISTRY[name].parse(v[name], face)
    _words_rule(v, chosen, face)
    _api_rule(v, chosen)
    _english_rule(v)
    return v


def _words_rule(v: dict[str, Any], chosen: set[str], face: str) -> None:
    wanting = [name for name in LINE_OPTIONS if v[name]]
    if not wanting or v["word_timestamps"]:
        return
    if "word_timestamps" in chosen:
        names = " and ".join(REGISTRY[n].display(face) for n in wanting)
        verb = "needs" if len(wanting) == 1 else "need"
        raise OptionsError(f"{names} {verb} word timestamps, but {REGISTRY['word_timestamps'].display(face)} is set "
                           "to False: drop one or the other", option="word_timestamps")
    log.info("%s need%s word timestamps: turning word_timestamps on", " and ".join(wanting),
             "s" if len(wanting) == 1 else "")
    v["word_timestamps"] = True


def _api_rule(v: dict[str, Any], chosen: set[str]) -> None:
    if v["api_key"] and "engine" not in chosen:
        v["engine"] = API_ENGINE
    if v["engine"] == API_ENGINE and "model" not in chosen:
        v["model"] = API_MODEL


def _english_rule(v: dict[str, Any]) -> None:
    from .languages import resolve_language
    from .models import english_model

    if v["engine"] == API_ENGINE or v["task"] != "transcribe" or v["model"] not in ENGLISH_SIZES:
        return
    if resolve_language(v["language"]) != "en":
        return
    english = english_model(v["model"])
    if english:
        log.info("Using %s for English", english)
        v["model"] = english


def deepl_options(values: Mapping[str, Any]) -> DeepLOptions | None:
    """The DeepL options of resolved values (see :func:`resolve`); None when no target is set.

    Raises:
        OptionsError: an unknown target, formality or coherence mode, or a bad glossary file.
    """
    if not values.get("deepl_target"):
        return None
    from .translation import DeepLOptions

    return DeepLOptions(target=values["deepl_target"], auth_key=values.get("deepl_api_key"),
                        formality=values.get("deepl_formality", "default"),
                        coherence=values.get("deepl_coherence", REGISTRY["deepl_coherence"].default),
                        glossary=values.get("deepl_glossary"), server_url=values.get("deepl_server_url"))


def long_audio_options(values: Mapping[str, Any]) -> ParallelOptions:
    """The long-audio options of resolved values (see :func:`resolve`), in one place."""
    from .longaudio import ParallelOptions, RaySettings, SpeechOptions

    speech = SpeechOptions(vad=values["vad"], noise_db=values["silence_db"], min_silence=values["min_silence"],
                           pause=values["pause"])
    ray = RaySettings(address=values["ray_address"], num_cpus=values["ray_num_cpus"], num_gpus=values["ray_num_gpus"])
    return ParallelOptions(mode=values["parallel"], batch_size=values["batch_size"], workers=values["workers"],
                           ray=ray, checkpoints=values["resume"], speech=speech)


def to_options(v: Mapping[str, Any]) -> Options:
    """Resolved values (see :func:`resolve`) as the pipeline's :class:`~audiototext.pipeline.Options`."""
    from .engines import DecodeOptions
    from .pipeline import Options
    from .subtitles import WriterOptions

    decode = DecodeOptions(
        task=v["task"], language=v["language"], initial_prompt=v["initial_prompt"],
        condition_on_previous_text=v["condition_on_previous_text"], temperature=v["temperature"],
        temperature_increment_on_fallback=v["temperature_increment_on_fallback"], beam_size=v["beam_size"],
        best_of=v["best_of"], patience=v["patience"], length_penalty=v["length_penalty"],
        suppress_tokens=v["suppress_tokens"], compression_ratio_threshold=v["compression_ratio_threshold"],
        logprob_threshold=v["logprob_threshold"], no_speech_threshold=v["no_speech_threshold"],
        word_timestamps=v["word_timestamps"])
    writer = WriterOptions(max_line_width=v["max_line_width"], max_line_count=v["max_line_count"],
                           highlight_words=v["highlight_words"], max_words_per_line=v["max_words_per_line"])
    return Options(model=v["model"], engine=v["engine"], device=v["device"], threads=v["threads"], decode=decode,
                   output_dir=Path(v["output_dir"]), formats=tuple(v["output_formats"]), writer=writer,
                   deepl=deepl_options(v), progress=not (v["quiet"] or v["no_progress"]),
                   parallel=long_audio_options(v), api_key=v["api_key"])


def build(values: Mapping[str, Any], *, face: str = "cli", explicit: Collection[str] | None = None) -> Options:
    """Option values (typed, or strings) as pipeline Options, checked before any model loads.

    Example::

        build({"model": "small", "language": "Spanish", "max_line_width": "42"})
        # word_timestamps is turned on (logged); temperature="5" would raise OptionsError

    Raises:
        OptionsError: see :func:`resolve`.
    """
    return to_options(resolve(values, face=face, explicit=explicit))


# --- the notebook ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormField:
    """One notebook form field.

    Attributes:
        name: the field's name in the form (AudioToText's: ``use_model``, ``prompt``...).
        option: the registry option it sets.
        type: str, int, float, bool or Path.
        default: the form's default value (a dropdown label where the option has labels).
        choices: the dropdown's entries (empty: a free text or number field).
        free: the value may also be typed (a combobox: model paths, format lists).
        minimum, maximum: numeric range; for whole numbers that allow None, 0 means "not set".
        help: one line of help.
        group: a key of :data:`GROUPS`.
    """

    name: str
    option: str
    type: type
    default: Any
    choices: tuple
    free: bool
    minimum: float | None
    maximum: float | None
    help: str
    group: str


def form_fields() -> list[FormField]:
    """The notebook's fields, in form order, one per option the notebook offers."""
    fields = []
    for o in for_face("notebook"):
        default = o.default_value("notebook")
        if o.labels:
            default = next((label for label, value in o.labels.items() if value == default), default)
        if o.type is int and o.nullable and default is None:
            default = 0
        elif default is None or isinstance(default, Path):
            default = "" if default is None else str(default)
        fields.append(FormField(o.form, o.name, o.type, default, o.dropdown(),
                                free=not (o.choices or o.labels), minimum=o.min, maximum=o.max,
                                help=o.help, group=o.group))
    return fields


def dropdown(name: str) -> tuple:
    """A dropdown's entries, by option or form name (``dropdown("task")``: Transcribe, Translate...)."""
    return option(name).dropdown()


def options_from_form(form: Mapping[str, Any]) -> Options:
    """The notebook's form values (field name -> value, as the form holds them) as pipeline Options.

    A form holds every field, so a value equal to the form's default counts as not chosen (for
    rules 1 and 4). For whole numbers that allow None, 0 means "not set"; empty text means None.

    Raises:
        OptionsError: an unknown field or a bad value, named as the form names it.
    """
    values, explicit = form_values(form)
    return build(values, face="notebook", explicit=explicit)


def deepl_from_form(form: Mapping[str, Any]) -> DeepLOptions | None:
    """The notebook's DeepL step (its own form, run after transcribing) as DeepL options.

    Returns None when no target language is chosen.

    Raises:
        OptionsError: a bad target, formality, coherence mode or glossary, named as the form names it.
    """
    values, explicit = form_values(form)
    return deepl_options(resolve(values, face="notebook", explicit=explicit))


def form_values(form: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Form field values as option values, and the names the user changed from the form's defaults."""
    defaults = {f.name: f.default for f in form_fields()}
    values, explicit = {}, set()
    for name, raw in form.items():
        o = option(name)
        if name not in defaults or raw != defaults[name]:
            explicit.add(o.name)
        if o.type is int and o.nullable and (raw == 0 or raw == "0"):
            raw = None
        values[o.name] = raw
    return values, explicit


# --- the HTTP service -----------------------------------------------------------------------------


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
        rows.append(QueryParameter(o.name, str if o.type is Path else o.type, o.default_value("service"),
                                   description, None if o.min_open else o.min, o.min if o.min_open else None,
                                   o.max, tuple(o.choices), o.nullable))
    return rows


def options_from_query(params: Mapping[str, Any]) -> Options:
    """A request's query parameters (None: not given) as pipeline Options.

    The service then fixes what is its own: ``dataclasses.replace(options, output_dir=...,
    device=..., threads=..., parallel=..., progress=False)``.

    Raises:
        OptionsError: a bad value, or an option the service does not offer (see :data:`OPTIONS`).
    """
    return build({k: v for k, v in params.items() if v is not None}, face="service")


# --- documentation -------------------------------------------------------------------------------


def markdown_table(face: str = "cli") -> str:
    """The option tables (one per group) for README.md, generated from the registry."""
    lines = []
    for group, title in GROUPS.items():
        rows = [o for o in for_face(face) if o.group == group]
        if not rows:
            continue
        lines += [f"**{title}**", "", "| flag | default | meaning |", "|---|---|---|"]
        for o in rows:
            names = ", ".join(f"`{f}`" for f in o.flags) if face == "cli" else f"`{o.display(face)}`"
            lines.append(f"| {names} | {_default_cell(o, face)} | {_meaning(o)} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _default_cell(o: Option, face: str) -> str:
    if o.default_text:
        return o.default_text
    value = o.default_value(face)
    if o.flag or value is None:
        return ""
    return f"`{value}`"


def _meaning(o: Option) -> str:
    text = o.doc or o.help
    if o.choices and len(o.choices) <= 6:
        text += "; one of " + ", ".join(f"`{c}`" for c in o.choices)
    if o.range_text():
        text += f"; {o.range_text()}"
    return text.replace("|", "\\|")


__all__ = ["FACES", "GROUPS", "API_ENGINE", "API_MODEL", "LINE_OPTIONS", "Option", "OPTIONS", "REGISTRY",
           "default_engine", "option", "for_face", "resolve", "build", "to_options", "deepl_options",
           "long_audio_options", "FormField", "form_fields", "form_values", "dropdown", "options_from_form",
           "deepl_from_form",
           "QueryParameter", "query_parameters", "options_from_query", "markdown_table"]


if __name__ == "__main__":  # pragma: no cover - python -m audiototext.options prints the README tables
    print(markdown_table())

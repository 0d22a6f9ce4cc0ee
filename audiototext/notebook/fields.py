"""The notebook's form: which fields each step shows, their choices and help, and form values ->
pipeline options through the one options registry (:mod:`audiototext.options`).

Pure: no IPython, no ``google.colab``, no model; its tests run in milliseconds. Option parsing
and the rules between options (line-width options turn word timestamps on, English uses the
``.en`` model, an ``api_key`` selects the OpenAI API engine, ranges) live in the registry; this
module only says which of its fields each notebook step shows, adds the two fields that are the
notebook's own (``audio_file``, ``save_formats``, ``from_json``, ``burn_subtitles``), and maps Google
Drive paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from collections.abc import Mapping

from .. import options as registry
from ..errors import OptionsError
from ..formats import FORMATS
from ..options import FormField
from .install import CONSTRAINTS_FILE, REPOSITORY_URL

#: The project's repository (:mod:`.install`): the badges, and the install when Colab names none.
#: ``python3 scripts/set_repository.py https://github.com/<owner>/<repo>`` changes it everywhere.
NOTEBOOK_FILE = "AudioToText.ipynb"
COLAB_URL = (
    REPOSITORY_URL.replace("https://github.com/", "https://colab.research.google.com/github/", 1)
    + f"/blob/main/{NOTEBOOK_FILE}"
)

#: Where the notebook writes unless ``output_dir`` says otherwise, as AudioToText did.
OUTPUT_DIR = str(registry.option("output_dir").default_value("notebook"))
#: Where Colab mounts Google Drive. Tests point it at a temporary folder.
DRIVE_MOUNT = "/content/drive"
#: ``audio_file`` value that records the microphone instead (Colab).
MICROPHONE = "microphone"
#: Colab secrets (the key icon in the left bar) read when the key fields are empty.
DEEPL_SECRET = "DEEPL_AUTH_KEY"
OPENAI_SECRET = "OPENAI_API_KEY"

#: Transcribe fields the widget form shows under "Advanced" (the form cell shows them last).
ADVANCED = (
    "vad",
    "parallel",
    "audio_track",
    "beam_size",
    "best_of",
    "temperature",
    "word_timestamps",
    "highlight_words",
    "max_line_width",
    "max_line_count",
    "max_words_per_line",
)

#: The fields each step's form cell shows, in order. Every other option keeps its default.
STEPS: dict[str, tuple[str, ...]] = {
    "input": ("audio_file",),
    "transcribe": (
        "task",
        "use_model",
        "language",
        "prompt",
        "coherence_preference",
        "engine",
        "api_key",
        "output_formats",
        "output_dir",
        *ADVANCED,
    ),
    "translate": (
        "deepl_api_key",
        "deepl_target_language",
        "deepl_formality",
        "deepl_coherence_preference",
        "deepl_glossary",
    ),
    "save": ("save_formats", "from_json"),
    "results": ("burn_subtitles",),
}

#: What the form says about coherence: prompting each window with the previous window's text raised
#: WER by about 2 points (measured on Spanish and English recordings), so windows are decoded
#: independently and the preference is honoured by sequential decoding only.
COHERENCE_HELP = (
    "More coherence decodes the recording sequentially (parallel = off, slower), each 30 s window "
    "prompted with the text before it; Less repetitions (the default) decodes windows of speech "
    "independently, which measured about 2 WER points better (Spanish and English)"
)

#: Notebook wording where the registry's one-line help needs the notebook's context.
NOTES: dict[str, str] = {
    "audio_file": "empty: upload files; or file names separated by commas, an http(s) link, a Google Drive "
    f"path (MyDrive/talk.mp4), or {MICROPHONE} to record (Colab)",
    "coherence_preference": COHERENCE_HELP,
    "output_dir": "folder for the files; a Google Drive folder (MyDrive/subtitles) keeps every file and "
    "checkpoint through a disconnect, and running the step again resumes",
    "api_key": f"OpenAI API key for engine openai-api (better: the Colab secret {OPENAI_SECRET}); never printed",
    "deepl_api_key": f"DeepL API key (better: the Colab secret {DEEPL_SECRET}); never printed",
    "deepl_target_language": "with a key, the step reads DeepL's current list: a language added since can be typed in",
    "audio_track": "which audio track of a file with several (1: the first, as players number them); 0: the "
    "track the file flags default, else the first that is not silent",
    "vad": "silero: speech only (noise and most music skipped); silencedetect: by level; off: every second is "
    "decoded (songs, music)",
    "save_formats": "more formats to write from the transcription kept in memory (and its DeepL translations), "
    f"without transcribing again: {', '.join(FORMATS)} or all; empty: nothing more",
    "from_json": "instead, .json files written before (comma-separated; MyDrive/subtitles/talk.json works): "
    "write save_formats from them, e.g. after a reconnect",
    "burn_subtitles": "also write <name>_subtitled.mp4 with the subtitles burned into the picture (the DeepL "
    "translation when there is one); a plain background for audio",
}


def _save_presets() -> tuple[str, ...]:
    from ..formats import OUTPUT_PRESETS

    return ("", *OUTPUT_PRESETS)


_OWN_FIELDS = (
    FormField("audio_file", "", str, "", (), True, None, None, NOTES["audio_file"], "input"),
    FormField("save_formats", "", str, "", _save_presets(), True, None, None, NOTES["save_formats"], "output"),
    FormField("from_json", "", str, "", (), True, None, None, NOTES["from_json"], "output"),
    FormField("burn_subtitles", "", bool, False, (), True, None, None, NOTES["burn_subtitles"], "output"),
)


def all_fields() -> dict[str, FormField]:
    """Every field the notebook shows, by name, in step order (registry fields plus the notebook's own)."""
    known = {f.name: f for f in (*registry.form_fields(), *_OWN_FIELDS)}
    return {name: known[name] for step in STEPS.values() for name in step}


def defaults() -> dict[str, Any]:
    """Every field's default value, in step order."""
    return {name: f.default for name, f in all_fields().items()}


def option_defaults() -> dict[str, Any]:
    """``audio_file`` and every option the steps accept, by form name, with the form's defaults: the
    form cells show :data:`STEPS`; ``transcribe`` and ``translate`` also take the others
    (``device``, ``threads``, ``patience``...) as keyword arguments."""
    return {"audio_file": "", **{f.name: f.default for f in registry.form_fields()}}


def choices(name: str) -> tuple:
    """A field's dropdown entries (empty for free text)."""
    return tuple(all_fields()[name].choices)


def help_text(name: str) -> str:
    """A field's help: the registry's line, or the notebook's wording where it needs more."""
    return NOTES.get(name) or all_fields()[name].help


def parse_audio_files(audio_file: str) -> list[str]:
    """ "a.mp3, b.wav" -> ["a.mp3", "b.wav"]; quotes around a name are dropped; empty -> []."""
    items = (item.strip().strip("\"'").strip() for item in str(audio_file or "").split(","))
    return [item for item in items if item]


def drive_path(path: str | Path) -> str:
    """A Google Drive path as Colab mounts it: "MyDrive/a.mp3" -> "/content/drive/MyDrive/a.mp3"."""
    text = str(path)
    for prefix in ("MyDrive", "Shareddrives"):
        for short in (prefix, "drive/" + prefix, "/content/drive/" + prefix):
            if text == short or text.startswith(short + "/"):
                return f"{DRIVE_MOUNT}/{prefix}{text[len(short) :]}"
    return text


def on_drive(path: str | Path) -> bool:
    """Whether ``path`` (already mapped by :func:`drive_path`) lies on Google Drive."""
    text = str(path)
    return text == DRIVE_MOUNT or text.startswith(DRIVE_MOUNT + "/")


def check_fields(given: Mapping[str, Any], step: str) -> None:
    """Refuse fields that ``step`` does not have, naming the ones it has."""
    allowed = STEPS[step] if step != "transcribe" else transcribe_fields()
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise OptionsError(
            f"Unknown field(s) {', '.join(unknown)} for the {step} step: use {', '.join(allowed)}", option=unknown[0]
        )


def transcribe_fields() -> tuple[str, ...]:
    """What the Transcribe step accepts: its form's fields and every other option the notebook offers
    (``device``, ``threads``, ``patience``...), but not DeepL's: they are the DeepL step's."""
    shown = STEPS["transcribe"]
    others = [f.name for f in registry.form_fields() if f.group != "deepl" and f.name not in shown]
    return (*shown, *others)


def _mapped(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drive paths in the path fields mapped to where Colab mounts Drive."""
    out = dict(values)
    for name in ("output_dir", "deepl_glossary"):
        if out.get(name):
            out[name] = drive_path(out[name])
    return out


def transcribe_options(values: Mapping[str, Any]):
    """The Transcribe step's fields as pipeline :class:`~audiototext.options.Options` (registry rules applied).

    Raises:
        OptionsError: an unknown field or a bad value, named as the form names it.
    """
    check_fields(values, "transcribe")
    return registry.options_from_form(_mapped(values))


def deepl_options(values: Mapping[str, Any]):
    """The DeepL step's fields as :class:`~audiototext.translation.DeepLOptions`; None without a target.

    Raises:
        OptionsError: an unknown field, target, formality or coherence mode, or a bad glossary file.
    """
    check_fields(values, "translate")
    return registry.deepl_from_form(_mapped(values))


def drive_paths(values: Mapping[str, Any]) -> list[str]:
    """The Drive paths among the path fields (mapped), so the step can mount Drive first."""
    return [p for p in _mapped(values).values() if isinstance(p, str) and on_drive(p)]


def param_line(name: str, value: Any | None = None) -> str:
    """The notebook's ``# @param`` line for a field (Colab's form syntax), with its current value."""
    import json

    field = all_fields()[name]
    value = field.default if value is None else value
    listed = choices(name)
    if listed:
        spec = json.dumps(list(listed), ensure_ascii=False) + (" {allow-input: true}" if field.free else "")
    elif field.type is bool:
        spec = '{type:"boolean"}'
    elif field.type is int:
        spec = '{type:"integer"}'
    elif field.type is float and field.minimum is not None and field.maximum is not None:
        spec = f'{{type:"slider", min:{field.minimum:g}, max:{field.maximum:g}, step:0.1}}'
    elif field.type is float:
        spec = '{type:"number"}'
    else:
        spec = '{type:"string"}'
    return f"{name} = {_literal(value)}  # @param {spec}"


def _literal(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


#: The Setup cell's field: where audiototext is installed from (:mod:`.install`).
INSTALL_FIELD = 'install_from = ""  # @param {type:"string"}'
_INSTALL_COPY = "# --- a copy of audiototext/notebook/install.py: it runs before audiototext is installed ---"


def setup_cell() -> str:
    """Step 1's cell: the ``install_from`` field, a copy of :mod:`.install` (audiototext is not
    installed yet when it runs), the install, then :func:`~audiototext.notebook.setup`."""
    installer = (Path(__file__).parent / "install.py").read_text(encoding="utf-8").rstrip("\n")
    return "\n".join(
        [
            '#@title Step 1 ⚙️ Install audiototext and check the machine { display-mode: "form" }',
            "#@markdown `install_from`: empty installs from the GitHub repository Colab opened this notebook "
            f"from (else the configured {REPOSITORY_URL}, which must be where the project is published); "
            "or a repository (`you/audiototext@branch`), a wheel or sdist "
            "(a link or a path), or `upload` to upload one.",
            INSTALL_FIELD,
            _INSTALL_COPY,
            installer,
            "# --- end of the copy ---",
            "install(install_from)",
            "from audiototext import notebook",
            "notebook.setup()",
        ]
    )


__all__ = [
    "REPOSITORY_URL",
    "NOTEBOOK_FILE",
    "COLAB_URL",
    "CONSTRAINTS_FILE",
    "OUTPUT_DIR",
    "DRIVE_MOUNT",
    "MICROPHONE",
    "DEEPL_SECRET",
    "OPENAI_SECRET",
    "STEPS",
    "COHERENCE_HELP",
    "NOTES",
    "all_fields",
    "defaults",
    "option_defaults",
    "choices",
    "help_text",
    "parse_audio_files",
    "drive_path",
    "on_drive",
    "check_fields",
    "transcribe_fields",
    "transcribe_options",
    "deepl_options",
    "drive_paths",
    "param_line",
    "INSTALL_FIELD",
    "setup_cell",
]

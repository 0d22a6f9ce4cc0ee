"""Colab and Jupyter glue for ``AudioToText.ipynb``: form strings -> options, inputs, progress, results.

The notebook holds no logic (../shared/STYLE.md, convention 14): its form cells only assign
``name = value  # @param ...`` and each following cell makes one call into this module, so the
notebook, the CLI and the service all run the same :class:`~audiototext.pipeline.Pipeline`.
Field names and choices are AudioToText's (``task``, ``audio_file``, ``use_model``, ``language``,
``prompt``, ``coherence_preference``, ``output_formats``, ``deepl_*``); the dropdown lists below
come from the library's own lists, and a test checks that the notebook's equal them.

This is the only module that touches IPython, ``google.colab`` and ``ipywidgets``; each is
imported inside the function that needs it, so the module imports (and its parsing is tested)
without any of them. It prints, as front ends do; the library itself only logs.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from . import __version__
from .engines import DEFAULT_ENGINE, ENGINES, DecodeOptions
from .errors import AudioToTextError, MediaError, OptionsError, TranslationError
from .languages import LANGUAGE_NAMES, language_name, resolve_language
from .models import MODELS
from .pipeline import Callbacks, FileResult, Options, Pipeline, translate_result
from .subtitles import OUTPUT_PRESETS, WriterOptions, format_timestamp, parse_formats
from .translation import COHERENCE_MODES, FORMALITIES, TARGET_NAMES, DeepLOptions, resolve_target

log = logging.getLogger(__name__)

#: The project's repository: the notebook's "Open in Colab" badge and its install line use it.
#: Change it here, in AudioToText.ipynb and in README.md (a test checks the notebook's copy).
REPOSITORY_URL = "https://github.com/audiototext/audiototext"
NOTEBOOK_FILE = "AudioToText.ipynb"
COLAB_URL = REPOSITORY_URL.replace("https://github.com/", "https://colab.research.google.com/github/", 1) \
    + f"/blob/main/{NOTEBOOK_FILE}"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"

#: Where the notebook writes, as AudioToText did.
OUTPUT_DIR = "audio_transcription"

# --- the form's choices: every list is the library's own --------------------------------------

TASKS: dict[str, str] = {"Transcribe": "transcribe", "Translate to English": "translate"}
AUTO_DETECT = "Auto-Detect"
LANGUAGE_CHOICES: tuple[str, ...] = (AUTO_DETECT, *LANGUAGE_NAMES)
MODEL_CHOICES: tuple[str, ...] = MODELS
#: AudioToText's wording for Whisper's ``condition_on_previous_text`` True / False.
COHERENCE_PREFERENCES: dict[str, bool] = {
    "More coherence, but may repeat text": True,
    "Less repetitions, but may have less coherence": False,
}
ENGINE_CHOICES: tuple[str, ...] = tuple(ENGINES)
OUTPUT_FORMAT_CHOICES: tuple[str, ...] = OUTPUT_PRESETS
#: The empty target means "do not translate with DeepL".
NO_TRANSLATION = ""
DEEPL_TARGET_CHOICES: tuple[str, ...] = (NO_TRANSLATION, *TARGET_NAMES)
DEEPL_FORMALITY_CHOICES: tuple[str, ...] = FORMALITIES
DEEPL_COHERENCE_CHOICES: tuple[str, ...] = COHERENCE_MODES
#: Colab secret (key icon in the left bar) read when ``deepl_api_key`` is empty.
DEEPL_SECRET = "DEEPL_AUTH_KEY"
#: ``audio_file`` value that records the microphone instead (Colab).
MICROPHONE = "microphone"
RECORDING_FILE = "recording.wav"
DRIVE_MOUNT = "/content/drive"

#: Every form field with its default, in the notebook's order.
DEFAULTS: dict[str, object] = {
    "audio_file": "",
    "task": "Transcribe",
    "use_model": "large-v3",
    "language": AUTO_DETECT,
    "prompt": "",
    "coherence_preference": next(iter(COHERENCE_PREFERENCES)),
    "engine": DEFAULT_ENGINE,
    "output_formats": OUTPUT_PRESETS[0],
    "beam_size": 5,
    "best_of": 5,
    "temperature": 0.0,
    "word_timestamps": False,
    "highlight_words": False,
    "max_line_width": 0,
    "max_line_count": 0,
    "deepl_api_key": "",
    "deepl_target_language": NO_TRANSLATION,
    "deepl_formality": FORMALITIES[0],
    "deepl_coherence_preference": COHERENCE_MODES[0],
}
TRANSCRIBE_FIELDS = ("task", "use_model", "language", "prompt", "coherence_preference", "engine",
                     "output_formats", "beam_size", "best_of", "temperature", "word_timestamps",
                     "highlight_words", "max_line_width", "max_line_count")
DEEPL_FIELDS = ("deepl_api_key", "deepl_target_language", "deepl_formality", "deepl_coherence_preference")

SUBTITLE_PREVIEW_LINES = 24


class NotebookError(AudioToTextError):
    """A step could not go on. IPython shows only its message, not a traceback wall."""

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of formatting the traceback (IPython's InteractiveShell.showtraceback).
        return [f"\x1b[1;31m❌ {self.message}\x1b[0m"]


# --- where we run --------------------------------------------------------------------------------


def in_colab() -> bool:
    """True inside a Google Colab runtime (which imports ``google.colab`` at start)."""
    return "google.colab" in sys.modules


def in_jupyter() -> bool:
    """True inside an IPython kernel (Jupyter, JupyterLab, VS Code, Colab)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def environment() -> str:
    """ "colab", "jupyter" or "python"."""
    return "colab" if in_colab() else "jupyter" if in_jupyter() else "python"


# --- form strings -> typed options (pure) -------------------------------------------------------


def parse_task(task: str) -> str:
    """ "Transcribe" -> "transcribe", "Translate to English" -> "translate"."""
    value = str(task).strip()
    if value in TASKS:
        return TASKS[value]
    if value.lower() in TASKS.values():
        return value.lower()
    raise OptionsError(f"Unknown task {task!r}: choose " + " or ".join(f'"{t}"' for t in TASKS),
                       option="task", value=task)


def parse_language(language: str | None) -> str | None:
    """ "Auto-Detect" (or empty) -> None; "Spanish" -> "es"."""
    return resolve_language(language)


def parse_coherence(preference: str | bool) -> bool:
    """AudioToText's coherence preference -> Whisper's ``condition_on_previous_text``."""
    if isinstance(preference, bool):
        return preference
    for label, value in COHERENCE_PREFERENCES.items():
        if str(preference).strip().lower() == label.lower():
            return value
    raise OptionsError(f"Unknown coherence_preference {preference!r}: choose "
                       + " or ".join(f'"{p}"' for p in COHERENCE_PREFERENCES),
                       option="coherence_preference", value=preference)


def parse_audio_files(audio_file: str) -> list[str]:
    """ "a.mp3, b.wav" -> ["a.mp3", "b.wav"]; quotes around a name are dropped; empty -> []."""
    items = (item.strip().strip("\"'").strip() for item in str(audio_file).split(","))
    return [item for item in items if item]


def drive_path(path: str) -> str:
    """A Google Drive path as Colab mounts it: "MyDrive/a.mp3" -> "/content/drive/MyDrive/a.mp3"."""
    for prefix in ("MyDrive/", "Shareddrives/"):
        for short in (prefix, "drive/" + prefix):
            if path.startswith(short):
                return f"{DRIVE_MOUNT}/{prefix}{path[len(short):]}"
    return path


def needs_drive(paths: Sequence[str]) -> bool:
    """Whether any path is on Google Drive and Drive is not mounted yet."""
    on_drive = any(p == DRIVE_MOUNT or p.startswith(DRIVE_MOUNT + "/") for p in paths)
    return on_drive and not Path(DRIVE_MOUNT, "MyDrive").is_dir()


def _whole(name: str, value, *, minimum: int) -> int | None:
    """A number field where 0 (or empty) means "not set"."""
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise OptionsError(f"{name} must be a whole number, not {value!r}", option=name, value=value) from None
    if number == 0:
        return None
    if number < minimum:
        raise OptionsError(f"{name} must be at least {minimum} (or 0 for the default)", option=name, value=value)
    return number


def decode_options(*, task: str = "Transcribe", language: str | None = AUTO_DETECT, prompt: str = "",
                   coherence_preference: str | bool = DEFAULTS["coherence_preference"],
                   beam_size=5, best_of=5, temperature=0.0, word_timestamps: bool = False) -> DecodeOptions:
    """The Transcribe form's strings as :class:`DecodeOptions` (``beam_size`` 0: greedy)."""
    try:
        temperature = float(temperature or 0.0)
    except (TypeError, ValueError):
        raise OptionsError(f"temperature must be a number, not {temperature!r}", option="temperature") from None
    return DecodeOptions(
        task=parse_task(task),
        language=parse_language(language),
        initial_prompt=str(prompt).strip() or None,
        condition_on_previous_text=parse_coherence(coherence_preference),
        temperature=temperature,
        beam_size=_whole("beam_size", beam_size, minimum=1),
        best_of=_whole("best_of", best_of, minimum=1),
        word_timestamps=bool(word_timestamps),
    )


def transcribe_options(*, task: str = "Transcribe", use_model: str = DEFAULTS["use_model"],
                       language: str | None = AUTO_DETECT, prompt: str = "",
                       coherence_preference: str | bool = DEFAULTS["coherence_preference"],
                       engine: str = DEFAULT_ENGINE, output_formats: str = OUTPUT_PRESETS[0],
                       beam_size=5, best_of=5, temperature=0.0, word_timestamps: bool = False,
                       highlight_words: bool = False, max_line_width=0, max_line_count=0,
                       output_dir: str | Path = OUTPUT_DIR, device: str | None = None) -> Options:
    """The Transcribe form as pipeline :class:`Options`.

    ``highlight_words``, ``max_line_width`` and ``max_line_count`` need word timestamps, so they
    turn ``word_timestamps`` on (and say so) instead of failing as the CLI does.

    Raises:
        OptionsError: a value the library does not accept; the message lists the valid ones.
    """
    from .engines import engine_class
    from .models import resolve as resolve_model

    resolve_model(str(use_model).strip())  # an unknown model fails here, not after the upload
    engine_class(engine)
    writer = WriterOptions(max_line_width=_whole("max_line_width", max_line_width, minimum=1),
                           max_line_count=_whole("max_line_count", max_line_count, minimum=1),
                           highlight_words=bool(highlight_words))
    wants_words = writer.highlight_words or writer.max_line_width or writer.max_line_count
    if wants_words and not word_timestamps:
        log.info("highlight_words / max_line_width / max_line_count need word timestamps: turning "
                 "word_timestamps on")
        word_timestamps = True
    decode = decode_options(task=task, language=language, prompt=prompt,
                            coherence_preference=coherence_preference, beam_size=beam_size,
                            best_of=best_of, temperature=temperature, word_timestamps=word_timestamps)
    return Options(model=str(use_model).strip(), engine=engine, device=device, decode=decode,
                   output_dir=Path(output_dir), formats=parse_formats(output_formats), writer=writer,
                   progress=True)


def deepl_options(*, deepl_target_language: str = NO_TRANSLATION, deepl_api_key: str = "",
                  deepl_formality: str = FORMALITIES[0],
                  deepl_coherence_preference: str = COHERENCE_MODES[0]) -> DeepLOptions | None:
    """The DeepL form as :class:`DeepLOptions`; None when no target language is chosen.

    The key is ``deepl_api_key``, else the Colab secret ``DEEPL_AUTH_KEY``, else the environment
    variable ``DEEPL_AUTH_KEY`` (read by :class:`DeepLOptions`). It is never printed.
    """
    target = str(deepl_target_language or "").strip()
    if not target:
        return None
    resolve_target(target)
    key = str(deepl_api_key or "").strip() or colab_secret(DEEPL_SECRET)
    return DeepLOptions(target=target, auth_key=key or None, formality=deepl_formality,
                        coherence=deepl_coherence_preference)


def colab_secret(name: str) -> str | None:
    """A Colab secret's value, or None outside Colab or when it is missing or not shared."""
    if not in_colab():
        return None
    try:
        from google.colab import userdata
    except ImportError:
        return None
    try:
        return userdata.get(name) or None
    except Exception as e:  # noqa: BLE001 - SecretNotFoundError, NotebookAccessError, TimeoutException
        log.info("Colab secret %s is not available (%s)", name, type(e).__name__)
        return None


# --- printing -----------------------------------------------------------------------------------


class _PrintHandler(logging.Handler):
    """The library's log lines, printed in the cell's output (around any live progress bar)."""

    marks = {logging.WARNING: "⚠️ ", logging.ERROR: "❌ ", logging.CRITICAL: "❌ "}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _write(self.marks.get(record.levelno, "") + self.format(record))
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def _write(line: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(line, file=sys.stdout)


def setup_logging() -> None:
    """Print the library's INFO lines (detected language, files written...) in the notebook."""
    root = logging.getLogger("audiototext")
    if not any(isinstance(h, _PrintHandler) for h in root.handlers):
        handler = _PrintHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def _print_segment(segment) -> None:
    _write(f"[{format_timestamp(segment.start)} --> {format_timestamp(segment.end)}] {segment.text.strip()}")


def _show(html_text: str, plain: str) -> None:
    if in_jupyter():
        from IPython.display import HTML, display

        display(HTML(html_text))
    else:
        print(plain)


def _stop(error: AudioToTextError) -> NotebookError:
    """The error to raise from a notebook step: the same message, shown without a traceback."""
    return NotebookError(str(error), cause=type(error).__name__)


# --- step 1: setup ------------------------------------------------------------------------------


def gpu_names() -> list[str]:
    """GPU names as ``nvidia-smi -L`` lists them; empty without an NVIDIA GPU."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        log.info("nvidia-smi -L failed (%s): no GPU in use", e)
        return []
    return [re.sub(r"\s*\(UUID:.*\)$", "", line.strip()) for line in out.splitlines() if line.strip()]


def setup() -> None:
    """Check the machine: audiototext's version, ffmpeg, and the GPU (or a warning for the CPU)."""
    from . import media

    setup_logging()
    print(f"audiototext {__version__} ({environment()}), Python {sys.version.split()[0]}")
    try:
        media.require_ffmpeg()
    except MediaError as e:
        raise _stop(e) from e
    gpus = gpu_names()
    if gpus:
        for name in gpus:
            print(f"✅ {name}")
    else:
        _show("<p>⚠️ <b>No GPU</b>: transcription runs on the CPU and is much slower. In Colab choose "
              "<i>Runtime › Change runtime type › T4 GPU</i>. On a CPU prefer <code>use_model</code> "
              "tiny, base or small.</p>",
              "⚠️ No GPU: transcription runs on the CPU and is much slower. In Colab choose "
              "Runtime > Change runtime type > T4 GPU. On a CPU prefer use_model tiny, base or small.")


# --- step 2: input ------------------------------------------------------------------------------


@dataclass
class Inputs:
    """The media chosen in the Input step.

    Attributes:
        sources: paths or http(s) links, as the pipeline takes them.
        upload: an ``ipywidgets.FileUpload`` whose files are saved when the next step runs
            (plain Jupyter, where a cell cannot wait for an upload), or None.
        upload_dir: where uploaded files are saved.
    """

    sources: list[str] = field(default_factory=list)
    upload: object | None = None
    upload_dir: Path = Path(".")

    def resolve(self) -> list[str]:
        """The sources, saving the upload box's files first.

        Raises:
            OptionsError: nothing was chosen or uploaded yet.
        """
        if self.upload is not None:
            saved = save_uploads(self.upload, self.upload_dir)
            if saved:
                return saved
            if not self.sources:
                raise OptionsError("No file uploaded yet: choose files with the Upload button above "
                                   "(or set audio_file), then run this step again")
        if not self.sources:
            raise OptionsError("No audio_file given: set audio_file to a file name, a link or a Drive "
                               "path, or leave it empty and upload files")
        return list(self.sources)


def _upload_items(value) -> list[tuple[str, bytes]]:
    # ipywidgets 8: a tuple of {"name", "content": memoryview, ...}; ipywidgets 7: {name: {"content"}}.
    if isinstance(value, dict):
        return [(name, bytes(item["content"])) for name, item in value.items()]
    return [(item["name"], bytes(item["content"])) for item in value or ()]


def save_uploads(upload, directory: str | Path = ".") -> list[str]:
    """Write the files of an ``ipywidgets.FileUpload`` into ``directory``; returns their paths."""
    directory = Path(directory)
    paths = []
    for name, content in _upload_items(getattr(upload, "value", upload)):
        safe = os.path.basename(name.replace("\\", "/")).lstrip(".") or "upload"
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / safe
        target.write_bytes(content)
        log.info("Saved upload %s (%s)", target, human_size(len(content)))
        paths.append(str(target))
    return paths


def choose_input(audio_file: str = "", *, upload_dir: str | Path = ".") -> Inputs:
    """Step 2: what to transcribe.

    Args:
        audio_file: empty to upload files (Colab's upload dialog, or an upload box in Jupyter);
            a path, several separated by commas, an http(s) link, a Google Drive path
            ("MyDrive/talk.mp4", Drive is mounted when needed) or "microphone" to record (Colab).
        upload_dir: where uploaded files are saved.

    Raises:
        NotebookError: a local file does not exist, or the way chosen is not available here.
    """
    setup_logging()
    value = str(audio_file or "").strip()
    try:
        if value.lower() == MICROPHONE:
            return Inputs([record()])
        if not value:
            return _upload(Path(upload_dir))
        sources = [drive_path(p) for p in parse_audio_files(value)]
        if needs_drive(sources):
            mount_drive()
        _check_local(sources)
    except AudioToTextError as e:
        raise _stop(e) from e
    for source in sources:
        print(f"🎧 {source}" + (f" ({human_size(Path(source).stat().st_size)})" if Path(source).is_file() else ""))
    return Inputs(sources)


def _check_local(sources: Sequence[str]) -> None:
    from .media import is_url

    local = [s for s in sources if not is_url(s)]
    missing = [s for s in local if not Path(s).expanduser().exists()]
    if missing:
        drive = any(s.startswith(DRIVE_MOUNT) for s in missing)
        raise MediaError(f"No such file: {', '.join(missing)}; upload it or check the name (relative to "
                         f"{os.getcwd()})" + ("; Google Drive paths look like /content/drive/MyDrive/talk.mp4"
                                              if drive else ""), source=missing[0])
    folders = [s for s in local if Path(s).expanduser().is_dir()]
    if folders:
        raise MediaError(f"{folders[0]} is a folder: give the audio or video files inside it", source=folders[0])


def _upload(upload_dir: Path) -> Inputs:
    if in_colab():
        from google.colab import files

        uploaded = files.upload()  # waits for the user; saves into the current folder
        if not uploaded:
            raise OptionsError("Nothing was uploaded: run this step again and choose files")
        names = [str(Path(name)) for name in uploaded]
        for name in names:
            print(f"🎧 {name}")
        return Inputs(names)
    if in_jupyter():
        import ipywidgets as widgets
        from IPython.display import display

        upload = widgets.FileUpload(accept="audio/*,video/*", multiple=True, description="Upload")
        upload.add_class("audiototext-upload")
        display(widgets.HTML("Choose the audio or video files, then run the next step:"), upload)
        return Inputs(upload=upload, upload_dir=upload_dir)
    raise OptionsError("No audio_file given: pass a file name, a link or a Drive path")


def mount_drive() -> None:
    """Mount Google Drive at /content/drive (Colab asks for permission)."""
    if not in_colab():
        raise OptionsError("Google Drive paths work in Colab only: download the file and give its path")
    from google.colab import drive

    drive.mount(DRIVE_MOUNT)


_RECORDER_JS = """
async function audiototextRecord() {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const recorder = new MediaRecorder(stream);
  const chunks = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  const button = document.createElement("button");
  button.textContent = "🔴 Recording... press to stop";
  document.body.appendChild(button);
  const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
  button.onclick = () => { recorder.stop(); stream.getTracks().forEach((t) => t.stop()); };
  recorder.start();
  await stopped;
  button.remove();
  const blob = new Blob(chunks, {type: recorder.mimeType});
  return await new Promise((resolve) => {
    const reader = new FileReader();
    reader.onloadend = () => resolve(reader.result);
    reader.readAsDataURL(blob);
  });
}
"""


def record(path: str | Path = RECORDING_FILE) -> str:
    """Record the microphone in Colab until the Stop button is pressed; returns the WAV's path."""
    if not in_colab():
        raise OptionsError("Recording the microphone works in Colab only: record with another program "
                           "and give the file in audio_file")
    from google.colab.output import eval_js
    from IPython.display import Javascript, display

    from .media import require_ffmpeg

    require_ffmpeg()
    display(Javascript(_RECORDER_JS))
    data_url = eval_js("audiototextRecord()")
    recorded = base64.b64decode(str(data_url).split(",", 1)[1])
    try:
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", "pipe:0", "-ac", "1", str(path)],
                       input=recorded, capture_output=True, check=True)
    except subprocess.CalledProcessError as e:
        raise MediaError(f"Could not convert the recording ({e.stderr.decode(errors='replace').strip()}): "
                         "record again", source="microphone") from e
    print(f"🎙 {path}")
    return str(path)


# --- step 3: transcribe -------------------------------------------------------------------------


@dataclass
class Transcription:
    """What the Transcribe step did; the DeepL and Results steps take it."""

    results: list[FileResult]
    options: Options

    @property
    def files(self) -> list[Path]:
        """Every file written, transcripts first, in input order."""
        return [p for r in self.results for p in (*r.outputs, *r.translated_outputs)]


def _sources(inputs: Inputs | str | Sequence[str]) -> list[str]:
    if isinstance(inputs, Inputs):
        return inputs.resolve()
    if isinstance(inputs, (str, os.PathLike)):
        return parse_audio_files(str(inputs))
    return [str(s) for s in inputs]


def _callbacks() -> Callbacks:
    """Live lines: each input's name, each decoded line, and how long audio was cut up."""
    announced: set[str] = set()
    current = [""]

    def on_file_start(source: str) -> None:
        current[0] = source
        _write(f"\n▶ {source}")

    def on_progress(event) -> None:
        # The pipeline draws the chunk progress bar itself (Options.progress); say once what it counts.
        if current[0] not in announced:
            announced.add(current[0])
            workers = f"{event.tasks} worker{'s' if event.tasks != 1 else ''}"
            _write(f"Long audio: cut at silences into {event.total_segments} chunks, decoded by {workers}")

    return Callbacks(on_segment=_print_segment, on_file_start=on_file_start, on_progress=on_progress)


def transcribe(inputs: Inputs | str | Sequence[str], *, output_dir: str | Path = OUTPUT_DIR,
               device: str | None = None, **form) -> Transcription:
    """Step 3: transcribe (or translate to English) every input and write its files.

    Args:
        inputs: what :func:`choose_input` returned, or paths/links ("a.mp3, b.wav").
        output_dir: where the files go (AudioToText's ``audio_transcription``).
        device: "cuda", "cpu" or None (the GPU when there is one).
        **form: the Transcribe form's fields (see :data:`TRANSCRIBE_FIELDS`), as strings.

    Each input is isolated: one that fails shows its error and the others go on; the step stops
    with one message only when none succeeded.
    """
    setup_logging()
    unknown = sorted(set(form) - set(TRANSCRIBE_FIELDS))
    if unknown:
        raise _stop(OptionsError(f"Unknown field(s) {', '.join(unknown)}: use {', '.join(TRANSCRIBE_FIELDS)}"))
    try:
        options = transcribe_options(output_dir=output_dir, device=device, **form)
        sources = _sources(inputs)
    except AudioToTextError as e:
        raise _stop(e) from e
    decode = options.decode
    print(("-- TRANSLATE TO ENGLISH --" if decode.task == "translate" else "-- TRANSCRIPTION --")
          + f"  model {options.model}, {options.engine}, language "
          + (language_name(decode.language) if decode.language else "auto-detected"))
    results = Pipeline(options, _callbacks()).run(sources)
    failed = [r for r in results if not r.ok]
    if failed and len(failed) == len(results):
        raise NotebookError(f"Nothing was transcribed: {'the input' if len(failed) == 1 else 'every input'} "
                            "failed (the reason is above)")
    if failed:
        print(f"⚠️ {len(failed)} of {len(results)} inputs failed (see above); the others were written.")
    return Transcription(results, options)


# --- step 4: DeepL ------------------------------------------------------------------------------


def translate(transcription: Transcription, **form) -> list[Path]:
    """Step 4 (optional): translate the transcripts' lines with DeepL and write those files too.

    Args:
        transcription: what :func:`transcribe` returned.
        **form: the DeepL form's fields (see :data:`DEEPL_FIELDS`).

    Returns:
        The translated files written (empty when no target language is chosen).

    A DeepL failure shows one message and keeps every file already written.
    """
    setup_logging()
    unknown = sorted(set(form) - set(DEEPL_FIELDS))
    if unknown:
        raise _stop(OptionsError(f"Unknown field(s) {', '.join(unknown)}: use {', '.join(DEEPL_FIELDS)}"))
    try:
        options = deepl_options(**form)
    except AudioToTextError as e:
        raise _stop(e) from e
    if options is None:
        print("No deepl_target_language chosen: DeepL translation skipped.")
        return []
    written: list[Path] = []
    run = transcription.options
    for result in transcription.results:
        if not result.ok or result.transcript is None or not result.outputs:
            continue
        _write(f"\n▶ DeepL: {result.source}")
        try:
            paths = translate_result(result, options, output_dir=run.output_dir, formats=run.formats,
                                     writer=run.writer, on_line=_print_segment)
        except (TranslationError, OptionsError) as e:
            _show(f"<p>❌ {html.escape(str(e))}<br>The transcription files are kept.</p>",
                  f"❌ {e}\nThe transcription files are kept.")
            if getattr(e, "kind", None) in ("config", "auth", "quota") or isinstance(e, OptionsError):
                break  # the same answer for every other file
            continue
        written.extend(paths)
    return written


# --- step 5: results ----------------------------------------------------------------------------


def human_size(size: int) -> str:
    """1536 -> "1.5 KB"."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def zip_files(files: Sequence[Path], target: str | Path) -> Path:
    """One zip of ``files``, each stored under its folder's name (``audio_transcription/x.srt``)."""
    target = Path(target)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, f"{Path(path).parent.name}/{Path(path).name}")
    return target


def _link(path: Path) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        relative = str(path)
    if relative.startswith(".."):
        return html.escape(str(path))
    href = "/".join(relative.split(os.sep))
    return f'<a href="{html.escape(href, quote=True)}" download="{html.escape(path.name, quote=True)}" ' \
           f'target="_blank">{html.escape(path.name)}</a>'


def _preview_file(result: FileResult, translated: bool) -> Path | None:
    paths = result.translated_outputs if translated else result.outputs
    by_format = {p.suffix.lstrip("."): p for p in paths}
    for fmt in ("srt", "vtt", "txt"):
        if fmt in by_format and by_format[fmt].is_file():
            return by_format[fmt]
    return None


def show_results(transcription: Transcription, *, download: bool = True) -> Path | None:
    """Step 5: list the files written with their sizes, zip them, offer them, preview the subtitles.

    In Colab the zip is downloaded (``files.download``); in Jupyter each file and the zip are links.

    Returns:
        The zip's path, or None when nothing was written.
    """
    files = [p for p in transcription.files if Path(p).is_file()]
    failed = [r for r in transcription.results if not r.ok]
    if not files:
        print("No files were written." + (" Errors: " + "; ".join(str(r.error) for r in failed) if failed else ""))
        return None
    output_dir = Path(transcription.options.output_dir)
    archive = zip_files(files, output_dir.parent / f"{output_dir.name}.zip")
    rows = "".join(f"<tr><td>{_link(p)}</td><td style='text-align:right'>{human_size(p.stat().st_size)}</td></tr>"
                   for p in files)
    plain = "\n".join(f"  {p}  ({human_size(p.stat().st_size)})" for p in files)
    _show(f"<div class='audiototext-results'><p><b>{len(files)} files in {html.escape(str(output_dir))}/</b>"
          f"</p><table>{rows}</table><p>📦 All of them: {_link(archive)} "
          f"({human_size(archive.stat().st_size)})</p></div>",
          f"{len(files)} files in {output_dir}/:\n{plain}\nAll of them: {archive} "
          f"({human_size(archive.stat().st_size)})")
    for result in failed:
        print(f"❌ {result.source}: {result.error}")
    for result in transcription.results:
        for translated in (False, True):
            path = _preview_file(result, translated)
            if path is None:
                continue
            lines = path.read_text(encoding="utf-8").splitlines()
            head = "\n".join(lines[:SUBTITLE_PREVIEW_LINES]) + ("\n…" if len(lines) > SUBTITLE_PREVIEW_LINES else "")
            _show(f"<details open><summary>{html.escape(path.name)}</summary><pre>{html.escape(head)}</pre>"
                  "</details>", f"\n--- {path.name} ---\n{head}")
    if download and in_colab():
        from google.colab import files as colab_files

        colab_files.download(str(archive))
    return archive


# --- the widget form for plain Jupyter ---------------------------------------------------------


def run_form(values: dict, *, upload=None) -> Transcription:
    """What the form's Run button does: the Input, Transcribe, DeepL and Results steps in turn."""
    unknown = sorted(set(values) - set(DEFAULTS))
    if unknown:
        raise _stop(OptionsError(f"Unknown field(s) {', '.join(unknown)}: use {', '.join(DEFAULTS)}"))
    values = {**DEFAULTS, **values}
    audio_file = str(values["audio_file"]).strip()
    if audio_file:
        inputs = choose_input(audio_file)
    else:
        inputs = Inputs(upload=upload)
    transcription = transcribe(inputs, **{k: values[k] for k in TRANSCRIBE_FIELDS})
    if values["deepl_target_language"]:
        translate(transcription, **{k: values[k] for k in DEEPL_FIELDS})
    show_results(transcription)
    return transcription


@dataclass
class Form:
    """The widget form: ``fields`` by name (the notebook's names), the Run button, the output area."""

    widget: object
    fields: dict
    upload: object
    run: object
    output: object

    def values(self) -> dict:
        return {name: w.value for name, w in self.fields.items()}


def build_form(**values) -> Form:
    """The same fields as the notebook's form cells, an upload box, a Run button and an output area."""
    import ipywidgets as widgets

    unknown = sorted(set(values) - set(DEFAULTS))
    if unknown:
        raise OptionsError(f"Unknown field(s) {', '.join(unknown)}: use {', '.join(DEFAULTS)}")
    v = {**DEFAULTS, **values}
    style = {"description_width": "210px"}
    wide = widgets.Layout(width="680px")

    def dropdown(name, options):
        return widgets.Dropdown(options=options, value=v[name], description=name, style=style, layout=wide)

    fields = {
        "audio_file": widgets.Text(value=v["audio_file"], description="audio_file", style=style, layout=wide,
                                   placeholder="file, files separated by commas, link, Drive path; empty: upload"),
        "task": dropdown("task", list(TASKS)),
        "use_model": dropdown("use_model", list(MODEL_CHOICES)),
        "language": dropdown("language", list(LANGUAGE_CHOICES)),
        "prompt": widgets.Text(value=v["prompt"], description="prompt", style=style, layout=wide,
                               placeholder="names, spelling or style to prime Whisper (optional)"),
        "coherence_preference": dropdown("coherence_preference", list(COHERENCE_PREFERENCES)),
        "engine": dropdown("engine", list(ENGINE_CHOICES)),
        "output_formats": widgets.Combobox(value=v["output_formats"], options=list(OUTPUT_FORMAT_CHOICES),
                                           ensure_option=False, description="output_formats", style=style,
                                           layout=wide),
        "beam_size": widgets.BoundedIntText(value=v["beam_size"], min=0, max=50, description="beam_size",
                                            style=style),
        "best_of": widgets.BoundedIntText(value=v["best_of"], min=0, max=50, description="best_of", style=style),
        "temperature": widgets.BoundedFloatText(value=v["temperature"], min=0.0, max=1.0, step=0.1,
                                                description="temperature", style=style),
        "word_timestamps": widgets.Checkbox(value=v["word_timestamps"], description="word_timestamps",
                                            style=style, indent=False),
        "highlight_words": widgets.Checkbox(value=v["highlight_words"], description="highlight_words",
                                            style=style, indent=False),
        "max_line_width": widgets.BoundedIntText(value=v["max_line_width"], min=0, max=1000,
                                                 description="max_line_width", style=style),
        "max_line_count": widgets.BoundedIntText(value=v["max_line_count"], min=0, max=100,
                                                 description="max_line_count", style=style),
        "deepl_api_key": widgets.Password(value=v["deepl_api_key"], description="deepl_api_key", style=style,
                                          layout=wide, placeholder=f"empty: Colab secret or ${DEEPL_SECRET}"),
        "deepl_target_language": widgets.Dropdown(
            options=[("(no DeepL translation)", NO_TRANSLATION), *((n, n) for n in TARGET_NAMES)],
            value=v["deepl_target_language"], description="deepl_target_language", style=style, layout=wide),
        "deepl_formality": dropdown("deepl_formality", list(DEEPL_FORMALITY_CHOICES)),
        "deepl_coherence_preference": dropdown("deepl_coherence_preference", list(DEEPL_COHERENCE_CHOICES)),
    }
    for name, w in fields.items():
        w.add_class(f"audiototext-{name}")
    upload = widgets.FileUpload(accept="audio/*,video/*", multiple=True, description="Upload")
    upload.add_class("audiototext-upload")
    run = widgets.Button(description="Run", button_style="primary", icon="play", tooltip="Transcribe")
    run.add_class("audiototext-run")
    output = widgets.Output()
    output.add_class("audiototext-output")

    def section(title, names):
        return [widgets.HTML(f"<b>{title}</b>"), *(fields[n] for n in names)]

    advanced = widgets.Accordion(children=[widgets.VBox([fields[n] for n in (
        "beam_size", "best_of", "temperature", "word_timestamps", "highlight_words", "max_line_width",
        "max_line_count")])])
    advanced.set_title(0, "Advanced decoding options")
    box = widgets.VBox([
        widgets.HTML(f"<h3>🗣️ AudioToText</h3><p>Whisper subtitles from any audio or video; output in "
                     f"<code>{OUTPUT_DIR}/</code>.</p>"),
        *section("Input", ["audio_file"]), upload,
        *section("Transcribe", ["task", "use_model", "language", "prompt", "coherence_preference", "engine",
                                "output_formats"]), advanced,
        *section("DeepL (optional)", list(DEEPL_FIELDS)),
        run, output,
    ])
    box.add_class("audiototext-form")
    form = Form(box, fields, upload, run, output)

    def on_run(_button) -> None:
        run.disabled = True
        output.clear_output()
        with output:
            try:
                run_form(form.values(), upload=upload)
            except NotebookError as e:
                _show(f"<p style='color:#c00'>❌ {html.escape(str(e))}</p>", f"❌ {e}")
            finally:
                run.disabled = False

    run.on_click(on_run)
    return form


def form(**values) -> None:
    """Show the widget form (for Jupyter, where Colab's ``# @param`` fields are plain code).

    Args:
        **values: initial field values, e.g. ``use_model="small"``.
    """
    setup_logging()
    try:
        built = build_form(**values)
    except AudioToTextError as e:
        raise _stop(e) from e
    _show_widget(built.widget)


def _show_widget(widget) -> None:
    if in_jupyter():
        from IPython.display import display

        display(widget)
    else:
        print("The form needs Jupyter (ipywidgets); run the notebook's steps instead.")


__all__ = [
    "REPOSITORY_URL", "COLAB_URL", "OUTPUT_DIR", "DEFAULTS", "NotebookError", "Inputs", "Transcription", "Form",
    "parse_task", "parse_language", "parse_coherence", "parse_audio_files", "drive_path", "decode_options",
    "transcribe_options", "deepl_options", "setup", "choose_input", "record", "transcribe", "translate",
    "show_results", "build_form", "form", "run_form", "in_colab", "in_jupyter", "environment",
]

"""Colab and Jupyter glue for ``AudioToText.ipynb``: each of its form cells makes one call here.

The notebook holds no logic, so the library's tests cover what it does: each step is one ``#@title``
form cell with its ``name = value  # @param ...`` lines and one call::

    notebook.setup()                                          # Step 1, after the install line
    inputs = notebook.choose_input(audio_file)                # Step 2
    transcription = notebook.transcribe(inputs, task=task, use_model=use_model, ...)   # Step 3
    notebook.translate(transcription, deepl_target_language=..., ...)                  # Step 4
    transcription = notebook.save(save_formats=save_formats, from_json=from_json)      # Step 5
    notebook.show_results(transcription, burn_subtitles=burn_subtitles)                # Step 6

and ``notebook.form()`` shows every step as one widget form in plain Jupyter.

Modules: :mod:`.fields` (which fields each step shows; form values -> options through the one
options registry; pure), :mod:`.colab` (uploads, Drive, secrets, microphone, downloads: the only
module touching ``google.colab``), :mod:`.steps` (the functions the cells call; the Save step in
:mod:`.saving`), :mod:`.results`
(file list, zip, player with subtitle tracks, burned subtitles), :mod:`.widgets` (the ipywidgets
form), :mod:`.output` (printing: the library only logs; live lines come through ``Callbacks``).
IPython, ``google.colab`` and ``ipywidgets`` are imported inside the functions that need them.
"""

from __future__ import annotations

from .colab import environment, in_colab, in_jupyter, mount_drive, record
from .fields import (
    COHERENCE_HELP,
    COLAB_URL,
    CONSTRAINTS_FILE,
    DEEPL_SECRET,
    MICROPHONE,
    OPENAI_SECRET,
    OUTPUT_DIR,
    REPOSITORY_URL,
    STEPS,
    deepl_options,
    defaults,
    drive_path,
    option_defaults,
    parse_audio_files,
    transcribe_options,
)
from .output import NotebookError, human_size
from .results import player_html, tracks, zip_files
from .steps import (
    Inputs,
    Transcription,
    choose_input,
    gpu_names,
    save_uploads,
    setup,
    show_results,
    transcribe,
    translate,
)
from .saving import save
from .widgets import Form, build_form, form, run_form

#: ``audio_file`` and every option the notebook's steps take, with the form's defaults (the form
#: cells show the fields of :data:`STEPS`).
DEFAULTS: dict = option_defaults()

__all__ = [
    "REPOSITORY_URL",
    "COLAB_URL",
    "CONSTRAINTS_FILE",
    "OUTPUT_DIR",
    "MICROPHONE",
    "DEEPL_SECRET",
    "OPENAI_SECRET",
    "COHERENCE_HELP",
    "STEPS",
    "DEFAULTS",
    "NotebookError",
    "Inputs",
    "Transcription",
    "Form",
    "defaults",
    "parse_audio_files",
    "drive_path",
    "transcribe_options",
    "deepl_options",
    "human_size",
    "player_html",
    "tracks",
    "zip_files",
    "gpu_names",
    "save_uploads",
    "setup",
    "choose_input",
    "record",
    "mount_drive",
    "transcribe",
    "translate",
    "save",
    "show_results",
    "build_form",
    "form",
    "run_form",
    "in_colab",
    "in_jupyter",
    "environment",
]

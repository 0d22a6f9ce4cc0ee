"""AudioToText.ipynb and audiototext.notebook: form parsing, dropdowns equal to the library's lists,
cells without logic, and the notebook executed top to bottom (nbclient) with the bundled base model,
a synthesized Spanish clip and the fake DeepL server."""

from __future__ import annotations

import ast
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from audiototext import notebook
from audiototext.engines import ENGINES
from audiototext.errors import AudioToTextError, OptionsError
from audiototext.languages import LANGUAGE_NAMES
from audiototext.models import MODELS
from audiototext.pipeline import FileResult, Options
from audiototext.subtitles import OUTPUT_PRESETS, write_files
from audiototext.transcript import Segment, Transcript
from audiototext.translation import COHERENCE_MODES, FORMALITIES, TARGET_NAMES

try:
    from fake_deepl import FakeDeepLServer
except ImportError:  # tests/ imported as a package
    from tests.fake_deepl import FakeDeepLServer

NOTEBOOK = Path(__file__).resolve().parents[1] / "AudioToText.ipynb"
PARAM = re.compile(r"^(?P<name>\w+) = (?P<value>.+?)\s*#\s*@param(?P<spec>.*)$")
FORM_MARKUP = re.compile(r"^#\s*@(title|markdown)\b")


def load_notebook() -> dict:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def code_cells(nb: dict) -> list[str]:
    return [source(c) for c in nb["cells"] if c["cell_type"] == "code"]


def form_fields(nb: dict) -> dict[str, tuple[object, list | None]]:
    """name -> (default value, dropdown list or None) for every ``# @param`` line."""
    fields = {}
    for text in code_cells(nb):
        for line in text.splitlines():
            match = PARAM.match(line)
            if match:
                listed = re.match(r"\s*(\[.*\])", match["spec"])
                fields[match["name"]] = (ast.literal_eval(match["value"].replace("true", "True").replace(
                    "false", "False")), json.loads(listed[1]) if listed else None)
    return fields


def set_params(nb, **values) -> None:
    """Give form fields new values, as a person filling the Colab form would."""
    left = dict(values)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            match = PARAM.match(line)
            if match and match["name"] in left:
                lines[i] = f"{match['name']} = {left.pop(match['name'])!r}  # @param{match['spec']}"
        cell.source = "\n".join(lines)
    assert not left, f"no form field named {sorted(left)}"


# --- (a) form strings -> typed options ----------------------------------------------------------


@pytest.mark.parametrize("form, expected", [
    ("Transcribe", "transcribe"), ("Translate to English", "translate"), ("translate", "translate"),
])
def test_task(form, expected):
    assert notebook.parse_task(form) == expected


def test_unknown_task_names_the_choices():
    with pytest.raises(OptionsError, match='"Transcribe" or "Translate to English"'):
        notebook.parse_task("Summarize")


@pytest.mark.parametrize("form, expected", [
    ("Auto-Detect", None), ("", None), (None, None), ("Spanish", "es"), ("Haitian Creole", "ht"), ("en", "en"),
])
def test_language(form, expected):
    assert notebook.parse_language(form) == expected


def test_unknown_language_fails():
    with pytest.raises(OptionsError, match="Unknown language"):
        notebook.parse_language("Klingon")


@pytest.mark.parametrize("form, expected", [
    ("More coherence, but may repeat text", True), ("Less repetitions, but may have less coherence", False),
])
def test_coherence_preference(form, expected):
    assert notebook.parse_coherence(form) is expected


@pytest.mark.parametrize("form, expected", [
    ("a.mp3, b.wav", ["a.mp3", "b.wav"]),
    ("talk.mp4", ["talk.mp4"]),
    ('"my talk.mp3" , ,b.wav,', ["my talk.mp3", "b.wav"]),
    ("https://example.org/a.mp3", ["https://example.org/a.mp3"]),
    ("  ", []),
])
def test_audio_files(form, expected):
    assert notebook.parse_audio_files(form) == expected


@pytest.mark.parametrize("form, expected", [
    ("MyDrive/talks/a.mp4", "/content/drive/MyDrive/talks/a.mp4"),
    ("drive/MyDrive/a.mp4", "/content/drive/MyDrive/a.mp4"),
    ("Shareddrives/team/a.mp4", "/content/drive/Shareddrives/team/a.mp4"),
    ("/content/drive/MyDrive/a.mp4", "/content/drive/MyDrive/a.mp4"),
    ("drive.mp3", "drive.mp3"),
])
def test_drive_paths(form, expected):
    assert notebook.drive_path(form) == expected


def test_decode_options_from_the_form():
    decode = notebook.decode_options(task="Translate to English", language="Auto-Detect", prompt="  ",
                                     coherence_preference="Less repetitions, but may have less coherence",
                                     beam_size=0, best_of=5, temperature="0.2")
    assert (decode.task, decode.language, decode.initial_prompt) == ("translate", None, None)
    assert decode.condition_on_previous_text is False
    assert decode.beam_size is None and decode.best_of == 5 and decode.temperature == 0.2


def test_transcribe_options_from_the_form():
    options = notebook.transcribe_options(use_model="base", language="Spanish", output_formats="txt, SRT",
                                          highlight_words=True, max_line_width=42, prompt="Madrid")
    assert options.model == "base" and options.decode.language == "es"
    assert options.decode.initial_prompt == "Madrid"
    assert options.formats == ("txt", "srt") and options.output_dir == Path("audio_transcription")
    assert options.writer.max_line_width == 42 and options.writer.highlight_words
    assert options.decode.word_timestamps, "highlight_words turns word timestamps on"
    assert options.progress


@pytest.mark.parametrize("field, value, message", [
    ("use_model", "huge", "Valid model names"),
    ("engine", "whisper.cpp", "Unknown engine"),
    ("output_formats", "txt,docx", "Unknown output format"),
    ("beam_size", -2, "beam_size must be at least 1"),
])
def test_bad_form_values_name_what_to_do(field, value, message):
    with pytest.raises(AudioToTextError, match=message):
        notebook.transcribe_options(**{field: value})


def test_deepl_options(monkeypatch):
    monkeypatch.delenv("DEEPL_AUTH_KEY", raising=False)
    assert notebook.deepl_options(deepl_target_language="") is None
    options = notebook.deepl_options(deepl_target_language="English (British)", deepl_api_key=" k:fx ",
                                     deepl_formality="formal",
                                     deepl_coherence_preference="Translate each line independently")
    assert (options.target, options.auth_key, options.formality) == ("English (British)", "k:fx", "formal")
    assert notebook.deepl_options(deepl_target_language="German").auth_key is None  # reads $DEEPL_AUTH_KEY
    with pytest.raises(OptionsError, match="Unknown DeepL target"):
        notebook.deepl_options(deepl_target_language="Klingon")


def test_human_size():
    assert [notebook.human_size(n) for n in (5, 1536, 3 * 1024 * 1024)] == ["5 B", "1.5 KB", "3.0 MB"]


# --- (b) the notebook's dropdowns are the library's lists ---------------------------------------


def _expected_line(name: str, choices) -> str:
    return f"{name} = {json.dumps(notebook.DEFAULTS[name])}  # @param {json.dumps(list(choices), ensure_ascii=False)}"


@pytest.mark.parametrize("name, choices", [
    ("task", list(notebook.TASKS)),
    ("use_model", list(MODELS)),
    ("language", ["Auto-Detect", *LANGUAGE_NAMES]),
    ("coherence_preference", list(notebook.COHERENCE_PREFERENCES)),
    ("engine", list(ENGINES)),
    ("output_formats", list(OUTPUT_PRESETS)),
    ("deepl_target_language", ["", *TARGET_NAMES]),
    ("deepl_formality", list(FORMALITIES)),
    ("deepl_coherence_preference", list(COHERENCE_MODES)),
])
def test_dropdowns_equal_the_library_lists(name, choices):
    default, listed = form_fields(load_notebook())[name]
    assert listed == choices, f"update AudioToText.ipynb to:\n{_expected_line(name, choices)}"
    assert default in listed


def test_dropdowns_include_every_model_language_and_target():
    fields = form_fields(load_notebook())
    assert {"large-v3", "turbo", "tiny.en"} <= set(fields["use_model"][1])
    assert len(fields["language"][1]) == len(LANGUAGE_NAMES) + 1 >= 100
    assert {"English (British)", "German", "Japanese"} <= set(fields["deepl_target_language"][1])


def test_form_fields_and_defaults_are_the_modules():
    fields = form_fields(load_notebook())
    assert list(fields) == list(notebook.DEFAULTS)
    assert {name: default for name, (default, _) in fields.items()} == notebook.DEFAULTS


def test_widget_form_has_the_same_fields_and_lists():
    pytest.importorskip("ipywidgets")
    form = notebook.build_form(use_model="base")
    assert list(form.fields) == list(notebook.DEFAULTS)
    assert form.values() == {**notebook.DEFAULTS, "use_model": "base"}
    assert list(form.fields["use_model"].options) == list(MODELS)
    assert list(form.fields["language"].options) == ["Auto-Detect", *LANGUAGE_NAMES]
    assert [v for _, v in form.fields["deepl_target_language"].options] == ["", *TARGET_NAMES]
    assert list(form.fields["output_formats"].options) == list(OUTPUT_PRESETS)
    with pytest.raises(OptionsError, match="Unknown field"):
        notebook.build_form(model="base")


# --- the notebook holds no logic (STYLE.md convention 14) ---------------------------------------


def test_form_cells_hold_only_params_and_each_next_cell_one_call():
    cells = code_cells(load_notebook())
    forms = [c for c in cells if "@param" in c]
    assert len(forms) == 3, "Input, Transcribe and DeepL forms"
    for text in forms:
        for line in filter(str.strip, text.splitlines()):
            assert PARAM.match(line) or FORM_MARKUP.match(line), f"logic in a form cell: {line!r}"
    for text in cells:
        if "@param" in text:
            continue
        python = "\n".join(line for line in text.splitlines() if not line.startswith(("!", "#")))
        statements = ast.parse(python).body
        calls = [s for s in statements if not isinstance(s, ast.ImportFrom)]
        assert len(calls) == 1, f"one call per cell:\n{text}"
        call = calls[0].value
        assert isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
        assert isinstance(call.func.value, ast.Name) and call.func.value.id == "notebook", text


def test_notebook_is_clean_colab_gpu_and_points_at_the_repository():
    nb = load_notebook()
    assert nb["metadata"]["accelerator"] == "GPU"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, "clear the outputs before committing"
    assert notebook.COLAB_URL in source(nb["cells"][0]), "the Open in Colab badge"
    setup = code_cells(nb)[0]
    assert f"git+{notebook.REPOSITORY_URL}" in setup and "pip install -q -e" in setup
    headings = [source(c).splitlines()[0] for c in nb["cells"] if source(c).startswith("## Step")]
    assert [h.split()[2] for h in headings] == ["1", "2", "3", "4", "5"]


# --- steps in-process, without a Whisper model --------------------------------------------------


def test_a_missing_file_is_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "talk.wav").write_bytes(b"RIFF")
    with pytest.raises(notebook.NotebookError, match="No such file: nope.mp3; upload it") as caught:
        notebook.choose_input("talk.wav, nope.mp3")
    assert len(caught.value._render_traceback_()) == 1  # what IPython shows instead of a traceback


def test_choose_input_lists_the_files(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.mp3").write_bytes(b"x" * 2048)
    inputs = notebook.choose_input("a.mp3, https://example.org/b.wav")
    assert inputs.resolve() == ["a.mp3", "https://example.org/b.wav"]
    assert "a.mp3 (2.0 KB)" in capsys.readouterr().out


def test_uploads_are_saved_when_the_next_step_runs(tmp_path):
    class Upload:  # what ipywidgets 8's FileUpload.value holds
        value = ({"name": "../talk.mp3", "content": memoryview(b"abc")},)

    assert notebook.Inputs(upload=Upload(), upload_dir=tmp_path).resolve() == [str(tmp_path / "talk.mp3")]
    with pytest.raises(OptionsError, match="No file uploaded yet"):
        notebook.Inputs(upload=type("Empty", (), {"value": ()})(), upload_dir=tmp_path).resolve()


def test_setup_names_the_machine(capsys):
    notebook.setup()
    out = capsys.readouterr().out
    assert out.startswith("audiototext ") and "Python" in out
    assert ("No GPU" in out) != bool(notebook.gpu_names())


def test_long_audio_progress_is_announced_once_per_file(capsys):
    from audiototext.parallel import Progress

    callbacks = notebook._callbacks()
    callbacks.on_file_start("talk.mp3")
    for done in range(3):
        callbacks.on_progress(Progress(total_segments=3, done_segments=done, tasks=2))
    callbacks.on_segment(Segment(61.5, 64.0, " Hola."))
    out = capsys.readouterr().out
    assert out.count("cut at silences into 3 chunks, decoded by 2 workers") == 1
    assert "[01:01.500 --> 01:04.000] Hola." in out


def _written_transcription(folder: Path) -> notebook.Transcription:
    transcript = Transcript((Segment(0.0, 2.5, " Hola a todos."), Segment(2.5, 5.0, " Muchas gracias.")),
                            language="es", duration=5.0)
    options = Options(output_dir=folder / "audio_transcription", formats=("txt", "srt"))
    outputs = write_files(transcript, options.output_dir, "clip", options.formats)
    return notebook.Transcription([FileResult("clip.mp3", transcript, outputs)], options)


def test_deepl_failure_keeps_the_transcripts(tmp_path, capsys, monkeypatch):
    transcription = _written_transcription(tmp_path)
    with FakeDeepLServer() as fake:
        monkeypatch.setenv("DEEPL_SERVER_URL", fake.url)
        written = notebook.translate(transcription, deepl_api_key="wrong-key",
                                     deepl_target_language="English (British)")
    out = capsys.readouterr().out
    assert written == [] and "DeepL rejected the key" in out and "files are kept" in out
    assert "wrong-key" not in out
    assert all(p.is_file() for p in transcription.files) and len(transcription.files) == 2


def test_translate_then_results_zip_and_preview(tmp_path, capsys, monkeypatch):
    transcription = _written_transcription(tmp_path)
    with FakeDeepLServer() as fake:
        monkeypatch.setenv("DEEPL_SERVER_URL", fake.url)
        written = notebook.translate(transcription, deepl_api_key=fake.auth_key,
                                     deepl_target_language="English (British)")
    assert [p.name for p in written] == ["clip_English (British).txt", "clip_English (British).srt"]
    assert "Many thanks" in written[1].read_text(encoding="utf-8")
    archive = notebook.show_results(transcription)
    out = capsys.readouterr().out
    assert fake.auth_key not in out
    assert archive == tmp_path / "audio_transcription.zip"
    assert sorted(zipfile.ZipFile(archive).namelist()) == sorted(
        f"audio_transcription/{n}" for n in ("clip.txt", "clip.srt", "clip_English (British).txt",
                                             "clip_English (British).srt"))
    assert "4 files in" in out and "--- clip.srt ---" in out and "00:00:02,500 --> 00:00:05,000" in out


# --- (c) the notebook, executed top to bottom ---------------------------------------------------


@pytest.mark.slow
def test_a_failing_step_shows_one_line_in_jupyter(tmp_path):
    """IPython shows a NotebookError as its message alone, not as a traceback."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from audiototext import notebook\ninputs = notebook.choose_input('missing.mp3')")])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    [error] = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    assert error.ename == "NotebookError"
    assert len(error.traceback) == 1 and "No such file: missing.mp3" in error.traceback[0]


@pytest.mark.slow
def test_notebook_executes_top_to_bottom(tmp_path, spanish_wav, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    shutil.copy(spanish_wav, tmp_path / "clip_es.wav")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    with FakeDeepLServer() as fake:
        monkeypatch.setenv("DEEPL_SERVER_URL", fake.url)
        set_params(nb, audio_file="clip_es.wav", use_model="base", engine="faster-whisper", language="Spanish",
                   deepl_api_key=fake.auth_key, deepl_target_language="English (British)")
        client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                         resources={"metadata": {"path": str(tmp_path)}})
        client.execute()  # raises CellExecutionError if any cell errors
        translate_requests = len(fake.translate_requests)

    outputs = {cell.id: cell.get("outputs", []) for cell in nb.cells}
    assert not [o for outs in outputs.values() for o in outs if o.output_type == "error"]
    text = {cid: "".join(o.get("text", "") + str(o.get("data", {}).get("text/html", ""))
                         + str(o.get("data", {}).get("text/plain", "")) for o in outs)
            for cid, outs in outputs.items()}
    assert "audiototext" in text["setup"] and "No GPU" in text["setup"]
    assert "clip_es.wav" in text["input"]
    assert re.search(r"\[\d\d:\d\d\.\d{3} --> \d\d:\d\d\.\d{3}\] \S", text["transcribe"]), "live segment lines"
    assert "Wrote audio_transcription/clip_es.srt" in text["transcribe"]
    assert translate_requests >= 1 and "DeepL: Character usage" in text["deepl"]
    assert "clip_es_English (British).srt" in text["results"] and "audio_transcription.zip" in text["results"]

    folder = tmp_path / "audio_transcription"
    names = {"clip_es.txt", "clip_es.vtt", "clip_es.srt", "clip_es_English (British).txt",
             "clip_es_English (British).vtt", "clip_es_English (British).srt"}
    assert {p.name for p in folder.iterdir()} == names
    spanish = (folder / "clip_es.txt").read_text(encoding="utf-8").lower()
    assert any(word in spanish for word in ("ciudad", "historia", "gracias")), spanish
    english = (folder / "clip_es_English (British).txt").read_text(encoding="utf-8").lower()
    assert any(word in english for word in ("city", "history", "thanks")), english
    assert len(zipfile.ZipFile(tmp_path / "audio_transcription.zip").namelist()) == 6

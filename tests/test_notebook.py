"""AudioToText.ipynb and audiototext.notebook, the fast parts (no model, no kernel): one form cell
per step holding only its fields and one call, the fields and dropdowns the options registry's,
form values -> the registry's Options, file names, the player's HTML and the zip."""

from __future__ import annotations

import ast
import base64
import html
import json
import re
import zipfile
from pathlib import Path

import pytest

from audiototext import notebook, options
from audiototext.engines.openai_api import MODELS as API_MODELS
from audiototext.errors import OptionsError
from audiototext.notebook import fields, results
from audiototext.pipeline import FileResult
from audiototext.transcript import Segment, Transcript
from audiototext.translation import DeepLTarget

NOTEBOOK = Path(__file__).resolve().parents[1] / "AudioToText.ipynb"
PARAM = re.compile(r"^(?P<name>\w+) = (?P<value>.+?)\s*#\s*@param(?P<spec>.*)$")
FORM_MARKUP = re.compile(r"^#\s*@(title|markdown)\b")
#: The notebook's code cells by id, in order: one per step, then the widget form (Jupyter only).
CELLS = {
    "setup": None,
    "input": "input",
    "transcribe": "transcribe",
    "deepl": "translate",
    "save": "save",
    "results": "results",
    "form": None,
}


def load_notebook() -> dict:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def code_cells(nb: dict) -> dict[str, str]:
    return {c["id"]: source(c) for c in nb["cells"] if c["cell_type"] == "code"}


def param_lines(text: str) -> dict[str, str]:
    return {m["name"]: line for line in text.splitlines() if (m := PARAM.match(line))}


def set_params(nb, **values) -> None:
    """Give form fields new values in place, as a person filling the Colab form would."""
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


# --- one form cell per step --------------------------------------------------


def test_each_step_is_one_form_cell_in_order():
    nb = load_notebook()
    cells = code_cells(nb)
    assert list(cells) == list(CELLS), "Setup, Input, Transcribe, DeepL, Save, Results, then the Jupyter-only form"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["metadata"].get("cellView") == "form", f"{cell['id']}: Colab shows it as a form"
            assert FORM_MARKUP.match(source(cell)), f"{cell['id']} starts with #@title"
    headings = [source(c).splitlines()[0] for c in nb["cells"] if source(c).startswith("## Step")]
    assert [h.split()[2] for h in headings] == ["1", "2", "3", "4", "5", "6"]


@pytest.mark.parametrize("cell_id", list(CELLS))
def test_a_form_cell_holds_its_fields_then_one_call(cell_id):
    text = code_cells(load_notebook())[cell_id]
    step = CELLS[cell_id]
    if cell_id == "setup":  # its field, a copy of install.py (audiototext is not installed yet), the calls
        assert text == fields.setup_cell(), "run: python3 scripts/set_repository.py <repository URL> (it syncs)"
        return
    assert list(param_lines(text)) == list(fields.STEPS[step] if step else ()), "the step's fields, in order"
    code = [line for line in text.splitlines() if not (PARAM.match(line) or FORM_MARKUP.match(line))]
    assert not [line for line in code if line.startswith("!")] or cell_id == "setup", "shell lines: install only"
    statements = [
        s
        for s in ast.parse("\n".join(line for line in code if not line.startswith("!"))).body
        if not isinstance(s, ast.ImportFrom)
    ]
    assert len(statements) == 1, f"one call per cell:\n{text}"
    call = statements[0].value
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
    assert isinstance(call.func.value, ast.Name) and call.func.value.id == "notebook"
    if step:  # every field goes to the call, under its own name
        assert all(k.arg == k.value.id for k in call.keywords)
        passed = [a.id for a in call.args if isinstance(a, ast.Name)] + [k.arg for k in call.keywords]
        assert set(passed) - {"inputs", "transcription"} == set(fields.STEPS[step])


@pytest.mark.parametrize("step", list(fields.STEPS))
def test_fields_defaults_and_dropdowns_are_the_registry_s(step):
    """Each ``# @param`` line is the one the library makes from the options registry."""
    cells = {CELLS[k]: v for k, v in code_cells(load_notebook()).items() if CELLS[k]}
    lines = param_lines(cells[step])
    for name in fields.STEPS[step]:
        assert lines[name] == fields.param_line(name), f"update AudioToText.ipynb to:\n{fields.param_line(name)}"


def test_dropdowns_offer_every_engine_model_language_and_target():
    listed = {
        name: json.loads(m[1])
        for name in ("use_model", "engine", "language", "vad", "parallel", "deepl_target_language")
        if (m := re.search(r"@param (\[.*?\])", fields.param_line(name)))
    }
    assert listed["engine"] == list(options.dropdown("engine")) and "openai-api" in listed["engine"]
    assert listed["use_model"] == [
        *options.dropdown("model"),
        *(m for m in API_MODELS if m not in options.dropdown("model")),
    ]
    assert {"large-v3", "turbo", "tiny.en", "whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"} <= set(
        listed["use_model"]
    )
    assert listed["language"] == list(options.dropdown("language")) and len(listed["language"]) >= 100
    assert listed["vad"] == ["silero", "silencedetect", "off"] == list(options.dropdown("vad"))
    assert listed["parallel"] == list(options.dropdown("parallel"))
    assert listed["deepl_target_language"] == list(options.dropdown("deepl_target"))
    assert "{allow-input: true}" in fields.param_line("deepl_target_language"), "new DeepL targets can be typed"
    assert "{allow-input: true}" in fields.param_line("use_model"), "model paths can be typed"


def test_notebook_is_clean_colab_gpu_and_installs_pinned_versions():
    nb = load_notebook()
    assert nb["metadata"]["accelerator"] == "GPU" and nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, "clear the outputs before committing"
    assert notebook.COLAB_URL in source(nb["cells"][0]), "the Open in Colab badge"
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"]({notebook.COLAB_URL})" in readme, "README's badge: python3 scripts/set_repository.py <URL>"
    assert code_cells(nb)["setup"] == fields.setup_cell()
    assert (Path(__file__).resolve().parents[1] / notebook.CONSTRAINTS_FILE).is_file()


def test_the_help_says_what_coherence_drive_and_vad_do():
    nb = load_notebook()
    text = "\n".join(source(c) for c in nb["cells"])
    transcribe = code_cells(nb)["transcribe"]
    # No silent no-op
    assert fields.COHERENCE_HELP in transcribe and fields.COHERENCE_HELP in text.replace("\n", " ")
    assert "sequentially (parallel = off, slower)" in fields.COHERENCE_HELP
    assert (
        "decodes windows of speech independently" in fields.COHERENCE_HELP and "2 WER points" in fields.COHERENCE_HELP
    )
    assert fields.help_text("coherence_preference") == fields.COHERENCE_HELP
    # Nothing lost on a disconnect
    assert "MyDrive/subtitles" in transcribe and "resumes" in transcribe
    assert "resumes from the checkpoints" in text
    # Songs and music
    assert "off decodes every second" in transcribe and "chorus" in text


# --- form values -> the registry's Options ----------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a.mp3, b.wav", ["a.mp3", "b.wav"]),
        ("talk.mp4", ["talk.mp4"]),
        ('"my talk.mp3" , ,b.wav,', ["my talk.mp3", "b.wav"]),
        ("https://example.org/a.mp3", ["https://example.org/a.mp3"]),
        ("  ", []),
    ],
)
def test_audio_files(text, expected):
    assert notebook.parse_audio_files(text) == expected


@pytest.mark.parametrize(
    "path, expected",
    [
        ("MyDrive/talks/a.mp4", "/content/drive/MyDrive/talks/a.mp4"),
        ("drive/MyDrive/a.mp4", "/content/drive/MyDrive/a.mp4"),
        ("MyDrive", "/content/drive/MyDrive"),
        ("Shareddrives/team/a.mp4", "/content/drive/Shareddrives/team/a.mp4"),
        ("/content/drive/MyDrive/a.mp4", "/content/drive/MyDrive/a.mp4"),
        ("drive.mp3", "drive.mp3"),
        ("MyDriveX/a.mp3", "MyDriveX/a.mp3"),
    ],
)
def test_drive_paths(path, expected):
    assert notebook.drive_path(path) == expected


def test_english_base_is_what_the_registry_builds():
    """The notebook goes through the registry's rules (``.en`` only if it can be had)."""
    from audiototext.models import english_model

    built = notebook.transcribe_options({"use_model": "base", "language": "English"})
    assert built == options.build({"model": "base", "language": "English"}, face="notebook")
    assert built.model == (english_model("base") or "base")


def test_the_whole_form_is_what_the_registry_builds(tmp_path):
    form = {name: fields.defaults()[name] for name in fields.STEPS["transcribe"]}
    form.update(
        use_model="small",
        language="Spanish",
        max_line_width=42,
        vad="off",
        parallel="off",
        coherence_preference="Less repetitions, but may have less coherence",
        output_dir=str(tmp_path),
    )
    built = notebook.transcribe_options(form)
    assert built == options.options_from_form(form)
    assert built.style.max_line_width == 42 and built.decode.word_timestamps, "line width turns words on"
    assert built.parallel.speech.vad == "off" and built.parallel.mode == "off"
    assert built.decode.condition_on_previous_text is False and built.decode.language == "es"
    assert built.output_dir == tmp_path and built.progress


def test_a_drive_output_dir_is_where_colab_mounts_it():
    built = notebook.transcribe_options({"output_dir": "MyDrive/subtitles"})
    assert built.output_dir == Path(fields.DRIVE_MOUNT, "MyDrive", "subtitles")
    assert fields.drive_paths({"output_dir": "MyDrive/subtitles", "prompt": "x"}) == [str(built.output_dir)]


def test_an_api_key_selects_the_openai_engine_and_its_model():
    built = notebook.transcribe_options(
        {"api_key": "sk-test", "engine": fields.defaults()["engine"], "use_model": fields.defaults()["use_model"]}
    )
    assert (built.engine, built.model, built.api_key) == ("openai-api", "whisper-1", "sk-test")
    chosen = notebook.transcribe_options({"engine": "openai-api", "use_model": "gpt-4o-mini-transcribe"})
    assert (chosen.engine, chosen.model) == ("openai-api", "gpt-4o-mini-transcribe")


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("temperature", 5, "temperature must be between 0 and 1"),
        ("engine", "whisper.cpp", "Unknown engine"),
        ("output_formats", "txt,docx", "Unknown output format"),
        ("beam_size", -2, "beam_size must be between 1 and 20"),
        ("vad", "webrtc", "Unknown vad"),
        ("model", "base", "Unknown field"),
        ("deepl_target_language", "German", "Unknown field"),  # the DeepL step's field, not this one's
    ],
)
def test_bad_form_values_name_the_field(field, value, message):
    with pytest.raises(OptionsError, match=message):
        notebook.transcribe_options({field: value})


def test_deepl_options(monkeypatch, tmp_path):
    monkeypatch.delenv("DEEPL_AUTH_KEY", raising=False)
    assert notebook.deepl_options({"deepl_target_language": ""}) is None
    chosen = notebook.deepl_options(
        {
            "deepl_target_language": "English (British)",
            "deepl_api_key": " k:fx ",
            "deepl_formality": "formal",
            "deepl_coherence_preference": "Translate each line independently",
        }
    )
    assert (chosen.target, chosen.auth_key, chosen.formality) == ("English (British)", "k:fx", "formal")
    glossary = tmp_path / "terms.csv"
    glossary.write_text("Madrid,Madrid\n", encoding="utf-8")
    assert (
        notebook.deepl_options({"deepl_target_language": "German", "deepl_glossary": str(glossary)}).glossary
        == glossary
    )
    with pytest.raises(OptionsError, match="Unknown DeepL target"):
        notebook.deepl_options({"deepl_target_language": "Klingon"})
    with pytest.raises(OptionsError, match="Unknown field"):
        notebook.deepl_options({"use_model": "base"})


def test_human_size():
    assert [notebook.human_size(n) for n in (5, 1536, 3 * 1024 * 1024)] == ["5 B", "1.5 KB", "3.0 MB"]


# --- results: names, player, zip ----------------------------


SPANISH = Transcript((Segment(0.0, 2.5, " Hola a todos."), Segment(2.5, 5.0, " Muchas gracias.")), "es", 5.0)
ENGLISH = Transcript((Segment(0.0, 2.5, " Hello everyone."), Segment(2.5, 5.0, " Many thanks.")), "en", 5.0)


class Translated:
    """What translate_transcript returns, as far as the player reads it."""

    def __init__(self, transcript, code, name):
        self.transcript, self.target, self.skipped = transcript, DeepLTarget(code, name, True), False


def track_tags(page: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'(\w+)="([^"]*)"', tag)) for tag in re.findall(r"<track [^>]*>", page)]


def test_the_player_has_one_track_per_language():
    result = FileResult("clip.mp3", SPANISH, stem="clip")
    found = results.tracks(result, [Translated(ENGLISH, "EN-GB", "English (British)")])
    page = results.player_html("clip.mp3", found, video=False)
    assert page.startswith('<video id="audiototext-player-') and 'class="audiototext-player"' in page
    assert 'src="clip.mp3"' in page and 'class="audiototext-captions"' in page, "audio: a caption line"
    assert "audiototext-captions" not in results.player_html("talk.mp4", found, video=True)
    tags = track_tags(page)
    assert [(t["kind"], t["srclang"], t["label"]) for t in tags] == [
        ("subtitles", "es", "Spanish"),
        ("subtitles", "en-gb", "English (British)"),
    ]
    assert " default>" in re.findall(r"<track [^>]*>", page)[0]
    vtts = [base64.b64decode(t["src"].split(",", 1)[1]).decode() for t in tags]
    assert all(t["src"].startswith("data:text/vtt;base64,") for t in tags)
    assert vtts[0].startswith("WEBVTT")
    assert "00:00.000 --> 00:02.417\nHola a todos." in vtts[0], "2 frames before the next cue"
    assert "Many thanks." in vtts[1]


def test_whisper_s_english_translation_is_labelled_english():
    translated = Transcript(ENGLISH.segments, "es", 5.0, task="translate")
    [track] = results.tracks(FileResult("clip.mp3", translated, stem="clip"))
    assert (track.label, track.srclang) == ("English", "en")


def test_media_is_referenced_or_streamed_never_embedded(tmp_path, monkeypatch):
    """The player takes a link, a path Jupyter serves, or a stream; never the bytes."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "talk.mp4").write_bytes(b"x" * 100)
    assert results.media_source("https://example.org/a.mp4", "colab") == ("https://example.org/a.mp4", "")
    assert results.media_source("talk.mp4", "jupyter") == ("talk.mp4", "")
    assert results.media_source(str(tmp_path / "talk.mp4"), "jupyter") == ("talk.mp4", "")
    streamed = results.media_source("talk.mp4", "colab", stream=lambda path: f"https://proxy/{path.name}")
    assert streamed == ("https://proxy/talk.mp4", "")
    src, reason = results.media_source("talk.mp4", "colab")
    assert src is None and "open it with its .srt in a player such as VLC" in reason
    src, reason = results.media_source("talk.mp4", "colab", stream=lambda path: 1 / 0)
    assert src is None and "cannot be streamed to the player here (division by zero)" in reason
    assert results.media_source("gone.mp4", "jupyter")[0] is None


def test_same_named_inputs_show_the_name_each_got(tmp_path):
    first, second = tmp_path / "clip.srt", tmp_path / "clip (2).srt"
    first.write_text("1"), second.write_text("2")
    found = [
        FileResult("a/clip.mp3", SPANISH, [first], stem="clip"),
        FileResult("b/clip.mp3", SPANISH, [second], stem="clip (2)"),
    ]
    assert results.input_names(found) == [("a/clip.mp3", "clip"), ("b/clip.mp3", "clip (2)")]
    text = results.table_text(found, [[first], [second]])
    assert "a/clip.mp3 -> clip.*" in text and "b/clip.mp3 -> clip (2).*" in text
    page = results.table_html(found, [[first], [second]], "python")
    assert "<td>b/clip.mp3</td><td>clip (2).*</td><td>clip (2).srt" in html.unescape(page)


def test_the_zip_keeps_folder_names_and_stores_videos(tmp_path):
    folder = tmp_path / "audio_transcription"
    folder.mkdir()
    (folder / "clip.srt").write_text("1\n")
    (folder / "clip_subtitled.mp4").write_bytes(b"\0" * 64)
    archive = results.zip_files([folder / "clip.srt", folder / "clip_subtitled.mp4"], tmp_path / "out.zip")
    info = {i.filename: i.compress_type for i in zipfile.ZipFile(archive).infolist()}
    assert info == {
        "audio_transcription/clip.srt": zipfile.ZIP_DEFLATED,
        "audio_transcription/clip_subtitled.mp4": zipfile.ZIP_STORED,
    }
    assert not list(tmp_path.glob(".*partial"))


def test_burned_names():
    assert results.burned_name("clip") == "clip_subtitled.mp4"
    assert results.burned_name("clip (2)", "_English (British)") == "clip (2)_English (British)_subtitled.mp4"


def test_recordings_never_replace_an_earlier_one(tmp_path):
    from audiototext.notebook import colab

    assert colab.recording_path(tmp_path).name == "recording-1.wav"
    (tmp_path / "recording-1.wav").write_bytes(b"")
    assert colab.recording_path(tmp_path).name == "recording-2.wav"


def test_outside_a_notebook_the_steps_say_what_works(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(notebook.NotebookError, match="No audio_file given"):
        notebook.choose_input("")
    with pytest.raises(notebook.NotebookError, match="Recording the microphone works in Colab only"):
        notebook.choose_input("microphone")
    with pytest.raises(notebook.NotebookError, match="Google Drive paths work in Colab only"):
        notebook.choose_input("MyDrive/talk.mp3")
    notebook.form()
    assert "needs Jupyter" in capsys.readouterr().out


def test_only_the_colab_module_touches_google_colab():
    package = Path(notebook.__file__).parent
    touching = sorted(
        p.name
        for p in package.glob("*.py")
        if "google.colab" in p.read_text(encoding="utf-8")
        and p.name not in ("colab.py", "install.py")  # install.py runs before the package is installed
        and "from google" in p.read_text(encoding="utf-8")
    )
    assert touching == []
    assert "from google.colab import" in (package / "colab.py").read_text(encoding="utf-8")


def test_the_audio_track_is_a_field_of_the_transcribe_form():
    """A film with several dubbed tracks: the form offers every face's choice of track."""
    text = code_cells(load_notebook())["transcribe"]
    assert fields.param_line("audio_track") in text.splitlines() and "audio_track=audio_track" in text
    assert "audio_track" in fields.ADVANCED and fields.all_fields()["audio_track"].default == 0
    assert fields.transcribe_options({"audio_track": 2}).audio_track == 2
    assert fields.transcribe_options({"audio_track": 0}).audio_track is None, "0: the default track"

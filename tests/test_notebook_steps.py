"""The notebook's steps in-process without a Whisper model: inputs, DeepL against the fake server
(the target list read at run time, the glossary), results (zip, player with subtitle tracks,
burned-in subtitles) and the widget form. Transcripts are written directly, so these take seconds."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import urllib.request
import zipfile
from pathlib import Path

import pytest

from audiototext import notebook
from audiototext.errors import OptionsError
from audiototext.notebook import fields
from audiototext.pipeline import FileResult
from audiototext.subtitles import write_files
from audiototext.transcript import Segment, Transcript

from fake_colab import install as install_colab
from fake_deepl import TEST_LANGUAGE

LINES = (Segment(0.0, 2.5, " Hola a todos."), Segment(2.5, 5.0, " Muchas gracias."))


@pytest.fixture(autouse=True)
def _builtin_deepl_targets(monkeypatch):
    """Targets read from DeepL are process-wide: every test starts from the built-in list."""
    from audiototext.translation import targets

    monkeypatch.setattr(targets, "_LIVE", {})


@pytest.fixture
def colab(monkeypatch, tmp_path):
    return install_colab(monkeypatch, tmp_path)


def written(folder: Path, media: Path | None = None, *, formats=("txt", "srt"), stem="clip") -> notebook.Transcription:
    """A finished Transcribe step: ``media`` (copied into ``folder``) with two Spanish lines written."""
    source = "clip.mp3"
    if media is not None:
        source = str(folder / f"{stem}{media.suffix}")
        shutil.copy(media, source)
    transcript = Transcript(LINES, language="es", duration=5.0)
    options = notebook.transcribe_options(
        {"output_dir": str(folder / "audio_transcription"), "output_formats": ",".join(formats)}
    )
    outputs = write_files(transcript, options.output_dir, stem, options.formats)
    return notebook.Transcription([FileResult(source, transcript, outputs, stem=stem)], options)


def ffprobe_streams(path: Path) -> list[str]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [s["codec_type"] for s in json.loads(out)["streams"]]


# --- Step 1 and 2 ------------------------------------------------------------------------------------


def test_setup_names_the_machine(capsys):
    notebook.setup()
    out = capsys.readouterr().out
    assert out.startswith("audiototext ") and "Python" in out
    assert ("No GPU" in out) != bool(notebook.gpu_names())


def test_a_missing_file_is_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "talk.wav").write_bytes(b"RIFF")
    with pytest.raises(notebook.NotebookError, match="No such file: nope.mp3; upload it") as caught:
        notebook.choose_input("talk.wav, nope.mp3")
    assert len(caught.value._render_traceback_()) == 1  # what IPython shows instead of a traceback


def test_choose_input_lists_the_files_and_the_names_they_get(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "clip.mp3").write_bytes(b"x" * 2048)
    inputs = notebook.choose_input("a/clip.mp3, b/clip.mp3, https://example.org/b.wav")
    assert inputs.resolve() == ["a/clip.mp3", "b/clip.mp3", "https://example.org/b.wav"]
    out = capsys.readouterr().out
    assert "🎧 a/clip.mp3 (2.0 KB)\n" in out and "🎧 b/clip.mp3 (2.0 KB) -> files named clip (2).*" in out


def test_uploads_are_saved_when_the_next_step_runs(tmp_path):
    class Upload:  # what ipywidgets 8's FileUpload.value holds
        value = ({"name": "../talk.mp3", "content": memoryview(b"abc")},)

    assert notebook.Inputs(upload=Upload(), upload_dir=tmp_path).resolve() == [str(tmp_path / "talk.mp3")]
    with pytest.raises(OptionsError, match="No file uploaded yet"):
        notebook.Inputs(upload=type("Empty", (), {"value": ()})(), upload_dir=tmp_path).resolve()


def test_jupyter_uploads_never_overwrite_a_file(tmp_path):
    """As Colab does, a taken name gets " (1)", " (2)"...: the file beside the
    notebook and same-named uploads are all kept; running the next step again saves no copies."""
    (tmp_path / "talk.mp3").write_bytes(b"mine")

    class Upload:  # ipywidgets 7's value: name -> {"content"}; two uploads named alike (other folders)
        value = {"talk.mp3": {"content": b"first"}, "b/talk.mp3": {"content": b"second"}}

    inputs = notebook.Inputs(upload=Upload(), upload_dir=tmp_path)
    saved = inputs.resolve()
    assert saved == [str(tmp_path / "talk (1).mp3"), str(tmp_path / "talk (2).mp3")]
    assert [(tmp_path / n).read_bytes() for n in ("talk.mp3", "talk (1).mp3", "talk (2).mp3")] == [
        b"mine",
        b"first",
        b"second",
    ]
    assert inputs.resolve() == saved and len(list(tmp_path.iterdir())) == 3, "saved once"
    Upload.value = {"talk.mp3": {"content": b"third"}}
    assert inputs.resolve() == [str(tmp_path / "talk (3).mp3")], "a new upload in the same box"


def test_live_lines_come_through_callbacks(capsys):
    from audiototext.notebook.output import callbacks

    live = callbacks()
    live.on_file_start("talk.mp3")
    live.on_segment(Segment(61.5, 64.0, " Hola."))
    live.on_translated_line(Segment(61.5, 64.0, " Hello."))
    out = capsys.readouterr().out
    assert "▶ talk.mp3\n" in out
    assert "[01:01.500 --> 01:04.000] Hola." in out and "[01:01.500 --> 01:04.000] Hello." in out


# --- Step 4: DeepL -------------------------------------------------------------


def test_a_deepl_failure_keeps_the_transcripts(tmp_path, capsys, fake_deepl, monkeypatch):
    monkeypatch.setenv("DEEPL_SERVER_URL", fake_deepl.url)
    transcription = written(tmp_path)
    assert notebook.translate(transcription, deepl_api_key="wrong-key", deepl_target_language="English (British)") == []
    out = capsys.readouterr().out
    assert "DeepL rejected the key" in out and "files are kept" in out and "wrong-key" not in out
    assert all(p.is_file() for p in transcription.files) and len(transcription.files) == 2


def test_no_target_skips_deepl(tmp_path, capsys):
    assert notebook.translate(written(tmp_path), deepl_target_language="") == []
    assert "DeepL translation skipped" in capsys.readouterr().out


def test_a_language_deepl_added_is_read_at_run_time(tmp_path, capsys, fake_deepl, monkeypatch):
    monkeypatch.setenv("DEEPL_SERVER_URL", fake_deepl.url)
    transcription = written(tmp_path)
    with pytest.raises(notebook.NotebookError, match="Unknown DeepL target language 'Test language'"):
        notebook.translate(transcription, deepl_api_key=fake_deepl.auth_key, deepl_target_language="Test language")
    fake_deepl.extra_targets = [TEST_LANGUAGE]
    files = notebook.translate(transcription, deepl_api_key=fake_deepl.auth_key, deepl_target_language="Test language")
    assert [p.name for p in files] == ["clip_Test language.txt", "clip_Test language.srt"]
    out = capsys.readouterr().out
    assert "New target languages" not in out and fake_deepl.auth_key not in out, "DeepL's list: debug log only"
    assert [r.data.get("target_lang") for r in fake_deepl.translate_requests] == ["ZZ"]


def test_the_glossary_field(tmp_path, fake_deepl, monkeypatch):
    monkeypatch.setenv("DEEPL_SERVER_URL", fake_deepl.url)
    glossary = tmp_path / "terms.csv"
    glossary.write_text("gracias,cheers\n", encoding="utf-8")
    transcription = written(tmp_path)
    [txt, _] = notebook.translate(
        transcription,
        deepl_api_key=fake_deepl.auth_key,
        deepl_target_language="English (British)",
        deepl_glossary=str(glossary),
    )
    assert len(fake_deepl.glossaries) == 1 and "cheers" in txt.read_text(encoding="utf-8").lower()


def test_the_widget_target_list_is_deepl_s_when_a_key_is_known(fake_deepl, monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.setenv("DEEPL_SERVER_URL", fake_deepl.url)
    fake_deepl.extra_targets = [TEST_LANGUAGE]
    built = notebook.build_form()
    target = built.fields["deepl_target_language"]
    assert "Test language" not in [v for _, v in target.options], "no key: the built-in list"
    built.fields["deepl_api_key"].value = fake_deepl.auth_key  # typed in: the list is read from DeepL
    assert "Test language" in [v for _, v in target.options]
    assert [v for _, v in target.options][0] == "" and "German" in [v for _, v in target.options]


def test_the_widget_form_has_the_notebook_s_fields_and_lists():
    pytest.importorskip("ipywidgets")
    built = notebook.build_form(use_model="base")
    assert built.values() == {**fields.defaults(), "use_model": "base"}
    assert list(built.fields["use_model"].options) == list(fields.choices("use_model"))
    assert list(built.fields["vad"].options) == ["silero", "silencedetect", "off"]
    assert list(built.fields["engine"].options) == list(fields.choices("engine"))
    assert type(built.fields["api_key"]).__name__ == "Password" == type(built.fields["deepl_api_key"]).__name__
    assert fields.COHERENCE_HELP in built.fields["coherence_preference"].tooltip
    with pytest.raises(OptionsError, match="Unknown field"):
        notebook.build_form(model="base")


# --- Step 5: results ----------------------------------------------------------


def test_results_list_zip_and_preview(tmp_path, capsys, fake_deepl, monkeypatch):
    monkeypatch.setenv("DEEPL_SERVER_URL", fake_deepl.url)
    transcription = written(tmp_path)
    notebook.translate(transcription, deepl_api_key=fake_deepl.auth_key, deepl_target_language="English (British)")
    archive = notebook.show_results(transcription)
    out = capsys.readouterr().out
    assert archive == tmp_path / "audio_transcription.zip"
    assert sorted(zipfile.ZipFile(archive).namelist()) == sorted(
        f"audio_transcription/{n}"
        for n in ("clip.txt", "clip.srt", "clip_English (British).txt", "clip_English (British).srt")
    )
    assert "4 files in" in out and "clip.mp3 -> clip.*" in out
    assert "--- clip.srt ---" in out and "00:00:02,500 --> 00:00:06,000" in out and "Many thanks" in out
    assert "clip_English (British).srt: 2 cues, 100.0 % within the reading rules" in out


def test_the_player_plays_the_audio_with_a_track_per_language(tmp_path, colab, spanish_wav, fake_deepl, monkeypatch):
    monkeypatch.setenv("DEEPL_SERVER_URL", fake_deepl.url)
    monkeypatch.chdir(tmp_path)
    transcription = written(tmp_path, spanish_wav, formats=("txt",))  # no vtt asked for: made for the player
    notebook.translate(transcription, deepl_api_key=fake_deepl.auth_key, deepl_target_language="English (British)")
    colab.answers.append("y")
    notebook.show_results(transcription)
    page = colab.html()
    [player] = re.findall(r"<video .*?</video>", page, re.S)
    # Streamed from this kernel through Colab's port proxy, never embedded.
    [src] = re.findall(r'<video [^>]*src="([^"]+)"', player)
    assert src.startswith("http://127.0.0.1:") and src.endswith("/clip.wav") and "data:audio" not in player
    assert any(call.startswith("google.colab.kernel.proxyPort(") for call in colab.eval_js_calls)
    whole = (tmp_path / "clip.wav").read_bytes()
    seek = urllib.request.Request(src, headers={"Range": "bytes=1000-1999"})
    with urllib.request.urlopen(seek, timeout=10) as answer:  # the player seeks: a range request
        assert answer.status == 206 and answer.headers["Content-Range"] == f"bytes 1000-1999/{len(whole)}"
        assert answer.read() == whole[1000:2000]
    with urllib.request.urlopen(src, timeout=10) as answer:
        assert answer.read() == whole and answer.headers["Accept-Ranges"] == "bytes"
    # The transcript and its translation side by side (one row of columns), in that order.
    [row] = re.findall(r"<div class='audiototext-previews'.*?</div></div>", page, re.S)
    assert re.search(r"clip\.txt</summary>.*Hola a todos.*clip_English \(British\)\.txt</summary>.*Hello", row, re.S)
    tracks = re.findall(
        r'<track kind="subtitles" srclang="([^"]+)" label="([^"]+)" src="data:text/vtt;base64,'
        r'([^"]+)"',
        player,
    )
    assert [(lang, label) for lang, label, _ in tracks] == [("es", "Spanish"), ("en-gb", "English (British)")]
    assert "Many thanks" in base64.b64decode(tracks[1][2]).decode()
    assert sorted(p.name for p in (tmp_path / "audio_transcription").iterdir()) == [
        "clip.txt",
        "clip_English (British).txt",
    ], "the player's vtt is not an output"
    assert colab.downloads == [str(tmp_path / "audio_transcription.zip")]


def test_the_zip_download_is_asked_once_per_session(tmp_path, colab, capsys):
    """The Results step no longer downloads the zip on every run."""
    transcription = written(tmp_path)
    colab.answers.append("n")
    notebook.show_results(transcription)
    notebook.show_results(transcription)
    assert colab.downloads == [] and len(colab.questions) == 1, "asked once; no is remembered"
    assert "this step won't ask again" in capsys.readouterr().out
    from audiototext.notebook import steps

    steps._ZIP_ANSWER.clear()  # a new session (a new runtime) asks again
    colab.answers.append("y")
    archive = notebook.show_results(transcription)
    notebook.show_results(transcription)
    assert colab.downloads == [str(archive)] * 2 and len(colab.questions) == 2, "yes is remembered too"


def test_without_anyone_to_ask_nothing_is_downloaded(tmp_path, colab):
    notebook.show_results(written(tmp_path))  # no answer queued: input() fails, as in a run without a browser
    assert colab.downloads == [] and len(colab.questions) == 1


@pytest.mark.parametrize("media", ["spanish_wav", "english_mp4"])
def test_burn_subtitles_writes_a_listed_and_zipped_mp4(tmp_path, capsys, media, request):
    transcription = written(tmp_path, request.getfixturevalue(media))
    archive = notebook.show_results(transcription, burn_subtitles=True)
    burned = tmp_path / "audio_transcription" / "clip_subtitled.mp4"
    assert burned.is_file() and ffprobe_streams(burned) == ["video", "audio"]
    assert "audio_transcription/clip_subtitled.mp4" in zipfile.ZipFile(archive).namelist()
    out = capsys.readouterr().out
    assert "Burning the Spanish subtitles into clip_subtitled.mp4" in out and "clip_subtitled.mp4  (" in out
    assert not list(burned.parent.glob(".*partial*"))


def test_burn_uses_the_deepl_translation(tmp_path, spanish_wav, fake_deepl, monkeypatch):
    monkeypatch.setenv("DEEPL_SERVER_URL", fake_deepl.url)
    transcription = written(tmp_path, spanish_wav)
    notebook.translate(transcription, deepl_api_key=fake_deepl.auth_key, deepl_target_language="English (British)")
    notebook.show_results(transcription, burn_subtitles=True)
    assert (tmp_path / "audio_transcription" / "clip_English (British)_subtitled.mp4").is_file()


def test_a_saved_notebook_shows_how_each_progress_bar_ended(tmp_path):
    """A notebook viewed without widgets (GitHub, nbconvert) shows each bar's plain-text copy: the
    bar as it ended, not the 0 % it showed when it appeared. A real kernel runs the real bars."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    code = (
        "from audiototext.events import Download, DownloadBar, Progress, ProgressBar\n"
        "bar = ProgressBar()\n"
        "for done in (0, 1, 2, 3):\n"
        "    bar(Progress(3, done, 2, done == 3))\n"
        "download = DownloadBar()\n"
        "download(Download('base', 0, 2048))\n"
        "download(Download('base', 2048, 2048, True))\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    shown = [o["data"]["text/plain"] for o in nb.cells[0].outputs if "text/plain" in o.get("data", {})]
    assert len(shown) == 2, nb.cells[0].outputs
    assert "Transcribing: 100%" in shown[0] and "3/3" in shown[0], shown
    assert "Downloading base: 100%" in shown[1] and "2.00k/2.00k" in shown[1], shown
    assert all(o["output_type"] != "error" for o in nb.cells[0].outputs)


def test_an_upload_named_like_a_dangling_symlink_is_saved_beside_it(tmp_path):
    (tmp_path / "talk.mp3").symlink_to(tmp_path / "gone" / "talk.mp3")  # a link whose target is gone

    class Upload:
        value = ({"name": "talk.mp3", "content": memoryview(b"new")},)

    assert notebook.Inputs(upload=Upload(), upload_dir=tmp_path).resolve() == [str(tmp_path / "talk (1).mp3")]
    assert (tmp_path / "talk (1).mp3").read_bytes() == b"new" and (tmp_path / "talk.mp3").is_symlink()

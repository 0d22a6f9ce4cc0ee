"""The notebook's Colab paths with a fake ``google.colab`` (tests/fake_colab.py):
uploads, a Drive input and a Drive output folder, keys from Colab secrets (DeepL, OpenAI), the
microphone; and nothing lost on a disconnect: a run interrupted after its first checkpoint on
Drive resumes when the step runs again."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from audiototext import notebook
from audiototext.notebook import fields

from fake_colab import install as install_colab
from fake_engine import heard


@pytest.fixture
def colab(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    return install_colab(monkeypatch, tmp_path)


@pytest.fixture
def fake_openai(monkeypatch):
    pytest.importorskip("openai")
    from fake_openai import FakeOpenAIServer

    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with FakeOpenAIServer() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        yield fake


def test_in_colab_and_the_form_cell_says_the_cells_are_the_form(colab, capsys):
    assert notebook.in_colab() and notebook.environment() == "colab"
    notebook.form()
    assert "In Colab the form cells above are the form" in capsys.readouterr().out
    assert colab.displayed == [], "Run all never shows a second form"


def test_uploading_two_files(colab, tmp_path, english_wav, spanish_wav, capsys):
    colab.uploads.append([("talk.wav", english_wav.read_bytes()), ("charla.wav", spanish_wav.read_bytes())])
    inputs = notebook.choose_input("")
    assert inputs.resolve() == ["talk.wav", "charla.wav"]
    assert (tmp_path / "talk.wav").read_bytes() == english_wav.read_bytes()
    out = capsys.readouterr().out
    assert "🎧 talk.wav (" in out and "🎧 charla.wav (" in out
    colab.uploads.append([("talk.wav", b"again")])  # Colab keeps the first: the second is "talk (1).wav"
    assert notebook.choose_input("").resolve() == ["talk (1).wav"]
    with pytest.raises(notebook.NotebookError, match="Nothing was uploaded"):
        notebook.choose_input("")


def test_a_drive_input_mounts_drive_once(colab, english_wav):
    colab.drive_file("talks/talk.wav", english_wav.read_bytes())
    inputs = notebook.choose_input("MyDrive/talks/talk.wav")
    assert inputs.resolve() == [f"{colab.mount_point}/MyDrive/talks/talk.wav"]
    assert colab.mounts == [str(colab.mount_point)] == [fields.DRIVE_MOUNT]
    notebook.choose_input(f"{fields.DRIVE_MOUNT}/MyDrive/talks/talk.wav")
    assert len(colab.mounts) == 1, "mounted already"
    with pytest.raises(notebook.NotebookError, match="No such file.*Google Drive paths look like"):
        notebook.choose_input("MyDrive/talks/missing.wav")


def test_microphone_recordings_get_new_names_and_play_back(colab, tmp_path, english_wav, spanish_wav):
    for wav in (english_wav, spanish_wav):  # what a browser records: WebM/Opus
        webm = tmp_path / f"{wav.stem}.webm"
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(wav), "-c:a", "libopus", str(webm)], check=True)
        colab.queue_recording(webm, "audio/webm;codecs=opus")
    first = notebook.choose_input("microphone").resolve()
    second = notebook.choose_input("Microphone").resolve()
    assert (first, second) == (["recording-1.wav"], ["recording-2.wav"]), "never over an earlier recording"
    assert all(call == "audiototextRecord()" for call in colab.eval_js_calls) and len(colab.eval_js_calls) == 2
    players = [o for o in colab.displayed if type(o).__name__ == "Audio"]
    assert len(players) == 2 and players[0].data != players[1].data
    from audiototext.media import probe

    assert probe(tmp_path / "recording-1.wav").duration > 5 and probe(tmp_path / "recording-2.wav").duration > 5


def test_the_deepl_key_comes_from_the_colab_secret(colab, tmp_path, fake_deepl, monkeypatch, capsys):
    from test_notebook_steps import written

    monkeypatch.setenv("DEEPL_SERVER_URL", fake_deepl.url)
    transcription = written(tmp_path)
    with pytest.raises(notebook.NotebookError, match="No DeepL API key"):
        notebook.translate(transcription, deepl_target_language="English (British)")
    colab.secrets[fields.DEEPL_SECRET] = fake_deepl.auth_key
    files = notebook.translate(transcription, deepl_target_language="English (British)")
    assert [p.name for p in files] == ["clip_English (British).txt", "clip_English (British).srt"]
    assert fake_deepl.auth_key not in capsys.readouterr().out + colab.html()


def test_openai_api_with_the_secret_key_writes_to_a_drive_folder(colab, english_wav, fake_openai, capsys):
    """The engine dropdown's openai-api, its key from the Colab secret OPENAI_API_KEY (never printed),
    and output_dir on Drive: the files (and the API's checkpoints) are written there."""
    colab.secrets[fields.OPENAI_SECRET] = fake_openai.api_key
    colab.drive_file("talks/talk.wav", english_wav.read_bytes())
    inputs = notebook.choose_input("MyDrive/talks/talk.wav")
    transcription = notebook.transcribe(
        inputs,
        engine="openai-api",
        use_model="gpt-4o-mini-transcribe",
        output_dir="MyDrive/subtitles",
        output_formats="txt,srt",
    )
    saved = colab.drive_storage / "subtitles"
    assert sorted(p.name for p in saved.iterdir()) == ["talk.srt", "talk.txt"]
    assert [p.parent for p in transcription.files] == [Path(fields.DRIVE_MOUNT, "MyDrive", "subtitles")] * 2
    assert [r.model for r in fake_openai.requests] == ["gpt-4o-mini-transcribe"]
    colab.answers.append("y")  # "Download audio_transcription.zip?" (asked once)
    archive = notebook.show_results(transcription)
    assert colab.downloads == [str(archive)] and (colab.drive_storage / "subtitles.zip").is_file()
    out = capsys.readouterr().out
    assert "model gpt-4o-mini-transcribe, openai-api" in out and fake_openai.api_key not in out + colab.html()


def test_the_notebook_passes_the_openai_secret_down_for_the_api_engine(colab, english_wav, fake_openai, monkeypatch):
    """The engine reads no Colab secret: the notebook does, before $OPENAI_API_KEY, and only when
    the engine is hosted (Colab asks the user for access on a secret's first read)."""
    from audiototext.notebook import steps

    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-environment")
    colab.secrets[fields.OPENAI_SECRET] = fake_openai.api_key
    transcription = notebook.transcribe([str(english_wav)], engine="openai-api", output_dir="out", output_formats="txt")
    assert transcription.results[0].ok and colab.secret_reads == [fields.OPENAI_SECRET]
    local = steps._with_key(fields.transcribe_options({"engine": "faster-whisper", "use_model": "tiny"}))
    assert local.api_key is None and colab.secret_reads == [fields.OPENAI_SECRET]


def test_an_api_key_typed_in_the_field_wins_and_is_never_printed(colab, english_wav, fake_openai, capsys):
    colab.secrets[fields.OPENAI_SECRET] = "sk-wrong-secret"
    transcription = notebook.transcribe(
        [str(english_wav)], api_key=fake_openai.api_key, output_dir="out", output_formats="txt"
    )
    assert transcription.options.engine == "openai-api" and transcription.results[0].ok
    assert fake_openai.api_key not in capsys.readouterr().out


def test_a_disconnect_loses_nothing_and_the_step_resumes(colab, long_speech, monkeypatch, capsys, fake_engine):
    """Output on Drive: each decoded window is checkpointed there at once; after an interruption
    (the runtime disconnecting) the same step with the same fields resumes from them, and writes what
    an uninterrupted run writes (on the fake engine: tests/fake_engine.py)."""
    from audiototext.longaudio import checkpoints

    path, sentences, _ = long_speech
    colab.drive_file("talks/lecture.wav", path.read_bytes())
    form = {"use_model": "base", "engine": "faster-whisper", "language": "English", "output_dir": "MyDrive/subtitles"}
    real_save = checkpoints.Checkpoints.save

    def save_then_disconnect(self, index, result):
        real_save(self, index, result)
        raise KeyboardInterrupt  # the runtime goes away right after the first window is on Drive

    monkeypatch.setattr(checkpoints.Checkpoints, "save", save_then_disconnect)
    inputs = notebook.choose_input("MyDrive/talks/lecture.wav")
    with pytest.raises(KeyboardInterrupt):
        notebook.transcribe(inputs, **form)
    saved = colab.drive_storage / "subtitles"
    assert len(list(saved.glob(".audiototext/lecture-*/window-*.json"))) == 1
    assert not list(saved.glob("lecture.*")), "no half-written output"

    monkeypatch.setattr(checkpoints.Checkpoints, "save", real_save)
    capsys.readouterr()
    transcription = notebook.transcribe(notebook.choose_input("MyDrive/talks/lecture.wav"), **form)
    out = capsys.readouterr().out
    assert "Resuming: 1 window already transcribed" in out
    assert sorted(p.name for p in saved.iterdir()) == ["lecture.srt", "lecture.txt", "lecture.vtt"]
    text = (saved / "lecture.txt").read_text(encoding="utf-8")
    assert transcription.results[0].ok and not (saved / ".audiototext").exists(), "checkpoints go once written"
    whole = notebook.transcribe(
        notebook.choose_input("MyDrive/talks/lecture.wav"), **{**form, "output_dir": "MyDrive/whole"}
    )
    assert heard(text) and text == (colab.drive_storage / "whole" / "lecture.txt").read_text(encoding="utf-8")
    assert whole.results[0].ok

"""The notebook's Save step: more formats from the transcription kept in memory
(with its DeepL translations) or from ``.json`` files written before, without transcribing again.
No model runs: the Transcribe step's result is written directly (tests/test_notebook_steps.written)."""

from __future__ import annotations

import zipfile

import pytest

from audiototext import notebook
from audiototext.notebook import steps

from fake_colab import install as install_colab
from test_notebook_steps import written


@pytest.fixture(autouse=True)
def new_session():
    steps.remember(None)
    yield
    steps.remember(None)


def test_more_formats_from_the_kept_transcription_and_its_translation(tmp_path, fake_deepl, monkeypatch, capsys):
    monkeypatch.setenv("DEEPL_SERVER_URL", fake_deepl.url)
    transcription = written(tmp_path)
    steps.remember(transcription)  # what the Transcribe step does
    notebook.translate(transcription, deepl_api_key=fake_deepl.auth_key, deepl_target_language="English (British)")
    requests = len(fake_deepl.translate_requests)
    saved = notebook.save(save_formats="vtt,json")  # the cell passes no transcription: the session's
    assert saved is transcription and len(fake_deepl.translate_requests) == requests, "nothing sent again"
    folder = tmp_path / "audio_transcription"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"clip{suffix}.{ext}" for suffix in ("", "_English (British)") for ext in ("txt", "srt", "vtt", "json")
    )
    assert "Many thanks" in (folder / "clip_English (British).vtt").read_text(encoding="utf-8")
    archive = notebook.show_results(saved)
    assert len(zipfile.ZipFile(archive).namelist()) == 8, "the Results step lists and zips them"
    assert "Wrote" in capsys.readouterr().out


def test_from_json_in_a_new_session(tmp_path, capsys):
    [kept] = written(tmp_path, formats=("json",)).results[0].outputs
    transcription = notebook.save(save_formats="srt,txt", from_json=f'"{kept}"')
    assert sorted(p.name for p in kept.parent.iterdir()) == ["clip.json", "clip.srt", "clip.txt"]
    assert [p.name for p in transcription.files] == ["clip.json", "clip.srt", "clip.txt"]
    assert steps.last_transcription() is transcription
    notebook.show_results(transcription)
    out = capsys.readouterr().out
    assert "3 files in" in out and "Hola a todos" in out


def test_nothing_chosen_or_nothing_kept(tmp_path, capsys):
    assert notebook.save(save_formats="") is None
    assert "nothing more written" in capsys.readouterr().out
    with pytest.raises(notebook.NotebookError, match="Nothing to save yet: run the Transcribe step first"):
        notebook.save(save_formats="srt")
    with pytest.raises(notebook.NotebookError, match="not a transcript .json"):
        notebook.save(save_formats="srt", from_json=str(tmp_path / "gone.json"))
    with pytest.raises(notebook.NotebookError, match="Nothing to show yet"):
        notebook.show_results(None)


def test_from_json_on_drive(tmp_path, monkeypatch):
    colab = install_colab(monkeypatch, tmp_path)
    [kept] = written(tmp_path, formats=("json",)).results[0].outputs
    colab.drive_file("subtitles/clip.json", kept.read_bytes())
    notebook.save(save_formats="vtt", from_json="MyDrive/subtitles/clip.json")
    assert colab.mounts and sorted(p.name for p in (colab.drive_storage / "subtitles").iterdir()) == [
        "clip.json",
        "clip.vtt",
    ]


def test_the_widget_form_saves_from_json_without_transcribing(tmp_path, monkeypatch):
    [kept] = written(tmp_path, formats=("json",)).results[0].outputs
    from audiototext.notebook import widgets

    monkeypatch.setattr(widgets, "transcribe", lambda *a, **k: pytest.fail("transcribed again"))
    transcription = notebook.run_form({"from_json": str(kept), "save_formats": "srt"})
    assert [p.name for p in transcription.files] == ["clip.json", "clip.srt"]

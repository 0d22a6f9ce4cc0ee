"""Writing formats from a kept result without transcribing again: the CLI's
``--from-json`` and :mod:`audiototext.saving`. No model runs: a model load fails these tests."""

from __future__ import annotations

import json

import pytest

from audiototext.cli import main
from audiototext.saving import save_formats, transcript_from_json
from audiototext.subtitles import write_files
from audiototext.transcript import Segment, Transcript, Word

WORDS = (
    Word(0.0, 0.4, " Hola"),
    Word(0.4, 0.9, " a"),
    Word(0.9, 1.5, " todos"),
    Word(1.6, 2.2, " y"),
    Word(2.2, 3.0, " bienvenidas."),
)
KEPT = Transcript((Segment(0.0, 3.0, " Hola a todos y bienvenidas.", WORDS), Segment(3.5, 5.0, " Gracias.")), "es")


@pytest.fixture
def no_model(monkeypatch):
    import audiototext.engines

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded to write files from a .json")

    monkeypatch.setattr(audiototext.engines, "load_engine", refuse)


@pytest.fixture
def kept_json(tmp_path):
    [path] = write_files(KEPT, tmp_path / "audio_transcription", "charla", ["json"])
    return path


def test_a_json_output_is_read_back_with_its_words(kept_json):
    back = transcript_from_json(kept_json)
    assert [s.text for s in back.segments] == [s.text for s in KEPT.segments] and back.language == "es"
    assert back.segments[0].words == WORDS and back.duration == 5.0


def test_from_json_writes_new_formats_with_new_line_limits(kept_json, tmp_path, no_model, capsys):
    folder = kept_json.parent
    assert main(["--from-json", str(kept_json), "-o", str(folder), "--max_line_width", "12"]) == 0
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"charla.{ext}" for ext in ("json", "srt", "tsv", "txt", "vtt")], "the CLI's five formats"
    kept = json.loads(kept_json.read_text(encoding="utf-8"))
    assert {k: v for k, v in kept.items() if k != "subtitles"} == KEPT.to_dict(), "the .json read is kept as it is"
    srt = (folder / "charla.srt").read_text(encoding="utf-8")
    shown = [line for line in srt.splitlines() if line[:1].isalpha()]
    assert " ".join(shown).split() == "Hola a todos y bienvenidas. Gracias.".split() and all(
        len(x) <= 12 for x in shown
    )
    err = capsys.readouterr().err
    assert f"==> {kept_json}" in err and "Wrote" in err and "the .json it was read from is kept" in err


def test_from_json_translates_with_deepl_too(kept_json, tmp_path, fake_deepl, monkeypatch, no_model):
    monkeypatch.setenv("DEEPL_SERVER_URL", fake_deepl.url)
    out = tmp_path / "out"
    argv = ["--from-json", str(kept_json), "-o", str(out), "-f", "srt", "--deepl_api_key", fake_deepl.auth_key]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == ["charla.srt", "charla_English (British).srt"]
    assert "00:00:03,500 --> 00:00:06,000" in (out / "charla_English (British).srt").read_text(encoding="utf-8")


def test_a_file_that_is_no_transcript_is_one_clear_error(tmp_path, no_model, capsys):
    bad, missing = tmp_path / "notes.json", tmp_path / "gone.json"
    bad.write_text('{"title": "not a transcript"}', encoding="utf-8")
    assert main(["--from-json", str(bad), str(missing), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: not a transcript .json (no segments list)" in err
    assert f"{missing}: not a transcript .json (No such file or directory)" in err
    assert not (tmp_path / "out").exists()


def test_save_formats_keeps_the_file_it_read(kept_json):
    written = save_formats(transcript_from_json(kept_json), kept_json.parent, "charla", "json,txt", keep=[kept_json])
    assert [p.name for p in written] == ["charla.txt"]

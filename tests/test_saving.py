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


@pytest.fixture(scope="module")
def talk(media_dir):
    from conftest import speak

    return speak(
        "Good morning everyone, and welcome to the garden. The roses are early this year, and the tulips are "
        "late. Please stay on the paths, and enjoy your visit.",
        "en-us",
        media_dir / "saving-talk.wav",
    )


def test_formats_written_later_from_a_json_are_the_ones_the_run_wrote(
    tmp_path, talk, fake_engine, fake_deepl, monkeypatch
):
    """Every kept .json — a transcription, Whisper's translation, a DeepL translation (timed by its
    source's words) — gives back exactly the files its run wrote, cue times included."""
    monkeypatch.setenv("DEEPL_SERVER_URL", fake_deepl.url)
    run = ["--model", "base", "--no-progress", "-f", "all"]
    assert (
        main(
            [
                str(talk),
                "-o",
                str(tmp_path / "run"),
                *run,
                "--deepl_target",
                "de",
                "--deepl_api_key",
                fake_deepl.auth_key,
            ]
        )
        == 0
    )
    assert main([str(talk), "-o", str(tmp_path / "run"), *run, "--task", "translate", "--language", "es"]) == 0
    kept = sorted((tmp_path / "run").glob("*.json"))
    assert [p.name for p in kept] == ["saving-talk.json", "saving-talk_English.json", "saving-talk_German.json"]
    for json_file in kept:
        again = tmp_path / "again" / json_file.stem
        assert main(["--from-json", str(json_file), "-o", str(again), "-f", "srt,vtt,tsv,txt,json"]) == 0
        for ext in ("srt", "vtt", "tsv", "txt", "json"):
            ran = json_file.with_suffix(f".{ext}").read_text(encoding="utf-8")
            assert (again / f"{json_file.stem}.{ext}").read_text(encoding="utf-8") == ran, (json_file.name, ext)


PAUSED = Transcript(  # speech at both ends of each segment, a long breath between: even spreading is wrong
    (
        Segment(
            0.0,
            6.0,
            " Hola a todos, y bienvenidos a la charla.",
            (
                Word(0.0, 0.3, " Hola"),
                Word(0.3, 0.5, " a"),
                Word(0.5, 1.0, " todos,"),
                Word(4.6, 4.8, " y"),
                Word(4.8, 5.4, " bienvenidos"),
                Word(5.4, 5.5, " a"),
                Word(5.5, 5.6, " la"),
                Word(5.6, 6.0, " charla."),
            ),
        ),
        Segment(7.0, 9.0, " Gracias.", (Word(7.0, 7.4, " Gracias."),)),
    ),
    "es",
)


def test_a_deepl_translation_s_json_times_its_cues_by_its_source_as_the_run_did(tmp_path, fake_deepl, monkeypatch):
    monkeypatch.setenv("DEEPL_SERVER_URL", fake_deepl.url)
    [source] = write_files(PAUSED, tmp_path / "run", "charla", ["json"])
    argv = ["--from-json", str(source), "-o", str(tmp_path / "run"), "-f", "srt,vtt,json", "--deepl_target", "de"]
    assert main([*argv, "--deepl_api_key", fake_deepl.auth_key]) == 0
    translated = tmp_path / "run" / "charla_German.json"
    assert json.loads(translated.read_text(encoding="utf-8"))["reference"]["segments"][0]["words"][2]["end"] == 1.0
    assert main(["--from-json", str(translated), "-o", str(tmp_path / "again"), "-f", "srt,vtt,json"]) == 0
    for ext in ("srt", "vtt", "json"):
        ran = translated.with_suffix(f".{ext}").read_text(encoding="utf-8")
        assert (tmp_path / "again" / f"charla_German.{ext}").read_text(encoding="utf-8") == ran, ext
    # Without its source the same text is spread over the segment: other times (what the file prevents).
    data = json.loads(translated.read_text(encoding="utf-8"))
    del data["reference"]
    bare = tmp_path / "bare" / "charla_German.json"
    bare.parent.mkdir()
    bare.write_text(json.dumps(data), encoding="utf-8")
    assert main(["--from-json", str(bare), "-o", str(bare.parent), "-f", "srt"]) == 0
    assert bare.with_suffix(".srt").read_text(encoding="utf-8") != translated.with_suffix(".srt").read_text()


def test_whisper_s_translation_is_read_back_as_english(tmp_path):
    english = Transcript(
        (Segment(0.0, 3.0, " Hello to everyone and welcome.", tuple(PAUSED.segments[0].words[:5])),),
        "es",
        3.0,
        "translate",
    )
    [kept] = write_files(english, tmp_path, "clip_English", ["json"])
    back = transcript_from_json(kept)
    assert (back.task, back.language, back.text_language) == ("translate", "es", "en")
    assert json.loads(kept.read_text(encoding="utf-8"))["task"] == "translate"
    [plain] = write_files(PAUSED, tmp_path, "clip", ["json"])
    assert "task" not in json.loads(plain.read_text(encoding="utf-8")), "a transcription's json is whisper's"


def test_cues_saved_from_a_result_without_word_times_say_so(tmp_path, caplog):
    untimed = Transcript(tuple(Segment(s.start, s.end, s.text) for s in PAUSED.segments), "es")
    with caplog.at_level("WARNING", logger="audiototext"):
        save_formats(untimed, tmp_path, "txt_only", "txt")
        assert "no word times" not in caplog.text, "txt has no cues"
        save_formats(PAUSED, tmp_path, "timed", "srt")
        assert "no word times" not in caplog.text
        save_formats(untimed, tmp_path, "txt_only", "srt")
    assert "txt_only has no word times (it was transcribed without srt/vtt, or with word_timestamps False)" in (
        caplog.text
    )

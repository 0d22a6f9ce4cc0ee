"""Output names that never lose a file: an input is never written
over, derived names (translations, Whisper's English) are reserved like input names, read-only
earlier outputs and links are respected, and names the file system cannot take are shortened
before decoding. Real files, real ffmpeg, the fake engine (tests/fake_engine.py), the fake DeepL server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from audiototext.cli import main
from conftest import speak
from fake_deepl import TEST_LANGUAGE
from fake_engine import heard

pytestmark = pytest.mark.usefixtures("fake_engine")

FAST = ["--engine", "faster-whisper", "--model", "tiny.en", "--beam_size", "1", "--best_of", "1", "--no-progress"]


@pytest.fixture(scope="module")
def garden(media_dir) -> Path:
    return speak("Good morning everyone, and welcome to the garden.", "en-us", media_dir / "names-garden.wav")


@pytest.fixture(scope="module")
def library(media_dir) -> Path:
    return speak("The library opens early every morning.", "en-us", media_dir / "names-library.wav")


# --- the names alone (no model) ---------------------------------------------------------------------


@pytest.fixture
def decoded(monkeypatch) -> list[Path]:
    """The inputs the pipeline decodes, in order (an input refused before decoding is not among them)."""
    import audiototext.pipeline

    paths, real = [], audiototext.pipeline.DecodedFile
    monkeypatch.setattr(audiototext.pipeline, "DecodedFile", lambda path, **kw: paths.append(path) or real(path, **kw))
    return paths


def test_derived_names_are_reserved_like_input_names():
    from audiototext.names import OutputNames

    names = OutputNames(".")
    assert [names.claim(s) for s in ("talk", "talk_German", "Talk_german_lines", "talk_English", "talk_Germany")] == [
        "talk",
        "talk_German (2)",
        "Talk_german_lines (2)",
        "talk_English (2)",
        "talk_Germany",  # not a target's name
    ]
    # the other order: talk's German translation would be the first input's file
    names = OutputNames(".")
    assert [names.claim("talk_German"), names.claim("talk")] == ["talk_German", "talk (2)"]


def test_task_and_coherence_mode_give_distinct_names():
    from audiototext.names import OutputNames, deepl_suffix

    assert OutputNames(".", task="translate").claim("clip") == "clip_English"
    assert deepl_suffix("German") == deepl_suffix("German", "Share context between lines") == "_German"
    assert deepl_suffix("German", "Translate each line independently") == "_German_lines"
    assert deepl_suffix("English (British)", "lines") == "_English (British)_lines"


def test_names_fit_the_file_system_and_dots_are_no_name(tmp_path):
    from audiototext.names import OutputNames, fit, name_max, short_name

    limit = name_max(tmp_path)
    names = OutputNames(tmp_path, ("txt", "json"), deepl="_Portuguese (Brazilian)")
    long = "é" * 124  # 248 bytes: fits alone, not with the translation's suffix
    name = names.claim(long)
    assert len(os.fsencode(f"{name}_Portuguese (Brazilian).json")) <= limit and long.startswith(name)
    assert names.claim(long).startswith(name) and names.claim(long) != name  # numbered, still fitting
    assert fit("aé", 2) == "a"  # never half a character
    assert OutputNames(tmp_path).claim(".") == "audio" and OutputNames(tmp_path).claim("..") == "audio"
    assert short_name("x" * 300) != short_name("x" * 299) and len(short_name("x" * 300)) == 64


# --- end to end: the CLI ----------------------------------------------------------------------------


def test_an_input_named_like_an_output_is_never_written_over(tmp_path, garden, capsys):
    # `cp en.wav voice.txt; audiototext voice.txt -f txt` wrote the transcript over the recording.
    voice = shutil.copy(garden, tmp_path / "voice.txt")
    original = Path(voice).read_bytes()
    assert main([str(voice), "-f", "txt", "-o", str(tmp_path), *FAST]) == 0
    assert Path(voice).read_bytes() == original
    assert heard((tmp_path / "voice (2).txt").read_text(encoding="utf-8"))
    err = capsys.readouterr().err
    assert f"{voice}: a file named like its output is an input of this run: its files are named voice (2).*" in err
    # the same through a link in the output folder that points to the input
    out = tmp_path / "out"
    out.mkdir()
    (out / "voice.txt").symlink_to(voice)
    assert main([str(voice), "-f", "txt", "-o", str(out), *FAST]) == 0
    assert Path(voice).read_bytes() == original and (out / "voice.txt").is_symlink()
    assert heard((out / "voice (2).txt").read_text(encoding="utf-8"))


def test_a_recording_named_like_an_output_is_never_written_over(tmp_path, garden, library, fake_deepl, capsys):
    # A recording named talk_German.txt beside talk.wav (not an input of the run) was replaced by
    # talk's German translation: every output is UTF-8 text, so a file that is not is kept.
    out = tmp_path / "out"
    out.mkdir()
    talk = shutil.copy(garden, out / "talk.wav")
    recording = shutil.copy(library, out / "talk_German.txt")
    before = Path(recording).read_bytes()
    names = ["talk (2).txt", "talk (2)_German.txt", "talk.wav", "talk_German.txt"]
    argv = [talk, "-f", "txt", "-o", str(out), "--deepl-target", "de", *FAST]
    argv += ["--deepl-api-key", fake_deepl.auth_key, "--deepl-server-url", fake_deepl.url]
    assert main(list(map(str, argv))) == 0
    assert Path(recording).read_bytes() == before
    assert "a file named like its output is no transcript (a recording?), so it is kept" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == names
    # an earlier output (text) is still replaced in place
    assert main(list(map(str, argv))) == 0
    assert sorted(p.name for p in out.iterdir()) == names


def test_a_translation_is_never_overwritten_by_an_input_named_like_it(tmp_path, garden, library, fake_deepl, capsys):
    # `audiototext talk.wav talk_German.wav --deepl-target de`: talk's German translation was
    # overwritten by the second input's transcript.
    talk, talk_german = shutil.copy(garden, tmp_path / "talk.wav"), shutil.copy(library, tmp_path / "talk_German.wav")
    out = tmp_path / "out"
    argv = [talk, talk_german, "-f", "txt", "-o", str(out), "--deepl-target", "de", *FAST]
    argv += ["--deepl-api-key", fake_deepl.auth_key, "--deepl-server-url", fake_deepl.url]
    assert main(list(map(str, argv))) == 0
    # it says why (the name is not the same as talk's: it is talk's translation's)
    err = capsys.readouterr().err
    assert f"{talk_german}: its files would be named like another input's translation" in err
    assert "has the same name" not in err
    assert sorted(p.name for p in out.iterdir()) == [
        "talk.txt",
        "talk_German (2).txt",
        "talk_German (2)_German.txt",
        "talk_German.txt",
    ]
    text = {p.stem: heard(p.read_text(encoding="utf-8")) for p in out.iterdir()}
    assert text["talk"] and text["talk_German (2)"] and text["talk"] != text["talk_German (2)"]
    # the fake DeepL keeps the fake engine's words: each translation holds its own input's words
    assert text["talk_German"] == text["talk"] and text["talk_German (2)_German"] == text["talk_German (2)"]


def test_names_do_not_depend_on_the_deepl_targets_read_before(tmp_path, garden, library, fake_deepl, monkeypatch):
    """A target only DeepL's live list has (Test language, ZZ): once a notebook or the service had
    read that list, ``talk_Test language.wav`` beside ``talk.wav`` was named ``talk_Test language (2)``
    in a run that translates nothing, and ``talk_Test language`` before: the same command named its
    files differently. Names follow the command: the built-in targets and this run's own target."""
    from audiototext.translation import available_targets
    from audiototext.translation import targets as targets_module

    monkeypatch.setattr(targets_module, "_LIVE", {})
    fake_deepl.extra_targets = [TEST_LANGUAGE]
    talk = shutil.copy(garden, tmp_path / "talk.wav")
    other = shutil.copy(library, tmp_path / "talk_Test language.wav")
    plain = [str(talk), str(other), "-f", "txt", *FAST]
    assert main([*plain, "-o", str(tmp_path / "before")]) == 0
    assert "Test language" in available_targets(fake_deepl.auth_key, server_url=fake_deepl.url)  # as a notebook does
    assert main([*plain, "-o", str(tmp_path / "after")]) == 0
    for out in ("before", "after"):
        assert sorted(p.name for p in (tmp_path / out).iterdir()) == ["talk.txt", "talk_Test language.txt"], out
    # translating into it: talk's translation is talk_Test language.txt, so the other input moves aside
    deepl = ["--deepl-target", "ZZ", "--deepl-api-key", fake_deepl.auth_key, "--deepl-server-url", fake_deepl.url]
    assert main([*plain, "-o", str(tmp_path / "zz"), *deepl]) == 0
    text = {p.stem: heard(p.read_text(encoding="utf-8")) for p in (tmp_path / "zz").iterdir()}
    assert sorted(text) == [
        "talk",
        "talk_Test language",
        "talk_Test language (2)",
        "talk_Test language (2)_Test language",
    ]
    assert text["talk_Test language"] == text["talk"] != text["talk_Test language (2)"]


def test_both_deepl_modes_are_kept_side_by_side(tmp_path, garden, fake_deepl):
    out = tmp_path / "out"
    common = [str(garden), "-f", "txt", "-o", str(out), "--deepl-target", "de", *FAST]
    common += ["--deepl-api-key", fake_deepl.auth_key, "--deepl-server-url", fake_deepl.url]
    assert main(common) == 0
    assert main([*common, "--deepl-coherence", "lines"]) == 0
    stem = garden.stem
    assert sorted(p.name for p in out.iterdir()) == [f"{stem}.txt", f"{stem}_German.txt", f"{stem}_German_lines.txt"]


def test_a_read_only_earlier_output_is_refused_before_decoding(tmp_path, garden, library, capsys, decoded):
    out = tmp_path / "out"
    out.mkdir()
    kept = out / f"{garden.stem}.txt"
    kept.write_text("my corrected transcript\n", encoding="utf-8")
    kept.chmod(0o444)
    assert main([str(garden), str(library), "-f", "txt", "-o", str(out), *FAST]) == 1
    assert kept.read_text(encoding="utf-8") == "my corrected transcript\n"
    err = capsys.readouterr().err
    assert f"{garden}: its output {kept} exists and is read-only, so it is kept" in err
    assert decoded == [library]  # refused before decoding
    assert heard((out / f"{library.stem}.txt").read_text(encoding="utf-8"))  # the others go on


def test_an_output_that_is_a_link_is_written_through(tmp_path, garden):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (elsewhere / "real.txt").write_text("old\n", encoding="utf-8")
    link = out / f"{garden.stem}.txt"
    link.symlink_to(elsewhere / "real.txt")
    assert main([str(garden), "-f", "txt", "-o", str(out), *FAST]) == 0
    assert link.is_symlink() and os.readlink(link) == str(elsewhere / "real.txt")
    assert heard((elsewhere / "real.txt").read_text(encoding="utf-8"))
    assert sorted(p.name for p in elsewhere.iterdir()) == ["real.txt"]  # no temporary file left


def test_a_link_to_a_missing_folder_is_refused_before_decoding(tmp_path, garden, library, capsys, decoded):
    # A link that points into a folder that is not there could not be written through: the
    # transcript was only rescued, after decoding, with a message about free space.
    out = tmp_path / "out"
    out.mkdir()
    link = out / f"{garden.stem}.txt"
    link.symlink_to(tmp_path / "nowhere" / "new.txt")
    assert main([str(garden), str(library), "-f", "txt", "-o", str(out), *FAST]) == 1
    err = capsys.readouterr().err
    assert f"{garden}: its output {link} is a link to {tmp_path / 'nowhere' / 'new.txt'}, whose folder" in err
    assert "rescued" not in err and "Free some space" not in err
    assert decoded == [library]  # refused before decoding; the others go on
    assert link.is_symlink() and not (tmp_path / "nowhere").exists()
    assert heard((out / f"{library.stem}.txt").read_text(encoding="utf-8"))


def test_long_and_dotted_names_keep_their_transcript(tmp_path, garden):
    # Names of 236 bytes or more, and `..wav`, were transcribed and then thrown away.
    long = shutil.copy(garden, tmp_path / ("n" * 246 + ".wav"))
    dotted = shutil.copy(garden, tmp_path / "..wav")
    out = tmp_path / "out"
    assert main([str(long), str(dotted), "-o", str(out), "-f", "txt,vtt,srt", *FAST]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [*(f"{'n' * 246}.{ext}" for ext in ("srt", "txt", "vtt")), "audio.srt", "audio.txt", "audio.vtt"]
    )
    for name in (f"{'n' * 246}.txt", "audio.txt"):
        assert heard((out / name).read_text(encoding="utf-8"))

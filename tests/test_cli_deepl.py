"""The CLI's DeepL step end to end: the fake engine's transcripts (tests/fake_engine.py), the real
deepl package, a fake DeepL server."""

from __future__ import annotations

import re

import pytest

from audiototext.cli import main

ARGS = ["--engine", "faster-whisper", "--beam_size", "1", "--best_of", "1", "--no-progress"]
TIMES = re.compile(r"^\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}$", re.M)


def test_translates_after_writing_transcripts(tmp_path, spanish_wav, fake_deepl, capsys, fake_engine, monkeypatch):
    monkeypatch.setattr(fake_engine, "language", "es")  # what it "detects"
    argv = [
        str(spanish_wav),
        "-o",
        str(tmp_path),
        "--deepl-target",
        "English (British)",
        "--deepl-api-key",
        fake_deepl.auth_key,
        "--deepl-server-url",
        fake_deepl.url,
        *ARGS,
    ]
    assert main(argv) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(  # the command line's default: all five formats
        f"spanish{suffix}.{ext}"
        for suffix in ("", "_English (British)")
        for ext in ("json", "srt", "tsv", "txt", "vtt")
    )
    source = (tmp_path / "spanish.srt").read_text(encoding="utf-8")
    translated = (tmp_path / "spanish_English (British).srt").read_text(encoding="utf-8")
    # Every translated line keeps its source line's times (tsv); the subtitles are cut anew by the
    # reading rules, on the source's speech: they start with it, at most 0.5 s early.
    lines = [(tmp_path / f"spanish{s}.tsv").read_text(encoding="utf-8") for s in ("", "_English (British)")]
    assert [row.split("\t")[:2] for row in lines[0].splitlines()] == [
        row.split("\t")[:2] for row in lines[1].splitlines()
    ]
    first = [TIMES.findall(text)[0] for text in (source, translated)]
    assert first[0] and first[1], (source, translated)
    assert fake_deepl.translate_requests and translated.count("\n\n") == source.count("\n\n")
    out, err = capsys.readouterr()
    assert "DeepL: Translate results from Spanish [ES] to English (British) [EN-GB]" in err
    assert re.search(r"DeepL: Character usage: \d+ / 500000 \(\d+\.\d\d%\)", err)
    assert out.count("[00:00.000 --> ") == 2  # the transcript's first line, then its translation


def test_bad_key_fails_before_transcribing(tmp_path, spanish_wav, fake_deepl, capsys, fake_engine):
    # The key is checked up front: nothing is decoded or written. A key refused
    # only once translating (the transcripts are then kept) is tested in tests/test_reliability.py.
    argv = [
        str(spanish_wav),
        "-o",
        str(tmp_path),
        "--deepl-target",
        "de",
        "--deepl-api-key",
        "wrong",
        "--deepl-server-url",
        fake_deepl.url,
        *ARGS,
    ]
    assert main(argv) == 1
    assert not list(tmp_path.iterdir())
    err = capsys.readouterr().err
    assert "DeepL rejected the key: check deepl_api_key / DEEPL_AUTH_KEY" in err and "Detected language" not in err


def test_env_key_and_nothing_to_translate(tmp_path, spanish_wav, fake_deepl, monkeypatch, capsys, fake_engine):
    monkeypatch.setattr(fake_engine, "language", "es")
    monkeypatch.setenv("DEEPL_AUTH_KEY", fake_deepl.auth_key)
    monkeypatch.setenv("DEEPL_SERVER_URL", fake_deepl.url)
    argv = [str(spanish_wav), "-o", str(tmp_path), "--deepl-target", "Spanish", "--output-formats", "srt", *ARGS]
    assert main(argv) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["spanish.srt"]
    assert "Nothing to translate" in capsys.readouterr().err
    assert not fake_deepl.translate_requests


def test_unknown_target_fails_before_transcribing(tmp_path, spanish_wav, capsys):
    with pytest.raises(SystemExit) as info:
        main([str(spanish_wav), "-o", str(tmp_path), "--deepl-target", "Klingon"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Klingon" in err and "English (British)" in err
    assert not list(tmp_path.iterdir())

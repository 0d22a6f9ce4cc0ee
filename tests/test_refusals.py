"""Faults found late, reported as something else, or as a traceback: each is refused up front
with what to do, or said plainly. The real CLI, the real ``deepl`` package against the fake DeepL
server, the fake engine (tests/fake_engine.py)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_deepl import TEST_LANGUAGE

from audiototext.cli import main
from audiototext.errors import OptionsError, TranslationError
from audiototext.translation import targets as targets_module
from conftest import speak

FAST = ["--engine", "faster-whisper", "--model", "tiny.en", "--beam_size", "1", "--best_of", "1", "--no-progress"]


@pytest.fixture(scope="module")
def garden(media_dir) -> Path:
    return speak("Good morning everyone, and welcome to the garden.", "en-us", media_dir / "refusals-garden.wav")


def _exit(argv: list[str], capsys) -> tuple[int, str]:
    try:
        status = main(argv)
    except SystemExit as e:
        status = e.code
    return status, capsys.readouterr().err


# --- English-only models: refused for another language before minutes of loading ----------------------


@pytest.mark.parametrize(
    "extra,what",
    [
        (["--language", "Spanish"], "it cannot transcribe Spanish"),
        (["--task", "translate"], "it cannot translate"),
        (["--language", "fr", "--model", "base.en"], "it cannot transcribe French"),
    ],
)
def test_an_english_only_model_is_refused_for_other_languages(tmp_path, garden, capsys, extra, what):
    status, err = _exit([str(garden), "-o", str(tmp_path), *FAST, *extra], capsys)
    model = "base.en" if "base.en" in extra else "tiny.en"
    assert status == 2 and f"--model {model} is English-only: {what}" in err, err
    assert f"use {model.removesuffix('.en')} instead" in err
    assert not list(tmp_path.iterdir())


def test_an_english_only_model_directory_is_refused_by_the_preflight(tmp_path, garden):
    from audiototext.engines import DecodeOptions
    from audiototext.models import bundled_ct2_dir
    from audiototext.options import Options
    from audiototext.pipeline import Pipeline

    folder = bundled_ct2_dir("tiny.en")
    if folder is None:
        pytest.skip("the offline tiny.en package is not installed")
    spanish = DecodeOptions(language="es")
    (result,) = Pipeline(Options(model=str(folder), engine="faster-whisper", decode=spanish, output_dir=tmp_path)).run(
        [garden]
    )
    assert isinstance(result.error, OptionsError)
    assert "is English-only: it cannot transcribe Spanish" in str(result.error)
    assert result.transcript is None


# --- a prompt that is not UTF-8: refused before the model loads, not after ----------------------------


def test_a_prompt_with_a_latin1_byte_is_refused_before_the_model_loads(tmp_path, garden, capsys):
    prompt = os.fsdecode(b"caf\xe9 au lait")  # as Python receives a Latin-1 byte from a UTF-8 shell
    status, err = _exit([str(garden), "-o", str(tmp_path), *FAST, "--prompt", prompt], capsys)
    assert status == 2 and "initial_prompt (--prompt) is not UTF-8 text: byte 0xE9 after 'caf'" in err, err
    assert "Traceback" not in err and not list(tmp_path.iterdir())


# --- device, cache, DeepL server, a service model not offline: refused before any input ---------------


def test_an_unknown_device_is_refused(tmp_path, garden, capsys):
    status, err = _exit([str(garden), "-o", str(tmp_path), *FAST, "--device", "tpu"], capsys)
    assert status == 2 and "Unknown device 'tpu': use cpu or cuda (cuda:1 for the second GPU)" in err


def test_cuda_without_a_gpu_is_refused_before_reading(tmp_path, garden, capsys):
    from audiototext.engines.device import cuda_available

    if cuda_available("faster-whisper"):
        pytest.skip("this machine has a CUDA GPU")
    status, err = _exit([str(garden), "-o", str(tmp_path), *FAST, "--device", "cuda"], capsys)
    assert status == 1 and "device cuda asks for a CUDA GPU, but faster-whisper sees none" in err
    assert "==> " not in err


def test_an_unwritable_cache_is_named_before_anything_is_decoded(tmp_path, garden, capsys, monkeypatch):
    monkeypatch.setenv("AUDIOTOTEXT_CACHE", "/proc/audiototext-cache")  # never writable, not even by root
    status, err = _exit([str(garden), "-o", str(tmp_path / "out"), *FAST], capsys)
    assert status == 1
    assert "AUDIOTOTEXT_CACHE /proc/audiototext-cache cannot be written" in err
    assert "set AUDIOTOTEXT_CACHE to a writable folder" in err and "==> " not in err


@pytest.mark.parametrize("where", ["env", "flag"])
def test_a_deepl_server_url_without_scheme_is_refused(tmp_path, garden, capsys, monkeypatch, where):
    monkeypatch.setenv("DEEPL_AUTH_KEY", "some-key:fx")
    argv = [str(garden), "-o", str(tmp_path), *FAST, "--deepl-target", "de"]
    if where == "env":
        monkeypatch.setenv("DEEPL_SERVER_URL", "localhost:9999")
    else:
        monkeypatch.delenv("DEEPL_SERVER_URL", raising=False)
        argv += ["--deepl-server-url", "localhost:9999"]
    status, err = _exit(argv, capsys)
    name = "DEEPL_SERVER_URL" if where == "env" else "--deepl-server-url"
    assert status == 2 and f"{name} 'localhost:9999' is not an http(s) URL: write it with its scheme" in err, err


def test_a_service_model_not_available_offline_stops_the_start(tmp_path):
    empty = tmp_path / "empty"
    env = {
        **os.environ,
        "AUDIOTOTEXT_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(empty / "hf"),
        "XDG_CACHE_HOME": str(empty / "xdg"),
        "AUDIOTOTEXT_CACHE": str(empty / "cache"),
    }
    argv = [sys.executable, "-m", "audiototext", "serve", "--data-dir", str(tmp_path / "data"), "--port", "0"]
    done = subprocess.run([*argv, "--model", "small"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "model small is not available offline" in done.stderr and "Traceback" not in done.stderr


# --- a DeepL answer the deepl package cannot read: one clear error, files kept ------------------------


def test_a_deepl_answer_missing_a_field_says_which_server_answered_what(fake_deepl):
    from audiototext.transcript import Segment, Transcript
    from audiototext.translation import DeepLOptions, translate_transcript

    fake_deepl.omit_fields = ("billed_characters",)
    options = DeepLOptions("German", auth_key=fake_deepl.auth_key, server_url=fake_deepl.url)
    transcript = Transcript((Segment(0.0, 1.5, " Hola a todos."),), language="es")
    with pytest.raises(TranslationError) as error:
        translate_transcript(transcript, options)
    message = str(error.value)
    assert f"The DeepL server at {fake_deepl.url} answered something the deepl package cannot read" in message
    assert "billed_characters" in message and "Check DEEPL_SERVER_URL / --deepl-server-url" in message


def test_the_cli_keeps_the_transcript_when_deepl_answers_oddly(tmp_path, garden, fake_deepl, capsys, fake_engine):
    fake_deepl.omit_fields = ("billed_characters",)
    argv = [str(garden), "-o", str(tmp_path), "-f", "txt", *FAST, "--deepl-target", "de"]
    status, err = _exit([*argv, "--deepl-api-key", fake_deepl.auth_key, "--deepl-server-url", fake_deepl.url], capsys)
    assert status == 1 and "answered something the deepl package cannot read" in err and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == [f"{garden.stem}.txt"]


@pytest.mark.parametrize("coherence", ["True", "False"])
def test_a_deepl_answer_without_text_fails_and_keeps_the_transcript(
    tmp_path, garden, fake_deepl, capsys, fake_engine, coherence
):
    """The deepl package reads an answer without ``text`` as "": an empty translation was written,
    exit 0. Both coherence modes (one tagged window; each line alone)."""
    fake_deepl.omit_fields = ("text",)
    argv = [str(garden), "-o", str(tmp_path), "-f", "txt,srt", *FAST, "--deepl-target", "de"]
    argv += ["--deepl_coherence_preference", coherence]
    status, err = _exit([*argv, "--deepl-api-key", fake_deepl.auth_key, "--deepl-server-url", fake_deepl.url], capsys)
    assert status == 1 and "Traceback" not in err, err
    assert f"The DeepL server at {fake_deepl.url} answered no text for '" in err, err
    assert "(its `text` field is missing or empty)" in err and "--deepl-server-url" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{garden.stem}.srt", f"{garden.stem}.txt"]
    assert fake_deepl.translate_requests  # DeepL was asked, and its answer refused


# --- one live list of DeepL targets: a language DeepL adds is taken on every face ---------------------


def test_the_cli_accepts_a_target_deepl_lists(tmp_path, garden, fake_deepl, monkeypatch, fake_engine):
    monkeypatch.setattr(targets_module, "_LIVE", {})
    fake_deepl.extra_targets = [TEST_LANGUAGE]
    argv = [str(garden), "-o", str(tmp_path), "-f", "txt", *FAST, "--deepl-target", "Test language"]
    assert main([*argv, "--deepl-api-key", fake_deepl.auth_key, "--deepl-server-url", fake_deepl.url]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{garden.stem}.txt", f"{garden.stem}_Test language.txt"]
    assert fake_deepl.translate_requests[-1].data["target_lang"] == "ZZ"


def test_an_unknown_target_is_still_refused_with_the_live_list(fake_deepl, monkeypatch):
    from audiototext.translation import DeepLOptions

    monkeypatch.setattr(targets_module, "_LIVE", {})
    fake_deepl.extra_targets = [TEST_LANGUAGE]
    with pytest.raises(OptionsError, match="Unknown DeepL target language 'Klingon': use one of .*Test language"):
        DeepLOptions("Klingon", auth_key=fake_deepl.auth_key, server_url=fake_deepl.url)


# --- glossary files that are not plain pairs: the file and the line named -----------------------------


def test_a_glossary_with_a_header_and_more_columns_says_how_it_was_read(tmp_path, caplog):
    from audiototext.translation import read_glossary

    caplog.set_level(logging.INFO, logger="audiototext")
    path = tmp_path / "glossary.csv"
    path.write_text("source,target\nperro,dog,EN,DE\ngato,cat\nperro,hound\n", encoding="utf-8")
    assert read_glossary(path, report=True) == {"perro": "dog", "gato": "cat"}
    said = caplog.text
    assert f"DeepL glossary {path}: 2 entries read" in said
    assert "line 1 ('source', 'target') taken as a header and skipped" in said
    assert "line 4 repeats the source term 'perro': the first one is kept" in said
    assert "columns after the second ignored on line 2" in said
    languages = tmp_path / "languages.csv"
    languages.write_text("Spanish,English\nperro,dog\n", encoding="utf-8")
    assert read_glossary(languages) == {"perro": "dog"}
    plain = tmp_path / "plain.csv"
    plain.write_text("perro,dog\n", encoding="utf-8")
    caplog.clear()
    assert read_glossary(plain, report=True) == {"perro": "dog"} and "DeepL glossary" not in caplog.text


def test_one_glossary_entry_is_counted_as_one_entry(tmp_path, garden, fake_deepl, capsys, fake_engine):
    """The CLI said "(1 entries)" and "1 entries read"."""
    glossary = tmp_path / "glossary.csv"
    glossary.write_text("source,target\ngarden,Garten\n", encoding="utf-8")
    argv = [str(garden), "-o", str(tmp_path / "out"), "-f", "txt", *FAST, "--language", "en", "--deepl-target", "de"]
    argv += ["--deepl-glossary", str(glossary), "--deepl-api-key", fake_deepl.auth_key]
    status, err = _exit([*argv, "--deepl-server-url", fake_deepl.url], capsys)
    assert status == 0, err
    assert f"DeepL glossary {glossary}: 1 entry read; line 1" in err
    assert "(1 entry)" in err and "entries" not in err, err


def test_no_model_is_loaded_when_every_input_is_refused(tmp_path, capsys, fake_engine):
    """A missing file and a FIFO: both refused before decoding, and the model was loaded anyway
    ("Loading model ...", seconds to minutes for a large one) for nothing."""
    fifo = tmp_path / "stream.wav"
    os.mkfifo(fifo)
    missing = tmp_path / "missing.wav"
    status, err = _exit([str(missing), str(fifo), "-o", str(tmp_path / "out"), *FAST], capsys)
    assert status == 1 and "Traceback" not in err, err
    assert f"{missing}" in err and f"{fifo}: is a named pipe (FIFO), not a file" in err
    assert "2 of 2 inputs failed" in err
    assert "Loading model" not in err, err


# --- OpenAI's models: what they cannot do is said before any upload --------------------------------


@pytest.mark.parametrize("model", ["gpt-4o-transcribe", "gpt-4o-mini-transcribe"])
def test_a_gpt_4o_model_asked_to_translate_is_refused_up_front(tmp_path, garden, capsys, model):
    status, err = _exit(
        [str(garden), "-o", str(tmp_path), "--model", model, "--task", "translate", "--api_key", "k"], capsys
    )
    assert status == 2 and f"{model} does not translate (OpenAI's API translates to English with whisper-1 only)" in err
    assert "set --model whisper-1 for 'translate'" in err and "==> " not in err
    assert not list(tmp_path.iterdir())
    with pytest.raises(OptionsError, match="set use_model whisper-1 for 'Translate to English'"):
        from audiototext import options

        options.options_from_form({"use_model": model, "task": "Translate to English"})


def test_a_missing_openai_key_is_said_once_before_any_input(tmp_path, garden, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    status, err = _exit([str(garden), str(garden), "-o", str(tmp_path / "out"), "--model", "whisper-1"], capsys)
    assert status == 1 and err.count("No OpenAI API key: pass --api_key") == 1, err
    assert "==> " not in err, "refused before the first input"

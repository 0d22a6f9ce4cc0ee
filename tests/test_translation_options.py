"""DeepL options and the glossary CSV file: every bad file is refused with its name, before any
request and before any transcription."""

from __future__ import annotations

import pickle

import deepl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiototext.errors import OptionsError
from audiototext.transcript import Segment, Transcript
from audiototext.translation import DeepLOptions, read_glossary, translate_transcript
from audiototext.translation.options import valid_glossary_term


def write(tmp_path, content, name="terms.csv"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_a_glossary_file_as_a_spreadsheet_writes_it(tmp_path):
    path = write(tmp_path, '\ufeffagua,H2O\n\n  grifo , faucet ,note\n"ciudad, la",town\nagua,aqua\n , \n')
    assert read_glossary(path) == {"agua": "H2O", "grifo": "faucet", "ciudad, la": "town"}
    assert read_glossary(str(path)) == read_glossary(path)


@pytest.mark.parametrize(
    "content, says",
    [
        ("agua\n", "Line 1 of the DeepL glossary"),
        ("agua,H2O\n,faucet\n", "Line 2 of the DeepL glossary"),
        ("agua,H2O\ngrifo,  \n", "Line 2 of the DeepL glossary"),
        ('agua,H2O\n"gri\tfo",faucet\n', "Line 2 of the DeepL glossary"),
        ("agua,H\u2028O\n", "Line 1 of the DeepL glossary"),
        ("agua,H2O\x9f\n", "Line 1 of the DeepL glossary"),
        ("", "has no entries"),
        ("\n , \n\n", "has no entries"),
        (b"agua,\xf1\n", "Cannot read the DeepL glossary"),  # Latin-1, not UTF-8
        (b"\x00\x01\x02agua,H2O\n", "Line 1 of the DeepL glossary"),
    ],
)
def test_malformed_glossaries_name_the_file_and_the_line(tmp_path, content, says):
    path = write(tmp_path, content)
    with pytest.raises(OptionsError) as info:
        read_glossary(path)
    error = info.value
    assert says in str(error) and str(path) in str(error)
    assert (error.option, error.value) == ("deepl_glossary", str(path))
    assert pickle.loads(pickle.dumps(error)).value == str(path)


@pytest.mark.parametrize("name", ["missing.csv", "."])
def test_missing_or_unreadable_glossary_is_refused_when_the_options_are_made(tmp_path, name):
    path = tmp_path / name
    with pytest.raises(OptionsError, match="Cannot read the DeepL glossary") as info:
        DeepLOptions("German", glossary=path)
    assert str(path) in str(info.value) and "source,target" in str(info.value)


def test_a_glossary_gone_after_the_options_were_made_fails_before_any_request(tmp_path, fake_deepl):
    path = write(tmp_path, "agua,H2O\n")
    options = DeepLOptions("English (British)", auth_key=fake_deepl.auth_key, server_url=fake_deepl.url, glossary=path)
    path.unlink()
    transcript = Transcript((Segment(0.0, 1.0, " Hola."),), language="es")
    with pytest.raises(OptionsError, match="Cannot read the DeepL glossary"):
        translate_transcript(transcript, options)
    assert fake_deepl.requests == []


def test_cli_refuses_a_bad_glossary_before_transcribing(tmp_path, capsys):
    from audiototext.cli import main

    terms = write(tmp_path, "agua\n")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as info:
        main([str(tmp_path / "talk.wav"), "-o", str(out), "--deepl-target", "German", "--deepl-glossary", str(terms)])
    assert info.value.code == 2
    assert f"Line 1 of the DeepL glossary {str(terms)!r}" in capsys.readouterr().err
    assert not out.exists()


@settings(max_examples=200, deadline=None)
@given(term=st.text(st.characters(max_codepoint=0x2040, blacklist_categories=("Cs",)), max_size=6))
def test_term_rule_is_the_deepl_packages(term):
    try:
        deepl.validate_glossary_term(term)
        accepted = True
    except ValueError:
        accepted = False
    assert valid_glossary_term(term) == accepted

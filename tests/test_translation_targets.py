"""DeepL target languages: the built-in list, option values, and the live list read from the fake
DeepL server by ``available_targets``."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys

import pytest
from fake_deepl import TEST_LANGUAGE

from audiototext.errors import OptionsError
from audiototext.transcript import Segment, Transcript
from audiototext.translation import (
    DEEPL_TARGETS,
    TARGET_NAMES,
    DeepLOptions,
    DeepLTarget,
    available_targets,
    known_targets,
    resolve_target,
    source_language,
    translate_transcript,
    translated_suffix,
)
from audiototext.translation import targets as targets_module
from audiototext.translation.targets import coherence_mode, formality_param, register_targets

LOGGER = "audiototext.translation"


@pytest.fixture(autouse=True)
def no_live_targets(monkeypatch):
    """Each test starts with only the built-in targets, and leaves none behind."""
    monkeypatch.setattr(targets_module, "_LIVE", {})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the built-in list and option values --------------------------------------------------------


def test_without_live_targets_the_known_ones_are_the_built_in_list():
    assert known_targets() == DEEPL_TARGETS
    assert tuple(t.name for t in known_targets()) == TARGET_NAMES


@pytest.mark.parametrize("value, sent", [("default", None), (" Formal", "prefer_more"), ("INFORMAL", "prefer_less")])
def test_formality_values(value, sent):
    assert formality_param(value) == sent


@pytest.mark.parametrize(
    "value, mode",
    [
        ("Share context between lines", "Share context between lines"),
        ("context", "Share context between lines"),
        (" LINES ", "Translate each line independently"),
        ("translate each line independently", "Translate each line independently"),
    ],
)
def test_coherence_values(value, mode):
    assert coherence_mode(value) == mode


@pytest.mark.parametrize("bad, option", [("polite", "deepl_formality"), ("sometimes", "deepl_coherence")])
def test_bad_values_name_the_option(bad, option):
    with pytest.raises(OptionsError) as info:
        (formality_param if option == "deepl_formality" else coherence_mode)(bad)
    assert info.value.option == option and info.value.value == bad


@pytest.mark.parametrize(
    "language, task, code",
    [
        ("es", "transcribe", "ES"),
        ("no", "transcribe", "NB"),
        ("nn", "transcribe", "NB"),
        ("iw", "transcribe", "HE"),
        ("haw", "transcribe", None),
        (None, "transcribe", None),
        ("ja", "translate", "EN"),
    ],
)
def test_source_language(language, task, code):
    transcript = Transcript((Segment(0.0, 1.0, " x"),), language=language, task=task)
    assert source_language(transcript) == code


# --- the registry of targets DeepL reported ------------------------------------------------------


def test_a_new_code_becomes_known_by_name_and_code():
    added = register_targets([DeepLTarget("zz", " Test language ", True)])
    assert added == (DeepLTarget("ZZ", "Test language", True),)
    assert resolve_target("test LANGUAGE") == resolve_target("zz") == added[0]
    assert translated_suffix(added[0]) == "_Test language"
    names = [t.name for t in known_targets()]
    assert names == sorted(names) and "Test language" in names and set(TARGET_NAMES) <= set(names)


@pytest.mark.parametrize(
    "reported",
    [
        DeepLTarget("DE", "Deutsch", True),  # a known code keeps its built-in name
        DeepLTarget("ZH", "Chinese (simplified)", False),  # an alias code
        DeepLTarget("EN", "English", False),  # bare EN/PT stay ambiguous
        DeepLTarget("PT", "Portuguese", True),
        DeepLTarget("XX", "german", False),  # a name that is taken
        DeepLTarget("XY", "Chinese", False),  # a name that is an alias
        DeepLTarget("", "Nothing", False),
        DeepLTarget("XZ", " ", False),
    ],
)
def test_reported_targets_never_shadow_known_ones(reported):
    assert register_targets([reported]) == ()
    assert known_targets() == DEEPL_TARGETS
    assert resolve_target("German").code == "DE" and resolve_target("Chinese").code == "ZH-HANS"


def test_unknown_target_message_lists_the_live_ones_too():
    register_targets([DeepLTarget("ZZ", "Test language", False)])
    with pytest.raises(OptionsError) as info:
        resolve_target("Klingon")
    assert "Test language" in str(info.value) and "English (British)" in str(info.value)


# --- available_targets against the fake DeepL ---------------------------------------------------


def test_without_a_key_the_built_in_list_is_returned_and_nothing_is_sent(fake_deepl, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER)  # debug log only
    assert available_targets(server_url=fake_deepl.url) == TARGET_NAMES
    assert available_targets("  ", server_url=fake_deepl.url) == TARGET_NAMES
    assert "No API key" in caplog.text and fake_deepl.requests == []


def test_live_list_without_new_languages_is_the_built_in_list(fake_deepl):
    assert available_targets(fake_deepl.auth_key, server_url=fake_deepl.url) == TARGET_NAMES
    assert [(r.path, r.data.get("type")) for r in fake_deepl.requests] == [("/v2/languages", "target")]


def test_a_language_deepl_added_is_listed_resolved_and_translated_into(fake_deepl, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER)  # the list is for the debug log
    fake_deepl.extra_targets = [TEST_LANGUAGE, {"language": "DE", "name": "Deutsch"}]
    with pytest.raises(OptionsError):
        DeepLOptions("Test language")
    names = available_targets(fake_deepl.auth_key, server_url=fake_deepl.url)
    assert "Test language" in names and "Deutsch" not in names
    assert names == tuple(sorted(names)) and set(TARGET_NAMES) < set(names)
    assert "New target languages: Test language [ZZ]" in caplog.text
    target = resolve_target("Test language")
    assert (target.code, target.supports_formality) == ("ZZ", False)
    options = DeepLOptions("test language", auth_key=fake_deepl.auth_key, server_url=fake_deepl.url)
    transcript = Transcript((Segment(0.0, 1.5, " Hola a todos."),), language="es")
    result = translate_transcript(transcript, options)
    assert fake_deepl.translate_requests[-1].data["target_lang"] == "ZZ"
    assert result.target == target and result.transcript.language == "zz"
    assert result.transcript.segments[0].start == 0.0 and result.transcript.segments[0].end == 1.5


def test_key_and_server_come_from_the_environment(fake_deepl, monkeypatch):
    fake_deepl.extra_targets = [TEST_LANGUAGE]
    monkeypatch.setenv("DEEPL_AUTH_KEY", fake_deepl.auth_key)
    monkeypatch.setenv("DEEPL_SERVER_URL", fake_deepl.url)
    assert "Test language" in available_targets()


@pytest.mark.parametrize(
    "setup, reason",
    [
        ({"auth_key": "another-key"}, "DeepL rejected the key"),
        ({"fail_status": 500, "fail_path": "/v2/languages"}, "DeepL service unavailable"),
        ({"fail_status": 404, "fail_path": "/v2/languages"}, "DeepL refused the request"),
        ({"close_connection": True}, "Cannot reach DeepL"),
        ("unreachable", "Cannot reach DeepL"),
    ],
)
def test_failures_fall_back_to_the_built_in_list_without_raising(fake_deepl, caplog, setup, reason):
    caplog.set_level(logging.INFO, logger=LOGGER)
    fake_deepl.extra_targets = [TEST_LANGUAGE]
    key, url = fake_deepl.auth_key, fake_deepl.url
    if setup == "unreachable":
        url = f"http://127.0.0.1:{free_port()}"
    else:
        for name, value in setup.items():
            setattr(fake_deepl, name, value)
    assert available_targets(key, server_url=url) == TARGET_NAMES
    record = next(r for r in caplog.records if "Cannot read the target languages" in r.getMessage())
    assert record.levelno == logging.INFO and reason in record.getMessage()


def test_targets_read_before_stay_known_when_deepl_is_unreachable_later(fake_deepl):
    fake_deepl.extra_targets = [TEST_LANGUAGE]
    first = available_targets(fake_deepl.auth_key, server_url=fake_deepl.url)
    fake_deepl.fail_status = 503
    assert available_targets(fake_deepl.auth_key, server_url=fake_deepl.url) == first


def test_without_the_deepl_package_the_built_in_list_is_returned(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    monkeypatch.setitem(sys.modules, "deepl", None)
    assert available_targets("some-key:fx") == TARGET_NAMES
    assert "pip install 'audiototext[deepl]'" in caplog.text


def test_the_package_imports_without_deepl():
    code = (
        "import sys; sys.modules['deepl'] = None; import audiototext.translation as t; "
        "assert t.available_targets('k') == t.TARGET_NAMES; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"

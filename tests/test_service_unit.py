"""The service's pure parts, without a model or a server: input checks, failure statuses, settings,
the option mapping through the registry, the data dir's lock, progress into the job store.

Everything here runs in milliseconds (FastAPI's TestClient without its lifespan starts no worker).
"""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest

from audiototext import options as registry
from audiototext.errors import MediaError, ModelError, OptionsError, TranslationError
from audiototext.events import Progress
from audiototext.service import DataDirBusy, DataDirLock, JobRunner, JobStore, Settings, progress_callbacks
from audiototext.service.checks import (
    check_slug,
    check_url,
    failure_status,
    public_message,
    safe_suffix,
    upload_name,
    slug_candidates,
    split_result_name,
)
from audiototext.service.joboptions import job_options
from test_service_support import BAD_OPTIONS

BAD_SLUGS = ["../../etc/passwd", "..", "a/b", "a.b", "", "x" * 101, "naïve", "a b", "a\x00b"]


# --- input checks --------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["talk", "Talk_2024-01", "x" * 100, "-", "_"])
def test_good_slugs(slug):
    assert check_slug(slug) == slug


@pytest.mark.parametrize("slug", BAD_SLUGS)
def test_bad_slugs(slug):
    with pytest.raises(OptionsError, match="title_slug must be 1 to 100 characters"):
        check_slug(slug)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("talk", ("talk", "")),
        ("talk.srt", ("talk", "srt")),
        ("a-b.json", ("a-b", "json")),
        ("talk.zip", ("talk", "zip")),
        ("talk_German.srt", ("talk_German", "srt")),  # a DeepL translation's file
        ("talk_English (British).vtt", ("talk_English (British)", "vtt")),
    ],
)
def test_result_names(name, expected):
    assert split_result_name(name) == expected


def test_slug_candidates_of_a_file_stem():
    assert slug_candidates("my_talk_German") == ["my_talk_German", "my_talk", "my"]
    assert slug_candidates("talk_English (British)") == ["talk"]
    assert slug_candidates("talk") == ["talk"] and slug_candidates("a b") == []


@pytest.mark.parametrize(
    "name, message",
    [
        ("../jobs.sqlite3", "title_slug must be"),
        ("..", "title_slug must be"),
        ("a/../../x.srt", "title_slug must be"),
        ("talk.docx", "unknown file type 'docx'"),
        ("talk.exe", "unknown file type 'exe'"),
        ("talk.srt.exe", "title_slug must be"),
        ("talk_a/b.srt", "title_slug must be"),
    ],
)
def test_bad_result_names(name, message):
    with pytest.raises(OptionsError, match=message.replace(".", r"\.")):
        split_result_name(name)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/a.wav", "https://example.org/talk.mp3?x=1", "HTTPS://EXAMPLE.ORG/a"]
)
def test_good_urls(url):
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "/etc/passwd",
        "ftp://127.0.0.1/a.wav",
        "http://",
        "javascript:alert(1)",
        "gopher://x/",
        "data:audio/wav;base64,AAAA",
    ],
)
def test_bad_urls(url):
    with pytest.raises(OptionsError, match="must be an http:// or https:// link"):
        check_url(url)


@pytest.mark.parametrize(
    "name, suffix",
    [
        ("my window.wav", ".wav"),
        ("a.MP3", ".mp3"),
        ("noext", ""),
        (None, ""),
        ("x.tar.gz", ".gz"),
        ("x.wa v", ""),
        ("x." + "a" * 9, ""),
    ],
)
def test_safe_suffix(name, suffix):
    assert safe_suffix(name) == suffix


def test_upload_name_undoes_the_browsers_form_encoding():
    # Chromium and Firefox send a file named 'say "hi".wav' as filename="say %22hi%22.wav"
    assert upload_name("say %22hi%22 <b>.wav") == 'say "hi" <b>.wav'
    assert upload_name("two%0D%0Alines.wav") == "two\r\nlines.wav"
    assert upload_name("plain.wav") == "plain.wav" and upload_name(None) is None


def test_failure_status():
    from audiototext.engines.openai_api import APIError

    assert failure_status(MediaError("not media")) == 422
    assert failure_status(OptionsError("bad option")) == 422
    assert failure_status(TranslationError("DeepL down")) == 502
    assert failure_status(APIError("refused", kind="rejected")) == 422
    assert failure_status(APIError("no credit", kind="quota")) == 502
    assert failure_status(ModelError("Could not download model small")) == 500
    assert failure_status(RuntimeError("boom")) == 500


def test_public_message_hides_server_paths():
    error = MediaError("/srv/data/downloads/abc/talk.wav: not an audio or video file")
    assert (
        public_message(error, media_path="/srv/data/downloads/abc/talk.wav", source="http://x/talk")
        == "http://x/talk: not an audio or video file"
    )


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"workers": 0}, "workers must be at least 1"),
        ({"queue_size": 0}, "queue-size must be at least 1"),
        ({"max_bytes": 0}, "max-bytes must be at least 1"),
        ({"timeout": 0}, "timeout must be more than 0"),
        ({"port": 70000}, "port must be between 0 and 65535"),
        ({"backend": "gpu"}, "Unknown backend 'gpu'"),
        ({"ray_actors": 2}, "--ray-actors needs --backend ray"),
        ({"ray_address": "auto", "ray_num_cpus": 1}, "--ray-address, --ray-num-cpus need --backend ray"),
        ({"backend": "ray", "ray_num_cpus": 0}, "ray-num-cpus must be greater than 0"),
        ({"batch_size": 300}, "batch-size must be between 1 and 256, not 300"),  # as every job's would be
        ({"engine": "whisperx"}, "Unknown --engine 'whisperx'"),
    ],
)
def test_bad_settings(fields, message):
    with pytest.raises(OptionsError, match=message):
        Settings(**fields)


def test_settings_layout(tmp_path):
    s = Settings(data_dir=tmp_path, workers=2, threads=3)
    assert (s.database, s.result_dir("talk")) == (tmp_path / "jobs.sqlite3", tmp_path / "audio" / "talk")
    assert s.worker_threads == 3 and not s.exposed and Settings(host="0.0.0.0").exposed
    with pytest.raises(OptionsError):
        s.result_dir("../x")


def test_bad_flags_exit_2(tmp_path, capsys):
    from audiototext.service import main

    with pytest.raises(SystemExit) as exit:
        main(["--data-dir", str(tmp_path), "--workers", "0"])
    assert exit.value.code == 2 and "workers must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "jobs.sqlite3").exists()


# --- the option mapping ---------------------------------------------------------------------------


def options_for(params, tmp_path, **settings):
    return job_options(params, Settings(data_dir=tmp_path, **settings), tmp_path / "audio" / "x")


def test_server_settings_override_the_job(tmp_path):
    o = options_for({"beam_size": 1, "output_formats": "srt"}, tmp_path, workers=1, threads=2, device="cpu")
    assert o.decode.beam_size == 1 and o.formats == ("srt", "json")  # GET /api/audio/{slug} reads the JSON
    assert (o.output_dir, o.device, o.threads, o.progress, o.api_key) == (
        tmp_path / "audio" / "x",
        "cpu",
        2,
        False,
        None,
    )
    assert (o.parallel.mode, o.parallel.checkpoints, o.parallel.workers) == ("auto", True, 2)
    ray = options_for({}, tmp_path, backend="ray", ray_address="127.0.0.1:6379", ray_actors=3, ray_num_cpus=0.5)
    assert (ray.parallel.mode, ray.parallel.workers, ray.parallel.ray.address, ray.parallel.ray.num_cpus) == (
        "ray",
        3,
        "127.0.0.1:6379",
        0.5,
    )


def test_options_follow_the_registry(tmp_path):
    """The service gets what the registry offers it: DeepL's coherence mode, the rule of line options..."""
    o = options_for(
        {
            "deepl_target": "German",
            "deepl_coherence": "lines",
            "max_line_width": 40,
            "temperature_increment_on_fallback": 0.4,
            "patience": 2.0,
        },
        tmp_path,
    )
    assert o.deepl.coherence == registry.option("deepl_coherence").choices[1]
    assert o.decode.word_timestamps is True and o.style.max_line_width == 40  # rule 1: turned on
    assert (o.decode.temperature_increment_on_fallback, o.decode.patience) == (0.4, 2.0)
    with pytest.raises(OptionsError, match="word timestamps"):
        options_for({"highlight_words": True, "word_timestamps": False, "subtitle_style": "whisper"}, tmp_path)
    with pytest.raises(OptionsError, match="Unknown task 'summarize'"):
        options_for({"task": "summarize"}, tmp_path)
    with pytest.raises(OptionsError, match="device cannot be set here"):
        options_for({"device": "cuda"}, tmp_path)


def test_official_models_only(tmp_path):
    assert options_for({}, tmp_path, model="/models/mine").model == "/models/mine"  # the server's own
    assert options_for({"model": "/models/mine"}, tmp_path, model="/models/mine").model == "/models/mine"
    assert options_for({"model": "small"}, tmp_path, model="/models/mine").model == "small"
    with pytest.raises(OptionsError, match="Unknown model '/root/secret.pt'"):
        options_for({"model": "/root/secret.pt"}, tmp_path)


def test_api_engine_takes_its_key_from_the_server(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(OptionsError, match="no OPENAI_API_KEY in its environment"):
        options_for({"engine": "openai-api"}, tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-server")
    o = options_for({"engine": "openai-api"}, tmp_path, model="base")
    assert (o.engine, o.model, o.api_key) == ("openai-api", "whisper-1", None)  # not the server's local model
    assert options_for({"engine": "openai-api", "model": "gpt-4o-transcribe"}, tmp_path).model == "gpt-4o-transcribe"
    with pytest.raises(OptionsError, match="Unknown model 'base' for engine openai-api"):
        options_for({"engine": "openai-api", "model": "base"}, tmp_path)
    served = options_for({}, tmp_path, engine="openai-api", model="gpt-4o-mini-transcribe")
    assert (served.engine, served.model) == ("openai-api", "gpt-4o-mini-transcribe")
    local = options_for({"engine": "faster-whisper"}, tmp_path, engine="openai-api", model="gpt-4o-mini-transcribe")
    assert (local.engine, local.model) == ("faster-whisper", "base")


# --- the app, without workers ---------------------------------------------------------------------


@pytest.fixture()
def client(tmp_path):
    pytest.importorskip("fastapi")
    pytest.importorskip("multipart")
    from fastapi.testclient import TestClient

    from audiototext.service import create_app

    app = create_app(Settings(data_dir=tmp_path / "data"))
    yield TestClient(app)  # no `with`: the lifespan, and so the workers, never start
    app.state.lock.release()


def test_every_service_option_is_a_query_parameter(client):
    spec = client.get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/api/transcribe"]["post"]["parameters"]}
    assert {p.name for p in registry.query_parameters()} <= set(params)
    assert {"title_slug", "src_url", "is_video"} <= set(params)
    hidden = {o.name for o in registry.OPTIONS if "service" not in o.faces}
    assert not hidden & set(params), "a server setting or a secret is a query parameter"
    beam = next(s for s in params["beam_size"]["schema"]["anyOf"] if s.get("type") == "integer")
    assert (beam["minimum"], beam["maximum"]) == (1, 20)
    assert "Share context between lines" in params["deepl_coherence"]["description"]


@pytest.mark.parametrize(
    "params, message",
    [
        *BAD_OPTIONS,
        ({"deepl_coherence": "sometimes"}, "Unknown deepl_coherence 'sometimes'"),
        ({"engine": "openai-api"}, "no OPENAI_API_KEY"),
        ({"src_url": "file:///etc/passwd"}, "must be an http:// or https:// link"),
    ],
)
def test_bad_requests_are_refused_before_fetching(client, params, message, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    query = {"title_slug": "bad", **params}
    if params and "src_url" not in params:
        query["src_url"] = "http://127.0.0.1:9/never-fetched.wav"  # a fetch would answer 422
    response = client.post("/api/transcribe", params=query)
    assert response.status_code == 400 and message in response.json()["detail"], response.text
    assert client.app.state.store.counts()["queued"] == 0


def test_out_of_range_numbers_are_refused(client):
    response = client.post(
        "/api/transcribe", params={"title_slug": "x", "src_url": "http://127.0.0.1:9/a.wav", "temperature": 5}
    )
    problem = response.json()["detail"][0]
    assert response.status_code == 422 and problem["loc"] == ["query", "temperature"]
    assert problem["msg"] == "temperature must be between 0 and 1, not 5"  # the registry's words, as the CLI's


# --- one server per data dir ----------------------------------------------------------------------


def test_data_dir_lock(tmp_path):
    first = DataDirLock(tmp_path).acquire()
    with pytest.raises(DataDirBusy, match=r"in use by another audiototext serve \(process \d+\)"):
        DataDirLock(tmp_path).acquire()
    first.release()
    with DataDirLock(tmp_path):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_second_server_on_a_data_dir_touches_nothing(tmp_path, capsys):
    pytest.importorskip("uvicorn")
    from audiototext.service import main

    with DataDirLock(tmp_path):
        assert main(["--data-dir", str(tmp_path), "--port", str(free_port())]) == 1
    assert "is in use by another audiototext serve" in capsys.readouterr().err
    assert not (tmp_path / "jobs.sqlite3").exists()


def test_port_in_use_resumes_no_job(tmp_path, capsys):
    """The port is bound before the workers start: a server that cannot listen resumes nothing."""
    pytest.importorskip("uvicorn")
    from audiototext.service import main

    store = JobStore(tmp_path / "jobs.sqlite3")
    job = store.create("talk", "src")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["--data-dir", str(tmp_path), "--port", str(taken.getsockname()[1])]) == 1
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err
    got = store.get(job.call_id)
    assert (got.status, got.attempts) == ("queued", 0)
    with DataDirLock(tmp_path):  # and the lock was let go
        pass


# --- progress and the runner ----------------------------------------------------------------------


def test_progress_reaches_the_store_through_callbacks(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    job = store.create("talk", "src", total_segments=3)
    store.start(job.call_id)
    callbacks = progress_callbacks(store, job.call_id)
    seen = []
    for event in (
        Progress(4, 0, 2),
        Progress(4, 2, 2),
        Progress(4, 1, 1),
        Progress(5, 4, 2),
        Progress(5, 5, 2, finished=True),
    ):
        callbacks.progress(event)
        got = store.get(job.call_id)
        seen.append((got.total_segments, got.done_segments, got.tasks))
    # never backwards; the last window counts only when the job is done (its files written)
    assert seen == [(4, 0, 2), (4, 2, 2), (4, 2, 1), (5, 4, 2), (5, 4, 2)]
    assert not store.get(job.call_id).finished
    store.finish(job.call_id)
    assert (store.get(job.call_id).done_segments, store.get(job.call_id).total_segments) == (5, 5)


def test_runner_fails_bad_stored_options_without_a_model(tmp_path):
    settings = Settings(data_dir=tmp_path)
    store = JobStore(settings.database)
    job = store.create("talk", "http://x/talk.wav", media_path=str(tmp_path / "talk.wav"), params={"task": "summarize"})
    JobRunner(settings, store)._run(job.call_id, {})
    failed = store.get(job.call_id)
    assert (failed.status, failed.http_status) == ("failed", 422) and "Unknown task" in failed.error


def test_runner_gives_up_on_a_job_that_keeps_killing_the_server(tmp_path):
    settings = Settings(data_dir=tmp_path)
    store = JobStore(settings.database)
    job = store.create("talk", "src", params={})
    for _ in range(3):  # three starts, each ended by the server dying
        store.start(job.call_id)
    JobRunner(settings, store)._run(job.call_id, {})
    failed = store.get(job.call_id)
    assert (failed.status, failed.http_status, failed.attempts) == ("failed", 500, 4)
    assert "stopped 3 times" in failed.error


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().workers = 2  # type: ignore[misc]
    assert isinstance(Settings(data_dir="d").data_dir, Path)

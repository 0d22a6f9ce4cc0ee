"""The service's web-facing parts in process, without a model: the page and its options, signed
links and the token, the refused requests, the result files and their
reasons when missing, cancelling through the callbacks, and disk errors.

FastAPI's TestClient without its lifespan starts no worker; result files are written by the
package's own writers, as a job writes them. Milliseconds each.
"""

from __future__ import annotations

import errno
import io
import json
import re
import shutil
import uuid
import zipfile
from pathlib import Path

import pytest

from audiototext import options as registry
from audiototext.errors import MediaError, OptionsError
from audiototext.events import Progress
from audiototext.service import JobRunner, JobStore, Settings, progress_callbacks
from audiototext.service.access import LINK_SECONDS, check_signed, signed
from audiototext.service.checks import disk_error, storage_error, unknown_parameters
from audiototext.service.runner import JobCancelled
from audiototext.subtitles import write_files
from audiototext.transcript import Segment, Transcript

TOKEN = "s3cret"
LINES = (Segment(0.0, 2.5, " Good morning everyone."), Segment(2.5, 5.0, " The weather is nice today."))


def make_app(tmp_path, **settings):
    pytest.importorskip("fastapi")
    pytest.importorskip("multipart")
    from fastapi.testclient import TestClient

    from audiototext.service import create_app

    app = create_app(Settings(data_dir=tmp_path / "data", **settings))
    return app, TestClient(app)  # no `with`: the lifespan, and so the workers, never start


@pytest.fixture()
def client(tmp_path):
    app, client = make_app(tmp_path)
    yield client
    app.state.lock.release()


@pytest.fixture()
def guarded(tmp_path):
    app, client = make_app(tmp_path, token=TOKEN)
    yield client
    app.state.lock.release()


def finished_job(app, slug: str, *, translated: bool = True, status: str = "done", error: str = "") -> str:
    """A job as a worker leaves it: its files written by the package's writers into audio/<slug>/."""
    settings, store = app.state.settings, app.state.store
    call_id = uuid.uuid4().hex
    media = settings.downloads_dir / call_id / f"{slug}.wav"
    media.parent.mkdir(parents=True)
    media.write_bytes(b"RIFF....WAVE")
    job = store.create(
        slug, f"upload:{slug}.wav", media_path=str(media), params={"task": "transcribe"}, call_id=call_id
    )
    store.start(job.call_id)
    transcript = Transcript(LINES, "en", 5.0)
    folder = settings.result_dir(slug)
    write_files(transcript, folder, slug, "srt,vtt,txt,json")
    if translated:
        german = Transcript(tuple(Segment(s.start, s.end, s.text.upper()) for s in LINES), "de", 5.0)
        write_files(german, folder, slug, "srt,json", suffix="_German")
    (folder / ".audiototext").mkdir()  # checkpoints: never served
    if status == "done":
        store.finish(job.call_id)
    else:
        store.fail(job.call_id, error, http_status=500)
    return job.call_id


# --- the page and its options ---------------------------------------------------------------------


def test_the_page_and_its_files_are_served_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp  # the browser loads nothing else
    for name in ("app.js", "style.css"):
        assert f'"/static/{name}"' in page.text
        assert client.get(f"/static/{name}").status_code == 200
    for bad in ("/static/nope.js", "/static/.hidden.js", "/static/index.py"):
        assert client.get(bad).status_code == 404
    static = Path(__file__).resolve().parents[1] / "audiototext" / "service" / "static"
    for path in static.iterdir():  # nothing fetched from elsewhere: no http(s) URL in any page file
        assert "http://" not in path.read_text().replace("https://example.org", "") and "//cdn" not in path.read_text()


def test_the_options_route_is_the_registry(client):
    body = client.get("/api/options").json()
    rows = {row["name"]: row for row in body["options"]}
    assert list(rows) == [p.name for p in registry.query_parameters()]  # every one, in order, nothing else
    hidden = {o.name for o in registry.OPTIONS if "service" not in o.faces}
    assert not hidden & set(rows)
    assert {name for name, row in rows.items() if row["main"]} >= {"task", "language", "model", "deepl_target"}
    assert rows["task"]["choices"] == [
        {"value": "transcribe", "label": "Transcribe"},
        {"value": "translate", "label": "Translate to English"},
    ]
    assert (rows["beam_size"]["default"], rows["beam_size"]["min"], rows["beam_size"]["max"]) == (5, 1, 20)
    assert rows["output_formats"]["default"] == "txt,vtt,srt" and "all" in rows["output_formats"]["suggestions"]
    assert "German" in rows["deepl_target"]["suggestions"]
    assert rows["deepl_coherence"]["choices"][0]["value"] == registry.option("deepl_coherence").default
    assert {g["name"] for g in body["groups"]} >= {row["group"] for row in rows.values()}


def test_the_page_s_options_are_the_cli_s_and_the_notebook_s(client):
    """Same names, choices, ranges and checks on every face: the page, the CLI and the notebook's form."""
    from audiototext.cli import build_parser
    from audiototext.options.form import form_fields

    rows = {row["name"]: row for row in client.get("/api/options").json()["options"]}
    cli = {action.dest for action in build_parser()._actions}
    notebook = {field.option: field for field in form_fields()}
    assert set(rows) <= cli  # every option of the page is a CLI option, under the same name
    shared = set(rows) & set(notebook)
    assert {"task", "language", "model", "output_formats", "deepl_target", "deepl_formality"} <= shared
    for name in shared:
        row, field = rows[name], notebook[name]
        labels = [choice["label"] for choice in row["choices"]]
        assert labels == [str(c) for c in field.choices] or not row["choices"], name
        assert (row["min"], row["max"]) == (field.minimum, field.maximum), name
        assert row["suggestions"] == [str(s) for s in field.choices] or row["choices"] or not field.choices, name
    for name, bad in [("beam_size", "0"), ("language", "klingon"), ("output_formats", "srt,docx"), ("task", "x")]:
        cli_error = str(pytest.raises(OptionsError, registry.build, {name: bad}).value)
        response = client.post(
            "/api/transcribe", params={"title_slug": "x", "src_url": "http://127.0.0.1:9/a.wav", name: bad}
        )
        assert response.status_code in (400, 422), (name, response.text)
        assert cli_error.replace(f"--{name}", name)[:40] in response.text, (name, cli_error, response.text)


def test_the_options_show_the_servers_defaults(tmp_path):
    app, client = make_app(tmp_path, model="tiny.en", engine="faster-whisper")
    try:
        rows = {row["name"]: row for row in client.get("/api/options").json()["options"]}
        assert (rows["model"]["default"], rows["engine"]["default"]) == ("tiny.en", "faster-whisper")
    finally:
        app.state.lock.release()


# --- the token and signed links ---------------------------------------------------------------------


def test_signed_links():
    link = signed("/api/audio/talk_German.srt", TOKEN, now=1000)
    path, _, query = link.partition("?")
    assert path == "/api/audio/talk_German.srt" and TOKEN not in link
    params = dict(part.split("=") for part in query.split("&"))
    assert check_signed("GET", "/api/audio/talk_German.srt", params, TOKEN, now=1000 + LINK_SECONDS)
    assert not check_signed("GET", "/api/audio/talk_German.srt", params, TOKEN, now=1001 + LINK_SECONDS)  # expired
    assert not check_signed("GET", "/api/audio/talk.srt", params, TOKEN, now=1000)  # another file
    assert not check_signed("DELETE", "/api/audio/talk_German.srt", params, TOKEN, now=1000)
    assert not check_signed("GET", "/api/audio/talk_German.srt", params, "another", now=1000)
    jobs = signed("/api/jobs", TOKEN, now=1000).partition("?")[2]
    assert not check_signed("GET", "/api/jobs", dict(p.split("=") for p in jobs.split("&")), TOKEN, now=1000)
    assert signed("/api/audio/a b.srt", None) == "/api/audio/a%20b.srt"  # no token: a plain link


def test_without_the_token_nothing_is_served_but_the_page(guarded):
    app = guarded.app
    call_id = finished_job(app, "talk")
    for method, path in [
        ("GET", "/api/options"),
        ("GET", "/api/jobs"),
        ("GET", f"/api/status/{call_id}"),
        ("POST", f"/api/cancel/{call_id}"),
        ("GET", "/api/audio/talk"),
        ("GET", "/api/audio/talk.srt"),
        ("GET", "/api/audio/talk_German.srt"),
        ("GET", "/api/audio/talk.zip"),
        ("GET", "/api/media/talk"),
        ("DELETE", "/api/audio/talk"),
        ("GET", "/api/health"),
        ("POST", "/api/transcribe?title_slug=a&src_url=http://127.0.0.1:9/a.wav"),
    ]:
        response = guarded.request(method, path)
        assert response.status_code == 401, (method, path)
        assert "talk" not in response.text and "Good morning" not in response.text
    for path in ("/", "/static/app.js", "/static/style.css"):  # the page holds no data: it asks for the token
        response = guarded.get(path)
        assert response.status_code == 200 and "Good morning" not in response.text and call_id not in response.text
    assert guarded.get("/api/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_every_route_needs_the_token_or_holds_no_data(guarded):
    """Every route the app has (walked, not listed: a new one is checked too) answers 401 without
    the token, or is one of the open ones (the page, its files, the API docs) and holds no job's data."""
    from audiototext.service import apidocs, page, results, routes
    from audiototext.service.access import is_open

    call_id = finished_job(guarded.app, "zqxjob")
    values = {"call_id": call_id, "slug": "zqxjob", "name": "zqxjob.srt"}
    seen = set()
    for router in (routes.router, results.router, page.router, apidocs.router, guarded.app.router):
        for route in router.routes:
            if not hasattr(route, "methods"):
                continue
            given = {**values, "name": "app.js"} if route.path.startswith("/static/") else values
            path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m, given=given: given[m[1]], route.path)
            for method in route.methods - {"HEAD"}:
                seen.add((method, route.path))
                response = guarded.request(method, path)
                if is_open(path):
                    assert response.status_code in (200, 307), (method, path)
                    assert "zqxjob" not in response.text and call_id not in response.text, (method, path)
                    assert "Good morning" not in response.text, (method, path)
                else:
                    assert response.status_code == 401, (method, path, response.status_code)
                    assert "zqxjob" not in response.text and "Good morning" not in response.text, (method, path)
    assert {("GET", "/api/audio/{name:path}"), ("GET", "/api/media/{slug}"), ("GET", "/docs")} <= seen
    assert {("GET", "/openapi.json"), ("GET", "/api/jobs"), ("DELETE", "/api/audio/{slug}")} <= seen
    assert guarded.get("/api/audio/zqxjob.zip").status_code == 401
    assert guarded.get(f"/api/status/{call_id}?lines_from=0").status_code == 401  # the lines as decoded


def test_signed_links_of_a_result_open_without_the_header(guarded):
    app = guarded.app
    finished_job(app, "talk")
    body = guarded.get("/api/audio/talk", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    links = [f["url"] for f in body["files"]] + [body["zip"], body["media"]] + [t["url"] for t in body["tracks"]]
    for link in links:
        assert "signature=" in link and TOKEN not in link
        assert guarded.get(link).status_code == 200, link
    srt = next(f["url"] for f in body["files"] if f["name"] == "talk.srt")
    assert guarded.get(srt.replace("talk.srt", "talk.vtt")).status_code == 401  # a link opens its own file only
    assert guarded.get(srt[:-4] + "0000").status_code == 401  # a changed signature opens nothing
    assert guarded.get(srt.replace("/api/audio/talk/talk.srt", "/api/jobs")).status_code == 401


def test_a_translation_and_a_job_named_like_it_each_get_their_own_file(client):
    # Job talk's German translation and job talk_German's own subtitles are both talk_German.srt:
    # talk's link served the other job's file.
    finished_job(client.app, "talk")
    finished_job(client.app, "talk_German", translated=False)
    talk, other = client.get("/api/audio/talk").json(), client.get("/api/audio/talk_German").json()
    german = next(f["url"] for f in talk["files"] if f["name"] == "talk_German.srt")
    own = next(f["url"] for f in other["files"] if f["name"] == "talk_German.srt")
    assert german != own
    assert client.get(german).text.count("GOOD MORNING") and not client.get(own).text.count("GOOD MORNING")
    track = next(t["url"] for t in talk["tracks"] if t["label"] == "German")
    assert client.get(track).json()["language"] == "de"
    assert client.get("/api/audio/nobody/talk.srt").status_code == 404
    assert client.get("/api/audio/talk/..%2Ftalk_German%2Ftalk_German.srt").status_code in (400, 404, 422)  # refused


# --- refused requests ----------------------------------------------------------


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"temperatur": "5"}, "'temperatur' is not a parameter (did you mean temperature?)"),
        ({"output_dir": "/tmp"}, "'output_dir' cannot be set here (the service keeps each job's files"),
        ({"device": "cuda"}, "'device' cannot be set here (a server setting of the service"),
        ({"deepl_api_key": "k"}, "'deepl_api_key' cannot be set here (the service reads secrets"),
        ({"zzz": "1"}, "'zzz' is not a parameter. The parameters are: "),
    ],
)
def test_unknown_query_parameters_are_refused(client, extra, message):
    query = {"title_slug": "x", "src_url": "http://127.0.0.1:9/never-fetched.wav", **extra}
    response = client.post("/api/transcribe", params=query)
    assert response.status_code == 422 and message in response.json()["detail"], response.text
    assert client.app.state.store.counts()["queued"] == 0


def test_repeated_parameters_and_two_files_are_refused(client):
    query = [("title_slug", "x"), ("src_url", "http://127.0.0.1:9/a.wav"), ("beam_size", "1"), ("beam_size", "5")]
    response = client.post("/api/transcribe", params=query)
    assert response.status_code == 422 and "beam_size given more than once" in response.json()["detail"]
    two = [("file", ("a.wav", b"RIFF", "audio/wav")), ("file", ("b.wav", b"RIFF", "audio/wav"))]
    response = client.post("/api/transcribe", params={"title_slug": "x"}, files=two)
    detail = response.json()["detail"]
    assert response.status_code == 422 and "2 parts named 'file' (a.wav, b.wav)" in detail and "own POST" in detail
    response = client.post(
        "/api/transcribe", params={"title_slug": "x"}, files={"file": ("a.wav", b"RIFF")}, data={"language": "en"}
    )
    assert response.status_code == 422 and "unknown form field language" in response.json()["detail"]
    assert client.app.state.store.counts()["queued"] == 0
    assert not any((client.app.state.settings.downloads_dir).glob("*/*"))


def test_unknown_parameters_message():
    assert unknown_parameters(["a", "b"], ["a", "b"], {}) is None
    message = unknown_parameters(["languag", "title_slug"], ["language", "title_slug"], {})
    assert message.startswith("unknown query parameter: 'languag' is not a parameter (did you mean language?)")


# --- result files ----------------------------------------------------------------


def test_every_written_file_is_listed_and_served(client):
    app = client.app
    finished_job(app, "talk")
    body = client.get("/api/audio/talk").json()
    names = [f["name"] for f in body["files"]]
    assert names == ["talk.json", "talk.srt", "talk.txt", "talk.vtt", "talk_German.json", "talk_German.srt"]
    folder = app.state.settings.result_dir("talk")
    for f in body["files"]:
        response = client.get(f["url"])
        assert response.status_code == 200 and response.content == (folder / f["name"]).read_bytes()
        assert f["bytes"] == len(response.content)
    german = client.get("/api/audio/talk_German.srt")
    assert german.headers["content-type"].startswith("application/x-subrip") and "GOOD MORNING" in german.text
    assert [(t["label"], t["language"], t["format"]) for t in body["tracks"]] == [
        ("English", "en", "vtt"),
        ("German", "de", "json"),  # no German .vtt was written: the page makes one from the JSON
    ]
    archive = zipfile.ZipFile(io.BytesIO(client.get(body["zip"]).content))
    assert sorted(archive.namelist()) == sorted(names)
    assert archive.read("talk_German.srt") == (folder / "talk_German.srt").read_bytes()
    media = client.get(body["media"])
    assert media.status_code == 200 and media.content == b"RIFF....WAVE"


@pytest.mark.parametrize(
    "name, message",
    [
        ("talk.tsv", "talk.tsv was not written: submit with output_formats including tsv"),
        ("talk_French.srt", "talk_French.srt was not written by the job of talk: GET /api/audio/talk lists its files"),
        ("other.srt", "no transcript for 'other'"),
        ("other_German.srt", "no transcript for 'other_German'"),
    ],
)
def test_a_missing_file_says_why(client, name, message):
    finished_job(client.app, "talk")
    response = client.get(f"/api/audio/{name}")
    assert response.status_code == 404 and message in response.json()["detail"]


def test_a_failed_job_s_files_say_it_failed_and_why(client):
    app = client.app
    store = app.state.store
    job = store.create("broken", "upload:broken.wav", params={})
    store.start(job.call_id)
    store.fail(job.call_id, "Could not download model small (offline)", http_status=500)
    for name in ("broken", "broken.srt", "broken_German.srt", "broken.zip"):
        response = client.get(f"/api/audio/{name}")
        detail = response.json()["detail"]
        assert response.status_code == 404 and "the job of broken failed: Could not download model small" in detail
    # DeepL failed after the transcript was written: the transcript stays served, the translation says why
    finished_job(app, "half", translated=False, status="failed", error="DeepL: quota exceeded")
    assert client.get("/api/audio/half.srt").status_code == 200
    body = client.get("/api/audio/half").json()
    assert body["status"] == "failed" and body["error"] == "DeepL: quota exceeded"
    missing = client.get("/api/audio/half_German.srt")
    assert missing.status_code == 404 and "failed: DeepL: quota exceeded" in missing.json()["detail"]


def test_media_is_not_kept_when_the_server_says_so(tmp_path):
    app, client = make_app(tmp_path, keep_media=False)
    try:
        finished_job(app, "talk")
        assert client.get("/api/audio/talk").json()["media"] is None
        response = client.get("/api/media/talk")
        assert response.status_code == 404 and "--no-keep-media" in response.json()["detail"]
    finally:
        app.state.lock.release()


def test_jobs_list_and_delete(client):
    app = client.app
    first = finished_job(app, "talk")
    queued = app.state.store.create("later", "http://x/later.mp3")
    jobs = client.get("/api/jobs").json()["jobs"]
    assert [(j["call_id"], j["status"], j["source"]) for j in jobs] == [
        (queued.call_id, "queued", "http://x/later.mp3"),
        (first, "done", "talk.wav"),
    ]
    assert client.delete("/api/audio/talk").json() == {"deleted": "talk"}
    assert [j["call_id"] for j in client.get("/api/jobs").json()["jobs"]] == [queued.call_id]
    assert not app.state.settings.result_dir("talk").exists()
    assert not (app.state.settings.downloads_dir / first).exists()  # the kept media went with it


# --- cancelling ---------------------------------------------------------------------------------------


def test_cancel_route(client):
    store = client.app.state.store
    queued = store.create("q", "src")
    assert client.post(f"/api/cancel/{queued.call_id}").json() == {"call_id": queued.call_id, "status": "cancelled"}
    status = client.get(f"/api/status/{queued.call_id}")
    assert status.status_code == 200
    assert status.json()["status"] == "cancelled" and status.json()["error"] == "cancelled before it started"
    again = client.post(f"/api/cancel/{queued.call_id}")
    assert again.status_code == 409 and "already finished (cancelled)" in again.json()["detail"]
    running = store.create("r", "src")
    store.start(running.call_id)
    assert client.post(f"/api/cancel/{running.call_id}").json()["status"] == "cancelling"
    assert client.get(f"/api/status/{running.call_id}").json()["cancelling"] is True
    assert client.post("/api/cancel/nope").status_code == 404


def test_callbacks_keep_the_lines_and_stop_a_cancelled_job(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    job = store.create("talk", "src", total_segments=4)
    store.start(job.call_id)
    stop = []
    callbacks = progress_callbacks(store, job.call_id, lambda: bool(stop))
    callbacks.progress(Progress(4, 1, 1))
    callbacks.segment(LINES[0])
    stop.append(True)
    with pytest.raises(JobCancelled):
        callbacks.segment(LINES[1])  # the line it brought is kept, then it stops
    with pytest.raises(JobCancelled):
        callbacks.progress(Progress(4, 2, 1))
    assert [line["text"] for line in store.lines(job.call_id)] == [s.text.strip() for s in LINES]
    assert store.get(job.call_id).done_segments == 2


def test_a_job_cancelled_while_the_server_was_down_is_not_run(tmp_path):
    settings = Settings(data_dir=tmp_path)
    store = JobStore(settings.database)
    job = store.create("talk", "src", params={"task": "summarize"})  # would fail if it ran
    store.start(job.call_id)
    store.cancel(job.call_id)
    JobRunner(settings, store)._run(job.call_id, {})
    got = store.get(job.call_id)
    assert got.status == "cancelled" and "before the server restarted" in got.error


# --- disk errors are the server's -----------------------------------------------


def test_disk_errors_are_found_behind_other_errors():
    full = OSError(errno.ENOSPC, "No space left on device")
    try:
        try:
            raise full
        except OSError as e:
            raise MediaError("x: download failed; check the link") from e
    except MediaError as wrapped:
        assert disk_error(wrapped) is full

    class DownloadError(Exception):  # yt-dlp keeps the original in exc_info
        exc_info = (OSError, OSError(errno.EDQUOT, "Disk quota exceeded"), None)

    assert disk_error(DownloadError()).errno == errno.EDQUOT
    assert disk_error(MediaError("x: HTTP 404")) is None
    assert storage_error("talk.wav", full).status == 507
    assert "the server's disk is full" in str(storage_error("talk.wav", full))
    assert storage_error("talk.wav", OSError(errno.EACCES, "Permission denied")).status == 500


def test_status_lines_from(client):
    store = client.app.state.store
    job = store.create("talk", "src")
    store.start(job.call_id)
    for n, segment in enumerate(LINES):
        store.add_line(job.call_id, n, segment.start, segment.end, segment.text.strip())
    assert "lines" not in client.get(f"/api/status/{job.call_id}").json()
    body = client.get(f"/api/status/{job.call_id}", params={"lines_from": 1}).json()
    assert body["lines"] == [{"start": 2.5, "end": 5.0, "text": "The weather is nice today."}]
    assert json.loads(json.dumps(body))["finished"] is False


@pytest.mark.slow
def test_the_page_is_in_the_wheel(tmp_path):
    """The page's files are package data: a wheel built from the source tree holds every one."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    tree = tmp_path / "src"
    tree.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md", "MANIFEST.in"):
        (tree / name).write_bytes((root / name).read_bytes())
    shutil.copytree(root / "audiototext", tree / "audiototext", ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    [wheel] = tmp_path.glob("audiototext-*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    static = root / "audiototext" / "service" / "static"
    assert {f"audiototext/service/static/{p.name}" for p in static.iterdir()} <= packed

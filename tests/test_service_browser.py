"""The web page of ``audiototext serve`` in a real browser: Debian's headless Chromium
driven by Playwright, against a real server subprocess with tiny.en (offline) and a fake DeepL
server. A person's path: choose a file and a DeepL target, watch the progress and the lines, play
it with its subtitle tracks, seek from the transcript with the keyboard, download the files; a
text file named notes.mp3; a reload; cancel; delete; a phone-sized screen; the token prompt.

Every wait is on a DOM state with generous limits (a loaded 2-core machine is slow); nothing is
timed. Every request the page makes must go to the server itself (or be a blob: it made).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import speak, write_wav
from test_notebook_browser import CHROMIUM, CHROMIUM_ARGS
from test_service_support import Server, httpx, words

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("multipart")
pytest.importorskip("deepl")
sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.slow

sys.path.insert(0, str(Path(__file__).parent))

#: Limits of the DOM waits, in milliseconds (generous: only a failure waits that long).
START_MS = 180_000
RUN_MS = 900_000
TOKEN = "page-test-token"


@pytest.fixture(scope="module")
def media(tmp_path_factory, english_wav, long_speech):
    """The English sentences, a text file named notes.mp3, and about eight minutes of speech."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    from audiototext.media import load_audio

    folder = tmp_path_factory.mktemp("page-media")
    shutil.copy(english_wav, folder / "speech.wav")
    (folder / "notes.mp3").write_text("Meeting notes: buy milk, call Ana.\n")
    speak("Good morning everyone.", "en-us", folder / "morning.wav")
    audio = load_audio(long_speech[0])
    write_wav(folder / "long.wav", np.concatenate([audio, np.zeros(16000, np.float32)] * 6 + [audio]))
    return folder


@pytest.fixture(scope="module")
def deepl_server():
    from fake_deepl import FakeDeepLServer

    with FakeDeepLServer() as state:
        yield state


def start_server(data: Path, deepl, token: str | None = None, *more: str) -> Server:
    env = {"DEEPL_AUTH_KEY": deepl.auth_key, "DEEPL_SERVER_URL": deepl.url}
    args = ("--model", "tiny.en", "--engine", "faster-whisper", "--batch-size", "1", "--threads", "1", *more)
    return Server(data, *args, env=env, token=token).start()


def tab_to(p, selector: str, *, back: bool = False) -> None:
    """Press Tab (Shift+Tab) until ``selector`` has the focus: it is reachable from the keyboard."""
    for _ in range(300):
        if p.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        p.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


@pytest.fixture(scope="module")
def server(tmp_path_factory, deepl_server, media):
    server = start_server(tmp_path_factory.mktemp("page") / "data", deepl_server)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def said(text: str, *any_of: str) -> bool:
    """One of the words was recognised (tiny.en, greedy: a word or two may differ between CPUs)."""
    return any(word in words(text).split() for word in any_of)


class Page:
    """A page on the server, with every request it makes and every script error recorded."""

    def __init__(self, browser, server: Server, tmp_path: Path, **context):
        self.server, self.tmp_path = server, tmp_path
        self.context = browser.new_context(accept_downloads=True, **context)
        self.page = self.context.new_page()
        self.page.set_default_timeout(START_MS)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.accept()))  # "Delete ...?"

    def open(self, ready: bool = True) -> Page:
        self.page.goto(self.server.url + "/")
        if ready:
            self.page.wait_for_selector("body[data-ready]")
        return self

    def submit(self, *files: Path) -> None:
        self.page.set_input_files("#files", [str(f) for f in files])
        self.page.click("#submit")

    def job_done(self, status: str = "done") -> str:
        self.page.wait_for_selector(f"#job[data-status={status}]", timeout=RUN_MS)
        return self.page.get_attribute("#job", "data-slug")

    def tracks_loaded(self, count: int) -> dict:
        self.page.wait_for_function(
            """(count) => { const v = document.getElementById('player');
                            const t = Array.from(v.textTracks);
                            return !v.hidden && v.readyState >= 1 && t.length === count
                                   && t.every(x => x.cues && x.cues.length > 0); }""",
            arg=count,
            timeout=RUN_MS,
        )
        return self.page.evaluate(
            """() => { const v = document.getElementById('player');
                       return {src: v.currentSrc, duration: v.duration,
                               tracks: Array.from(v.textTracks).map(t => [t.label, t.language, t.mode, t.cues.length]),
                               cue: v.textTracks[0].cues[0].text}; }"""
        )

    def outside(self) -> list[str]:
        """Requests that went anywhere but this server (blob: and data: URLs are the page's own)."""
        return [u for u in self.requests if not u.startswith((self.server.url + "/", "blob:", "data:"))]

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def page(browser, server, tmp_path):
    page = Page(browser, server, tmp_path, viewport={"width": 1100, "height": 1400})
    try:
        yield page
    except BaseException:
        page.page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        print(f"\nfailure screenshot: {tmp_path / 'failure.png'}\n{server.log_text()}")
        raise
    finally:
        page.close()


def test_upload_watch_play_download(page, server, media, tmp_path):
    p = page.open().page
    # Every state the progress line goes through, as the page shows it.
    p.evaluate(
        """() => { window.seen = [];
                   const label = document.getElementById('job-progress-label');
                   new MutationObserver(() => window.seen.push(label.textContent))
                       .observe(label, {childList: true, characterData: true, subtree: true}); }"""
    )
    assert p.locator("label[for=opt-deepl_target]").inner_text().startswith("DeepL target")
    labels = p.locator("label").all_inner_texts() + p.locator("legend").all_inner_texts()
    assert not [label for label in labels if "Deepl" in label], labels  # DeepL, as DeepL writes it
    p.fill("#opt-deepl_target", "German")
    p.click("#advanced summary")  # the advanced options are folded away
    p.fill("#opt-beam_size", "1")
    page.submit(media / "speech.wav")
    slug = page.job_done()
    assert re.fullmatch(r"speech-[a-z0-9]{1,5}", slug), slug

    seen = p.evaluate("window.seen")
    assert seen[-1] == "1 of 1 window decoded: done", seen
    assert any(s in ("Waiting in the queue…", "0 of 1 window decoded") for s in seen[:-1]), seen  # seen running
    assert p.evaluate(
        "[document.getElementById('job-progress').value, document.getElementById('job-progress').max]"
    ) == [1, 1]

    player = page.tracks_loaded(2)
    assert player["src"] == f"{server.url}/api/media/{slug}", player  # the kept upload, served
    assert [t[:3] for t in player["tracks"]] == [["English", "en", "showing"], ["German", "de", "hidden"]], player
    assert 10 < player["duration"] < 20 and said(player["cue"], "quick", "brown", "fox", "dog"), player

    # The transcript's lines seek the player, from the keyboard too.
    lines = p.locator("#transcript button.line")
    assert lines.count() >= 2 and said(lines.first.inner_text(), "quick", "brown", "fox", "dog")
    second = float(lines.nth(1).get_attribute("data-start"))
    assert second > 1
    lines.nth(1).focus()
    p.keyboard.press("Enter")
    p.wait_for_function(
        "(t) => document.getElementById('player').currentTime >= t - 0.05", arg=second, timeout=START_MS
    )
    # Audio has no picture: the line being spoken is shown under the compact player.
    p.wait_for_function("() => document.getElementById('caption').textContent.trim() !== ''", timeout=START_MS)
    cues = p.evaluate("Array.from(document.getElementById('player').textTracks[0].cues).map(c => c.text)")
    assert p.locator("#caption").inner_text() in cues and p.locator("#player.audio-only").count() == 1

    # Downloads: the same bytes as the API's files.
    for name in (f"{slug}.srt", f"{slug}_German.srt"):
        with p.expect_download() as download:
            p.click(f"#downloads a[download='{name}']")
        got = Path(download.value.path()).read_bytes()
        assert got == server.request("GET", f"/api/audio/{name}").content and b"-->" in got, name
    with p.expect_download() as download:
        p.click("#downloads a:has-text('All files')")
    names = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())).namelist()
    assert {f"{slug}.srt", f"{slug}.vtt", f"{slug}.txt", f"{slug}_German.srt"} <= set(names), names

    # A reload shows the jobs list and the job again.
    p.reload()
    p.wait_for_selector("body[data-ready]")
    row = p.locator(f"#jobs-list tr[data-slug='{slug}']")
    assert row.locator("td").nth(1).inner_text() == "done"
    p.wait_for_selector(f"#job[data-slug='{slug}'][data-status=done]")  # reopened from the address
    assert p.locator("#job-title").inner_text() == slug
    page.tracks_loaded(2)
    p.evaluate("document.getElementById('player').currentTime = 1.5")
    p.wait_for_function("() => document.getElementById('caption').textContent.trim() !== ''", timeout=START_MS)
    # The README's picture: SERVICE_PAGE_PNG=docs/service-page.png writes it there.
    shot = Path(os.environ.get("SERVICE_PAGE_PNG") or tmp_path / "service-page.png")
    p.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}\nplayer: {player}")

    # The address is the job: going back to the bare page closes it, a job's address opens it.
    call_id = p.get_attribute("#job", "data-call-id")
    p.evaluate("location.hash = ''")
    p.wait_for_selector("#job", state="hidden")
    p.evaluate("(id) => { location.hash = '#job=' + id; }", call_id)
    p.wait_for_selector(f"#job[data-slug='{slug}'][data-status=done]")

    # Delete it from the list with the keyboard: its files go, and the focus stays in the list.
    row.get_by_role("button", name="Delete speech.wav").focus()
    # The list is redrawn every few seconds (new rows): the focus stays on the same button. It used
    # to fall to the page, and an Enter pressed just after a redraw deleted nothing.
    p.evaluate("refreshJobs()")
    assert p.evaluate("document.activeElement.getAttribute('aria-label')") == "Delete speech.wav"
    p.keyboard.press("Enter")
    row.wait_for(state="detached")
    assert server.request("GET", f"/api/audio/{slug}").status_code == 404
    assert p.locator("#job").is_hidden()
    p.wait_for_function("() => document.activeElement && document.activeElement.closest('#jobs') !== null")
    assert page.outside() == [] and page.errors == []


def test_a_bad_file_is_one_line_naming_it(page, media):
    p = page.open().page
    page.submit(media / "notes.mp3")
    error = p.locator("#form-errors li").first
    error.wait_for()
    text = error.inner_text()
    assert text.startswith("notes.mp3: not an audio or video file"), text
    assert "choose an audio or video file instead" in text and "\n" not in text
    assert p.locator("#job").is_hidden()  # no job was made
    assert page.errors == []


def test_a_refused_option_is_one_line_not_json(page, media):
    p = page.open().page
    p.click("#advanced summary")
    p.fill("#opt-beam_size", "0")  # FastAPI's 422 (a list of problems), in the registry's words
    page.submit(media / "morning.wav")
    error = p.locator("#form-errors li").first
    error.wait_for()
    text = error.inner_text()
    assert text == "morning.wav: beam_size must be between 1 and 20, not 0", text  # the CLI's words
    assert not any(c in text for c in '{["') and "\n" not in text
    assert page.errors == []


def test_a_job_that_fails_while_running_names_its_file(page, server, media, deepl_server):
    """DeepL refuses the key after the transcript is written: the error names the file and says what
    to do on this server; every window shows decoded; after a reload the player says why it has no media."""
    p = page.open().page
    p.fill("#opt-deepl_target", "German")
    deepl_server.fail_status, deepl_server.fail_path = 403, "/v2/translate"
    try:
        page.submit(media / "morning.wav")
        slug = page.job_done("failed")
    finally:
        deepl_server.fail_status = deepl_server.fail_path = None
    error = p.locator("#job-error").inner_text()
    assert error.startswith("morning.wav: DeepL rejected this server's key") and "DEEPL_AUTH_KEY" in error, error
    assert "deepl_api_key" not in error
    assert p.locator("#job-progress-label").inner_text() == "1 of 1 window decoded: failed"
    p.reload()
    p.wait_for_selector(f"#job[data-slug='{slug}'][data-status=failed]")
    note = p.locator("#player-note")
    note.wait_for()
    assert note.inner_text().startswith("This job failed: the server removed its media"), note.inner_text()
    assert p.locator("#transcript button.line").count() >= 1  # the transcript it wrote is kept and shown
    assert page.errors == []


def test_the_api_docs_load_from_this_server(page, server):
    p = page.page
    p.goto(server.url + "/docs")
    p.wait_for_selector("h2 code:text('POST /api/transcribe')")
    assert p.evaluate("getComputedStyle(document.body).fontFamily").startswith("system-ui")  # its own style sheet
    p.goto(server.url + "/redoc")
    assert p.url == server.url + "/docs"
    assert page.outside() == [] and page.errors == []


#: A file name that would run script if the page wrote names as HTML: it must show as text.
HOSTILE = """<img src=x onerror="alert('xss')"> "morning" <script>alert('xss')</script>.wav"""


def test_drop_several_files(page, server, media):
    """Two files dropped on the page: each is its own job; the one that is not media says so. The
    media's name is HTML with script: it is shown as the text it is, everywhere, and runs nothing."""
    import base64

    p = page.open().page
    files = [
        {"name": name, "type": kind, "data": base64.b64encode((media / path).read_bytes()).decode()}
        for name, path, kind in ((HOSTILE, "morning.wav", "audio/wav"), ("notes.mp3", "notes.mp3", "audio/mpeg"))
    ]
    dropped = p.evaluate_handle(
        """(files) => { const data = new DataTransfer();
                        for (const f of files) {
                            const bytes = Uint8Array.from(atob(f.data), c => c.charCodeAt(0));
                            data.items.add(new File([bytes], f.name, {type: f.type}));
                        }
                        return data; }""",
        files,
    )
    p.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
    chosen = p.locator("#chosen li").all_inner_texts()
    assert [re.sub(r" \(\d+ kB\)$", "", c) for c in chosen] == [HOSTILE, "notes.mp3"], chosen
    p.click("#submit")
    slug = page.job_done()
    assert re.fullmatch(r"[A-Za-z0-9_-]+", slug), slug  # a file name, whatever the upload was called
    assert p.locator("#form-errors li").all_inner_texts()[0].startswith("notes.mp3: not an audio or video file")
    assert said(server.text(slug), "good", "morning", "everyone")
    assert HOSTILE in p.inner_text("#job-source") and HOSTILE in p.inner_text("#jobs-list")
    page.page.reload()
    page.page.wait_for_selector("body[data-ready]")
    p.get_by_role("button", name=f"Delete {HOSTILE}").wait_for()  # the jobs list after a reload, as text
    assert p.locator("img, main script, #jobs-list script").count() == 0
    assert page.dialogs == [] and page.errors == [] and page.outside() == []


def test_cancel_keeps_the_lines(page, server, media):
    p = page.open().page
    page.submit(media / "long.wav")
    p.locator("#transcript li").first.wait_for(timeout=RUN_MS)  # the first lines, live
    # A cancel from the jobs list that the server refuses says so on the page, naming the file.
    p.route("**/api/cancel/*", lambda route: route.fulfill(status=500, json={"detail": "the database is locked"}))
    p.get_by_role("button", name="Cancel long.wav").click()
    p.locator("#page-error").wait_for(state="visible")
    assert p.locator("#page-error").inner_text() == "long.wav: the database is locked"
    p.unroute("**/api/cancel/*")
    p.click("#job-cancel")
    page.job_done("cancelled")
    assert p.locator("#job-error").inner_text().startswith("cancelled by a client after")
    assert said(p.locator("#transcript li").first.inner_text(), "library", "opens", "early", "morning")
    row = p.locator(f"#jobs-list tr[data-slug='{p.get_attribute('#job', 'data-slug')}']")
    assert row.locator("td").nth(1).inner_text() == "cancelled"
    assert page.errors == []


def test_readable_on_a_phone(browser, server, media, tmp_path):
    long_name = tmp_path / ("a_recording_of_the_weekly_meeting_of_the_whole_team_" * 2 + "morning.wav")
    shutil.copy(media / "morning.wav", long_name)
    server.upload("phone-long-name", long_name)  # a job whose name is longer than the screen is wide
    page = Page(browser, server, tmp_path, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        p = page.open().page
        p.wait_for_selector("#jobs-list tr[data-slug='phone-long-name']")
        width = p.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px screen"
        table = p.evaluate("(e => [e.scrollWidth, e.clientWidth])(document.querySelector('.table-wrap'))")
        assert table[0] <= table[1], f"the jobs list scrolls sideways: {table}"
        p.click("#advanced summary")
        unlabelled = p.evaluate(
            """() => Array.from(document.querySelectorAll('input, select, textarea'))
                         .filter(e => e.type !== 'hidden' && e.labels.length === 0).map(e => e.id)"""
        )
        assert unlabelled == []
        assert p.locator("#opt-task").evaluate("e => e.getBoundingClientRect().right") <= 390
        p.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    finally:
        page.close()


def test_two_tabs_see_each_other_s_jobs(browser, server, media, tmp_path):
    """A job submitted in one tab appears in the other's list without a reload; deleted there, it
    leaves the first tab's list too, and the first tab's open view of it says it was deleted."""
    a = Page(browser, server, tmp_path / "a", viewport={"width": 1100, "height": 1400})
    b = Page(browser, server, tmp_path / "b", viewport={"width": 1100, "height": 1400})
    try:
        b.open()
        a.open().submit(media / "morning.wav")
        slug = a.job_done()
        row = b.page.locator(f"#jobs-list tr[data-slug='{slug}']")
        row.wait_for()  # tab b is idle: its list is refreshed all the same
        row.get_by_role("button", name="Delete morning.wav").click()
        row.wait_for(state="detached")
        a.page.locator(f"#jobs-list tr[data-slug='{slug}']").wait_for(state="detached")
        error = a.page.locator("#job-error")
        error.wait_for()  # tab a still shows the job: it says the job is gone, and offers none of its files
        assert error.inner_text() == f"{slug} was deleted (in another tab or by another client): its files are gone."
        assert a.page.locator("#result").is_hidden() and a.page.locator("#downloads a").count() == 0
        assert server.request("GET", f"/api/audio/{slug}").status_code == 404
        assert a.errors == b.errors == [] and b.dialogs == [f"Delete morning.wav ({slug}) and all its files?"]
    finally:
        a.close()
        b.close()


def test_a_pasted_link_with_the_keyboard_only(browser, deepl_server, media, tmp_path):
    """The whole path without a mouse: paste a link, submit, watch, open the job from the list, play,
    download, delete; every control is reached with Tab and shows where the focus is."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(media))
    files = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=files.serve_forever, daemon=True).start()
    link = f"http://127.0.0.1:{files.server_address[1]}/morning.wav"
    server = start_server(tmp_path / "data", deepl_server, None, "--allow-private-urls")
    page = Page(browser, server, tmp_path, viewport={"width": 1100, "height": 1400})
    try:
        p = page.open().page
        tab_to(p, "#src_url")
        p.keyboard.insert_text(link)  # pasted
        outline = p.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("", "none"), f"the focused link field shows no focus ({outline})"
        tab_to(p, "#submit")
        p.keyboard.press("Enter")
        slug = page.job_done()
        assert slug.startswith("morning") and said(server.text(slug), "good", "morning", "everyone")
        p.evaluate("location.hash = ''")  # the bare page: open the job again from the list
        p.wait_for_selector("#job", state="hidden")
        tab_to(p, f"#jobs-list tr[data-slug='{slug}'] td:first-child button")
        p.keyboard.press("Enter")
        page.job_done()
        page.tracks_loaded(1)
        assert p.evaluate("document.activeElement.id") == "job-title"  # the opened job has the focus
        tab_to(p, "#player")  # its play button first
        p.keyboard.press("Space")
        p.wait_for_function("() => document.getElementById('player').currentTime > 0", timeout=START_MS)
        tab_to(p, f"#downloads a[download='{slug}.srt']")
        with p.expect_download() as download:
            p.keyboard.press("Enter")
        assert Path(download.value.path()).read_bytes() == server.request("GET", f"/api/audio/{slug}.srt").content
        tab_to(p, f"#jobs-list tr[data-slug='{slug}'] button[aria-label^='Delete']")
        p.keyboard.press("Enter")
        p.locator(f"#jobs-list tr[data-slug='{slug}']").wait_for(state="detached")
        assert server.request("GET", f"/api/audio/{slug}").status_code == 404
        assert page.errors == [] and page.outside() == []
    finally:
        page.close()
        server.stop()
        files.shutdown()


def test_many_jobs_are_listed_fifty_at_a_time(browser, deepl_server, media, tmp_path):
    """120 jobs (names with HTML among them): the 50 newest, then "Show older jobs" by keyboard."""
    from audiototext.service import JobStore, Settings

    settings = Settings(data_dir=tmp_path / "data")
    store = JobStore(settings.database)
    for i in range(120):
        job = store.create(f"job-{i:03d}", f"upload:<b>{i:03d}</b>.wav", params={"task": "transcribe"})
        store.fail(job.call_id, "not media", http_status=422)
    server = start_server(settings.data_dir, deepl_server)
    page = Page(browser, server, tmp_path, viewport={"width": 1100, "height": 1400})
    try:
        p = page.open().page
        rows = p.locator("#jobs-list tr")
        # the page is ready before its jobs list arrives: wait for the list, then count it
        p.wait_for_function("() => document.querySelectorAll('#jobs-list tr').length > 0")
        assert rows.count() == 50 and rows.first.get_attribute("data-slug") == "job-119"
        more = p.get_by_role("button", name="Show older jobs")
        more.focus()
        p.keyboard.press("Enter")
        p.wait_for_function("() => document.querySelectorAll('#jobs-list tr').length === 100")
        assert p.evaluate("document.activeElement.closest('tr').dataset.slug") == "job-069"  # the first older one
        more.click()
        p.wait_for_function("() => document.querySelectorAll('#jobs-list tr').length === 120")
        assert more.is_hidden() and rows.last.get_attribute("data-slug") == "job-000"
        assert "<b>000</b>.wav" in rows.last.inner_text() and p.locator("#jobs-list b").count() == 0
        assert page.errors == [] and page.outside() == []
    finally:
        page.close()
        server.stop()


def test_the_token_is_asked_once(browser, deepl_server, media, tmp_path):
    server = start_server(tmp_path / "data", deepl_server, token=TOKEN)
    page = Page(browser, server, tmp_path, viewport={"width": 1100, "height": 1400})
    try:
        p = page.open(ready=False).page
        dialog = p.locator("#token-dialog")
        dialog.wait_for(state="visible")
        # Escape: the dialog closes, the page says what is missing and stays usable; asking again works.
        p.keyboard.press("Escape")
        dialog.wait_for(state="hidden")
        p.locator("#token-again").wait_for(state="visible")  # set once the refused request has failed
        assert "needs its access token" in p.locator("#page-error").inner_text()
        assert p.evaluate("document.activeElement.id") == "token-again"
        p.keyboard.press("Enter")
        dialog.wait_for(state="visible")
        p.fill("#token", "not-the-token")
        p.click("#token-ok")
        p.locator("#token-error").wait_for(state="visible")
        assert "refused" in p.locator("#token-error").inner_text()
        p.fill("#token", TOKEN)
        p.click("#token-ok")
        p.wait_for_selector("body[data-ready]")
        assert p.evaluate("sessionStorage.getItem('audiototext-token')") == TOKEN
        page.submit(media / "morning.wav")
        slug = page.job_done()
        player = page.tracks_loaded(1)  # the media and its track open through signed links
        assert player["src"].startswith(f"{server.url}/api/media/{slug}?expires=") and TOKEN not in player["src"]
        assert said(player["cue"], "good", "morning", "everyone")
        p.reload()  # asked once: this tab keeps it
        p.wait_for_selector("body[data-ready]")
        assert dialog.is_hidden()
        assert not any(TOKEN in url for url in page.requests) and page.outside() == [] and page.errors == []
        assert httpx.get(f"{server.url}/api/audio/{slug}.srt", timeout=10).status_code == 401
    finally:
        page.close()
        server.stop()

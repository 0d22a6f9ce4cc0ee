"""AudioToText.ipynb in a real browser: JupyterLab on 127.0.0.1, driven by Debian's headless Chromium
through Playwright. A person's path in plain Jupyter: open the notebook, run Setup and the Jupyter-only
form cell, fill the widget form, press Run, wait for the results to list the .srt and for the player
to load the audio and its subtitle track, and keep a screenshot. Every wait is on a DOM state, with
generous limits (a loaded 2-core machine took over 60 s before)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Outbound connections fail here (and should not be tried): no sandbox in containers, no GPU.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TOKEN = "audiototext-browser-test"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyter_lab(tmp_path):
    """JupyterLab serving ``tmp_path/lab`` on 127.0.0.1; yields its base URL."""
    pytest.importorskip("jupyterlab")
    root = tmp_path / "lab"
    root.mkdir()
    port = _free_port()
    # No "Jupyter news?" toast over the page (it would also try the network).
    labconfig = tmp_path / "jupyter-config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(
        '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}'
    )
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"),
    }
    # Every cell in the page: Lab's windowing leaves cells out of reach of the DOM until scrolled to,
    # and "the last cell" counted in the page was then Step 6, run in place of the widget form.
    tracker = tmp_path / "lab-settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"windowingMode": "none"}')
    log = open(tmp_path / "jupyter.log", "wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={TOKEN}",
            "--allow-root",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + (tmp_path / "jupyter.log").read_text()[-3000:])
                time.sleep(0.5)
        yield url, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


#: Generous limits for a loaded 2-core machine: every wait is on a DOM state,
#: these only bound how long a state may take to appear.
START_S = 180
KERNEL_S = 300
RUN_S = 900


def test_widget_form_in_jupyterlab(jupyter_lab, english_wav, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    url, root = jupyter_lab
    shutil.copy(ROOT / "AudioToText.ipynb", root / "AudioToText.ipynb")
    shutil.copy(english_wav, root / "speech.wav")
    screenshot = tmp_path / "notebook-form.png"

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 2400})
        page.set_default_timeout(START_S * 1000)
        try:
            page.goto(f"{url}/lab/tree/AudioToText.ipynb?reset&token={TOKEN}", timeout=START_S * 1000)
            cells = page.locator(".jp-NotebookPanel .jp-Cell.jp-CodeCell")
            cells.first.wait_for()
            # The kernel is ready when Lab's status says so (a cell run before that is lost).
            page.locator(
                ".jp-Notebook-ExecutionIndicator[data-status='idle'], "
                "[data-status='idle'].jp-Notebook-ExecutionIndicator"
            ).first.wait_for(timeout=KERNEL_S * 1000)

            def run_cell(cell) -> None:
                """Select the cell and press Shift+Enter, again if Lab was not ready to take the key."""
                started = cell.locator(".jp-InputPrompt").filter(has_text=re.compile(r"\[(\*|\d+)\]"))
                for _ in range(6):
                    cell.locator(".jp-InputArea-editor").click()
                    page.keyboard.press("Escape")  # command mode: the cell is selected, not edited
                    page.keyboard.press("Shift+Enter")
                    try:
                        started.wait_for(timeout=30_000)
                        return
                    except sync_api.TimeoutError:
                        continue
                pytest.fail("JupyterLab did not run the cell")

            run_cell(cells.first)  # Step 1: install (already installed here) and check the machine
            cells.first.locator(".jp-OutputArea-output").filter(has_text="audiototext").first.wait_for(
                timeout=KERNEL_S * 1000
            )
            # The Jupyter-only widget form, the notebook's last code cell (Shift+Enter adds a cell below);
            # counted once every cell is in the page, or "the last" is whichever cell came last so far.
            code_cells = sum(
                c["cell_type"] == "code"
                for c in json.loads((root / "AudioToText.ipynb").read_text(encoding="utf-8"))["cells"]
            )
            page.wait_for_function(
                "(n) => document.querySelectorAll('.jp-NotebookPanel .jp-Cell.jp-CodeCell').length === n",
                arg=code_cells,
            )
            form_cell = cells.nth(code_cells - 1)
            assert "notebook.form()" in form_cell.locator(".jp-InputArea-editor").inner_text()
            run_cell(form_cell)
            form = page.locator(".audiototext-form").last
            form.wait_for(timeout=KERNEL_S * 1000)

            form.locator(".audiototext-audio_file input").fill("speech.wav")
            form.locator(".audiototext-use_model input").fill("base")
            form.locator(".audiototext-engine select").select_option("faster-whisper")
            form.locator(".audiototext-language input").fill("English")
            form.locator(".audiototext-run").click()

            output = form.locator(".audiototext-output")
            results = output.locator(".audiototext-results")
            results.wait_for(timeout=RUN_S * 1000)
            output.locator("details").last.wait_for(timeout=RUN_S * 1000)
            # The player: Jupyter serves speech.wav (referenced, not embedded), its track loads.
            player = output.locator("video.audiototext-player")
            player.wait_for()
            page.wait_for_function(
                """() => { const v = document.querySelector('.audiototext-output video.audiototext-player');
                           const t = v && v.textTracks[0];
                           return v && v.readyState >= 1 && t && t.cues && t.cues.length > 0; }""",
                timeout=KERNEL_S * 1000,
            )
            player_state = page.evaluate(
                """() => { const v = document.querySelector('.audiototext-output video.audiototext-player');
                           return {src: v.currentSrc, duration: v.duration,
                                   tracks: Array.from(v.textTracks).map(t => [t.language, t.label, t.cues.length]),
                                   cue: v.textTracks[0].cues[0].text}; }"""
            )
            # Seek into the first line: the browser shows the default track's cue over the picture.
            page.evaluate("document.querySelector('.audiototext-output video.audiototext-player').currentTime = 1.5")
            page.wait_for_function(
                """() => { const t = document.querySelector('.audiototext-output video.audiototext-player')
                                          .textTracks[0];
                           return t.mode === 'showing' && t.activeCues && t.activeCues.length > 0; }""",
                timeout=KERNEL_S * 1000,
            )
            captions = output.locator(".audiototext-captions")
            captions.filter(has_text=re.compile("fox", re.I)).wait_for(timeout=KERNEL_S * 1000)
            form.scroll_into_view_if_needed()
            form.screenshot(path=str(screenshot))
            listed = results.inner_text()
            printed = output.inner_text()
        except BaseException:  # pytest.fail and timeouts alike: keep a picture of what the page showed
            page.screenshot(path=str(tmp_path / "failure.png"))
            print(
                f"\nfailure screenshot: {tmp_path / 'failure.png'}\n"
                + (tmp_path / "jupyter.log").read_text(errors="replace")[-3000:]
            )
            raise
        finally:
            browser.close()

    assert "speech.srt" in listed and "speech.vtt" in listed and "speech.txt" in listed, listed
    assert "speech.wav" in listed and "audio_transcription.zip" in listed
    assert "Detected language" not in printed  # English was chosen, nothing to detect
    assert "-->" in printed and "fox" in printed.lower(), printed
    assert player_state["src"].split("?")[0] == f"{url}/files/speech.wav", player_state  # served, not embedded
    assert 5 < player_state["duration"] < 30 and player_state["tracks"] == [["en", "English", 3]], player_state
    assert "fox" in player_state["cue"].lower(), player_state
    assert (root / "audio_transcription" / "speech.srt").is_file()
    assert screenshot.stat().st_size > 10_000
    print(f"\nscreenshot: {screenshot}\nplayer: {player_state}\nresults list:\n{listed}")

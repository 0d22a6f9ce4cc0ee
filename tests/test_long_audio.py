"""Long audio end to end: the CLI resumes after kill -9, and silence or noise produce no text (on the
fake engine, tests/fake_engine.py: ``python -m fake_engine`` for the CLI as a subprocess); cue times
around a long pause on a real model."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audiototext.cli import main
from fake_engine import PACE, heard

FAST = ["--engine", "faster-whisper", "--model", "tiny.en", "--beam_size", "5", "--no_progress"]


def _run_cli(args, out: Path, pace: float = 0) -> subprocess.Popen:
    """The CLI on the fake engine, taking ``pace`` seconds per window."""
    env = {**os.environ, "AUDIOTOTEXT_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", PACE: str(pace)}
    return subprocess.Popen(
        [sys.executable, "-m", "fake_engine", *args, "-o", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _outputs(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.*")) if p.is_file()}


@pytest.mark.slow  # seconds of real processes: the full suite's, not the fast tier's
def test_killed_run_resumes_and_writes_the_same_files(long_speech, tmp_path):
    path, _, _ = long_speech
    # One window per batch and one worker: each window is checkpointed as soon as it is decoded.
    args = [str(path), *FAST, "--parallel", "batched", "--batch-size", "1", "--workers", "1", "-f", "all"]

    whole = tmp_path / "whole"
    done = _run_cli(args, whole)
    log_whole = done.communicate(timeout=300)[0]
    assert done.returncode == 0, log_whole

    resumed = tmp_path / "resumed"
    run = _run_cli(args, resumed, pace=1)  # a second per window: killed with windows still to decode
    deadline = time.monotonic() + 240
    while not list(resumed.glob(".audiototext/*/window-*.json")):
        assert run.poll() is None, "the run ended before its first checkpoint: " + run.communicate()[0]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(run.pid, signal.SIGKILL)
    run.communicate()
    saved = list(resumed.glob(".audiototext/*/window-*.json"))
    assert saved and not (resumed / f"{path.stem}.srt").exists()

    again = _run_cli(args, resumed)
    log_again = again.communicate(timeout=300)[0]
    assert again.returncode == 0, log_again
    assert f"Resuming: {len(saved)} window" in log_again, log_again
    assert _outputs(resumed) == _outputs(whole)
    assert set(_outputs(whole)) == {f"{path.stem}.{ext}" for ext in ("txt", "vtt", "srt", "tsv", "json")}
    assert not (resumed / ".audiototext").exists()  # checkpoints go once the files are written
    assert heard((whole / f"{path.stem}.txt").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def minute_of(media_dir):
    def make(kind: str) -> Path:
        path = media_dir / f"minute-{kind}.wav"
        source = {
            "silence": "anoisesrc=r=16000:color=white:amplitude=0.0003:seed=3",  # room tone, not zeros
            "noise": "anoisesrc=r=16000:color=pink:amplitude=0.08:seed=11",
        }[kind]
        subprocess.run(
            ["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", source, "-t", "60", "-ac", "1", str(path)],
            check=True,
        )
        return path

    return make


@pytest.mark.parametrize("kind", ["silence", "noise"])
def test_a_minute_without_speech_gives_no_text(minute_of, kind, tmp_path, capsys, fake_engine):
    path = minute_of(kind)
    status = main([str(path), *FAST, "--parallel", "batched", "-o", str(tmp_path), "-f", "txt,srt"])
    assert status == 0
    assert (tmp_path / f"{path.stem}.txt").read_text() == ""
    assert (tmp_path / f"{path.stem}.srt").read_text() == ""
    assert "No speech found by silero" in capsys.readouterr().err  # the voice detector decided, not the model


def test_auto_decodes_windows_and_reports_progress(long_speech, tmp_path, fake_engine):
    from audiototext.engines import DecodeOptions
    from audiototext.options import Options
    from audiototext.pipeline import Callbacks, Pipeline

    path, sentences, times = long_speech
    events = []
    options = Options(
        model="tiny.en",
        engine="faster-whisper",
        decode=DecodeOptions(language="en"),
        output_dir=tmp_path,
        formats=("txt",),
    )
    [result] = Pipeline(options, Callbacks(on_progress=events.append)).run([path])
    assert result.ok, result.error
    assert events[-1].finished and events[-1].done_segments == events[-1].total_segments >= 2
    assert [e.done_segments for e in events] == sorted(e.done_segments for e in events)
    # Every sentence is in a cue where it was said: the windows' time maps put the words back.
    cues = result.transcript.segments
    assert heard(result.transcript.text) and all(a.end <= b.start for a, b in zip(cues, cues[1:]))
    for start, end in times:
        assert any(c.start <= (start + end) / 2 <= c.end for c in cues), (start, end, [(c.start, c.end) for c in cues])
    assert not (tmp_path / ".audiototext").exists()


def test_short_noise_never_reaches_the_model(noise_wav, tmp_path, capsys, fake_engine):
    # 30 s of pink noise once took 158 s with openai-whisper: voice detection guards short audio too.
    status = main(
        [
            str(noise_wav),
            "--engine",
            "openai-whisper",
            "--model",
            "base",
            "--no_progress",
            "-o",
            str(tmp_path),
            "-f",
            "txt",
        ]
    )
    assert status == 0
    assert (tmp_path / f"{noise_wav.stem}.txt").read_text() == ""
    err = capsys.readouterr().err
    assert "No speech found by silero" in err and "Detected language" not in err


@pytest.mark.slow
def test_no_cue_in_a_long_pause_and_the_tail_is_kept(media_dir, tmp_path, wer):
    """The long-audio timing bounds on a real run: sentences, 12 s of room tone, sentences up to the last
    sample. No cue reaches into the pause (its two sides may share a window, the pause shortened
    inside it), cue times never go backwards, and the last sentence is kept to the end."""
    import numpy as np

    from audiototext.engines import DecodeOptions
    from audiototext.media import load_audio
    from audiototext.options import Options
    from audiototext.pipeline import Pipeline
    from conftest import LONG_SENTENCES, speak, trimmed, write_wav

    sentences = LONG_SENTENCES[:4]
    rng = np.random.default_rng(3)
    pieces, pause = [], None
    for i, sentence in enumerate(sentences):
        audio = trimmed(load_audio(speak(sentence, "en-us", media_dir / f"pause-{i}.wav", speed=160)))
        if i == 2:
            start = sum(len(p) for p in pieces) / 16000
            pieces.append((rng.standard_normal(12 * 16000) * 1e-3).astype(np.float32))
            pause = (start, start + 12.0)
        elif pieces:
            pieces.append(np.zeros(int(0.7 * 16000), np.float32))
        pieces.append(audio)
    path = write_wav(tmp_path / "pause.wav", np.concatenate(pieces))
    total = sum(len(p) for p in pieces) / 16000

    options = Options(
        model="tiny.en",
        engine="faster-whisper",
        decode=DecodeOptions(language="en"),
        output_dir=tmp_path,
        formats=("srt",),
    )
    [result] = Pipeline(options).run([path])
    assert result.ok, result.error
    cues = result.transcript.segments
    assert all(c.start <= c.end for c in cues) and all(a.start <= b.start for a, b in zip(cues, cues[1:]))
    assert all(min(c.end, pause[1]) - max(c.start, pause[0]) < 0.3 for c in cues), [(c.start, c.end) for c in cues]
    # The last sentence is kept to its end: one of its words suffices (another int8 kernel may write
    # "faraway" or "far-away").
    last = set(re.findall(r"[a-z]+", cues[-1].text.lower()))
    assert cues[-1].end >= total - 1.5 and last & {"scientists", "found", "planet", "far", "away", "faraway"}, cues[-1]
    assert wer(" ".join(sentences), result.transcript.text) < 0.3

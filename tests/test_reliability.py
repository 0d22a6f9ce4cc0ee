"""Failures around the transcription: an output folder that is read-only or full, and
Ctrl-C. Real media on the fake engine (tests/fake_engine.py; for Ctrl-C as ``python -m fake_engine``,
paced so that the signal comes mid-run); a tiny tmpfs stands for the full or read-only disk (tests
run as root, so chmod would not stop a write)."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import audiototext.pipeline
from audiototext.cli import main
from audiototext.engines import DecodeOptions
from audiototext.options import Options
from audiototext.pipeline import Callbacks, Pipeline
from audiototext.subtitles import OutputError
from conftest import speak
from fake_engine import PACE, heard


@pytest.fixture(scope="module")
def short_clips(media_dir) -> list[Path]:
    return [
        speak("Good morning everyone, and welcome to the garden.", "en-us", media_dir / "garden.wav"),
        speak("The library opens early every morning.", "en-us", media_dir / "library.wav"),
    ]


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs mounted on a fresh folder; skipped where mounting is not permitted."""
    folder = tmp_path / "disk"
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def _fill(folder: Path) -> None:
    try:
        with open(folder / "filler", "wb", buffering=0) as f:
            while True:
                f.write(b"\0" * 4096)
    except OSError:  # ENOSPC: full, as wanted
        pass


@pytest.fixture
def rescued(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "rescued"
    folder.mkdir()
    monkeypatch.setattr(audiototext.outputs, "rescue_dir", lambda: folder)
    return folder


def _options(out: Path) -> Options:
    return Options(
        model="base",
        engine="faster-whisper",
        decode=DecodeOptions(language="en", beam_size=1, best_of=1),
        output_dir=out,
        formats=("txt", "srt"),
    )


def _break_on_first_file(action, folder):
    done = []

    def on_file_start(source: str) -> None:
        if not done:
            action(folder)
            done.append(source)

    return Callbacks(on_file_start=on_file_start)


@pytest.mark.parametrize(
    "break_disk,reason", [(_read_only, "Read-only file system"), (_fill, "No space left on device")]
)
def test_output_folder_refusing_files_loses_no_transcript(
    small_disk, rescued, short_clips, break_disk, reason, fake_engine
):
    # The folder passes the preflight, then turns read-only (or fills up) while the first input runs.
    pipeline = Pipeline(_options(small_disk), _break_on_first_file(break_disk, small_disk))
    results = pipeline.run(short_clips)
    assert len(results) == 2
    for result, clip in zip(results, short_clips):
        assert isinstance(result.error, OutputError)
        assert result.transcript is not None and result.transcript.text.strip()  # the later input was tried too
        message = str(result.error)
        assert message.startswith(f"{clip}: could not write its files to {small_disk} ({reason})")
        folder = result.rescued[0].parent  # one new folder per rescue, in the rescue folder
        assert folder.parent == rescued and result.rescued == [folder / f"{clip.stem}.txt", folder / f"{clip.stem}.srt"]
        assert f"they were saved instead as {folder / clip.stem}.txt, {folder / clip.stem}.srt." in message
        assert heard(result.rescued[0].read_text(encoding="utf-8")) == heard(result.transcript.text)
    leftovers = [p.name for p in small_disk.iterdir() if p.name != "filler"]
    assert leftovers == []  # no half-written or temporary file left behind


def test_a_folder_filling_up_mid_set_changes_none_of_the_files_and_keeps_no_checkpoints(
    small_disk, rescued, short_clips, fake_engine
):
    """The folder fills up once the transcript is decoded, with room for one small file more (and
    the earlier txt's page, freed when it is replaced): txt and srt were written, json was not,
    the message said all three were saved elsewhere, and the checkpoints
    (``.audiototext/<name>/meta.json``) stayed behind. Now the set is written whole or not at all,
    an earlier run's file of the same name is kept as it was, and said to be."""
    clip = short_clips[0]
    earlier = small_disk / f"{clip.stem}.txt"
    earlier.write_text("an earlier run's transcript\n", encoding="utf-8")

    def one_page_left(segment) -> None:
        if not (small_disk / "filler").exists():
            _fill(small_disk)
            filler = small_disk / "filler"
            os.truncate(filler, filler.stat().st_size - 4096)  # room for one small file

    options = dataclasses.replace(_options(small_disk), formats=("txt", "srt", "json"))
    options = dataclasses.replace(options, decode=dataclasses.replace(options.decode, language=None))
    (result,) = Pipeline(options, Callbacks(on_segment=one_page_left)).run([clip])
    assert isinstance(result.error, OutputError) and (small_disk / "filler").exists()
    folder = result.rescued[0].parent
    assert [p.name for p in result.rescued] == [f"{clip.stem}.txt", f"{clip.stem}.srt", f"{clip.stem}.json"]
    assert str(result.error) == (
        f"{clip}: could not write its files to {small_disk} (No space left on device); none was written there "
        f"({clip.stem}.txt there is from an earlier run); they were saved instead as {folder / clip.stem}.txt, "
        f"{folder / clip.stem}.srt, {folder / clip.stem}.json. Free some space or choose another output folder"
    )
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", f"{clip.stem}.txt"]  # no .audiototext/
    assert earlier.read_text(encoding="utf-8") == "an earlier run's transcript\n"
    assert heard(result.rescued[0].read_text(encoding="utf-8")) == heard(result.transcript.text)


def test_read_only_folder_fails_the_preflight(small_disk, short_clips, capsys):
    _read_only(small_disk)
    assert main([str(short_clips[0]), "-o", str(small_disk), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert (
        f"{small_disk}: cannot write the output files there (Read-only file system); choose another "
        "output folder" in err
    )
    assert "Traceback" not in err and "==> " not in err


def test_full_folder_fails_the_preflight(small_disk, short_clips, capsys):
    _fill(small_disk)
    assert main([str(short_clips[0]), "-o", str(small_disk / "sub"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "cannot write the output files there (No space left on device)" in err
    assert "Traceback" not in err


def test_full_folder_from_the_cli_exits_1_and_names_the_rescue(
    small_disk, rescued, short_clips, monkeypatch, capsys, fake_engine
):
    import audiototext.cli

    real = audiototext.cli.Pipeline

    def pipeline(options, callbacks):
        return real(
            options,
            Callbacks(
                on_segment=callbacks.on_segment, on_file_start=_break_on_first_file(_fill, small_disk).on_file_start
            ),
        )

    monkeypatch.setattr(audiototext.cli, "Pipeline", pipeline)
    argv = [
        *map(str, short_clips),
        "-o",
        str(small_disk),
        "--engine",
        "faster-whisper",
        "--language",
        "en",
        "-f",
        "txt",
        "--beam_size",
        "1",
        "--best_of",
        "1",
        "--no-progress",
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count(f"were saved instead as {rescued}/") == 2
    assert "2 of 2 inputs failed" in err
    assert sorted(p.name for p in rescued.glob("*/*")) == ["garden.txt", "library.txt"]


def test_a_later_rescue_never_replaces_an_earlier_one(small_disk, rescued, short_clips, tmp_path, fake_engine):
    """Two runs rescue an input of the same name: both rescued transcripts are kept,
    each error giving the real path of its files."""
    other = tmp_path / "other"
    other.mkdir()
    same_name = shutil.copy(short_clips[1], other / short_clips[0].name)  # library speech, named garden.wav
    _read_only(small_disk)
    saved = []
    for clip in (short_clips[0], same_name):
        pipeline = Pipeline(_options(small_disk))
        pipeline.preflight = lambda options=None: None  # the folder turned read-only after the preflight
        (result,) = pipeline.run([clip])
        assert [p.name for p in result.rescued] == ["garden.txt", "garden.srt"]
        assert f"they were saved instead as {result.rescued[0]}, {result.rescued[1]}." in str(result.error)
        saved.append(result.rescued[0])
    assert saved[0] != saved[1]
    texts = [heard(path.read_text(encoding="utf-8")) for path in saved]
    assert texts[0] and texts[1] and texts[0] != texts[1]  # the garden's words, then the library's


# --- Ctrl-C --------------------------------------------------------------------


def _interrupt_after_first_line(argv: list[str]) -> tuple[int, str, str]:
    """Run the CLI on the fake engine at a second per window, send SIGINT once its first transcribed
    line appears; (status, output before, after)."""
    env = {**os.environ, "AUDIOTOTEXT_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", PACE: "1"}
    run = subprocess.Popen(
        [sys.executable, "-m", "fake_engine", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    watchdog = threading.Timer(300, run.kill)  # a hung run fails the test instead of hanging it
    watchdog.start()
    try:
        before = []
        for line in run.stdout:  # wait for the first transcribed line, not for a fixed time
            before.append(line)
            if line.startswith("["):
                break
        assert run.poll() is None, "the run ended before its first line: " + "".join(before)
        run.send_signal(signal.SIGINT)
        after = run.communicate(timeout=240)[0]
    finally:
        watchdog.cancel()
    return run.returncode, "".join(before), after


@pytest.mark.parametrize("mode", ["off", pytest.param("batched", marks=pytest.mark.slow)])
def test_ctrl_c_says_what_is_kept_and_exits_130(long_speech, tmp_path, mode):
    path, _, _ = long_speech
    out = tmp_path / "out"
    argv = [
        str(path),
        "--engine",
        "faster-whisper",
        "--model",
        "tiny.en",
        "--parallel",
        mode,
        "--batch-size",
        "1",
        "--workers",
        "1",
        "-o",
        str(out),
        "--no-progress",
    ]
    status, before, after = _interrupt_after_first_line(argv)
    log = before + after
    assert status == 130, log
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log
    said = [line for line in after.splitlines() if line.startswith("Interrupted")]
    assert len(said) == 1, log
    if mode == "off":  # the engine's own sequential decoding keeps no checkpoints
        assert (
            said[0] == "Interrupted: the files already written are kept; run the same command again to "
            "transcribe the rest."
        ), log
    else:
        assert said[0] == (
            f"Interrupted: the files already written are kept, and the decoded windows are saved in "
            f"{out / '.audiototext'}/: run the same command again to resume from them."
        ), log
        assert list(out.glob(".audiototext/*/window-*.json"))  # what the line promises is there
    assert not list(out.glob("*.txt"))


def test_ctrl_c_leaves_no_progress_bar_after_its_message(long_speech, tmp_path):
    """With the progress bar shown, the bar was drawn again after "Interrupted: ..." (tqdm closed
    it at exit). The bar is closed first; the message is the last thing printed."""
    path, _, _ = long_speech
    argv = [str(path), "--engine", "faster-whisper", "--model", "tiny.en", "--parallel", "batched"]
    status, before, after = _interrupt_after_first_line([*argv, "--batch-size", "1", "-o", str(tmp_path / "out")])
    assert status == 130, before + after
    assert "Transcribing" in before + after  # the bar was shown
    lines = [line for line in re.split(r"[\r\n]+", after) if line.strip()]
    assert lines and lines[-1].startswith("Interrupted: the files already written are kept"), after
    assert "Traceback" not in after


def test_interrupted_message_names_the_checkpoints(tmp_path):
    from audiototext.cli import interrupted_message

    assert interrupted_message(None).endswith("run the same command again to transcribe the rest.")
    assert interrupted_message(tmp_path).endswith("run the same command again to transcribe the rest.")
    (tmp_path / ".audiototext" / "talk-0123").mkdir(parents=True)
    assert f"saved in {tmp_path / '.audiototext'}/: run the same command again to resume" in interrupted_message(
        tmp_path
    )


def test_ctrl_c_while_a_line_is_printed_stays_an_interrupt(monkeypatch, capsys):
    """A Ctrl-C landing while tqdm takes its write lock made tqdm release a lock it never took and
    raise RuntimeError instead (seen once in the Ctrl-C test above): the CLI then printed a
    traceback and exited 1. Printed lines and log lines keep it a KeyboardInterrupt."""
    from tqdm.auto import tqdm

    from audiototext.cli import _print_line
    from audiototext.logs import LineHandler
    from audiototext.transcript import Segment

    class InterruptedLock:
        def __init__(self):
            self.lock = threading.RLock()

        def acquire(self, *args, **kwargs):
            raise KeyboardInterrupt

        def release(self):
            self.lock.release()  # never acquired: RuntimeError, as tqdm's real lock raises

    real = tqdm.get_lock()
    tqdm.set_lock(InterruptedLock())
    try:
        with pytest.raises(KeyboardInterrupt):
            _print_line(Segment(0.0, 1.0, " hello"))
        handler = LineHandler()
        with pytest.raises(KeyboardInterrupt):
            handler.emit(logging.LogRecord("audiototext", logging.INFO, __file__, 1, "a log line", None, None))
    finally:
        tqdm.set_lock(real)
    assert "hello" not in capsys.readouterr().out

"""The CLI called in-process (``main(argv) -> int``) on real media: on the fake engine where the
CLI's duties are tested (tests/fake_engine.py), with the bundled models where recognition is."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from audiototext.cli import main
from conftest import ENGLISH_TEXT, ffmpeg
from fake_engine import heard

GREEDY = ["--beam_size", "1", "--best_of", "1"]


@pytest.mark.slow
def test_video_to_default_formats(tmp_path, english_mp4, wer, capsys):
    out = tmp_path / "out"
    assert main([str(english_mp4), "--model", "base", "--output-dir", str(out), "--no-progress"]) == 0
    stem = english_mp4.stem
    assert sorted(p.name for p in out.iterdir()) == [f"{stem}.{ext}" for ext in ("json", "srt", "tsv", "txt", "vtt")]
    text = (out / f"{stem}.txt").read_text(encoding="utf-8")
    assert wer(ENGLISH_TEXT, text) <= 0.3
    srt = (out / f"{stem}.srt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:00,000 --> ")
    assert (out / f"{stem}.vtt").read_text(encoding="utf-8").startswith("WEBVTT\n\n")
    captured = capsys.readouterr()
    # Live segment lines as AudioToText prints them, and the model/language report.
    assert "[00:00.000 --> " in captured.out
    assert "Model base is multilingual and has 71,825,920 parameters." in captured.err
    assert "Detected language: English" in captured.err


def test_all_formats_and_awkward_names(tmp_path, english_wav, fake_engine):
    source = tmp_path / "mi charla (versión 2) ñ.wav"
    shutil.copy(english_wav, source)
    out = tmp_path / "salida con espacios"
    argv = [
        str(source),
        "--engine",
        "faster-whisper",
        "--language",
        "en",
        "-o",
        str(out),
        "--output-formats",
        "all",
        "--no-progress",
        *GREEDY,
    ]
    assert main(argv) == 0
    assert sorted(p.suffix for p in out.iterdir()) == [".json", ".srt", ".tsv", ".txt", ".vtt"]
    data = json.loads((out / "mi charla (versión 2) ñ.json").read_text(encoding="utf-8"))
    assert data["language"] == "en" and data["segments"][0]["start"] == 0.0
    tsv = (out / "mi charla (versión 2) ñ.tsv").read_text(encoding="utf-8").splitlines()
    assert tsv[0] == "start\tend\ttext" and len(tsv) == len(data["segments"]) + 1
    assert heard(data["text"])


@pytest.mark.slow
def test_translate_with_faster_whisper(tmp_path, spanish_wav):
    argv = [
        str(spanish_wav),
        "--task",
        "translate",
        "--engine",
        "faster-whisper",
        "--output-dir",
        str(tmp_path),
        "--output-formats",
        "txt",
        "--no-progress",
        *GREEDY,
    ]
    # An earlier transcription of the same input in the same folder is kept beside the English
    # and Whisper's translation is named <stem>_English.
    (tmp_path / "spanish.txt").write_text("Buenos días a todos.\n", encoding="utf-8")
    assert main(argv) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spanish.txt", "spanish_English.txt"]
    assert (tmp_path / "spanish.txt").read_text(encoding="utf-8") == "Buenos días a todos.\n"
    text = (tmp_path / "spanish_English.txt").read_text(encoding="utf-8").lower()
    assert any(w in text for w in ("good", "morning", "history", "city", "thank")), text


def test_word_level_line_width(tmp_path, english_wav, fake_engine):
    argv = [
        str(english_wav),
        "--language",
        "English",
        "-o",
        str(tmp_path),
        "--output-formats",
        "srt",
        "--word_timestamps",
        "True",
        "--max_line_width",
        "24",
        "--max_line_count",
        "2",
        "--no-progress",
        *GREEDY,
    ]
    assert main(argv) == 0
    cues = (tmp_path / "english.srt").read_text(encoding="utf-8").strip().split("\n\n")
    text_lines = [line for cue in cues for line in cue.splitlines()[2:]]
    # 12 s of speech in lines of at most 24 characters, two lines per cue: several cues.
    assert len(cues) >= 4 and all(len(line) <= 24 or " " not in line for line in text_lines)
    assert all(len(cue.splitlines()) <= 4 for cue in cues)
    assert max(len(line) for line in text_lines) > 16  # lines are filled, not one word each


def test_word_options_turn_word_timestamps_on(tmp_path, english_wav, capsys, fake_engine):
    # One rule for every face (audiototext/options.py): a line-width option turns word timestamps
    # on, and says so. (This test asserted the old CLI-only error "--max_line_width requires
    # --word_timestamps True" before the options contract.)
    argv = [
        str(english_wav),
        "--language",
        "English",
        "-o",
        str(tmp_path),
        "--output-formats",
        "srt",
        "--max_line_width",
        "20",
        "--subtitle-style",
        "whisper",
        "--no-progress",
        *GREEDY,
    ]
    assert main(argv) == 0
    assert "max_line_width needs word timestamps: turning word_timestamps on" in capsys.readouterr().err
    cues = (tmp_path / "english.srt").read_text(encoding="utf-8").strip().split("\n\n")
    text_lines = [line for cue in cues for line in cue.splitlines()[2:]]
    assert len(text_lines) >= 6 and all(len(line) <= 20 or " " not in line for line in text_lines)


def test_word_options_with_word_timestamps_false_exit_2(tmp_path, english_wav, capsys):
    with pytest.raises(SystemExit) as info:
        main(
            [str(english_wav), "-o", str(tmp_path), "--max_line_width", "20", "--word_timestamps", "False"]
            + ["--subtitle-style", "whisper"]
        )
    assert info.value.code == 2
    assert "--max_line_width needs word timestamps, but --word_timestamps is set to False" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--output-formats", "txt,docx"], "docx"),
        (["--language", "Klingon"], "Unknown language 'Klingon'"),
        (["--task", "summarize"], "Unknown --task 'summarize': use one of transcribe, translate"),
        (["--engine", "whisperx"], "Unknown --engine 'whisperx': use one of"),
        (["--temperature", "5"], "--temperature must be between 0 and 1, not 5"),
    ],
)
def test_bad_options_exit_2(tmp_path, english_wav, capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main([str(english_wav), "-o", str(tmp_path), *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_unknown_model_exit_1(tmp_path, english_wav, capsys):
    assert main([str(english_wav), "--model", "gigantic", "-o", str(tmp_path), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "gigantic: unknown model name. Valid model names: tiny.en, tiny, base.en, base" in err
    assert "==> " not in err  # the preflight failed before the first input was opened


def test_bad_inputs_isolated(tmp_path, english_wav, capsys, fake_engine):
    not_media = tmp_path / "notes.mp3"
    not_media.write_text("not audio\n" * 20)
    mute = tmp_path / "mute.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=64x64:d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(mute))
    empty = tmp_path / "empty.wav"
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "0", str(empty)],
        check=True,
    )
    out = tmp_path / "out"
    argv = [
        str(tmp_path / "missing.wav"),
        str(tmp_path),
        str(not_media),
        str(mute),
        str(empty),
        str(english_wav),
        "-o",
        str(out),
        "--engine",
        "faster-whisper",
        "--language",
        "en",
        "--output-formats",
        "txt",
        "--no-progress",
        *GREEDY,
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "missing.wav: no such file" in err
    assert "is a directory" in err
    assert "notes.mp3: not an audio or video file" in err
    assert "mute.mp4: a video with no audio stream" in err
    assert "empty.wav: the audio is empty" in err
    assert "5 of 6 inputs failed" in err
    assert [p.name for p in out.iterdir()] == ["english.txt"]  # the good file still got done


def test_silence_writes_empty_files(tmp_path, silence_wav, capsys, fake_engine):
    assert main([str(silence_wav), "-o", str(tmp_path), "--output-formats", "txt,srt", "--no-progress"]) == 0
    assert (tmp_path / "silence.txt").read_text() == ""
    assert "silence.wav: the audio is silent" in capsys.readouterr().err


def test_console_script_and_python_api(tmp_path, english_wav, fake_engine):
    import audiototext

    transcript = audiototext.transcribe(
        str(english_wav), model="base", engine="faster-whisper", language="en", beam_size=1, best_of=1
    )
    assert isinstance(transcript, audiototext.Transcript) and heard(transcript.text)
    exe = shutil.which("audiototext")
    if exe is None:
        pytest.skip("package not installed with its console script (pip install -e .)")
    done = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--deepl-target" in done.stdout and "--output-formats" in done.stdout
    done = subprocess.run([sys.executable, "-m", "audiototext", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and audiototext.__version__ in done.stdout


@pytest.mark.slow
def test_openai_whisper_sequential_is_byte_identical_to_the_whisper_cli(tmp_path, english_wav):
    """`--engine openai-whisper --parallel off` is the `whisper` command: same model (the bundled
    tiny.en, converted once), same defaults (beam 5, temperature fallback), the same txt, vtt, srt
    and tsv byte for byte; the json has the same text, language and segments (id, start, end, text)
    but not Whisper's decoder internals (seek, tokens, avg_logprob...), which a Transcript does not keep."""
    if shutil.which("whisper") is None:
        pytest.skip("the whisper command is not installed (pip install openai-whisper)")
    from audiototext.models import bundled_ct2_dir, openai_checkpoint

    checkpoint = openai_checkpoint(bundled_ct2_dir("tiny.en"))
    theirs, ours = tmp_path / "whisper", tmp_path / "audiototext"
    subprocess.run(
        ["whisper", str(english_wav), "--model", str(checkpoint), "--device", "cpu", "--fp16", "False"]
        + ["--language", "en", "--output_format", "all", "--output_dir", str(theirs), "--verbose", "False"],
        check=True,
        capture_output=True,
    )
    argv = [str(english_wav), "--engine", "openai-whisper", "--parallel", "off", "--model", str(checkpoint)]
    argv += ["--subtitle-style", "whisper"]
    argv += ["--language", "en", "-f", "txt,vtt,srt,tsv,json", "-o", str(ours), "--no-progress"]
    assert main(argv) == 0
    names = sorted(p.name for p in theirs.iterdir())
    assert names == sorted(p.name for p in ours.iterdir()) and len(names) == 5
    for name in names:
        if name.endswith(".json"):
            mine, cli = (json.loads((d / name).read_text(encoding="utf-8")) for d in (ours, theirs))
            assert (mine["text"], mine["language"]) == (cli["text"], cli["language"])
            keys = ("id", "start", "end", "text")
            assert [[s[k] for k in keys] for s in mine["segments"]] == [[s[k] for k in keys] for s in cli["segments"]]
        else:
            assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name

"""Media that gave wrong output with exit 0, hung, or was misread:
a temporary folder that fills up, timestamp gaps, several audio tracks, FIFOs, and names ffmpeg
took for options or protocols. Real ffmpeg on real files, transcribed by the fake engine
(tests/fake_engine.py: the media and the times are tested here, not recognition); a real tmpfs for
the full folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

from audiototext import media
from audiototext.cli import main
from audiototext.errors import MediaError, OptionsError
from audiototext.longaudio.source import DecodedFile
from conftest import ffmpeg, speak
from fake_engine import heard

FAST = ["--engine", "faster-whisper", "--model", "tiny.en", "--beam_size", "1", "--best_of", "1", "--no-progress"]
RATE = 16000


def _onsets(audio: np.ndarray, frequency: float) -> list[float]:
    """Seconds (0.1 s steps) where a tone of ``frequency`` is the loudest thing."""
    step = RATE // 10
    found = []
    for start in range(0, len(audio) - step, step):
        block = audio[start : start + step]
        spectrum = np.abs(np.fft.rfft(block))
        if np.max(np.abs(block)) > 0.05 and abs(np.argmax(spectrum) * RATE / step - frequency) < 20:
            found.append(start / RATE)
    return found


def _tone(path: Path, frequency: int, seconds: float, *extra: str) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"sine=f={frequency}:d={seconds}:r=48000", "-c:a", "aac", *extra, str(path))
    return path


# --- gaps in the timestamps: cues stay on the media's timeline, where a player shows them -------------


@pytest.fixture(scope="module", params=[12, 20, 62])
def gap_ts(media_dir, request) -> tuple[Path, int]:
    """MPEG-TS: a 440 Hz tone for 2 s, then nothing, then 880 Hz for 2 s stamped at 12, 20 or 62 s
    (gaps of 10, 18 and 60 s: ffmpeg closes a jump of more than 10 s in MPEG-TS unless told not to),
    and that time."""
    later = request.param
    first = _tone(media_dir / "gap-a.ts", 440, 2)
    second = _tone(media_dir / f"gap-b{later}.ts", 880, 2, "-output_ts_offset", str(later))
    path = media_dir / f"gap{later}.ts"
    path.write_bytes(first.read_bytes() + second.read_bytes())
    return path, later


def test_a_gap_in_the_timestamps_keeps_the_media_timeline(gap_ts):
    path, at = gap_ts
    with DecodedFile(path) as decoded:
        audio = decoded.read(0, at + 8)
    for samples in (audio, media.load_audio(path)):
        assert _onsets(samples, 440)[0] < 0.2
        later = _onsets(samples, 880)
        assert later and abs(later[0] - at) <= 0.15, later[:3]  # not at 2 s, as when the gap collapsed


def test_speech_after_a_gap_is_timed_where_it_is_heard(tmp_path, media_dir, fake_engine):
    """Matroska: the garden sentence at 0 s, the library sentence stamped 17 s later than it follows."""
    first = speak("Good morning everyone, and welcome to the garden.", "en-us", media_dir / "gap-garden.wav")
    second = speak("The library opens early every morning.", "en-us", media_dir / "gap-library.wav")
    end = len(media.load_audio(first)) / RATE
    talk = tmp_path / "talk.mkv"
    shifted = f"[0:a][1:a]concat=n=2:v=0:a=1,asetpts='PTS+if(gte(T,{end:.3f}),17/TB,0)'"
    ffmpeg("-i", str(first), "-i", str(second), "-filter_complex", shifted, "-c:a", "libopus", str(talk))
    assert main([str(talk), "-f", "srt", "-o", str(tmp_path / "out"), *FAST]) == 0
    srt = (tmp_path / "out" / "talk.srt").read_text(encoding="utf-8")
    cues = re.findall(r"(\d\d):(\d\d):(\d\d),(\d{3}) --> .*\n(.*)", srt)
    starts = [int(m) * 60 + int(s) + int(ms) / 1000 for _, m, s, ms, text in cues if heard(text)]
    library = [t for t in starts if t > end]  # the second sentence's cues
    assert library and abs(library[0] - (end + 17)) <= 1.0, srt  # where it is heard, not 17 s early


# --- audio tracks: the one asked for, else the default, else the first that is not silent -------------


@pytest.fixture(scope="module")
def tracks(media_dir):
    """Two-track files: ``dub`` has 440 Hz then 880 Hz flagged default; ``silent_first`` has a silent
    first track (the muxer flags it default) and 880 Hz second."""
    dub = media_dir / "dub.mp4"
    ffmpeg(
        *("-f", "lavfi", "-i", "sine=f=440:d=3", "-f", "lavfi", "-i", "sine=f=880:d=3"),
        *("-map", "0:a", "-map", "1:a", "-c:a", "aac", "-disposition:a:0", "0", "-disposition:a:1", "default"),
        *("-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=spa", str(dub)),
    )
    silent_first = media_dir / "silent first.mkv"
    ffmpeg(
        *("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-f", "lavfi", "-i", "sine=f=880:d=3", "-t", "3"),
        *("-map", "0:a", "-map", "1:a", "-c:a", "libopus", str(silent_first)),
    )
    return namedtuple("Tracks", "dub silent_first")(dub, silent_first)


def _frequency(decoded: DecodedFile) -> float:
    block = decoded.read(1.0, 1.5)
    return float(np.argmax(np.abs(np.fft.rfft(block))) * RATE / len(block))


def test_the_track_flagged_default_is_read_and_the_tracks_are_listed(tracks, caplog):
    caplog.set_level("INFO", logger="audiototext")
    with DecodedFile(tracks.dub) as decoded:
        assert abs(_frequency(decoded) - 880) < 10 and decoded.track.number == 2
    assert f"{tracks.dub} has 2 audio tracks: 1 (eng), 2 (spa) [default]; transcribing track 2" in caplog.text
    with DecodedFile(tracks.dub, track=1) as decoded:
        assert abs(_frequency(decoded) - 440) < 10
    with pytest.raises(OptionsError, match=r"has 2 audio tracks .*: audio_track must be between 1 and 2, not 3"):
        DecodedFile(tracks.dub, track=3)


def test_a_silent_track_is_passed_over(tracks, caplog):
    caplog.set_level("INFO", logger="audiototext")
    with DecodedFile(tracks.silent_first) as decoded:
        assert abs(_frequency(decoded) - 880) < 10 and decoded.track.number == 2
    assert "audio track 1 [default] is silent: trying track 2" in caplog.text
    with DecodedFile(tracks.silent_first, track=1) as decoded:  # asked for: kept, silent or not
        assert np.max(np.abs(decoded.read(0, 3))) < 1e-4


def test_every_face_offers_audio_track():
    from audiototext import options

    assert options.build({"audio_track": "2"}, face="cli").audio_track == 2
    assert options.options_from_query({"audio_track": "2"}).audio_track == 2
    assert options.options_from_form({"audio_track": 2}).audio_track == 2
    assert options.build({"audio_track": "0"}).audio_track is None  # 0: chosen as the file says


def test_audio_track_in_the_cli(tmp_path, media_dir, capsys, fake_engine):
    speech = speak("The library opens early every morning.", "en-us", media_dir / "track-library.wav")
    video = tmp_path / "film.mkv"
    ffmpeg(
        *("-f", "lavfi", "-i", "sine=f=440:d=4", "-i", str(speech)),
        *("-map", "0:a", "-map", "1:a", "-c:a", "libopus", str(video)),
    )
    out = tmp_path / "out"
    assert main([str(video), "--audio-track", "2", "-f", "txt", "-o", str(out), *FAST]) == 0
    assert heard((out / "film.txt").read_text(encoding="utf-8"))  # the speech: track 1's tone is no voice
    assert main([str(video), "--audio-track", "5", "-f", "txt", "-o", str(out), *FAST]) == 1
    assert "audio_track must be between 1 and 2, not 5" in capsys.readouterr().err


# --- a temporary folder that fills up: the run stops and says so, not a short transcript --------------


@pytest.fixture
def small_tmp(tmp_path):
    """A 600 KiB tmpfs: less than 20 s of decoded audio (640 KB) needs."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture(scope="module")
def twenty_seconds(media_dir) -> Path:
    path = media_dir / "tone-20s.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=20", "-ar", "16000", "-ac", "1", str(path))
    return path


def test_a_temporary_folder_without_room_fails_before_decoding(small_tmp, twenty_seconds):
    with pytest.raises(MediaError, match=f"decoding needs about 2 MB in the temporary folder {small_tmp}, which has"):
        DecodedFile(twenty_seconds, work_dir=small_tmp)
    assert list(small_tmp.iterdir()) == []


@pytest.mark.parametrize("size_kib", [300, 600, 620])
def test_a_temporary_folder_filling_up_while_decoding_fails(tmp_path, twenty_seconds, monkeypatch, size_kib):
    """At 600 and 620 KiB ffmpeg exits 0 after ENOSPC (it fails writing its last buffer): the
    truncated audio was transcribed. At 300 KiB it exits 1, and the full folder was blamed on the
    input ("ffmpeg could not decode the audio... the file may be damaged"). Here the look before
    decoding is told there is room, as when another program fills the folder meanwhile."""
    import audiototext.longaudio.source

    folder = tmp_path / "tmp"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder)])
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        monkeypatch.setattr(audiototext.longaudio.source, "_check_room", lambda *args: None, raising=False)
        with pytest.raises(MediaError, match=f"could not be written to the temporary folder {folder}") as error:
            DecodedFile(twenty_seconds, work_dir=folder)
        assert "No space left on device" in str(error.value) and "TMPDIR" in str(error.value)
        assert "could not decode" not in str(error.value) and "damaged" not in str(error.value)
        assert list(folder.iterdir()) == []  # the truncated file is removed
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_the_cli_says_the_temporary_folder_is_full(
    small_tmp, twenty_seconds, monkeypatch, capsys, tmp_path, fake_engine
):
    monkeypatch.setenv("TMPDIR", str(small_tmp))
    monkeypatch.setattr("tempfile.tempdir", None)
    assert main([str(twenty_seconds), "-o", str(tmp_path / "out"), *FAST]) == 1
    err = capsys.readouterr().err
    assert f"in the temporary folder {small_tmp}" in err and "set TMPDIR" in err and "Traceback" not in err


# --- FIFOs: refused at once, not a read that never ends -----------------------------------------------


def _cli(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUDIOTOTEXT_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "fake_engine", *argv], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_a_fifo_input_and_a_fifo_glossary_are_refused(tmp_path, twenty_seconds):
    fifo = tmp_path / "stream.wav"
    os.mkfifo(fifo)
    done = _cli(str(fifo), "-o", str(tmp_path / "out"), *FAST)  # hung forever before, ffmpeg left waiting
    assert done.returncode == 1, done.stderr
    assert f"{fifo}: is a named pipe (FIFO), not a file; save the stream to a file first" in done.stderr
    glossary = tmp_path / "glossary.csv"
    os.mkfifo(glossary)
    done = _cli(str(twenty_seconds), "--deepl-target", "de", "--deepl-glossary", str(glossary), *FAST)
    assert done.returncode == 2, done.stderr
    assert f"{glossary}" in done.stderr and "is a named pipe (FIFO), not a file" in done.stderr


# --- names ffmpeg must not read as options or protocols: a file is read as a file ---------------------


NAMES = ["-starts-with-dash.wav", "notes:part1.wav", "https:clip.wav", "pipe:0.wav"]


def test_local_names_are_never_ffmpeg_syntax(tmp_path, english_wav, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = media.load_audio(english_wav)
    for name in NAMES:
        shutil.copy(english_wav, tmp_path / name)
        assert media.resolve(name).path == Path(name)  # a file, not a link to download
        assert media.probe(name).audio_streams == 1
        with DecodedFile(name) as decoded:
            assert np.array_equal(decoded.read(0, 60), expected)


def test_the_cli_transcribes_names_ffmpeg_misread(tmp_path, english_wav, monkeypatch, fake_engine):
    monkeypatch.chdir(tmp_path)
    for name in NAMES:
        shutil.copy(english_wav, tmp_path / name)
    assert main(["-f", "txt", "-o", "out", *FAST, "--", *NAMES]) == 0
    for name in NAMES:
        assert heard((tmp_path / "out" / f"{Path(name).stem}.txt").read_text(encoding="utf-8"))


def test_a_name_that_is_not_utf8_is_transcribed_and_logged(tmp_path, english_wav):
    """A file name with a byte that is not UTF-8 (``caf\\xff.wav`` from a Latin-1 system): every
    log line naming it failed in the debug log ("--- Logging error ---" and a traceback)."""
    folder = os.fsencode(tmp_path)
    shutil.copy(english_wav, os.path.join(folder, b"caf\xff.wav"))
    env = {**os.environ, "AUDIOTOTEXT_CACHE": str(tmp_path / "cache"), "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = [sys.executable, "-m", "fake_engine", os.fsdecode(b"caf\xff.wav"), "-f", "txt,srt", "-o", "out", *FAST]
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Logging error" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "==> caf\\udcff.wav" in done.stderr  # the byte shown, escaped
    assert sorted(os.listdir(os.path.join(folder, b"out"))) == [b"caf\xff.srt", b"caf\xff.txt"]
    assert heard(Path(os.fsdecode(os.path.join(folder, b"out", b"caf\xff.txt"))).read_text(encoding="utf-8"))
    debug = (tmp_path / "cache" / "debug.log").read_text(encoding="utf-8")
    assert "Wrote out/caf\\udcff.txt" in debug

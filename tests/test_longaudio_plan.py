"""Speech detection, windows packed across pauses and their time maps: properties and real audio."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import drawn, ffmpeg
from hypothesis import given, settings
from hypothesis import strategies as st

from audiototext.errors import OptionsError
from audiototext.longaudio import SpeechOptions, plan
from audiototext.longaudio.plan import Piece, Window, continuation, pack, plan_windows
from audiototext.longaudio.source import ArraySource, DecodedFile, blocks, fingerprint
from audiototext.longaudio.speech import auto_noise_db, detect_speech, frame_levels, split_long_regions
from audiototext.media import load_audio

EPS = 1e-6


@st.composite
def speech_layouts(draw):
    """Random speech regions (possibly overlapping, possibly long) on an audio of random length."""
    duration = draw(st.floats(1.0, 600.0))
    regions = []
    for _ in range(draw(st.integers(0, 40))):
        start = draw(st.floats(0.0, duration))
        length = draw(st.one_of(st.floats(0.05, 5.0), st.floats(5.0, 80.0)))
        regions.append((start, min(duration, start + length)))
    return regions, duration, draw(st.floats(0.0, 2.0)), draw(st.floats(2.0, 30.0))


def _covered(windows, start, end) -> bool:
    """[start, end] lies inside the union of the windows' pieces."""
    cursor = start
    for p in sorted((p for w in windows for p in w.pieces), key=lambda p: p.start):
        if p.start <= cursor + EPS and p.end > cursor:
            cursor = p.end
    return cursor >= end - EPS


@settings(max_examples=drawn(300), deadline=None)
@given(speech_layouts())
def test_windows_cover_every_region_in_order(layout):
    regions, duration, pause, size = layout
    windows = plan_windows(regions, duration, pause=pause, window=size)
    pieces = [p for w in windows for p in w.pieces]
    assert [w.index for w in windows] == list(range(len(windows)))
    assert all(w.duration <= size + EPS for w in windows)
    assert all(0 <= p.start < p.end <= duration + EPS for p in pieces)
    assert all(a.end <= b.start + EPS for a, b in zip(pieces, pieces[1:]))  # time order, no overlap
    for w in windows:  # pieces lie back to back inside their window
        assert w.pieces[0].offset == 0
        assert all(abs(b.offset - (a.offset + a.duration)) < EPS for a, b in zip(w.pieces, w.pieces[1:]))
    for s, e in regions:  # nothing dropped, the first and the last second included
        s, e = max(0.0, s), min(duration, e)
        if e > s:
            assert _covered(windows, s, e), (s, e)


@settings(max_examples=drawn(300), deadline=None)
@given(speech_layouts(), st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30))
def test_time_map_is_monotonic_inside_the_speech_and_keeps_the_ends(layout, fractions):
    regions, duration, pause, size = layout
    for window in plan_windows(regions, duration, pause=pause, window=size):
        times = sorted(f * window.duration for f in fractions)
        mapped = [window.to_source(t) for t in times]
        assert all(a <= b + EPS for a, b in zip(mapped, mapped[1:]))  # never backwards
        assert all(any(p.start - EPS <= m <= p.end + EPS for p in window.pieces) for m in mapped)
        assert window.to_source(0.0) == pytest.approx(window.start)  # the ends are kept
        assert window.to_source(window.duration) == pytest.approx(window.end)
        for p in window.pieces:  # exact inside a piece
            assert window.to_source(p.offset + p.duration / 2) == pytest.approx(p.start + p.duration / 2)


def test_long_pauses_are_shortened_inside_a_window():
    # Three 5 s sentences, 4 s apart: packed into one window, each pause cut to 0.4 s.
    windows = plan_windows([(1, 6), (10, 15), (19, 24)], 30, pause=0.4)
    assert len(windows) == 1
    w = windows[0]
    assert w.duration == pytest.approx(15 + 0.4 * 3)  # speech + two pauses + the two outer half-pauses
    assert [(round(p.start, 3), round(p.end, 3)) for p in w.pieces] == [(0.8, 6.2), (9.8, 15.2), (18.8, 24.2)]
    assert w.to_source(5.3) == pytest.approx(6.1) and w.to_source(5.5) == pytest.approx(9.9)


def test_short_pauses_are_kept_whole():
    [w] = plan_windows([(1, 6), (6.3, 9)], 10, pause=0.4)
    assert [(round(p.start, 3), round(p.end, 3)) for p in w.pieces] == [(0.8, 6.15), (6.15, 9.2)]


def test_a_region_longer_than_a_window_is_cut_evenly():
    windows = pack([(0.0, 75.0)], window=30.0)
    assert [(w.start, w.end) for w in windows] == [(0.0, 25.0), (25.0, 50.0), (50.0, 75.0)]


def test_continuation_packs_the_rests_of_windows_that_stopped_early():
    a = Window(0, (Piece(0.0, 10.0, 0.0), Piece(20.0, 30.0, 10.0)))
    b = Window(1, (Piece(40.0, 60.0, 0.0),))
    [rest] = continuation([(b, 15.0, 20.0), (a, 8.0, 15.0)], first_index=2)
    assert rest.index == 2
    assert [(p.start, p.end, p.offset) for p in rest.pieces] == [(8.0, 10.0, 0.0), (20.0, 25.0, 2.0), (55.0, 60.0, 7.0)]
    assert a.between(8.0) == [(8.0, 10.0), (20.0, 30.0)] and a.between(12.0, 13.0) == [(22.0, 23.0)]


def test_options_are_checked():
    with pytest.raises(OptionsError, match="silero, silencedetect, off"):
        SpeechOptions(vad="webrtc")
    with pytest.raises(OptionsError, match="pause"):
        SpeechOptions(pause=-1)


# --- sources and detectors ----------------------------------------------------------------------


def test_decoded_file_reads_what_load_audio_decodes(english_mp4):
    whole = load_audio(english_mp4)
    with DecodedFile(english_mp4) as source:
        assert source.samples == len(whole)
        assert np.array_equal(source.read(1.0, 2.5), whole[16000:40000])
        assert np.array_equal(np.concatenate([b for _, b in blocks(source, 0.7)]), whole)
        assert fingerprint(source) == fingerprint(ArraySource(whole))
        path = source.path
    assert not path.exists()


def test_split_long_regions_cuts_at_the_quietest_point():
    audio = np.random.default_rng(0).normal(0, 0.1, 16000 * 40).astype(np.float32)
    audio[16000 * 22 : 16000 * 22 + 1600] = 0  # a quiet 100 ms at 22 s
    [(a, cut), (b, end)] = split_long_regions([(0.0, 40.0)], ArraySource(audio), 30.0)
    assert cut == pytest.approx(22.05, abs=0.06) and b == cut and (a, end) == (0.0, 40.0)


@pytest.mark.parametrize("vad", ["silero", "silencedetect"])
def test_detectors_find_every_sentence(long_speech, vad):
    path, sentences, times = long_speech
    source = ArraySource(load_audio(path))
    regions = detect_speech(source, SpeechOptions(vad=vad))
    assert regions and all(e - s <= 28.0 + EPS for s, e in regions)
    for start, end in times:  # every sentence overlaps detected speech nearly entirely
        inside = sum(max(0.0, min(e, end) - max(s, start)) for s, e in regions)
        assert inside >= 0.9 * (end - start), (start, end, regions)
    windows = plan(source, SpeechOptions(vad=vad))
    assert 2 <= len(windows) <= 4  # 70 s of speech with 0.7 s pauses: packed, not cut at every pause


def test_vad_off_decodes_every_second(noise_wav):
    source = ArraySource(load_audio(noise_wav))
    windows = plan(source, SpeechOptions(vad="off"))
    assert windows[0].start == 0.0 and windows[-1].end == pytest.approx(30.0)
    assert sum(p.duration for w in windows for p in w.pieces) == pytest.approx(30.0)


@pytest.mark.parametrize("vad", ["silero", "silencedetect"])
def test_silence_has_no_speech(silence_wav, vad):
    assert detect_speech(ArraySource(load_audio(silence_wav)), SpeechOptions(vad=vad)) == []


def test_silero_ignores_noise(noise_wav):
    assert detect_speech(ArraySource(load_audio(noise_wav)), SpeechOptions(vad="silero")) == []


def test_auto_noise_level_follows_the_recording():
    rng = np.random.default_rng(1)
    loud = rng.normal(0, 0.3, 16000 * 5).astype(np.float32)
    quiet = loud * 0.01
    assert auto_noise_db(frame_levels(loud)) > auto_noise_db(frame_levels(quiet))
    assert -70 <= auto_noise_db(frame_levels(quiet)) <= -25
    assert auto_noise_db(None) == -50.0


@pytest.mark.slow
def test_memory_stays_flat_with_duration(tmp_path):
    """Two hours are decoded and scanned block by block: the peak of what
    numpy allocates stays far below the 690 MB a whole float32 + int16 copy would take."""
    import tracemalloc

    path = tmp_path / "two-hours.flac"
    tone_every_ten_minutes = "aevalsrc='0.3*sin(2*PI*440*t)*lt(mod(t,600),3)':s=16000:d=7200"
    ffmpeg("-f", "lavfi", "-i", tone_every_ten_minutes, "-ac", "1", "-c:a", "flac", str(path))
    tracemalloc.start()
    try:
        with DecodedFile(path) as source:
            windows = plan(source, SpeechOptions(vad="silencedetect"))
            audio = windows[-1].audio(source)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Twelve 3 s tones, packed across the ten-minute pauses into two windows.
    assert sum(len(w.pieces) for w in windows) == 12 and len(windows) == 2
    assert windows[-1].pieces[-1].start == pytest.approx(6600, abs=0.5)
    assert audio.size and peak < 100e6, f"peak {peak / 1e6:.0f} MB"


#: Which thread imports faster-whisper's Silero when a fresh process finds speech in blocks.
IMPORTER = """
import importlib.abc, sys, threading
import numpy as np

class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "faster_whisper.vad":
            print(threading.current_thread().name)
        return None

sys.meta_path.insert(0, Watch())
from audiototext.longaudio.source import ArraySource
from audiototext.longaudio.speech import _silero_in_blocks
_silero_in_blocks(ArraySource(np.zeros(16000 * 90, np.float32)), threshold=0.5, min_silence=0.16, max_speech=29.0)
"""


def test_silero_is_imported_before_its_threads_start():
    """Two pool threads importing faster_whisper at once can fail with KeyError('faster_whisper')
    (seen in a CLI run): the package is imported once, by the calling thread, before the pool."""
    pytest.importorskip("faster_whisper.vad")
    printed = in_a_fresh_process(IMPORTER)
    assert printed.split() == ["MainThread"], printed


def in_a_fresh_process(script: str) -> str:
    """What ``script`` prints, run by a fresh Python (so its imports are first imports)."""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


#: The load-ahead thread finds the model's weights (importing faster_whisper) while the input's
#: thread imports Silero: both start at once in a fresh process.
AT_ONCE = """
import json, threading
from audiototext.engines.faster_whisper import ct2_model_dir
from audiototext.longaudio.speech import _silero
from audiototext.models import resolve

spec, start, failed = resolve("tiny.en"), threading.Barrier(2), []

def run(job):
    start.wait()
    try:
        job()
    except Exception as e:
        failed.append(repr(e))

threads = [threading.Thread(target=run, args=(job,)) for job in (_silero, lambda: ct2_model_dir(spec))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(failed))
"""


def test_the_model_and_silero_may_be_imported_at_once():
    """A model loading ahead in its thread while the input's thread starts voice detection: both
    imported faster_whisper at once, and one failed ("partially initialized module
    'faster_whisper.vad'", or KeyError('faster_whisper'); a service job failed so, as an internal
    error). Every first import of faster_whisper and whisper goes through models.import_whole."""
    pytest.importorskip("faster_whisper.vad")
    for _ in range(2):  # each run a fresh process: the imports are first imports
        assert json.loads(in_a_fresh_process(AT_ONCE).splitlines()[-1]) == []

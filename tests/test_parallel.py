"""Parallel decoding: stitching, the loop guard, checkpoints, progress, and the real backends."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiototext.engines import DecodeOptions, decode_until_covered, pack_pieces, split_at_pieces
from audiototext.errors import OptionsError
from audiototext.media import load_audio
from audiototext.parallel import (BatchedBackend, Checkpoints, ParallelOptions, Progress, checkpoint_key,
                                  drop_loops, is_loop, resolve_mode, split_cores, stitch, transcribe_chunks)
from audiototext.segmentation import Chunk, SegmentationOptions, plan
from audiototext.transcript import Segment, Word


# --- stitching -------------------------------------------------------------------------------------


@st.composite
def chunked_results(draw):
    """Non-overlapping chunks and, per chunk, segments in chunk time (possibly sloppy: past the
    chunk's end, overlapping, out of order, as models sometimes produce them)."""
    n = draw(st.integers(0, 12))
    chunks, cursor = [], 0.0
    for i in range(n):
        cursor += draw(st.floats(0.0, 5.0))
        length = draw(st.floats(0.5, 30.0))
        chunks.append(Chunk(i, cursor, cursor + length))
        cursor += length
    results = {}
    for c in chunks:
        segments = []
        for _ in range(draw(st.integers(0, 6))):
            start = draw(st.floats(0.0, 32.0))
            end = start + draw(st.floats(0.0, 8.0))
            word = Word(start, end, " w")
            segments.append(Segment(start, end, draw(st.sampled_from([" a", " b c", " d e f"])), (word,)))
        results[c.index] = segments
    order = draw(st.permutations(chunks))
    return order, results


@settings(max_examples=200, deadline=None)
@given(chunked_results())
def test_stitch_keeps_every_segment_in_order_inside_its_chunk(case):
    chunks, results = case
    stitched = stitch(chunks, results)
    assert len(stitched) == sum(len(v) for v in results.values())  # renumbered, none lost or added
    by_start = sorted(chunks, key=lambda c: c.start)
    expected_texts = [s.text for c in by_start for s in results[c.index]]
    assert [s.text for s in stitched] == expected_texts
    previous_end = 0.0
    bounds = [(c.start, c.end) for c in by_start for _ in results[c.index]]
    for segment, (lo, hi) in zip(stitched, bounds):
        assert previous_end <= segment.start <= segment.end  # time never goes backwards
        assert lo <= segment.start and segment.end <= hi  # within its chunk
        for w in segment.words:
            assert segment.start <= w.start <= w.end <= segment.end
        previous_end = segment.end


def test_stitch_rebases_by_the_chunk_start():
    chunks = [Chunk(0, 0.0, 10.0), Chunk(1, 12.5, 20.0)]
    results = {0: [Segment(0.0, 4.0, " one")], 1: [Segment(0.5, 3.0, " two", (Word(0.5, 1.0, " two"),))]}
    stitched = stitch(chunks, results)
    assert [(s.start, s.end) for s in stitched] == [(0.0, 4.0), (13.0, 15.5)]
    assert stitched[1].words[0].start == 13.0


# --- hallucination guard ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, loop", [
    (" Thank you. Thank you. Thank you. Thank you.", True),
    (" I'm going to go to the store. I'm going to go to the store. I'm going to go to the store. "
     "I'm going to go to the store.", True),
    (" la la la la la la la la la", True),
    (" No, no, no, I said the red one.", False),
    (" The quick brown fox jumps over the lazy dog.", False),
    (" It is what it is, and it is what it is.", False),
])
def test_is_loop(text, loop):
    assert is_loop(text) is loop


def test_drop_loops_drops_loops_and_runs_of_identical_lines():
    s = [Segment(0, 1, " Hello there."), Segment(1, 2, " You you you you you you you you you."),
         Segment(2, 3, " Bye."), Segment(3, 4, " Bye."), Segment(4, 5, " bye"), Segment(5, 6, " Bye!"),
         Segment(6, 7, " The end.")]
    kept, dropped = drop_loops(s)
    assert [x.text for x in kept] == [" Hello there.", " Bye.", " Bye.", " The end."]
    assert dropped == 3


# --- continuing chunks Whisper ended early, rests packed into shared windows ------------------------


def test_pack_pieces_fills_windows_in_order():
    assert pack_pieces([10, 10, 8, 25, 3], window=30, gap=1) == [[0, 1, 2], [3, 4]]
    assert pack_pieces([30, 1], window=30, gap=1) == [[0], [1]]
    assert pack_pieces([]) == []


def test_split_at_pieces_cuts_lines_by_word_times():
    def w(start, end, text):
        return Word(start, end, text, 0.9)

    # Pieces [0, 3] and [4, 10] (1 s gap); Whisper wrote one line across both. A word in the gap
    # belongs to the piece after it.
    line = Segment(0.0, 7.0, " a b c d", (w(0.2, 1.0, " a"), w(1.0, 2.8, " b"), w(3.2, 3.9, " c"), w(4.1, 7.5, " d")))
    alone = Segment(5.0, 6.0, " e")  # no words: the piece it starts in
    parts = split_at_pieces([line, alone], [(0.0, 3.0), (4.0, 10.0)])
    assert [s.text for s in parts[0]] == [" a b"]
    assert [s.text for s in parts[1]] == [" c d", " e"]
    assert parts[0][0].start == 0.2 and parts[0][0].end == 2.8
    assert parts[1][0].start == 4.0 and parts[1][0].end == 7.5  # kept inside its piece


def test_decode_until_covered_packs_rests_and_rebases_them():
    rate = 16000
    chunks = [np.zeros(int(20 * rate), np.float32), np.zeros(int(25 * rate), np.float32)]
    calls = []

    def first(pieces):
        calls.append(("first", [len(p) / rate for p in pieces]))
        # Each chunk ends early: the first at 16 s of 20, the second at 21 s of 25.
        return [(Segment(0.0, 16.0, " one"),), (Segment(0.0, 21.0, " two"),)]

    def packed(pieces):
        calls.append(("packed", [len(p) / rate for p in pieces]))
        # One window: the first rest [0, 4], 1 s of silence, the second rest [5, 9].
        words = (Word(0.1, 3.5, " one-rest", 0.9), Word(5.2, 8.8, " two-rest", 0.9))
        return [(Segment(0.1, 8.8, " one-rest two-rest", words),)]

    out = decode_until_covered(chunks, first, decode_packed=packed, keep_words=False, gap=1.0)
    assert calls == [("first", [20.0, 25.0]), ("packed", [9.0])]
    assert [(s.start, s.end, s.text, s.words) for s in out[0]] == [(0.0, 16.0, " one", ()),
                                                                   (16.1, 19.5, " one-rest", ())]
    assert [(round(s.start, 6), round(s.end, 6), s.text) for s in out[1]] == [(0.0, 21.0, " two"),
                                                                              (21.2, 24.8, " two-rest")]


# --- checkpoints, progress and resume with a scripted backend --------------------------------------


class ScriptedBackend:
    """A backend whose 'decoding' names the chunk, recording which batches it was asked for."""

    name = "scripted"
    tasks = 3

    def __init__(self):
        self.batches = []

    def detect_language(self, audio):
        return "en"

    def run(self, batches, options):
        for batch in batches:
            self.batches.append([i for i, _ in batch])
            yield [(i, (Segment(0.1, len(a) / 16000 - 0.1, f" chunk {i}"),)) for i, a in batch]

    def close(self):
        pass


def _chunks(n: int, length: float = 10.0):
    return [Chunk(i, i * length, (i + 1) * length) for i in range(n)]


def test_progress_events_segments_and_checkpoints(tmp_path):
    audio = np.zeros(16000 * 50, np.float32)
    events, lines = [], []
    store = Checkpoints(tmp_path / "ck")
    transcript = transcribe_chunks(audio, DecodeOptions(), ScriptedBackend(), chunks=_chunks(5), batch_size=2,
                                   checkpoints=store, on_progress=events.append, on_segment=lines.append)
    assert [s.text for s in transcript.segments] == [f" chunk {i}" for i in range(5)]
    assert [s.start for s in lines] == [0.1, 10.1, 20.1, 30.1, 40.1]  # time order, re-based once
    assert events[0] == Progress(5, 0, 3, False)
    assert [e.done_segments for e in events] == [0, 2, 4, 5, 5]
    assert events[-1].finished and not any(e.finished for e in events[:-1])
    assert sorted(p.name for p in (tmp_path / "ck").glob("chunk-*.json")) == [f"chunk-{i:05d}.json" for i in range(5)]
    assert store.get_meta("language") == "en"
    store.remove()
    assert not (tmp_path / "ck").exists()


def test_resume_decodes_only_unfinished_batches(tmp_path):
    audio = np.zeros(16000 * 70, np.float32)
    store = Checkpoints(tmp_path / "ck")
    for i in (0, 1, 2, 4):  # batches of 2: [0,1] and [2,3] done or half done, [4,5] half, [6] not
        store.save(i, [Segment(1.0, 2.0, f" saved {i}")])
    store.set_meta("language", "fr")
    backend = ScriptedBackend()
    languages, events = [], []
    transcript = transcribe_chunks(audio, DecodeOptions(), backend, chunks=_chunks(7), batch_size=2,
                                   checkpoints=store, on_language=languages.append, on_progress=events.append)
    assert backend.batches == [[2, 3], [4, 5], [6]]  # whole batches, as the first run would have made them
    assert languages == ["fr"] and transcript.language == "fr"
    assert [s.text for s in transcript.segments] == [" saved 0", " saved 1", " chunk 2", " chunk 3", " chunk 4",
                                                     " chunk 5", " chunk 6"]
    assert events[0].done_segments == 4


def test_unreadable_checkpoint_is_ignored(tmp_path):
    store = Checkpoints(tmp_path)
    store.save(3, [Segment(0.0, 1.0, " ok", (Word(0.0, 1.0, " ok", 0.5),))])
    (tmp_path / "chunk-00004.json").write_text("{not json")
    assert store.load() == {3: (Segment(0.0, 1.0, " ok", (Word(0.0, 1.0, " ok", 0.5),)),)}


def test_checkpoint_key_depends_on_everything_that_changes_the_text():
    audio = np.zeros(1600, np.float32)
    base = dict(engine="faster-whisper", model="base", options=DecodeOptions(), chunks=_chunks(2), batch_size=8)
    key = checkpoint_key(audio, **base)
    assert key == checkpoint_key(audio.copy(), **base)
    changes = [dict(engine="openai-whisper"), dict(model="tiny.en"), dict(options=DecodeOptions(beam_size=1)),
               dict(chunks=_chunks(3)), dict(batch_size=4)]
    for change in changes:
        assert checkpoint_key(audio, **{**base, **change}) != key
    assert checkpoint_key(audio + 0.5, **base) != key


def test_modes_and_cores():
    assert resolve_mode(ParallelOptions(), 30.0) == "off"
    assert resolve_mode(ParallelOptions(), 600.0) == "batched"
    assert resolve_mode(ParallelOptions(mode="processes"), 5.0) == "processes"
    assert split_cores(None, 2) == (2, 1)
    assert split_cores(None, 8) == (4, 2)
    assert split_cores(3, 16) == (3, 5)
    with pytest.raises(OptionsError, match="batched"):
        ParallelOptions(mode="threads")
    with pytest.raises(OptionsError, match="batch_size"):
        ParallelOptions(batch_size=0)


# --- real decoding ---------------------------------------------------------------------------------

SEAM_PLAN = SegmentationOptions(min_chunk=6, max_chunk=12)


def _normalize(text: str) -> list[str]:
    from whisper.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer()(text).split()


def _count(words: list[str], phrase: list[str]) -> int:
    n = len(phrase)
    return sum(words[i:i + n] == phrase for i in range(len(words) - n + 1))


def assert_seams_exact(transcript, chunks, sentences, times, wer, max_wer=0.1):
    """No word lost or doubled at any seam; time in order and inside the audio."""
    text = transcript.text
    assert wer(" ".join(sentences), text) <= max_wer, text
    words = _normalize(text)
    seams = [c.start for c in chunks[1:]]
    assert seams, "the plan should have several chunks"
    for seam in seams:
        before = max(i for i, (s, e) in enumerate(times) if e <= seam + 0.05)
        after = before + 1
        tail, head = _normalize(sentences[before])[-2:], _normalize(sentences[after])[:2]
        assert _count(words, tail) == 1, (seam, tail, text)
        assert _count(words, head) == 1, (seam, head, text)
    previous = 0.0
    for s in transcript.segments:
        assert previous <= s.start <= s.end <= transcript.duration + 1e-6
        previous = s.end


@pytest.mark.slow
def test_batched_faster_whisper_seams_are_exact(long_speech, load_engine, wer):
    path, sentences, times = long_speech
    audio = load_audio(path)
    chunks = plan(audio, SEAM_PLAN)
    assert len(chunks) >= 4
    engine = load_engine("faster-whisper", "base")
    events = []
    transcript = transcribe_chunks(audio, DecodeOptions(language="en", beam_size=1), BatchedBackend(engine),
                                   chunks=chunks, batch_size=4, on_progress=events.append)
    assert_seams_exact(transcript, chunks, sentences, times, wer)
    assert events[-1] == Progress(len(chunks), len(chunks), 1, True)


@pytest.mark.slow
def test_batched_openai_whisper_matches_reference(long_speech, load_engine, wer):
    path, sentences, times = long_speech
    audio = load_audio(path)[: 16000 * 24]  # two chunks are enough to exercise the batch; fp32 CPU is slow
    count = sum(e <= 24 for _, e in times)
    chunks = plan(audio, SEAM_PLAN)
    engine = load_engine("openai-whisper", "tiny.en")
    options = DecodeOptions(language="en", beam_size=None, word_timestamps=True)
    transcript = transcribe_chunks(audio, options, BatchedBackend(engine), chunks=chunks, batch_size=4)
    assert_seams_exact(transcript, chunks, sentences[:count], times[:count], wer, max_wer=0.3)
    for s in transcript.segments:
        assert s.words and s.start <= s.words[0].start and s.words[-1].end <= s.end


@pytest.mark.slow
def test_process_pool_gives_the_batched_text(long_speech, load_engine, wer):
    from audiototext.parallel import ProcessBackend

    path, sentences, times = long_speech
    audio = load_audio(path)
    chunks = plan(audio, SEAM_PLAN)
    options = DecodeOptions(language="en", beam_size=5)  # tiny.en needs the beams on espeak's voice
    backend = ProcessBackend("faster-whisper", "tiny.en", workers=2, threads=2)
    try:
        events = []
        pooled = transcribe_chunks(audio, options, backend, chunks=chunks, batch_size=1, on_progress=events.append)
    finally:
        backend.close()
    assert events[-1].tasks == 2
    assert_seams_exact(pooled, chunks, sentences, times, wer, max_wer=0.3)


@pytest.mark.slow
def test_ray_actors_transcribe_on_a_local_ray(long_speech, wer):
    ray = pytest.importorskip("ray")
    from audiototext.parallel import RayBackend

    path, sentences, times = long_speech
    audio = load_audio(path)
    chunks = plan(audio, SEAM_PLAN)
    # A real local Ray on this machine's 2 CPUs; each actor reserves half a CPU for life, so the
    # two actors leave a CPU for Ray's own tasks.
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        backend = RayBackend("faster-whisper", "tiny.en", workers=2, threads=1, num_cpus=0.5, num_gpus=0)
        try:
            events = []
            transcript = transcribe_chunks(audio, DecodeOptions(language="en", beam_size=5), backend,
                                           chunks=chunks, batch_size=2, on_progress=events.append)
        finally:
            backend.close()
        assert events[-1].tasks == 2
        assert_seams_exact(transcript, chunks, sentences, times, wer, max_wer=0.3)
    finally:
        ray.shutdown()


def test_pipeline_options_carry_parallel_flags():
    from audiototext.cli import build_parser, options_from_args

    args = build_parser().parse_args(["x.mp3", "--parallel", "processes", "--workers", "2", "--batch-size", "3",
                                      "--vad", "silencedetect", "--silence-db", "-40", "--max-chunk", "15",
                                      "--min-chunk", "25", "--resume", "False", "--ray-address", "auto"])
    options = options_from_args(args)
    p = options.parallel
    assert (p.mode, p.workers, p.batch_size, p.checkpoints, p.ray_address) == ("processes", 2, 3, False, "auto")
    assert dataclasses.astuple(p.segmentation)[:2] == ("silencedetect", 0.5)
    assert (p.segmentation.noise_db, p.segmentation.max_chunk, p.segmentation.min_chunk) == (-40, 15, 15)

"""Running long audio: batches, continuations, checkpoints, progress, cues and the loop guard;
then the real engines (batched beam search, fallback per window, seams) and backends."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiototext.engines import DecodeOptions
from audiototext.engines.windows import (
    Decoded,
    Encoded,
    WindowText,
    best_attempt,
    text_loops,
    compression_ratio,
    loops,
    verdict,
    word_keys,
)
from audiototext.events import Callbacks, Progress
from audiototext.longaudio import (
    EARLY_STOP,
    ParallelOptions,
    SpeechOptions,
    batch_groups,
    default_batch_size,
    uncovered,
    plan,
    resolve_mode,
    transcribe_windows,
)
from audiototext.longaudio.checkpoints import Checkpoints, checkpoint_key
from audiototext.longaudio.backends import Batch
from audiototext.longaudio.plan import Piece, Window, plan_windows
from audiototext.longaudio.coverage import plausible_end
from audiototext.longaudio.source import ArraySource
from audiototext.longaudio.stitch import SUBTITLE_GAP, Placed, make_cues, place_words, trim_loops
from audiototext.media import load_audio
from audiototext.transcript import Word

RATE = 16000


def ramp(seconds: float) -> ArraySource:
    """Audio whose every sample is its own time (in units of 1/10000 s): a decoder can read where a
    window's audio came from, so the test can check that words land back exactly there."""
    return ArraySource(np.arange(int(seconds * RATE), dtype=np.float32) / RATE / 10000)


def scripted_words(audio: np.ndarray) -> list[Word]:
    """One word per second of the window, named after the recording time of the audio it starts on."""
    words = []
    for k in range(int(len(audio) / RATE)):
        source = round(float(audio[int((k + 0.1) * RATE)]) * 10000, 3)
        words.append(Word(k + 0.1, k + 0.95, f" t{source:g}", 0.9))
    return words


class ScriptedBackend:
    """Decodes by reading the ramp. A window longer than 20 s holding the recording's second 40
    'stops early' halfway, as Whisper sometimes does."""

    name = "scripted"

    def __init__(self, tasks: int = 2):
        self.tasks = tasks
        self.batches: list[list[int]] = []

    def detect_language(self, audio):
        return "en"

    def submit(self, batch, options) -> Future:
        self.batches.append(list(batch.indices))
        results = []
        for index, audio in zip(batch.indices, batch.audio):
            words = scripted_words(audio)
            first, last = audio[0] * 10000, audio[-1] * 10000
            if len(audio) > 20 * RATE and first <= 40 <= last:
                words = [w for w in words if w.end <= len(audio) / RATE / 2]
            results.append((index, WindowText("".join(w.word for w in words), tuple(words))))
        future: Future = Future()
        future.set_result(results)
        return future

    def close(self):
        pass


class ScriptedSplitBackend(ScriptedBackend):
    """The same decoding, offered as the thread backend offers it: windows encoded one by one, then
    batches decoded (the run then interleaves the two across its workers)."""

    def submit_encode(self, audio) -> Future:
        future: Future = Future()
        future.set_result(Encoded(audio, len(audio)))
        return future

    def submit_decode(self, encoded, options) -> Future:
        batch = Batch(tuple(range(len(encoded))), tuple(e.features for e in encoded))
        self.batches.append(["split", len(encoded)])
        future: Future = Future()
        future.set_result([r for _, r in super().submit(batch, options).result()])
        return future


REGIONS = [(0.5, 9.0), (10.0, 24.0), (29.0, 33.5), (34.0, 58.0), (63.0, 80.0), (81.0, 95.5)]


def run(backend, *, batch_size=2, checkpoints=None, events=None, lines=None, seconds=100.0, language="en"):
    source = ramp(seconds)
    windows = plan_windows(REGIONS, seconds, pause=0.4)
    callbacks = Callbacks(
        on_progress=(events.append if events is not None else None),
        on_segment=(lines.append if lines is not None else None),
    )
    return windows, transcribe_windows(
        source,
        windows,
        DecodeOptions(language=language),
        backend,
        batch_size=batch_size,
        callbacks=callbacks,
        checkpoints=checkpoints,
        onsets=False,  # the ramp is no voice: the words keep the times the map gives them
    )


def test_words_land_exactly_where_their_audio_came_from():
    windows, result = run(ScriptedBackend())
    placed = [(w.start, w.word) for s in result.transcript.segments for w in (s.words or [])]
    assert placed == []  # no word timestamps asked for: cues carry no words
    pieces = [p for w in windows for p in w.pieces]
    for cue in result.transcript.segments:
        first = float(cue.text.split()[0][1:])
        if abs(cue.start - first) > 0.05:  # exact, unless said in the silence kept before a removed pause:
            before = next(p for p in pieces if p.start <= first <= p.end)  # then it opens the next piece
            after = pieces[pieces.index(before) + 1]
            assert before.end - first < 0.2 and after.start > before.end and cue.start == after.start, cue
    starts = [c.start for c in result.transcript.segments]
    assert starts == sorted(starts)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(result.transcript.segments, result.transcript.segments[1:]))


def test_a_window_whisper_ended_early_gets_one_continuation():
    events = []
    windows, result = run(ScriptedBackend(), events=events)
    assert result.extra_windows == 1 and result.windows == len(windows)
    said = [float(w[1:]) for s in result.transcript.segments for w in s.text.split()]
    # Every second of speech was transcribed once, the stopped window's rest included.
    holder = next(w for w in windows if w.start <= 40 <= w.end)
    assert any(t > holder.to_source(holder.duration / 2) + 1 for t in said if holder.start <= t <= holder.end)
    assert len(said) == len(set(said))
    assert events[-1] == Progress(len(windows) + 1, len(windows) + 1, 2, True)
    assert [e.total_segments for e in events][0] == len(windows)  # the extra window counted when made


class StretchingBackend(ScriptedBackend):
    """Whisper ending a window with under 3 s left, as it does with "…": the window holding second
    70 loses its last 2.5 s of words, and the alignment stretches its last word to the window's end."""

    def submit(self, batch, options) -> Future:
        results = []
        for (index, text), audio in zip(super().submit(batch, options).result(), batch.audio):
            first, last, seconds = audio[0] * 10000, audio[-1] * 10000, len(audio) / RATE
            if first <= 70 <= last and seconds > 10:
                kept = [w for w in text.words if w.end <= seconds - 2.5]
                kept[-1] = Word(kept[-1].start, seconds, kept[-1].word)
                text = WindowText("".join(w.word for w in kept) + "…", tuple(kept))
            results.append((index, text))
        future: Future = Future()
        future.set_result(results)
        return future


def test_speech_left_after_the_last_word_is_decoded_again_and_every_word_arrives_once():
    windows, result = run(StretchingBackend())
    holder = next(w for w in windows if w.start <= 70 <= w.end)
    said = [float(w.strip("…")[1:]) for s in result.transcript.segments for w in s.text.split()]
    assert result.extra_windows == 2, "halfway (3 s rule's case) and 2.5 s before the end"
    assert len(said) == len(set(said)), "no word twice"
    tail = [t for t in said if holder.to_source(holder.duration - 2.6) < t <= holder.end]
    assert len(tail) >= 2, f"the last seconds of window {holder.index} were decoded again: {said}"
    assert said == sorted(said)
    assert all(s.end - s.start < 8 for s in result.transcript.segments), "no cue stretched over the lost words"


def test_only_detected_speech_no_word_covers_makes_a_continuation():
    speech = Window(0, (Piece(0.0, 10.0, 0.0), Piece(20.0, 30.0, 10.0)), speech=((0.3, 9.8), (20.2, 21.0)))
    words = tuple(Word(k + 0.1, k + 0.9, f" w{k}") for k in range(10))
    # 0.8 s of speech after the last word: not enough; without detected speech, 10 s of audio are.
    assert uncovered(speech, WindowText("", words)) == []
    assert uncovered(Window(0, speech.pieces), WindowText("", words)) == [(9.9, 20.0)]
    longer = Window(0, speech.pieces, speech=((0.3, 9.8), (20.2, 22.0)))
    assert uncovered(longer, WindowText("", words)) == [(9.9, 20.0)], "1.6 s of speech left: decoded again"
    stretched = words[:5] + (Word(5.1, 19.5, " w5"),)
    assert plausible_end(stretched[-1]) == pytest.approx(5.1 + 1.0 + 0.1 * 2)
    assert uncovered(speech, WindowText("", stretched)) == [(5.1, 20.0)], "a word stretched over 14 s covers nothing"
    # Whisper skipped seconds 3 to 6 in the middle ("two" stretched over them): only that stretch again.
    skipped = words[:2] + (Word(2.1, 6.0, " w2"),) + words[6:]
    assert uncovered(speech, WindowText("", skipped)) == [(2.1, 6.1)]
    gap = words[:3] + words[6:]
    assert uncovered(speech, WindowText("", gap)) == [(2.9, 6.1)]
    both = words[:3] + words[6:8]  # skipped in the middle and at the end: both stretches at once
    assert uncovered(longer, WindowText("", both)) == [(2.9, 6.1), (7.9, 20.0)]
    late = words[4:]  # the first 4 s never written
    assert uncovered(speech, WindowText("", late)) == [(0.0, 4.1)]
    assert uncovered(speech, WindowText("", words, silent=True)) == []
    assert uncovered(speech, WindowText("", (Word(0.0, 19.0, " all"),))) == [], "the same audio again: no use"


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 8), st.booleans())
def test_batch_size_never_changes_what_is_transcribed(batch_size, split):
    _, reference = run(ScriptedBackend(), batch_size=1)
    backend = ScriptedSplitBackend(tasks=3) if split else ScriptedBackend(tasks=3)
    _, result = run(backend, batch_size=batch_size)
    assert result.transcript.segments == reference.transcript.segments
    assert result.extra_windows == reference.extra_windows
    if split:  # encoded one by one, then decoded in batches
        sizes = [b[1] for b in backend.batches if b[0] == "split"]
        assert sizes and max(sizes) <= batch_size


def test_the_first_lines_come_before_the_other_batches_are_decoded():
    backend = ScriptedBackend(tasks=1)
    source = ramp(100.0)
    windows = plan_windows(REGIONS, 100.0, pause=0.4, window=10.0)  # more than 3 batches of 2
    first_line = []
    callbacks = Callbacks(on_segment=lambda cue: first_line.append(len(backend.batches)) if not first_line else None)
    transcribe_windows(source, windows, DecodeOptions(language="en"), backend, batch_size=2, callbacks=callbacks)
    assert backend.batches[0] == [windows[0].index], "one window first"
    assert first_line[0] < len(backend.batches), (first_line, backend.batches)


def test_checkpoints_and_resume_decode_only_unfinished_batches(tmp_path):
    store = Checkpoints(tmp_path / "ck")
    _, whole = run(ScriptedBackend(), batch_size=2, checkpoints=store, language=None)
    done = store.load()
    # Every window, and the continuation of the one Whisper stopped early (numbered after its origin).
    assert len(done) == whole.windows + whole.extra_windows and set(range(whole.windows)) < set(done)
    assert store.get_meta("language") == "en"
    # The batches are [0], [1, 2], [3]: lose window 2 and spoil 3: [1, 2] and [3] are decoded again, whole;
    # window 1 (kept, and continued by window 5) waits for its batch, or its lines would lose window 5's.
    (tmp_path / "ck" / "window-00002.json").unlink()
    (tmp_path / "ck" / "window-00003.json").write_text("{not json")
    backend = ScriptedBackend()
    events = []
    _, resumed = run(backend, batch_size=2, checkpoints=store, events=events, language=None)
    assert backend.batches == [[1, 2], [3]]
    assert resumed.transcript == whole.transcript
    assert events[0].done_segments == whole.windows - 3
    store.remove()
    assert not (tmp_path / "ck").exists()


def test_checkpoint_key_depends_on_everything_that_changes_the_text():
    windows = plan_windows(REGIONS, 100, pause=0.4)
    base = dict(engine="faster-whisper", model="base", options=DecodeOptions(), windows=windows, batching=(4, 2))
    key = checkpoint_key("abc", **base)
    assert key == checkpoint_key("abc", **base)
    changes = [
        dict(engine="openai-whisper"),
        dict(model="tiny.en"),
        dict(options=DecodeOptions(beam_size=1)),
        dict(windows=windows[:-1]),
        dict(batching=(4, 1)),
    ]
    for change in changes:
        assert checkpoint_key("abc", **{**base, **change}) != key
    assert checkpoint_key("abd", **base) != key


def test_live_cues_come_in_time_order_and_equal_the_transcript():
    lines = []
    _, result = run(ScriptedBackend(), lines=lines)
    assert tuple(lines) == result.transcript.segments


def test_modes_and_batch_sizes():
    assert resolve_mode(ParallelOptions()) == "batched"
    assert resolve_mode(ParallelOptions(mode="off")) == "off"
    assert default_batch_size("cpu") == 4 and default_batch_size("cuda") == 16
    sizes = [len(g) for g in batch_groups(list(range(19)), 4, 2)]
    assert sizes == [1, 2, 4, 4, 4, 4]  # one window first, then two (the first lines come at once), then
    # batches of 4 for two workers, none alone
    assert [len(g) for g in batch_groups(list(range(7)), 2, 1)] == [1, 2, 2, 2]
    # Any number of batches ramps: on a GPU 20 windows are not two batches of 10 (the first lines
    # would wait for half the file), nor one batch of 16 all at once.
    assert [len(g) for g in batch_groups(list(range(20)), 16, 1)] == [1, 2, 9, 8]
    assert [len(g) for g in batch_groups(list(range(40)), 16, 1)] == [1, 2, 13, 12, 12]
    assert [len(g) for g in batch_groups(list(range(16)), 16, 1)] == [1, 15]
    assert [len(g) for g in batch_groups(list(range(6)), 4, 2)] == [1, 2, 2, 1]
    assert [len(g) for g in batch_groups(list(range(1)), 4, 1)] == [1]
    assert [len(g) for g in batch_groups(list(range(2)), 4, 1)] == [1, 1]
    assert [len(g) for g in batch_groups(list(range(5)), 1, 1)] == [1] * 5
    for n, size, tasks in ((20, 16, 1), (7, 2, 3), (33, 4, 2), (3, 8, 1)):  # every window once, in order
        groups = batch_groups(list(range(n)), size, tasks)
        assert [w for g in groups for w in g] == list(range(n)) and max(map(len, groups)) <= size
    assert batch_groups([], 4, 2) == []
    with pytest.raises(Exception, match="batched"):
        ParallelOptions(mode="threads")
    with pytest.raises(Exception, match="batch_size"):
        ParallelOptions(batch_size=0)


# --- cues and the loop guard ---------------------------------------------------------------------


def _placed(window: Window, texts_and_times) -> list[Placed]:
    return place_words(window, [Word(s, e, t, 0.9) for t, s, e in texts_and_times])


def test_cues_end_at_sentences_and_removed_pauses():
    # Two pieces 5 s apart in the recording, back to back in the window.
    window = Window(0, (Piece(0.0, 6.0, 0.0), Piece(11.0, 17.0, 6.0)))
    words = _placed(
        window,
        [
            (" The", 0.2, 0.5),
            (" cat", 0.5, 0.9),
            (" sat", 0.9, 1.3),
            (" down", 1.3, 1.8),
            (" quietly.", 1.8, 2.6),
            (" Then", 3.0, 3.4),
            (" it", 3.4, 3.6),
            (" went", 5.0, 5.5),
            (" away", 6.2, 6.8),
            (" home.", 6.8, 7.4),
        ],
    )
    cues = make_cues(words, {0: window}, keep_words=True)
    assert [c.text for c in cues] == [" The cat sat down quietly.", " Then it went", " away home."]
    assert cues[2].start == pytest.approx(11.2) and cues[2].end == pytest.approx(12.4)
    assert 11.0 - 6.0 > SUBTITLE_GAP
    assert all(c.start <= w.start <= w.end <= c.end for c in cues for w in c.words)


def test_long_cues_are_cut_at_a_clause():
    window = Window(0, (Piece(0.0, 30.0, 0.0),))
    text = (
        "one two three four, five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty"
    )
    words = _placed(window, [(" " + w, k * 0.5, k * 0.5 + 0.4) for k, w in enumerate(text.split())])
    cues = make_cues(words, {0: window}, keep_words=False)
    assert cues[0].text == " one two three four,"
    assert all(c.end - c.start <= 8.0 and len(c.text) <= 84 for c in cues)
    assert "".join(c.text for c in cues) == "".join(p.word.word for p in words)


def test_loop_guard_cuts_loops_and_keeps_choruses():
    window = Window(0, (Piece(0.0, 30.0, 0.0),))
    loop = _placed(window, [(" la", k * 0.2, k * 0.2 + 0.1) for k in range(40)])
    kept, cut = trim_loops(loop)
    assert [p.word.word for p in kept] == [" la", " la"] and cut == 38
    chorus = " We will rock you." * 4 + " No, no, no."
    words = _placed(window, [(" " + w, k * 0.3, k * 0.3 + 0.2) for k, w in enumerate(chorus.split())])
    kept, cut = trim_loops(words)
    assert cut == 0 and len(kept) == len(words)


# --- the real engines ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def speech_windows(long_speech):
    path, sentences, times = long_speech
    source = ArraySource(load_audio(path))
    return source, plan(source), sentences, times


def _normalize(text: str) -> list[str]:
    from whisper.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer()(text).split()


def _count(words: list[str], phrase: list[str]) -> int:
    n = len(phrase)
    return sum(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def assert_every_sentence_once(transcript, sentences, times, wer, max_wer=0.1):
    """No sentence lost or doubled, cues in order and where it was said.

    A sentence is there once when one of its ends (first or last two words) is found exactly once
    and neither end twice: the small models misspell a word now and then, and which one depends on
    the CPU's int8 kernels (AVX2, AVX-512 VNNI: "a motorcycle" came out "a motor cycle"), so one
    end suffices; a lost sentence has neither end, a doubled one has an end twice.
    """
    text = transcript.text
    assert wer(" ".join(sentences), text) <= max_wer, text
    words = _normalize(text)
    for sentence in sentences:
        counts = [_count(words, phrase) for phrase in (_normalize(sentence)[:2], _normalize(sentence)[-2:])]
        assert max(counts) == 1, (sentence, counts, text)
    previous = 0.0
    for cue in transcript.segments:
        assert previous <= cue.start <= cue.end <= transcript.duration + 1e-6
        said = [(s, e) for s, e in times if s - 1.0 <= cue.start and cue.end <= e + 1.0]
        assert said or cue.end - cue.start > 0, cue
        previous = cue.end


@pytest.mark.slow
def test_faster_whisper_windows_transcribe_every_sentence(speech_windows, load_engine, wer):
    from audiototext.longaudio.backends import ThreadBackend

    source, windows, sentences, times = speech_windows
    engine = load_engine("faster-whisper", "base")
    events = []
    result = transcribe_windows(
        source,
        windows,
        DecodeOptions(language="en"),
        ThreadBackend(engine),
        batch_size=2,
        callbacks=Callbacks(on_progress=events.append),
    )
    assert_every_sentence_once(result.transcript, sentences, times, wer)
    assert result.extra_windows == 0
    assert events[-1] == Progress(len(windows), len(windows), 1, True)
    # A cue that starts a sentence starts where it was said; all but two sentences start a cue (a
    # kernel may merge two sentences into one cue, or misspell a first word).
    timed = 0
    for sentence, (start, _end) in zip(sentences, times):
        first = _normalize(sentence)[0]
        cues = [
            c for c in result.transcript.segments if _normalize(c.text)[:1] == [first] and abs(c.start - start) < 1.5
        ]
        if cues:
            assert abs(cues[0].start - start) < 0.6, (sentence, cues[0], start)
            timed += 1
    assert timed >= len(sentences) - 2, result.transcript.segments


@pytest.mark.slow
def test_openai_whisper_batched_beam_search_equals_one_by_one(speech_windows, load_engine):
    from audiototext.engines.openai_whisper import TorchWindows

    source, windows, _, _ = speech_windows
    engine = load_engine("openai-whisper", "tiny.en")
    options = DecodeOptions(language="en", beam_size=5)
    model = TorchWindows(engine, options)
    encoded = model.encode([w.audio(source) for w in windows[:3]])
    batched = model.generate(encoded, options, 0.0, [])
    alone = [model.generate([e], options, 0.0, [])[0] for e in encoded]
    assert [d.tokens for d in batched] == [d.tokens for d in alone]
    assert all(len(d.tokens) > 10 for d in batched)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["openai-whisper", "faster-whisper"])
def test_fallback_is_per_window_inside_the_batch(media_dir, load_engine, name, caplog):
    import logging

    from conftest import speak

    plain = load_audio(
        speak("The weather is nice today and we will walk to the park.", "en-us", media_dir / "plain.wav")
    )
    chant = load_audio(speak("la " * 40, "en-us", media_dir / "chant.wav", speed=220))[: 16000 * 29]
    engine = load_engine(name, "tiny.en")
    # Whisper's log-probability threshold passes clear speech and fails what it makes of a fast
    # one-syllable chant (never called silent here: the no-speech test is off).
    options = DecodeOptions(language="en", beam_size=2, best_of=2, logprob_threshold=-1.0, no_speech_threshold=None)
    with caplog.at_level(logging.DEBUG, logger="audiototext.engines.windows"):
        first, second = engine.decode_windows([plain, chant], options)
    assert first.temperature == 0.0 and "weather" in first.text.lower()
    assert verdict(first.text, 0.0, 0.0, options) == "ok"
    # The chant alone is decoded again at each next temperature; when every attempt fails it keeps
    # the most probable one (which may be the first), not the last random sample.
    retried = [r.getMessage() for r in caplog.records if "failed the decoding thresholds" in r.getMessage()]
    assert retried and all(m.startswith("1 window(s) failed") for m in retried), retried
    assert len(retried) == len(options.temperatures) - 1 or second.temperature > 0.0


@pytest.mark.slow
def test_process_pool_gives_the_same_text(speech_windows, wer):
    from audiototext.longaudio.backends import EngineSpec, ProcessBackend

    decode_on_two_workers(
        ProcessBackend(EngineSpec("faster-whisper", "tiny.en", threads=2), workers=2), speech_windows, wer
    )


def decode_on_two_workers(backend, speech_windows, wer) -> None:
    """Every window on ``backend`` (closed after), one per batch: two workers, every sentence once."""
    source, windows, sentences, times = speech_windows
    try:
        events = []
        result = transcribe_windows(
            source,
            windows,
            DecodeOptions(language="en"),
            backend,
            batch_size=1,
            callbacks=Callbacks(on_progress=events.append),
        )
    finally:
        backend.close()
    assert events[-1].tasks == 2
    assert_every_sentence_once(result.transcript, sentences, times, wer, max_wer=0.3)


@pytest.mark.slow
def test_ray_actors_transcribe_on_a_local_ray(speech_windows, wer):
    ray = pytest.importorskip("ray")
    from audiototext.longaudio.backends import EngineSpec, RayBackend, RaySettings

    # A real local Ray on this machine's 2 CPUs, bound to loopback; each actor reserves half a CPU.
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        logging_level="ERROR",
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
    )
    try:
        decode_on_two_workers(
            RayBackend(
                EngineSpec("faster-whisper", "tiny.en", threads=1), RaySettings(actors=2, num_cpus=0.5, num_gpus=0)
            ),
            speech_windows,
            wer,
        )
    finally:
        ray.shutdown()


def test_windows_reach_speech_options():
    assert SpeechOptions().pause == 0.4 and EARLY_STOP == 3.0


@pytest.fixture(scope="module")
def three_minutes(media_dir):
    """33 espeak-ng sentences with 1 s pauses (about 3 minutes): the file on which a sentence
    once vanished with ``--batch-size 2``."""
    from conftest import LONG_SENTENCES, speak

    sentences = [*LONG_SENTENCES, *LONG_SENTENCES, LONG_SENTENCES[0]]
    pause = np.zeros(RATE, np.float32)
    parts = []
    for i, sentence in enumerate(sentences):
        audio = load_audio(speak(sentence, "en-us", media_dir / f"three-{i:02d}.wav", speed=150))
        parts += [audio, pause]
    return ArraySource(np.concatenate(parts)), sentences


@pytest.mark.slow
def test_batch_size_never_changes_the_sentences_transcribed(three_minutes, load_engine):
    from audiototext.longaudio.backends import ThreadBackend

    source, sentences = three_minutes
    windows = plan(source)
    engine = load_engine("faster-whisper", "tiny.en")
    found = {}
    for batch_size in (1, 2, 8):
        result = transcribe_windows(
            source, windows, DecodeOptions(language="en"), ThreadBackend(engine), batch_size=batch_size
        )
        words = _normalize(result.transcript.text)
        # Each sentence's last two words (they are unique to it); the 33rd repeats the first.
        found[batch_size] = [_count(words, _normalize(s)[-2:]) for s in sentences[:16]]
    assert found[1] == found[2] == found[8]
    assert all(count >= 2 for count in found[1][:1]) and sum(c >= 1 for c in found[1]) >= 15, found


def test_repetitive_speech_is_no_loop_but_a_loop_is():
    """A paragraph read three times compresses like a loop (gzip ratio over 2.4) but holds none, so it
    is not decoded again (a random sample at a higher temperature used to replace it, dropping
    sentences at random); forty "la" are a loop and are."""
    options = DecodeOptions(language="en")
    paragraph = " The quick brown fox jumps over the lazy dog. Every morning I read the newspaper before work."
    assert compression_ratio(paragraph * 3) > options.compression_ratio_threshold
    assert verdict(paragraph * 3, -0.1, 0.01, options) == "ok"
    assert verdict(" la" * 40, -0.1, 0.01, options) == "retry"
    assert loops(word_keys(("la " * 40).split())) == [(0, 1, 40)]
    assert loops(word_keys("no, no, no".split())) == []


def test_a_window_failing_every_temperature_keeps_its_first_probable_attempt():
    options = DecodeOptions(language="en")
    looped = Decoded((1,) * 40, " la" * 40, -0.1, 0.0, 0.0)
    short_sample = Decoded((2,), " la", -1.5, 0.0, 1.0)
    probable_sample = Decoded((3,) * 40, " la" * 40, -0.3, 0.0, 0.2)
    assert best_attempt([looped, probable_sample, short_sample], options) is looped
    improbable = Decoded((4,), " hm", -2.0, 0.0, 0.0)
    assert best_attempt([improbable, short_sample], options) is short_sample  # none probable: the most probable


def test_a_loop_only_a_sample_makes_never_wins():
    """Seen in CI: French espeak translated at temperature 0 was " Thank you very much." just under
    the log-probability threshold; a sample at 0.8 looped "Cousin," with a high probability and
    used to be kept (then cut to "Cousin, Cousin,")."""
    options = DecodeOptions(language="fr", task="translate")
    first = Decoded((1,), " Thank you very much.", -1.001, 0.2, 0.0)
    cousin = Decoded((2,) * 80, " Cousin," * 40, -0.128, 0.2, 0.8)
    worse = Decoded((3,), " Thank for watching.", -2.25, 0.2, 1.0)
    assert best_attempt([first, cousin, worse], options) is first
    sample = Decoded((5,), " Thank you.", -1.2, 0.2, 0.6)
    assert best_attempt([worse, cousin, sample], options) is sample  # the most probable without a loop
    assert best_attempt([worse, cousin], options) is worse  # however improbable: the loop is never said


def test_a_loop_in_a_script_without_spaces_is_a_loop():
    """ "義!義!義!…" is one word to str.split: its loop was not seen, so the window was not decoded
    again (CI printed "義!義" as the English translation of French speech)."""
    options = DecodeOptions(language="fr", task="translate")
    assert text_loops("!".join(["義"] * 23)) == [(0, 1, 23)]
    assert verdict(" " + "!".join(["義"] * 23), -0.3, 0.1, options) == "retry"
    assert text_loops(" ご視聴ありがとうございました。" * 6)  # a 14-character phrase six times
    assert not text_loops(" 今日はいい天気ですね。明日も晴れるでしょう。")
    assert verdict(" 今日はいい天気ですね。明日も晴れるでしょう。", -0.3, 0.1, options) == "ok"


@pytest.mark.slow
def test_a_paragraph_read_again_is_kept_whole_every_time(media_dir, tmp_path):
    """The service test that reads ENGLISH_TEXT six times lost sentences at random (3 to 6 of the 6
    "newspaper"): its windows failed the compression test at every temperature and a random sample
    won. Now every run writes them all, the same way."""
    from conftest import ENGLISH_TEXT, speak

    from audiototext.longaudio import ParallelOptions
    from audiototext.options import Options
    from audiototext.pipeline import Pipeline

    path = speak(" ".join([ENGLISH_TEXT] * 6), "en-us", media_dir / "again.wav", speed=170)
    options = Options(
        model="base",
        engine="faster-whisper",
        decode=DecodeOptions(language="en"),
        output_dir=tmp_path,
        formats=("txt",),
        parallel=ParallelOptions(batch_size=1),
    )
    pipeline = Pipeline(options)
    texts = [pipeline.run([path])[0].transcript.text for _ in range(3)]
    assert len(set(texts)) == 1, texts
    assert texts[0].lower().count("newspaper") == 6, texts[0]

"""Subtitle cues by reading rules: properties over random word timings and texts, the rules one by
one, line breaking, translations timed by their source, and the report every run prints."""

from __future__ import annotations

import io
import itertools
import json

import pytest
from conftest import drawn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiototext.cues import Cue, _Cutter, break_lines, _Grammar, cue_words, make_cues, timed_words
from audiototext.style import NETFLIX, WHISPER, SubtitleStyle, broken_rules, measure, subtitle_style
from audiototext.subtitles import subtitle_report, write
from audiototext.transcript import Segment, Transcript, Word

LETTERS = "abcdefghijklmnopqrstuvwxyzáéñüç"


def transcript_of(words: list[Word], language: str = "en") -> Transcript:
    return Transcript((Segment(words[0].start, words[-1].end, "".join(w.word for w in words), tuple(words)),), language)


def spoken(text: str, *, cps: float = 14.0, gap: float = 0.05, sentence_pause: float = 0.6, start: float = 0.0):
    """Words said at ``cps`` characters per second (its space included), a pause after each sentence."""
    words, t = [], start
    for token in text.split():
        duration = (len(token) + 1) / cps
        words.append(Word(t, t + duration, " " + token))
        t += duration + (sentence_pause if token[-1] in ".?!" else gap)
    return words


def check_structure(cues: list[Cue], words: list[Word], style: SubtitleStyle) -> None:
    """What holds for any words: every word once, in order; cues in time order, apart, on their words."""
    assert [w for c in cues for w in c.words] == words
    for c in cues:
        assert c.start == c.words[0].start and c.end >= c.start
        assert " ".join(c.lines).split() == "".join(w.word for w in c.words).split()
    for a, b in zip(cues, cues[1:]):
        assert a.end <= b.start + 1e-9


# --- properties --------------------------------------------------------------------------------


@st.composite
def feasible_speech(draw, max_rate: float = 14.0):
    """Words the rules can always be kept for: at most ``max_rate`` (14) characters per second, words
    of at most 12 letters, short gaps inside sentences and pauses of 0.3 to 3 s between them."""
    words, t = [], draw(st.floats(0, 5))
    for _ in range(draw(st.integers(1, 12))):
        n = draw(st.integers(1, 14))
        rate = draw(st.floats(6, max_rate))
        for k in range(n):
            token = draw(st.text(LETTERS, min_size=1, max_size=12)) + ("." if k == n - 1 else "")
            duration = (len(token) + 1) / rate
            words.append(Word(t, t + duration, " " + token.capitalize() if k == 0 else " " + token))
            t += duration + (draw(st.floats(0.3, 3.0)) if k == n - 1 else draw(st.floats(0.0, 0.25)))
    return words


@settings(max_examples=drawn(300), deadline=None)
@given(feasible_speech())
def test_every_cue_keeps_every_rule_whenever_the_words_allow_it(words):
    cues = make_cues(transcript_of(words))
    check_structure(cues, words, NETFLIX)
    report = measure(cues, NETFLIX, "en")
    assert report.within == report.cues, [(c.start, c.end, c.lines, broken_rules(c, None, NETFLIX)) for c in cues]


@st.composite
def any_speech(draw, max_words: int = 40, longest: int = 50, step: float = 4.0):
    """Any words at all: overlapping, zero-length, said too fast, far apart, too long for a line."""
    words, t = [], 0.0
    for _ in range(draw(st.integers(1, max_words))):
        token = draw(st.text(LETTERS + ".,", min_size=1, max_size=longest))
        t += draw(st.floats(-0.5, step))
        t = max(t, 0.0)
        duration = draw(st.floats(0.0, min(3.0, step)))
        words.append(Word(t, t + duration, " " + token))
    words.sort(key=lambda w: w.start)
    return words


@settings(max_examples=drawn(300), deadline=None)
@given(any_speech(), st.sampled_from([NETFLIX, subtitle_style(max_line_count=3, max_cps=15, min_cue_gap=0.2)]))
def test_cues_keep_every_word_once_and_time_order_whatever_the_words(words, style):
    cues = make_cues(transcript_of(words), style)
    check_structure(cues, words, style)


def _brute_force(words: list[Word], style: SubtitleStyle) -> float:
    """The fewest rules any cutting of ``words`` breaks (every cutting tried; the words are short
    enough that the cutter's search limits, twice the rules' lengths, never apply)."""
    cutter, n, best = _Cutter(words, style, "en"), len(words), float("inf")
    for cuts in itertools.product((False, True), repeat=n - 1):
        bounds = [0, *(k + 1 for k, cut in enumerate(cuts) if cut), n]
        best = min(best, sum(cutter.cost(i, j)[0] for i, j in zip(bounds, bounds[1:])))
    return best


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_speech(max_words=9, longest=12, step=1.5))
def test_the_cutting_breaks_no_more_rules_than_the_best_of_every_cutting(words):
    cutter = _Cutter(words, NETFLIX, "en")
    cues = cutter.cut()
    starts = [words.index(c.words[0]) for c in cues] + [len(words)]
    found = sum(cutter.cost(i, j)[0] for i, j in zip(starts, starts[1:]))
    assert found == pytest.approx(_brute_force(words, NETFLIX))


# --- the rules, one by one ---------------------------------------------------------------------


TALK = (
    "Cuando abrimos el grifo por la mañana, casi nunca pensamos en el largo camino que hizo el agua. "
    "La ciudad de Madrid es la capital de España y tiene muchos museos y plazas muy bonitas. "
    "Por la mañana la gente toma un café en el bar antes del trabajo, y muchas gracias por escuchar."
)


def test_a_talk_gets_two_lines_of_42_at_most_and_sentences_end_cues():
    words = spoken(TALK)
    cues = make_cues(transcript_of(words, "es"))
    assert measure(cues, NETFLIX, "es").within == len(cues)
    assert all(len(c.lines) <= 2 and all(len(line) <= 42 for line in c.lines) for c in cues)
    ends = [c.lines[-1] for c in cues]
    assert sum(e.endswith(".") for e in ends) == 3, "each sentence ends a cue"
    assert not any(c.lines[0].endswith((" el", " la", " de", " un")) for c in cues), "no article ends a line"


def test_a_cue_appears_with_its_first_word_and_lingers_into_the_pause():
    words = spoken("Hello there. How are you today?", sentence_pause=2.5)
    first, second = make_cues(transcript_of(words))
    assert first.start == words[0].start
    assert first.end == pytest.approx(words[1].end + 1.0), "up to 1 s into the pause"
    assert second.start == words[2].start and second.end == pytest.approx(words[-1].end + 1.0)
    close = spoken("Hello there. How are you today?", sentence_pause=0.5)
    a, b = make_cues(transcript_of(close))
    assert a.end == pytest.approx(b.start - 2 / 24), "never into the next cue: 2 frames before it"


def test_a_cue_never_spans_a_pause_over_one_second():
    words = spoken("one two", gap=1.2) + spoken("three four", start=4.0)
    cues = make_cues(transcript_of(words))
    assert [c.text for c in cues] == ["one", "two", "three four"]
    assert all("pause" not in broken_rules(c, None, NETFLIX) for c in cues)


def test_fast_speech_is_cut_to_keep_twenty_characters_a_second():
    words = spoken(TALK, cps=19, gap=0.0, sentence_pause=0.1)
    cues = make_cues(transcript_of(words, "es"))
    assert all(measure([c], NETFLIX, "es").within for c in cues)
    assert max(c.end - c.start for c in cues) <= 7.0


def test_the_report_names_the_broken_rules_and_their_cues():
    fast = [Word(0.0, 1.0, " Supercalifragilistic expialidocious words"), Word(1.05, 1.1, " again.")]
    cues = make_cues(transcript_of(fast), subtitle_style(max_line_width=20))
    report = measure(cues, subtitle_style(max_line_width=20), "en")
    assert report.within < report.cues
    line = report.summary()
    assert line.startswith(f"{report.cues} cue") and "% within the reading rules (" in line
    assert "a line over 20 characters: cue 1" in line or "over 20 cps: cue" in line
    assert report.to_dict()["broken"] and report.to_dict()["cues"] == report.cues


# --- lines --------------------------------------------------------------------------------------


def test_lines_break_after_punctuation_and_before_a_conjunction_never_after_an_article():
    grammar = _Grammar("en")
    texts = [" " + w for w in "I bought the red bicycle, and my brother bought an old car".split()]
    lines, _, overflow = break_lines(texts, 42, 2, grammar)
    assert overflow == 0 and lines == ("I bought the red bicycle,", "and my brother bought an old car")
    texts = [" " + w for w in "My sister and I walked to the market to buy the freshest tomatoes".split()]
    lines = break_lines(texts, 42, 2, grammar)[0]
    assert not lines[0].endswith((" the", " to")) and len(lines[0]) <= len(lines[1]) + 4, lines
    one = break_lines([" Short", " line."], 42, 2, grammar)[0]
    assert one == ("Short line.",), "a text that fits one line stays on one"
    names = [" " + w for w in "We visited the Real Academia Española in the centre of Madrid".split()]
    lines = break_lines(names, 42, 2, grammar)[0]
    assert lines == ("We visited the Real Academia Española", "in the centre of Madrid"), "never inside a name"


def test_japanese_and_chinese_break_by_characters_with_their_own_width():
    text = "今日はとても良い天気ですね。公園に行って散歩をしましょう。子供たちも喜ぶと思います。"
    words = timed_words(text, 0.0, 12.0, (), "ja")
    assert "".join(w.word for w in words) == text and len(words) > 30
    cues = make_cues(Transcript((Segment(0.0, 12.0, text),), "ja"))
    assert all(len(line) <= 13 for c in cues for line in c.lines)
    assert all(len(c.lines) <= 2 for c in cues)
    assert not any(line.startswith(("。", "、")) for c in cues for line in c.lines)
    said = "我们今天去公园散步，然后一起吃晚饭。天气非常好，大家都很高兴。"
    chinese = make_cues(Transcript((Segment(0.0, 12.0, said),), "zh"))
    assert all(len(line) <= 16 for c in chinese for line in c.lines)


# --- text without word times -------------------------------------------------------------------


def test_translated_text_follows_the_pace_and_pauses_of_its_source():
    source_words = spoken("Hello there.", start=1.0) + spoken("How are you today my friend?", start=5.0)
    source = Transcript((Segment(1.0, 8.0, "".join(w.word for w in source_words), tuple(source_words)),), "en")
    german = Transcript((Segment(1.0, 8.0, " Hallo zusammen. Wie geht es dir heute, mein lieber Freund?"),), "de")
    words = cue_words(german, source)
    assert words[0].start == pytest.approx(1.0) and words[-1].end == pytest.approx(source_words[-1].end)
    assert not any(2.0 < w.start < 4.9 for w in words), "no word is put in the source's 3 s pause"
    cues = make_cues(german, reference=source)
    assert [c.text for c in cues] == ["Hallo zusammen.", "Wie geht es dir heute, mein lieber Freund?"]


def test_a_translated_line_left_empty_shares_its_neighbours_text_and_time():
    words = spoken("Cuando abrimos el grifo por la mañana casi nunca pensamos en el agua.")
    a, b = words[:7], words[7:]
    source = Transcript(
        (
            Segment(a[0].start, a[-1].end, "".join(w.word for w in a), tuple(a)),
            Segment(b[0].start, b[-1].end, "".join(w.word for w in b), tuple(b)),
        ),
        "es",
    )
    translated = Transcript(
        (
            Segment(a[0].start, a[-1].end, " When we turn on the tap in the morning we hardly think of water."),
            Segment(b[0].start, b[-1].end, ""),
        ),
        "en",
    )
    cues = make_cues(translated, reference=source)
    assert cues and cues[-1].end >= b[-1].end - 0.1, "the empty line's speech still has its text on screen"
    assert " ".join(" ".join(c.lines) for c in cues).split() == translated.segments[0].text.split()


@settings(max_examples=80, deadline=None)
@given(feasible_speech(max_rate=10.0), st.floats(1.0, 1.35))
def test_translations_a_third_longer_keep_the_rules_when_the_source_is_not_fast(words, longer):
    """Drawn at most 10 characters per second (drawing at 14 and rejecting the faster words failed
    Hypothesis's filter health check now and then)."""
    source = transcript_of(words)
    text = "".join(w.word + "x" * int(len(w.word.strip()) * (longer - 1) + 0.5) for w in words)
    translated = Transcript((Segment(source.segments[0].start, source.segments[0].end, text),), "de")
    cues = make_cues(translated, reference=source)
    within_lines = [c for c in cues if len(c.lines) <= 2 and all(len(line) <= 42 for line in c.lines)]
    assert len(within_lines) == len(cues)


# --- the writers and the report ----------------------------------------------------------------


def test_srt_and_vtt_use_the_style_and_json_carries_the_report():
    words = spoken(TALK)
    talk = transcript_of(words, "es")
    srt, vtt, data = io.StringIO(), io.StringIO(), io.StringIO()
    write(talk, "srt", srt)
    write(talk, "vtt", vtt)
    write(talk, "json", data)
    cues = make_cues(talk)
    assert srt.getvalue().count(" --> ") == vtt.getvalue().count(" --> ") == len(cues)
    assert f"{cues[0].lines[0]}\n{cues[0].lines[1]}" in srt.getvalue()
    report = json.loads(data.getvalue())["subtitles"]
    assert report["cues"] == len(cues) and report["share_within_rules"] == 1.0
    assert subtitle_report(talk).summary() == f"{len(cues)} cues, 100.0 % within the reading rules"
    whisper = io.StringIO()
    write(talk, "srt", whisper, WHISPER)
    assert whisper.getvalue().count(" --> ") == 1 and subtitle_report(talk, WHISPER) is None


def test_highlighted_words_keep_the_cue_layout():
    words = spoken("Hello there my good friend.")
    out = io.StringIO()
    write(transcript_of(words), "vtt", out, subtitle_style(highlight_words=True))
    assert out.getvalue().count("<u>") == len(words)
    assert "<u>Hello</u> there my good friend." in out.getvalue()

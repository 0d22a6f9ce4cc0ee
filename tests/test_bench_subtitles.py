"""The subtitle benchmark's yardstick (bench/subtitle_measures.py, bench/subtitle_data.py and the DeepL
stand-in of bench/subtitle_runners.py) on hand-made srt strings, spans and synthesized audio: no model."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import subtitle_data  # noqa: E402
import subtitle_measures as sm  # noqa: E402
import subtitle_runners  # noqa: E402


def srt(*cues: tuple[str, str, str]) -> str:
    return "\n".join(f"{i}\n{a} --> {b}\n{text}\n" for i, (a, b, text) in enumerate(cues, 1))


def test_srt_is_read_as_displayed():
    cues = sm.parse_srt(srt(("00:00:01,000", "00:00:02,500", "<u>Hello</u> there,\n<i>world</i>")))
    assert cues == [sm.Cue(1, 1000, 2500, ("Hello there,", "world"))]
    assert cues[0].text == "Hello there, world"
    two = sm.parse_srt(
        "7\r\n01:02:03,004 --> 01:02:04,005\r\n{\\an8}Top\r\n\r\n8\r\n01:02:05,000 --> 01:02:06,000\r\nx\r\n"
    )
    assert [(c.number, c.start_ms, c.lines) for c in two] == [(7, 3723004, ("Top",)), (8, 3725000, ("x",))]


def check(*cues, pauses=(), width=42):
    return sm.rule_checks(sm.parse_srt(srt(*cues)), list(pauses), width)


def broken(result):
    return [sorted(rule for rule, ok in c.items() if not ok) for c in result]


def test_each_rule_at_its_bounds():
    line42 = "x" * 42
    # 84 characters + the joining space over 4.25 s: exactly 20 cps; two 42-character lines
    ok = ("00:00:00,000", "00:00:04,250", f"{line42}\n{line42}")
    assert broken(check(ok)) == [[]]
    assert broken(check(("00:00:00,000", "00:00:05,000", f"{line42}x\ny"))) == [["width"]]
    assert broken(check(("00:00:00,000", "00:00:04,249", f"{line42}\n{line42}"))) == [["cps"]]
    assert broken(check(("00:00:00,000", "00:00:03,000", "a\nb\nc"))) == [["lines"]]
    assert broken(check(("00:00:00,000", "00:00:00,833", "a"))) == [[]]
    assert broken(check(("00:00:00,000", "00:00:00,832", "a"))) == [["duration"]]
    assert broken(check(("00:00:00,000", "00:00:07,000", "a"))) == [[]]
    assert broken(check(("00:00:00,000", "00:00:07,001", "a"))) == [["duration"]]
    # tags are not displayed, so they do not count
    assert broken(check(("00:00:00,000", "00:00:05,000", f"<u>{line42}</u>"))) == [[]]


def test_gap_to_the_next_cue():
    a, b = ("00:00:00,000", "00:00:01,000", "a"), ("00:00:01,083", "00:00:02,000", "b")
    assert broken(check(a, b)) == [[], []]
    assert broken(check(a, ("00:00:01,082", "00:00:02,000", "b"))) == [["gap"], []]
    # overlapping cues break it too
    assert broken(check(a, ("00:00:00,900", "00:00:02,000", "b"))) == [["gap"], []]


def test_a_cue_must_not_span_a_pause_over_one_second():
    cue = ("00:00:01,000", "00:00:05,000", "a b c d")
    assert broken(check(cue, pauses=[(2.0, 3.5)])) == [["pause"]]
    assert broken(check(cue, pauses=[(2.0, 2.9)])) == [[]]  # not longer than 1 s
    assert broken(check(cue, pauses=[(4.5, 6.0)])) == [[]]  # only partly inside: the linger
    assert broken(check(cue, pauses=[(0.5, 1.7)])) == [[]]  # the cue came early: another measure


def test_japanese_and_chinese_lines_are_narrower():
    assert sm.width_for("ja") == 13 and sm.width_for("zh") == 16 and sm.width_for("de") == 42
    cue = ("00:00:00,000", "00:00:05,000", "ア" * 14)
    assert broken(check(cue, width=sm.width_for("ja"))) == [["width"]]
    assert broken(check(cue, width=sm.width_for("zh"))) == [[]]


def test_shares_and_failing_cues():
    cues = sm.parse_srt(srt(("00:00:00,000", "00:00:01,000", "a"), ("00:00:01,010", "00:00:09,000", "b")))
    checks = sm.rule_checks(cues, [])
    shares = sm.rule_shares(checks)
    assert shares["gap"] == 0.5 and shares["duration"] == 0.5 and shares["all"] == 0.0 and shares["lines"] == 1.0
    assert sm.failures(cues, checks) == {"lines": [], "width": [], "cps": [], "duration": [2], "gap": [1], "pause": []}


def test_a_joined_sentence_does_not_shift_the_later_onsets():
    """Onsets at 36.89 and 39.27; the runner joined the first sentence into the cue before (no cue of its
    own) and starts the second's cue 10 ms early: the first is missed, the second is 10 ms early."""
    cues = sm.parse_srt(srt(("00:00:33,820", "00:00:38,540", "joined"), ("00:00:39,260", "00:00:45,000", "next")))
    errors, missed = sm.start_errors(cues, [34.27, 36.89, 39.27])
    assert errors == [pytest.approx(-0.45), pytest.approx(-0.01)] and missed == 1


def test_start_error_matches_each_onset_once():
    cues = sm.parse_srt(
        srt(
            ("00:00:00,900", "00:00:02,000", "early by 0.1 s"),
            ("00:00:05,300", "00:00:06,000", "late by 0.3 s"),
            ("00:00:06,100", "00:00:07,000", "a second cue for the same onset"),
            ("00:00:20,000", "00:00:21,000", "after the last onset"),
        )
    )
    errors, missed = sm.start_errors(cues, [1.0, 5.0, 10.0, 12.0])
    # onset 10 has no cue between 9 s and 12 s; onset 12's first cue from 11 s is the one at 20 s
    assert errors == pytest.approx([-0.1, 0.3, 8.0]) and missed == 1
    assert sm.percentile([0.1, 0.3, 8.0], 50) == 0.3
    assert sm.percentile([0, 10], 90) == pytest.approx(9.0)
    assert sm.percentile([], 50) is None


def test_start_error_ignores_cues_more_than_a_second_early():
    cues = sm.parse_srt(srt(("00:00:03,000", "00:00:04,000", "a")))
    assert sm.start_errors(cues, [4.5]) == ([], 1)
    assert sm.start_errors(cues, [3.9]) == ([pytest.approx(-0.9)], 0)


def test_coverage_of_speech():
    cues = sm.parse_srt(srt(("00:00:01,000", "00:00:03,000", "a"), ("00:00:02,500", "00:00:04,000", "b")))
    # speech 0-2 and 3.5-5.5 (4 s): covered 1-2 and 3.5-4 (1.5 s), the overlapping cues counted once
    assert sm.coverage(cues, [(0.0, 2.0), (3.5, 5.5)]) == pytest.approx(1.5 / 4)
    assert sm.coverage([], [(0.0, 1.0)]) == 0.0


def test_shown_in_silence_beyond_the_linger():
    silences = [(0.0, 1.0), (3.0, 6.0), (8.0, 10.0)]  # speech 1-3 and 6-8; the file ends at 10
    cue = lambda a, b: sm.Cue(1, int(a * 1000), int(b * 1000), ("x",))  # noqa: E731
    assert sm.shown_in_silence([cue(1.0, 4.0), cue(6.0, 9.0)], silences) == 0.0  # lingers of 1 s
    assert sm.shown_in_silence([cue(1.0, 5.5)], silences) == pytest.approx(1.5)  # 1.5 s past the linger
    assert sm.shown_in_silence([cue(5.2, 8.0)], silences) == pytest.approx(0.8)  # early for the speech at 6
    assert sm.shown_in_silence([cue(0.4, 2.0)], silences) == pytest.approx(0.6)  # before the first speech
    assert sm.shown_in_silence([cue(1.0, 4.0), cue(3.5, 7.0)], silences) == pytest.approx(2.5)  # early at 3.5


def test_measure_gathers_everything():
    speech = SimpleNamespace(
        speech=[(1.0, 3.0), (6.0, 8.0)], onsets=[1.0, 6.0], pauses=[(3.0, 6.0)], silences=[(0.0, 1.0), (3.0, 6.0)]
    )
    cues = sm.parse_srt(srt(("00:00:01,020", "00:00:03,800", "Hello there."), ("00:00:05,000", "00:00:09,000", "Hi")))
    row = sm.measure(cues, speech, "en")
    assert row["cues"] == 2 and row["shares"]["all"] == 1.0
    assert (row["start_median_ms"], row["start_p90_ms"], row["start_signed_median_ms"]) == (510, 902, -490)
    assert row["coverage"] == pytest.approx(3.98 / 4) and row["silence_s"] == 1.0 and row["onsets_missed"] == 0


def test_targets_pass_and_fail():
    good = dict(shares={"all": 0.99, "2x42": 1.0}, start_median_ms=40, start_p90_ms=150, coverage=0.985, silence_s=1.0)
    good["wer"] = 10.4
    translated = dict(shares={"all": 0.95, "2x42": 0.98})
    checks = sm.target_checks(good, translated, {"whisper-cli": 9.9, "fw-batched": 11.0})
    assert [ok for _, ok, _ in checks] == [True] * 8
    bad = dict(good, start_p90_ms=151, coverage=0.97, wer=10.5)
    checks = sm.target_checks(bad, None, {"whisper-cli": 9.9, "fw-batched": None})
    assert [ok for _, ok, _ in checks] == [True, None, None, True, False, False, True, None]


def test_lengthen_runs_35_percent_longer_and_keeps_the_words_first():
    text = "Hoy quiero hablar de la agua, que usamos en casa."
    longer = subtitle_runners.lengthen(text)
    assert len(longer) == len(text) + round(0.35 * len(text))
    words, grown = re.findall(r"\w+", text), re.findall(r"\w+", longer)
    assert len(words) == len(grown) and all(g.startswith(w) for w, g in zip(words, grown, strict=True))
    assert re.sub(r"\w", "", longer) == re.sub(r"\w", "", text)  # spaces and punctuation kept
    assert subtitle_runners.lengthen("  ") == "  " and subtitle_runners.lengthen("") == ""


def test_the_longer_deepl_keeps_the_line_tags():
    deepl = pytest.importorskip("deepl")
    server = subtitle_runners.start_longer_deepl()
    try:
        translator = deepl.Translator(subtitle_runners.FAKE_KEY, server_url=server.state.url)
        xml = '<l i="0">Buenas tardes a todos.</l><l i="1">Hoy quiero hablar.</l>'
        out = translator.translate_text(xml, target_lang="DE", source_lang="ES", tag_handling="xml").text
    finally:
        server.__exit__(None, None, None)
    inner = ["Buenas tardes a todos.", "Hoy quiero hablar."]
    expected = "".join(f'<l i="{i}">{subtitle_runners.lengthen(t)}</l>' for i, t in enumerate(inner))
    assert out == expected


def tone(seconds: float, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * subtitle_data.SAMPLE_RATE)) / subtitle_data.SAMPLE_RATE
    return (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_speech_is_the_trimmed_part_less_its_long_pauses():
    """Leading digital silence trimmed, a 1.5 s quiet pause (37 dB under) removed, a 0.5 s one kept."""
    quiet = lambda s: tone(s, 0.003)  # noqa: E731  (-50 dBFS: not digital silence, but a pause)
    samples = np.concatenate([np.zeros(8000, np.float32), tone(1.0), quiet(1.5), tone(1.0), quiet(0.5), tone(1.0)])
    spans, threshold = subtitle_data.part_speech(samples, 0.0, len(samples) / subtitle_data.SAMPLE_RATE)
    assert [(round(a, 1), round(b, 1)) for a, b in spans] == [(0.5, 1.5), (3.0, 5.5)]
    # the tone's RMS is 0.3 / sqrt 2: -13.5 dBFS
    assert threshold == pytest.approx(-13.5 - subtitle_data.PAUSE_BELOW_PEAK_DB, abs=0.5)


def test_room_noise_before_and_after_the_voice_is_not_speech():
    """0.8 s of room noise (-50 dBFS, no pause over 1 s) before the voice and 0.6 s after it: trimmed."""
    room = np.random.default_rng(0).normal(0, 0.003, 12800 + 9600).astype(np.float32)
    samples = np.concatenate([np.zeros(32000, np.float32), room[:12800], tone(1.0), room[12800:]])
    spans, _ = subtitle_data.part_speech(samples, 2.0, len(samples) / subtitle_data.SAMPLE_RATE)
    assert len(spans) == 1
    assert spans[0][0] == pytest.approx(2.8, abs=0.015) and spans[0][1] == pytest.approx(3.8, abs=0.015)


def test_speech_pauses_and_silences_of_a_recording():
    speech = subtitle_data.Speech(10.0, [(1.0, 3.0), (3.5, 5.0), (7.0, 9.0)], [1.0, 3.5, 7.0], [-45.0])
    assert speech.speech_s == 5.5
    assert speech.pauses == [(5.0, 7.0)]  # the 0.5 s gap is no pause over 1 s
    assert speech.silences == [(0.0, 1.0), (3.0, 3.5), (5.0, 7.0), (9.0, 10.0)]

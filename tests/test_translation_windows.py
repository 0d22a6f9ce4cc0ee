"""The pure algorithms of DeepL translation (audiototext.translation.windows): no server, no model."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiototext.translation import windows as W
from audiototext.translation.windows import (
    MAX_REQUEST_BYTES,
    MAX_TEXTS_PER_REQUEST,
    REQUEST_OVERHEAD,
    accepts,
    context_tail,
    drop_added_period,
    fill_empty,
    from_xml,
    request_batches,
    sentence_windows,
    split_proportionally,
    spread_over_lines,
    to_xml,
)


def test_the_module_imports_only_the_standard_library():
    tree = ast.parse(Path(W.__file__).read_text(encoding="utf-8"))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"__future__", "bisect", "itertools", "json", "re", "xml", "collections"}


# --- sentence windows ---------------------------------------------------------------------------


def test_windows_end_at_the_first_sentence_end_after_soft():
    lines = ["One two three", "four five.", "Six seven", "eight nine.", "Ten."]
    assert sentence_windows(lines, soft=10, hard=100) == [[0, 1], [2, 3], [4]]
    assert sentence_windows(lines, soft=1, hard=100) == [[0, 1], [2, 3], [4]]  # one per sentence
    assert sentence_windows(lines, soft=1000, hard=10_000) == [[0, 1, 2, 3, 4]]


def test_windows_cut_anywhere_at_hard_and_skip_empty_lines():
    lines = ["no end here", " ", "", "still none", "and none"]
    assert sentence_windows(lines, soft=5, hard=20) == [[0, 3], [4]]


@pytest.mark.parametrize("end", ["done.", "done?", "done!", "done…", "done.”", "done.) ", "終わり。", "本当？」"])
def test_sentence_ends_with_closing_quotes_and_cjk_stops(end):
    assert sentence_windows(["a b c", end, "next"], soft=3, hard=100) == [[0, 1], [2]]


@settings(max_examples=100, deadline=None)
@given(
    lines=st.lists(st.sampled_from(["", " ", "Hola a todos", "y bienvenidos.", "¿Qué tal?", "x" * 40]), max_size=60),
    soft=st.integers(1, 200),
)
def test_windows_hold_every_non_empty_line_once_in_order(lines, soft):
    groups = sentence_windows(lines, soft=soft, hard=2 * soft)
    assert [i for g in groups for i in g] == [i for i, t in enumerate(lines) if t.strip()]
    assert all(groups)


def test_context_tail_starts_at_a_word():
    text = "alpha beta gamma delta epsilon"
    assert context_tail(text, 100) == text
    assert context_tail(text, 12) == "epsilon"
    assert context_tail("x" * 30, 10) == "x" * 10
    assert context_tail(text, 14) == "delta epsilon"
    assert context_tail(text, 13) == "epsilon"  # never a cut word


# --- numbered line tags -------------------------------------------------------------------------


def test_to_xml_numbers_escapes_and_drops_what_xml_cannot_hold():
    assert to_xml([" Hola a <todos> & \x0b bienvenidos. ", "Adiós"]) == (
        '<l i="0">Hola a &lt;todos&gt; &amp;  bienvenidos.</l> <l i="1">Adiós</l>'
    )


plain_line = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"), max_size=30)


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(plain_line, min_size=1, max_size=12))
def test_tags_round_trip(texts):
    assert from_xml(to_xml(texts), texts) == [" ".join(t.split()) for t in texts]


def test_moved_text_stays_with_the_element_before_it():
    texts = ["a", "b", "c"]
    answer = 'Lead <l i="0">A</l> moved <l i="1">B <b>bold</b> tail</l> <x>extra</x> <l i="2">C</l>'
    assert from_xml(answer, texts) == ["Lead A moved", "B bold tail extra", "C"]


def test_elements_map_back_by_number_in_any_order():
    assert from_xml('<l i="1">B</l> <l i="0">A</l>', ["a", "b"]) == ["A", "B"]
    assert from_xml('<l i="1">B</l> <l i="0">A</l>', ["a", "b", "c"]) is None  # line 2 lost


@pytest.mark.parametrize(
    "answer",
    [
        '<l i="0">A</l> <l i="2">C</l>',  # a line lost
        '<l i="0">A</l> <l i="1">B</l> <l i="1">B</l> <l i="2">C</l>',  # a line twice
        '<l i="0">A</l> <l i="1">B</l> <l i="3">C</l>',  # out of range
        '<l i="0">A</l> <l i="x">B</l> <l i="2">C</l>',  # not a number
        '<l i="0">A</l> <l i="1">B<l i="2">C</l>',  # broken XML
        "A B C",  # tags stripped
    ],
)
def test_answers_that_do_not_map_back_are_refused(answer):
    assert from_xml(answer, ["a", "b", "c"]) is None


def test_up_to_a_third_of_lines_may_come_back_empty():
    texts = ["a", "b", "c", "d", "e", "f"]
    two_empty = '<l i="0"></l> <l i="1">A B</l> <l i="2">C</l> <l i="3"></l> <l i="4">D E</l> <l i="5">F</l>'
    assert from_xml(two_empty, texts) == ["", "A B", "C", "", "D E", "F"]
    three_empty = two_empty.replace('<l i="5">F</l>', '<l i="5"></l>').replace("D E", "D E F")
    assert from_xml(three_empty, texts) is None


def test_lines_empty_in_the_source_do_not_count_as_lost():
    assert accepts(["", " ", "a"], ["", "", "A"])
    assert not accepts(["x", "y", "a"], ["", "", "A"])
    assert accepts(["x", "y", "a"], ["X", "", "A"])


# --- filling empty lines, spreading fallback sentences ------------------------------------------


def test_an_empty_line_shares_the_line_before_it():
    texts = ["one two", "three four", "five six"]
    assert fill_empty(texts, ["One two three four", "", "Five six"], by_char=False) == [
        "One two",
        "three four",
        "Five six",
    ]


def test_a_leading_empty_line_shares_the_line_after_it():
    texts = ["one two", "three four"]
    assert fill_empty(texts, ["", "One two three four"], by_char=False) == ["One two", "three four"]


def test_nothing_to_share_when_every_line_is_empty():
    assert fill_empty(["a", "b"], ["", ""], by_char=False) == ["", ""]


def test_cjk_lines_are_filled_without_spaces():
    assert fill_empty(["aaaa", "bbbb"], ["水の旅は長い", ""], by_char=True) == ["水の旅", "は長い"]


def test_spread_over_lines_splits_each_sentence_by_source_length():
    texts = ["Hola a todos y", "bienvenidos a esta charla sobre el agua.", "Gracias."]
    groups = [[0, 1], [2]]
    out = spread_over_lines(
        texts, groups, ["Hello to everyone and welcome to this talk about the water.", "Thanks."], by_char=False
    )
    assert out == ["Hello to everyone", "and welcome to this talk about the water.", "Thanks."]


# --- proportional split -------------------------------------------------------------------------


def test_split_at_word_boundaries_follows_weights():
    assert split_proportionally("a b c d e f g h", [1, 3]) == ["a b", "c d e f g h"]
    assert split_proportionally("  spaced   out  words ", [1, 1, 1]) == ["spaced", "out", "words"]
    assert split_proportionally("text", []) == []
    assert split_proportionally(" text ", [7]) == ["text"]
    assert split_proportionally("a b", [0, 0]) == ["a", "b"]  # weights below 1 count as 1


def test_character_split_prefers_punctuation_and_never_starts_a_line_with_it():
    pieces = split_proportionally("東京は大きい、大阪は楽しい。", [1, 1], by_char=True)
    assert pieces == ["東京は大きい、", "大阪は楽しい。"]
    pieces = split_proportionally("あいうえお。かきくけこ", [5, 1], by_char=True)
    assert not any(p.startswith("。") for p in pieces)


def test_character_split_keeps_latin_words_whole():
    assert split_proportionally("iPhoneを買った", [1, 1], by_char=True) == ["iPhone", "を買った"]
    assert split_proportionally("買ったiPhone12", [1, 1], by_char=True) == ["買った", "iPhone12"]


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.text(st.characters(blacklist_categories=("Z", "Cc", "Cs")), min_size=1, max_size=8), max_size=30),
    weights=st.lists(st.integers(-5, 80), max_size=12),
)
def test_word_split_keeps_every_word_in_order(words, weights):
    pieces = split_proportionally(" ".join(words), weights)
    assert len(pieces) == len(weights)
    if weights:
        assert " ".join(pieces).split() == words
    if len(words) >= len(weights):
        assert all(pieces)


cjk_text = st.text(st.sampled_from("水の旅は長いです東京大阪。、？「」ab1 "), max_size=60)


@settings(max_examples=200, deadline=None)
@given(text=cjk_text, weights=st.lists(st.integers(0, 40), min_size=1, max_size=8))
def test_character_split_keeps_every_character_in_order(text, weights):
    pieces = split_proportionally(text, weights, by_char=True)
    assert len(pieces) == len(weights)
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", text)
    # each piece is a stretch of the text, and no cut falls inside a Latin word or number
    stripped, pos = text.strip(), 0
    for a, b in zip(pieces, pieces[1:]):
        if not a or not b:
            continue
        pos = stripped.index(a, pos) + len(a)
        if stripped.startswith(b, pos):
            assert not (
                stripped[pos - 1].isascii()
                and stripped[pos - 1].isalnum()
                and stripped[pos].isascii()
                and stripped[pos].isalnum()
            )


# --- request batching ---------------------------------------------------------------------------


def test_batches_hold_at_most_50_texts():
    batches = list(request_batches(["hola"] * 120))
    assert [len(b) for b in batches] == [50, 50, 20]
    assert [i for b in batches for i in b] == list(range(120))


def test_batches_stay_under_128_kib_counting_json_escapes():
    text = "ñ" * 5000  # 6 bytes a letter once escaped: 30 KB each
    batches = list(request_batches([text] * 10))
    assert len(json.dumps(text)) == 30_002
    budget = MAX_REQUEST_BYTES - REQUEST_OVERHEAD
    assert all(sum(len(json.dumps(text)) + 2 for _ in b) <= budget for b in batches)
    assert [len(b) for b in batches] == [4, 4, 2]


def test_fixed_bytes_take_room_and_a_huge_text_goes_alone():
    assert [len(b) for b in request_batches(["x" * 1000] * 10, fixed_bytes=MAX_REQUEST_BYTES - 8000)] == [3, 3, 3, 1]
    assert list(request_batches(["x" * 200_000, "y", "z" * 200_000])) == [[0], [1], [2]]
    assert list(request_batches([])) == []


@settings(max_examples=100, deadline=None)
@given(sizes=st.lists(st.integers(0, 40_000), max_size=80), fixed=st.integers(0, 60_000))
def test_batches_cover_every_text_once_within_the_limits(sizes, fixed):
    texts = ["é" * n for n in sizes]
    batches = list(request_batches(texts, fixed_bytes=fixed))
    assert [i for b in batches for i in b] == list(range(len(texts)))
    budget = MAX_REQUEST_BYTES - REQUEST_OVERHEAD - fixed
    for batch in batches:
        assert 1 <= len(batch) <= MAX_TEXTS_PER_REQUEST
        assert len(batch) == 1 or sum(len(json.dumps(texts[i])) + 2 for i in batch) <= budget


# --- added periods ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, translated, expected",
    [
        ("Hola a todos y", "Hello to everyone and.", "Hello to everyone and"),  # added: dropped
        ("Hola a todos y", "Hello to everyone and. ", "Hello to everyone and"),
        ("bienvenidos.", "welcome.", "welcome."),  # the source had it
        ("bienvenidos…", "welcome.", "welcome."),
        ("y entonces", "and then...", "and then..."),  # an ellipsis stays
        ("y entonces", "and then", "and then"),
        ("水の", "水の。", "水の"),  # Japanese full stop
        ("水の。", "水の。", "水の。"),
        ("¿Qué", "What?", "What?"),  # only periods are dropped
    ],
)
def test_drop_added_period(source, translated, expected):
    assert drop_added_period(source, translated) == expected

"""DeepL translation against a fake DeepL server that the real ``deepl`` package talks to."""

from __future__ import annotations

import logging
import pickle
import random
import socket
import sys

import deepl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiototext.errors import OptionsError, TranslationError
from audiototext.transcript import Segment, Transcript
from audiototext.translation import (
    COHERENCE_MODES,
    DEEPL_TARGETS,
    MAX_REQUEST_BYTES,
    MAX_TEXTS_PER_REQUEST,
    TARGET_NAMES,
    DeepLOptions,
    Usage,
    resolve_target,
    split_proportionally,
    translate_transcript,
    translated_suffix,
)

CONTEXT, LINES = COHERENCE_MODES

TALK = [
    "Hola a todos y bienvenidos a esta charla sobre el agua en nuestras ciudades.",
    "Hoy vamos a hablar de cómo llega el agua a cada casa y de por qué es tan importante cuidarla.",
    "Cuando abrimos el grifo por la mañana, casi nunca pensamos en el largo camino que hizo el agua.",
    "Primero, el agua sale de un río o de un lago que está lejos de la ciudad.",
    "Después pasa por una planta donde la limpian y la preparan para beber.",
    "Este trabajo es muy difícil y necesita a muchas personas durante todo el día.",
    "¿Sabéis cuántos litros usa una familia en una semana?",
    "Mucho más de lo que creemos, porque el agua también está en la comida y en la ropa.",
    "Por eso quiero contaros tres ideas sencillas que podemos hacer en casa.",
    "La primera es cerrar el grifo mientras nos lavamos los dientes.",
    "La segunda es usar la lavadora solo cuando está llena.",
    "Y la tercera, que parece pequeña pero es muy grande, es arreglar las tuberías que pierden agua.",
    "En mi ciudad, hace unos años, perdíamos casi la mitad del agua antes de llegar a las casas.",
    "Entonces el gobierno y los vecinos trabajaron juntos para cambiar las tuberías viejas.",
    "Fue un proyecto largo, pero ahora el agua llega mejor y cuesta menos.",
    "También aprendimos que los niños son muy buenos para enseñar a sus padres.",
    "En la escuela hablan del agua y luego en casa dicen a todos lo que tienen que hacer.",
    "Creo que el cambio empieza con pequeñas cosas que hacemos cada día.",
    "Si cada persona ahorra un poco, al final del año la ciudad ahorra mucho.",
    "Muchas gracias por escuchar, y ahora me gustaría responder a vuestras preguntas.",
]


def make_transcript(n_lines: int = 300, *, seed: int = 7, language: str = "es", task: str = "transcribe"):
    """Whisper-like lines: 3 to 9 words each, cut without regard to sentence ends."""
    rng = random.Random(seed)
    words = []
    while len(words) < n_lines * 9:
        words.extend(" ".join(TALK).split())
    segments, t, pos = [], 0.0, 0
    for _ in range(n_lines):
        k = rng.randint(3, 9)
        text = " " + " ".join(words[pos : pos + k])
        pos += k
        start = round(t + rng.choice((0.0, 0.12, 0.48)), 3)
        end = round(start + 0.37 * k + rng.random(), 3)
        segments.append(Segment(start, end, text))
        t = end
    return Transcript(tuple(segments), language=language, duration=t + 1.0, task=task)


def words_of(text: str) -> list[str]:
    return text.split()


@pytest.fixture(autouse=True)
def fast_deepl(deepl_fast_retries, monkeypatch):
    monkeypatch.setattr(logging.getLogger("audiototext.translation"), "level", logging.INFO)


@pytest.fixture
def fake(fake_deepl):
    return fake_deepl


@pytest.fixture(scope="module")
def talk():
    return make_transcript()


def options(fake, target="English (British)", **kw) -> DeepLOptions:
    return DeepLOptions(target, auth_key=fake.auth_key, server_url=fake.url, **kw)


def expected_words(fake, transcript, target="EN-GB", entries=None) -> list[str]:
    source_text = " ".join(s.text.strip() for s in transcript.segments)
    return words_of(fake.translate_plain(source_text, "ES", target, entries or {}))


def assert_same_timing(result, source):
    assert len(result.segments) == len(source.segments)
    for a, b in zip(result.segments, source.segments):
        assert (a.start, a.end) == (b.start, b.end)


# --- targets and options ------------------------------------------------------------------------


def test_targets_are_sorted_unique_and_known_to_the_deepl_package():
    assert list(TARGET_NAMES) == sorted(TARGET_NAMES)
    assert len({t.code for t in DEEPL_TARGETS}) == len(DEEPL_TARGETS) == len(set(TARGET_NAMES))
    package_codes = {v.upper() for k, v in vars(deepl.Language).items() if k.isupper() and isinstance(v, str)}
    assert {t.code for t in DEEPL_TARGETS} <= package_codes
    for name in (
        "Chinese (simplified)",
        "English (British)",
        "Portuguese (Brazilian)",
        "Hebrew",
        "Spanish (Latin American)",
        "Ukrainian",
        "Vietnamese",
    ):
        assert name in TARGET_NAMES


@pytest.mark.parametrize(
    "value, code",
    [
        ("English (British)", "EN-GB"),
        ("english (british)", "EN-GB"),
        ("EN-GB", "EN-GB"),
        ("en-us", "EN-US"),
        ("de", "DE"),
        ("German", "DE"),
        ("English", "EN-GB"),
        ("Portuguese", "PT-PT"),
        ("Chinese", "ZH-HANS"),
        ("Portuguese (Brazilian)", "PT-BR"),
        ("zh-hant", "ZH-HANT"),
        ("ES-419", "ES-419"),
        (" Japanese ", "JA"),
    ],
)
def test_resolve_target_by_name_code_or_alias(value, code):
    assert resolve_target(value).code == code


@pytest.mark.parametrize("bare, variants", [("EN", ("EN-GB", "EN-US")), ("pt", ("PT-PT", "PT-BR"))])
def test_bare_en_and_pt_are_refused_naming_the_variants(bare, variants):
    with pytest.raises(OptionsError) as info:
        resolve_target(bare)
    assert all(v in str(info.value) for v in variants)


def test_unknown_target_lists_the_valid_ones_before_any_request(fake, talk):
    with pytest.raises(OptionsError) as info:
        translate_transcript(talk, options(fake, "Klingon"))
    assert "Klingon" in str(info.value)
    assert all(name in str(info.value) for name in TARGET_NAMES)
    # Only DeepL's list of targets was read, to find a language the built-in list lacks;
    # nothing was translated or billed.
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/v2/languages")]


@pytest.mark.parametrize("field, value", [("formality", "polite"), ("coherence", "sometimes")])
def test_bad_option_values_are_refused(field, value):
    with pytest.raises(OptionsError, match=value):
        DeepLOptions("German", **{field: value})


def test_short_coherence_forms(fake):
    transcript = make_transcript(5)
    translate_transcript(transcript, options(fake, coherence="lines"))
    assert fake.translate_requests[-1].texts == 5
    translate_transcript(transcript, options(fake, coherence="context"))
    assert fake.translate_requests[-1].data["tag_handling"] == "xml"


def test_missing_key_says_how_to_set_it(fake):
    with pytest.raises(TranslationError) as info:
        translate_transcript(make_transcript(3), DeepLOptions("German", server_url=fake.url))
    assert info.value.kind == "config"
    assert "DEEPL_AUTH_KEY" in str(info.value) and "--deepl-api-key" in str(info.value)
    assert fake.requests == []


def test_key_and_server_from_the_environment(fake, monkeypatch):
    monkeypatch.setenv("DEEPL_AUTH_KEY", fake.auth_key)
    monkeypatch.setenv("DEEPL_SERVER_URL", fake.url)
    result = translate_transcript(make_transcript(3), DeepLOptions("English (American)"))
    assert result.transcript.segments[0].text.strip()
    assert fake.translate_requests[0].data["target_lang"] == "EN-US"


def test_usage_text():
    assert str(Usage(16558, 500000)) == "16558 / 500000 (3.31%)"
    assert str(Usage(0, 0)) == "0 / 0 (0.00%)"


def test_file_naming_with_spaces_and_parentheses(tmp_path):
    target = resolve_target("English (British)")
    suffix = translated_suffix(target)
    assert suffix == "_English (British)"
    path = tmp_path / f"talk_es{suffix}.srt"
    path.write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n", encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["talk_es_English (British).srt"]
    for t in DEEPL_TARGETS:  # valid on every OS
        assert not set(translated_suffix(t)) & set('<>:"/\\|?*')


# --- source language, logging, formality --------------------------------------------------------


def test_logs_source_and_target_and_usage(fake, caplog):
    caplog.set_level(logging.INFO, logger="audiototext.translation")
    fake.usage_count = 16000
    result = translate_transcript(make_transcript(4), options(fake))
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "DeepL: Translate results from Spanish [ES] to English (British) [EN-GB]"
    assert messages[-1] == f"DeepL: Character usage: {result.usage}"
    assert result.usage.count > 16000 and result.usage.limit == 500000
    assert result.source == "ES" and result.transcript.language == "en"


def test_source_is_english_after_whispers_translate_task(fake):
    transcript = make_transcript(4, task="translate")
    result = translate_transcript(transcript, options(fake, "German"))
    assert fake.translate_requests[0].data["source_lang"] == "EN"
    assert result.transcript.text_language == "de" and result.transcript.language == "de"
    assert result.transcript.duration == transcript.duration


@pytest.mark.parametrize(
    "target, transcript",
    [
        ("Spanish", make_transcript(4)),
        ("Spanish (Latin American)", make_transcript(4)),
        ("English (American)", make_transcript(4, task="translate")),
    ],
)
def test_nothing_to_translate_when_target_is_the_source(fake, caplog, target, transcript):
    caplog.set_level(logging.INFO, logger="audiototext.translation")
    result = translate_transcript(transcript, options(fake, target))
    assert result.skipped and result.transcript is None
    assert "Nothing to translate" in caplog.text
    assert fake.requests == []


@pytest.mark.parametrize("formality, sent", [("default", None), ("formal", "prefer_more"), ("informal", "prefer_less")])
@pytest.mark.parametrize("target", ["German", "English (British)"])  # English has no formality
def test_formality_maps_to_prefer_values(fake, formality, sent, target):
    result = translate_transcript(make_transcript(4), options(fake, target, formality=formality))
    assert fake.translate_requests[0].data.get("formality") == sent
    assert len(result.transcript.segments) == 4


# --- errors -------------------------------------------------------------------------------------


def write_untranslated(tmp_path):
    files = {}
    for ext in ("txt", "vtt", "srt"):
        path = tmp_path / f"talk_es.{ext}"
        path.write_text(f"untranslated {ext}\n", encoding="utf-8")
        files[path] = (path.read_bytes(), path.stat().st_mtime_ns)
    return files


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "setup, kind, message",
    [
        ({"fail_status": 403}, "auth", "DeepL rejected the key: check deepl_api_key / DEEPL_AUTH_KEY"),
        ({"auth_key": "another-key"}, "auth", "DeepL rejected the key: check deepl_api_key / DEEPL_AUTH_KEY"),
        ({"fail_status": 456, "fail_path": "/v2/translate"}, "quota", "quota exceeded"),
        ({"usage_limit": 300}, "quota", "quota exceeded"),  # runs out after the first window
        ({"fail_status": 429, "fail_path": "/v2/translate"}, "rate", "too many requests"),
        ({"fail_status": 503, "fail_path": "/v2/translate"}, "unavailable", "DeepL service unavailable"),
        ({"fail_status": 502}, "unavailable", "DeepL service unavailable"),
        ({"close_connection": True}, "network", "Cannot reach DeepL"),
        ("unreachable", "network", "Cannot reach DeepL"),
    ],
)
def test_each_error_has_one_clear_message_and_earlier_output_stays(fake, talk, tmp_path, setup, kind, message):
    files = write_untranslated(tmp_path)
    opts = options(fake)
    if setup == "unreachable":
        opts = DeepLOptions("English (British)", auth_key="k", server_url=f"http://127.0.0.1:{free_port()}")
    else:
        for name, value in setup.items():
            setattr(fake, name, value)
    seen = []
    with pytest.raises(TranslationError) as info:
        translate_transcript(talk, opts, on_line=seen.append)
    error = info.value
    assert error.kind == kind
    assert message.lower() in str(error).lower()
    assert isinstance(error.__cause__, deepl.DeepLException)
    assert pickle.loads(pickle.dumps(error)).kind == kind
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()} == files
    if setup in ({"fail_status": 429, "fail_path": "/v2/translate"},):
        assert len(fake.translate_requests) == 2  # the library retried once (patched from 5) first


def test_quota_already_reached_refuses_to_start(fake, talk, caplog):
    caplog.set_level(logging.INFO, logger="audiototext.translation")
    fake.usage_count = fake.usage_limit = 500000
    with pytest.raises(TranslationError) as info:
        translate_transcript(talk, options(fake))
    assert info.value.kind == "quota"
    assert "500000 / 500000 (100.00%)" in str(info.value)
    assert fake.translate_requests == []
    assert "Translate results" not in caplog.text


# --- the 300-line transcript in both modes ------------------------------------------------------


@pytest.mark.parametrize("mode", COHERENCE_MODES)
def test_300_lines_keep_count_and_every_start_end(fake, talk, mode):
    seen = []
    result = translate_transcript(talk, options(fake, coherence=mode), on_line=seen.append)
    assert_same_timing(result.transcript, talk)
    assert seen == list(result.transcript.segments)
    assert result.fallback_windows == 0
    assert all(s.text.startswith(" ") and s.text.strip() for s in result.transcript.segments)
    assert words_of(result.transcript.text) == expected_words(fake, talk)
    if mode == LINES:  # one text per line: each line is the translation of its own source line
        for a, b in zip(result.transcript.segments, talk.segments):
            assert a.text.strip() == fake.translate_plain(b.text.strip(), "ES", "EN-GB", {})


def test_context_mode_sends_windows_ending_at_sentences_with_previous_tail_as_context(fake, talk):
    translate_transcript(talk, options(fake))
    requests = fake.translate_requests
    assert 5 <= len(requests) <= 10  # ~1,500-character windows
    first, second = requests[0].data, requests[1].data
    assert first["tag_handling"] == "xml" and first["outline_detection"] is False
    assert first["non_splitting_tags"] == ["l"] and "context" not in first
    window_text = " ".join(first["text"][0].replace("</l>", " ").split())
    assert window_text.rstrip().endswith((".", "?"))
    assert second["context"] and second["context"].split()[-1] in first["text"][0]


def test_reordering_across_line_elements_is_accepted(fake, talk):
    fake.move_words = True
    result = translate_transcript(talk, options(fake))
    assert result.fallback_windows == 0
    assert_same_timing(result.transcript, talk)
    assert words_of(result.transcript.text) == expected_words(fake, talk)


def test_a_few_empty_lines_are_filled_from_their_neighbour(fake, talk):
    fake.merge_every = 4  # a quarter of the lines come back empty: accepted
    result = translate_transcript(talk, options(fake))
    assert result.fallback_windows == 0
    assert all(s.text.strip() for s in result.transcript.segments)
    assert words_of(result.transcript.text) == expected_words(fake, talk)


@pytest.mark.parametrize(
    "switch", [{"drop_line": 3}, {"duplicate_line": 2}, {"strip_tags": True}, {"break_xml": True}, {"merge_every": 2}]
)
def test_lost_tags_fall_back_to_sentences_split_by_length(fake, talk, caplog, switch):
    for name, value in switch.items():
        setattr(fake, name, value)
    result = translate_transcript(talk, options(fake))
    windows = sum(1 for r in fake.translate_requests if r.data.get("tag_handling") == "xml")
    assert result.fallback_windows == windows > 1
    assert f"{windows} of {windows} windows" in caplog.text
    assert_same_timing(result.transcript, talk)
    assert all(s.text.strip() for s in result.transcript.segments)
    assert words_of(result.transcript.text) == expected_words(fake, talk)
    plain = [r for r in fake.translate_requests if "tag_handling" not in r.data]
    assert plain and all(r.data["context"] for r in plain)


def test_fallback_split_follows_line_lengths(fake):
    segments = (Segment(0.0, 1.0, " Hola a todos y"), Segment(1.0, 4.0, " bienvenidos a esta charla sobre el agua."))
    fake.drop_line = 0
    result = translate_transcript(Transcript(segments, language="es"), options(fake))
    assert result.fallback_windows == 1
    assert [s.text for s in result.transcript.segments] == [
        " Hello to everyone",
        " and welcome to this talk about the water.",
    ]


def test_japanese_fallback_splits_at_character_boundaries(fake):
    transcript = make_transcript(40)
    fake.drop_line = 1
    result = translate_transcript(transcript, options(fake, "Japanese"))
    assert result.fallback_windows >= 1 and result.transcript.language == "ja"
    assert_same_timing(result.transcript, transcript)
    texts = [s.text.strip() for s in result.transcript.segments]
    assert all(texts) and not any(" " in t for t in texts)
    assert not any(t[0] in "。、？" for t in texts)
    assert "".join(texts) == "".join(expected_words(fake, transcript, "JA"))


# --- request limits, independent-line details ---------------------------------------------------


def test_requests_never_exceed_50_texts(fake, talk):
    translate_transcript(talk, options(fake, coherence=LINES))
    counts = [r.texts for r in fake.translate_requests]
    assert sum(counts) == 300 and max(counts) == MAX_TEXTS_PER_REQUEST


@pytest.mark.parametrize("mode", COHERENCE_MODES)
@pytest.mark.parametrize("fallback", [False, True])
def test_requests_never_exceed_128_kib(fake, mode, fallback):
    # non-ASCII on purpose: requests sends JSON with \\u escapes, 6 bytes per letter
    sentence = "El niño pequeño y su mamá compraron piñatas en la ciudad de España. "
    segments = [Segment(float(i), i + 1.0, " " + sentence * 60) for i in range(40)]  # ~4 KB lines
    transcript = Transcript(tuple(segments), language="es")
    fake.drop_line = 0 if fallback else None
    result = translate_transcript(transcript, options(fake, coherence=mode))
    assert_same_timing(result.transcript, transcript)
    sizes = [r.body_bytes for r in fake.translate_requests]
    assert max(sizes) <= MAX_REQUEST_BYTES
    if mode == LINES:
        assert len(sizes) > 1 and max(sizes) > MAX_REQUEST_BYTES // 2  # the byte limit did the batching
    assert all(r.texts <= MAX_TEXTS_PER_REQUEST for r in fake.translate_requests)


def test_independent_lines_drop_a_period_deepl_added(fake):
    segments = (Segment(0.0, 1.0, " Hola a todos y"), Segment(1.0, 2.0, " bienvenidos a esta charla."))
    fake.add_period = True
    result = translate_transcript(Transcript(segments, language="es"), options(fake, coherence=LINES))
    texts = [s.text for s in result.transcript.segments]
    assert texts == [" Hello to everyone and", " welcome to this talk."]


def test_empty_lines_stay_empty_and_are_not_sent(fake):
    segments = (Segment(0.0, 1.0, " Hola a todos."), Segment(1.0, 2.0, " "), Segment(2.0, 3.0, " Gracias."))
    for mode in COHERENCE_MODES:
        fake.requests.clear()
        result = translate_transcript(Transcript(segments, language="es"), options(fake, coherence=mode))
        assert [s.text for s in result.transcript.segments] == [" Hello to everyone.", "", " Thanks."]
        assert '<l i="2">' not in str(fake.translate_requests[0].data["text"])


# --- glossary -----------------------------------------------------------------------------------


def test_glossary_is_created_once_reused_and_applied(fake, tmp_path):
    terms = tmp_path / "terms.csv"
    terms.write_text("agua,H2O\ngrifo,faucet\n\n", encoding="utf-8")
    transcript = make_transcript(30)
    for mode in COHERENCE_MODES:
        result = translate_transcript(transcript, options(fake, coherence=mode, glossary=terms))
        assert "H2O" in result.transcript.text and "water" not in result.transcript.text
        entries = {"agua": "H2O", "grifo": "faucet"}
        assert words_of(result.transcript.text) == expected_words(fake, transcript, entries=entries)
    created = [r for r in fake.requests if r.path == "/v2/glossaries" and r.method == "POST"]
    assert len(created) == 1
    assert created[0].data["source_lang"] == "ES" and created[0].data["target_lang"] == "EN"
    assert all(r.data["glossary_id"] == next(iter(fake.glossaries)) for r in fake.translate_requests)
    terms.write_text("agua,aqua\n", encoding="utf-8")  # other entries: another glossary
    translate_transcript(transcript, options(fake, glossary=terms))
    assert len(fake.glossaries) == 2


@pytest.mark.parametrize("content", ["agua\n", ",H2O\n", ""])
def test_bad_glossary_file_is_refused_before_any_request(fake, tmp_path, content):
    terms = tmp_path / "terms.csv"
    terms.write_text(content, encoding="utf-8")
    with pytest.raises(OptionsError, match="glossary"):
        translate_transcript(make_transcript(3), options(fake, glossary=terms))
    with pytest.raises(OptionsError, match="glossary"):
        translate_transcript(make_transcript(3), options(fake, glossary=tmp_path / "missing.csv"))
    assert fake.requests == []


# --- the split itself ---------------------------------------------------------------------------


def test_split_follows_weights_at_word_boundaries():
    assert split_proportionally("one two three four five six", [1, 1]) == ["one two three", "four five six"]
    assert split_proportionally("one two three four", [30, 10]) == ["one two three", "four"]
    assert split_proportionally("single", [5, 5, 5]) == ["single", "", ""]


words_st = st.lists(
    st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd", "Po")), min_size=1, max_size=8),
    min_size=1,
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(words=words_st, weights=st.lists(st.integers(0, 80), min_size=1, max_size=12))
def test_split_keeps_every_word_in_order_and_fills_lines(words, weights):
    pieces = split_proportionally(" ".join(words), weights)
    assert len(pieces) == len(weights)
    assert " ".join(p for p in pieces if p).split() == words
    if len(words) >= len(weights):
        assert all(pieces)


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(st.sampled_from("水の旅は長いです。東京、大阪"), min_size=1, max_size=60),
    weights=st.lists(st.integers(1, 40), min_size=1, max_size=8),
)
def test_character_split_keeps_every_character(text, weights):
    pieces = split_proportionally(text, weights, by_char=True)
    assert len(pieces) == len(weights) and "".join(pieces) == text


def test_unknown_source_language_lets_deepl_detect_it(fake, tmp_path):
    transcript = make_transcript(4, language="haw")  # Hawaiian: Whisper knows it, DeepL does not
    result = translate_transcript(transcript, options(fake))
    assert "source_lang" not in fake.translate_requests[0].data and result.source == "auto"
    terms = tmp_path / "terms.csv"
    terms.write_text("agua,H2O\n", encoding="utf-8")
    with pytest.raises(OptionsError, match="glossary"):
        translate_transcript(transcript, options(fake, glossary=terms))


def test_glossary_term_deepl_would_refuse_is_reported_with_its_line(fake, tmp_path):
    terms = tmp_path / "terms.csv"
    terms.write_text('agua,H2O\n"gri\tfo",faucet\n', encoding="utf-8")
    with pytest.raises(OptionsError, match="Line 2"):
        translate_transcript(make_transcript(3), options(fake, glossary=terms))


def test_characters_xml_cannot_hold_are_not_sent(fake):
    segments = (Segment(0.0, 1.0, " Hola \x0b a <todos> & bienvenidos."),)
    result = translate_transcript(Transcript(segments, language="es"), options(fake))
    assert result.transcript.segments[0].text == " Hello to <everyone> & welcome."


def test_without_the_deepl_package_the_error_says_what_to_install(fake, monkeypatch):
    monkeypatch.setitem(sys.modules, "deepl", None)
    with pytest.raises(TranslationError, match=r"pip install 'audiototext\[deepl\]'") as info:
        translate_transcript(make_transcript(3), options(fake))
    assert info.value.kind == "config" and fake.requests == []


def test_japanese_empty_lines_are_filled_without_adding_spaces(fake):
    transcript = make_transcript(40)
    fake.merge_every = 4
    result = translate_transcript(transcript, options(fake, "Japanese"))
    texts = [s.text.strip() for s in result.transcript.segments]
    assert result.fallback_windows == 0 and all(texts) and not any(" " in t for t in texts)
    assert "".join(texts) == "".join(expected_words(fake, transcript, "JA"))

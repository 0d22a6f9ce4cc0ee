"""Each option defined once: a record field declares its default, choices and
range (audiototext.records); the record checks them when made, the registry's row reads them, and
``options.build`` fills each record from the rows that name its fields, with no hand mapping."""

from __future__ import annotations

import dataclasses

import pytest

from audiototext import options
from audiototext.engines import DecodeOptions
from audiototext.errors import OptionsError
from audiototext.longaudio import ParallelOptions, RaySettings, SpeechOptions
from audiototext.options import Options
from audiototext.records import declared
from audiototext.style import SubtitleStyle
from audiototext.translation import DeepLOptions

#: Where each record sits in the built Options.
WHERE = {
    Options: (),
    DecodeOptions: ("decode",),
    SubtitleStyle: ("style",),
    ParallelOptions: ("parallel",),
    SpeechOptions: ("parallel", "speech"),
    RaySettings: ("parallel", "ray"),
    DeepLOptions: ("deepl",),
}
ROWS = [o for o in options.OPTIONS if o.record is not None]
LIMITED = [o for o in ROWS if o.choices or o.min is not None or o.max is not None]


def test_every_record_is_filled_by_rows():
    assert {o.record for o in ROWS} == set(WHERE)
    # Every field of the stages' records that a user may set has its row; the others are the
    # records' own (the Silero threshold, the Ray actor count, the style's linger and pause).
    unset = {(r.__name__, f.name) for r in WHERE for f in dataclasses.fields(r)} - {
        (o.record.__name__, o.field or o.name) for o in ROWS
    }
    assert unset == {
        ("Options", "decode"),
        ("Options", "style"),
        ("Options", "deepl"),
        ("Options", "progress"),
        ("Options", "parallel"),
        ("SpeechOptions", "threshold"),
        ("RaySettings", "actors"),
        ("ParallelOptions", "ray"),
        ("ParallelOptions", "speech"),
        ("SubtitleStyle", "linger"),
        ("SubtitleStyle", "max_pause"),
    }


@pytest.mark.parametrize("o", ROWS, ids=lambda o: o.name)
def test_a_row_takes_what_its_field_declares(o):
    d = declared(o.record, o.field or o.name)
    if d.choices or d.min is not None or d.max is not None:
        assert (o.choices, o.min, o.max, o.min_open) == (d.choices, d.min, d.max, d.min_open)
    # The rows that differ say so: "auto" is the text of None, the formats' text, no target (no
    # translation), and the style's None (the preset's value).
    if o.record is not SubtitleStyle and o.name not in ("language", "output_formats", "deepl_target"):
        assert o.default is d.default  # the same object: written once, in the record


def _bad(o) -> object:
    if o.choices:
        return "bogus"
    return (o.max + 1) if o.max is not None else (o.min - 1)


@pytest.mark.parametrize("o", LIMITED, ids=lambda o: o.name)
def test_the_record_and_the_faces_refuse_the_same_values(o):
    bad = _bad(o)
    label = o.field or o.name
    values = {"deepl_target": "German"} if o.record is DeepLOptions else {}
    with pytest.raises(OptionsError, match=f"--{o.name}"):
        options.build({**values, o.name: bad})
    with pytest.raises(OptionsError, match=label):
        fields = {"target": "German"} if o.record is DeepLOptions else {}
        o.record(**fields, **{label: bad})


def test_records_check_their_values_as_declared():
    with pytest.raises(OptionsError, match=r"^temperature must be between 0 and 1, not 5$"):
        DecodeOptions(temperature=5)
    with pytest.raises(OptionsError, match=r"^min_silence must be between 0 and 10, not -1$"):
        SpeechOptions(min_silence=-1)
    with pytest.raises(OptionsError, match="max_line_width must be a whole number, not 2.5"):
        SubtitleStyle(max_line_width=2.5)
    with pytest.raises(OptionsError, match="max_cps must be a number, not nan"):
        SubtitleStyle(max_cps=float("nan"))
    with pytest.raises(OptionsError, match="num_cpus must be greater than 0, not 0"):
        RaySettings(num_cpus=0)
    # A choice spelled another way is the choice; a short form is what it stands for.
    assert SubtitleStyle(preset="Whisper").preset == "whisper"
    assert DeepLOptions("German", coherence="lines").coherence == "Translate each line independently"


SAMPLES = {
    "model": "tiny",
    "engine": "openai-whisper",
    "device": "cpu",
    "language": "Spanish",
    "initial_prompt": "Hola.",
    "suppress_tokens": "-1,7",
    "output_dir": "out",
    "output_formats": "srt",
    "deepl_target": "German",
    "deepl_api_key": "k:fx",
    "deepl_glossary": None,
    "deepl_server_url": "http://127.0.0.1:9",
    "ray_address": "auto",
}
SKIPPED = {"api_key", "deepl_glossary", "max_line_width", "max_line_count", "max_words_per_line", "highlight_words"}


def _sample(o):
    """A value of ``o`` that is not its default."""
    if o.name in SAMPLES:
        return SAMPLES[o.name]
    default = o.default_value()
    if o.choices:
        return next(c for c in o.choices if c != default)
    if o.type is bool:
        return not default
    low = o.min if o.min is not None else (o.max - 1 if o.max is not None else 0)
    value = low + (0.5 if o.type is float else 1)
    return value if o.max is None or value <= o.max else o.max


@pytest.mark.parametrize("o", [o for o in ROWS if o.name not in SKIPPED], ids=lambda o: o.name)
def test_build_puts_each_value_in_its_record_field(o):
    """No hand mapping: the value given to an option reaches the field its row names."""
    value = _sample(o)
    extra = {"deepl_target": "German"} if o.record is DeepLOptions else {}
    if o.record is SubtitleStyle and o.name != "subtitle_style":
        extra["subtitle_style"] = "netflix"
    built = options.build({**extra, o.name: value})
    record = built
    for name in WHERE[o.record]:
        record = getattr(record, name)
    expected = o.parse(value)
    got = getattr(record, o.field or o.name)
    if o.name == "language":
        expected = "es"
    elif o.name == "output_formats":
        expected = ("srt",)
    elif o.name == "model":
        expected = "tiny"
    assert got == expected, (o.name, got, expected)

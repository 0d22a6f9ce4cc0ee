"""Writers: golden strings, byte equality with whisper's own writers, file naming."""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiototext import formats, subtitles
from audiototext.errors import OptionsError
from audiototext.formats import WHISPER_FORMATS
from audiototext.options import Options
from audiototext.subtitles import (
    FORMATS,
    OUTPUT_PRESETS,
    format_timestamp,
    output_path,
    parse_formats,
    write,
    write_files,
)
from audiototext.style import SubtitleStyle, subtitle_style
from audiototext.transcript import Segment, Transcript, Word

REPO = Path(__file__).resolve().parents[1]


def WriterOptions(**options) -> SubtitleStyle:  # noqa: N802 - whisper's writer options, as a style
    """The whisper subtitle style with whisper's line options: the writers must equal whisper's."""
    return subtitle_style("whisper", **options)


WHISPER_KEYS = ("max_line_width", "max_line_count", "highlight_words", "max_words_per_line")


def render(transcript: Transcript, fmt: str, options: SubtitleStyle = WriterOptions()) -> str:
    stream = io.StringIO()
    write(transcript, fmt, stream, options)
    return stream.getvalue()


def words(*spec: tuple[str, float, float]) -> tuple[Word, ...]:
    return tuple(Word(start, end, text, 0.9) for text, start, end in spec)


# One segment ends at 59.9996 s (must round up to a full minute), one is past the hour,
# the text is not ASCII and holds a tab and "-->".
PLAIN = Transcript(
    segments=(
        Segment(0.0, 2.5, " Hola, ¿qué tal?"),
        Segment(2.5, 59.9996, " Ça va\tbien --> 日本語 "),
        Segment(3723.4567, 3725.0, " Über eine Stunde."),
    ),
    language="es",
    duration=3725.0,
)

WORDY = Transcript(
    segments=(
        Segment(0.0, 2.5, " Hola, ¿qué tal?", words((" Hola,", 0.0, 0.8), (" ¿qué", 0.9, 1.5), (" tal?", 1.6, 2.5))),
        Segment(2.5, 59.9996, " Ça va bien", words((" Ça", 3.0, 3.4), (" va", 3.5, 4.0), (" bien", 58.0, 59.9996))),
        Segment(
            3723.4567,
            3725.0,
            " Über eine Stunde.",
            words((" Über", 3723.4567, 3723.9), (" eine", 3724.0, 3724.4), (" Stunde.", 3724.5, 3725.0)),
        ),
    ),
    language="es",
    duration=3725.0,
)


# --- 1. golden strings -------------------------------------------------------------------------


def test_golden_txt():
    assert render(PLAIN, "txt") == "Hola, ¿qué tal?\nÇa va\tbien --> 日本語\nÜber eine Stunde.\n"


def test_golden_vtt():
    assert render(PLAIN, "vtt") == (
        "WEBVTT\n\n"
        "00:00.000 --> 00:02.500\nHola, ¿qué tal?\n\n"
        "00:02.500 --> 01:00.000\nÇa va\tbien -> 日本語\n\n"
        "01:02:03.457 --> 01:02:05.000\nÜber eine Stunde.\n\n"
    )


def test_golden_srt():
    assert render(PLAIN, "srt") == (
        "1\n00:00:00,000 --> 00:00:02,500\nHola, ¿qué tal?\n\n"
        "2\n00:00:02,500 --> 00:01:00,000\nÇa va\tbien -> 日本語\n\n"
        "3\n01:02:03,457 --> 01:02:05,000\nÜber eine Stunde.\n\n"
    )


def test_golden_tsv():
    assert render(PLAIN, "tsv") == (
        "start\tend\ttext\n"
        "0\t2500\tHola, ¿qué tal?\n"
        "2500\t60000\tÇa va bien --> 日本語\n"
        "3723457\t3725000\tÜber eine Stunde.\n"
    )


def test_golden_json_is_whisper_result_dict_ascii_escaped():
    text = render(PLAIN, "json")
    assert text.startswith('{"text": " Hola, \\u00bfqu\\u00e9 tal?')
    assert '"end": 59.9996' in text and text.endswith('"language": "es"}')


def test_golden_word_level_srt_one_cue_per_segment():
    assert render(WORDY, "srt") == (
        "1\n00:00:00,000 --> 00:00:02,500\nHola, ¿qué tal?\n\n"
        "2\n00:00:03,000 --> 00:01:00,000\nÇa va bien\n\n"
        "3\n01:02:03,457 --> 01:02:05,000\nÜber eine Stunde.\n\n"
    )


def test_golden_word_level_vtt_line_width_and_count():
    # Lines break at 10 characters, two lines per cue, and a pause over 3 s starts a new cue.
    options = WriterOptions(max_line_width=10, max_line_count=2)
    assert render(WORDY, "vtt", options) == (
        "WEBVTT\n\n"
        "00:00.000 --> 00:04.000\nHola, ¿qué\ntal? Ça va\n\n"
        "00:58.000 --> 01:00.000\nbien\n\n"
        "01:02:03.457 --> 01:02:05.000\nÜber eine\nStunde.\n\n"
    )


def test_golden_highlight_words_fills_gaps_between_words():
    first = Transcript(segments=(dataclasses.replace(WORDY.segments[0], words=WORDY.segments[0].words[:2]),))
    assert render(first, "srt", WriterOptions(highlight_words=True)) == (
        "1\n00:00:00,000 --> 00:00:00,800\n<u>Hola,</u> ¿qué\n\n"
        "2\n00:00:00,800 --> 00:00:00,900\nHola, ¿qué\n\n"
        "3\n00:00:00,900 --> 00:00:01,500\nHola, <u>¿qué</u>\n\n"
    )


def test_max_words_per_line_still_cuts_with_max_line_width_alone():
    # whisper's CLI warns it "has no effect with --max_line_width"; it does while segments are
    # kept (no max_line_count), so we only warn when both are set.
    width = WriterOptions(max_line_width=20)
    assert render(WORDY, "srt", width) != render(WORDY, "srt", WriterOptions(max_line_width=20, max_words_per_line=2))


def test_golden_max_words_per_line():
    assert render(WORDY, "vtt", WriterOptions(max_words_per_line=2)).split("\n\n")[1:4] == [
        "00:00.000 --> 00:01.500\nHola, ¿qué",
        "00:01.600 --> 00:02.500\ntal?",
        "00:03.000 --> 00:04.000\nÇa va",
    ]


def test_empty_transcript():
    empty = Transcript(segments=())
    assert render(empty, "txt") == ""
    assert render(empty, "vtt") == "WEBVTT\n\n"
    assert render(empty, "srt") == ""
    assert render(empty, "tsv") == "start\tend\ttext\n"


# --- format_timestamp --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "kwargs", "expected"),
    [
        (0.0, {}, "00:00.000"),
        (59.9996, {}, "01:00.000"),
        (59.9994, {}, "00:59.999"),
        (3599.9996, {}, "01:00:00.000"),
        (1.5, {"always_include_hours": True, "decimal_marker": ","}, "00:00:01,500"),
        (360000.0, {}, "100:00:00.000"),
    ],
)
def test_format_timestamp(seconds, kwargs, expected):
    assert format_timestamp(seconds, **kwargs) == expected


def test_format_timestamp_refuses_negative():
    with pytest.raises(ValueError, match="non-negative"):
        format_timestamp(-0.001)


@given(st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False), st.booleans())
def test_format_timestamp_round_trips_within_half_a_millisecond(seconds, hours):
    text = format_timestamp(seconds, always_include_hours=hours)
    *head, secs = text.split(":")
    whole, millis = secs.split(".")
    fields = [int(f) for f in head]
    minutes = fields[-1]
    assert minutes < 60 and int(whole) < 60 and len(millis) == 3
    parsed_ms = ((fields[0] * 60 if len(fields) == 2 else 0) + minutes) * 60_000 + int(whole) * 1000 + int(millis)
    assert abs(parsed_ms - seconds * 1000) <= 0.5 + 1e-6


# --- 2. byte equality with whisper's writers -----------------------------------------------------


def many_words(count: int, start: float = 0.0) -> tuple[Segment, ...]:
    """Segments of varied words, with long pauses and long words, to exercise every break rule."""
    vocabulary = [" el", " murciélago", " hindú", " comía", " feliz", " cardillo", " y", " kiwi.", " ¿Sí?", " 東京"]
    segments, t, index = [], start, 0
    for seg_no in range(count):
        seg_words = []
        for _k in range(3 + seg_no % 7):
            text = vocabulary[index % len(vocabulary)] * (1 + (index % 13 == 0) * 3)
            gap = 3.5 if index % 11 == 5 else 0.1 * (index % 3)
            seg_words.append(Word(t + gap, t + gap + 0.4, text, 0.5))
            t += gap + 0.45
            index += 1
        segments.append(
            Segment(seg_words[0].start, seg_words[-1].end, "".join(w.word for w in seg_words), tuple(seg_words))
        )
    return tuple(segments)


TRANSCRIPTS = {
    "plain": PLAIN,
    "wordy": WORDY,
    "many_words": Transcript(segments=many_words(25), language="es"),
    "past_the_hour": Transcript(segments=many_words(8, start=3595.0), language="es"),
    # Word starts exactly 3.0 s apart are not a long pause; 3.25 s apart are.
    "pause_boundary": Transcript(
        segments=(
            Segment(
                0.0, 9.5, " a b c d", words((" a", 0.0, 0.5), (" b", 3.0, 3.5), (" c", 6.0, 6.5), (" d", 9.25, 9.5))
            ),
        )
    ),
    "empty": Transcript(segments=()),
}

OPTIONS = {
    "none": WriterOptions(),
    "width20": WriterOptions(max_line_width=20),
    "width20_count2": WriterOptions(max_line_width=20, max_line_count=2),
    "count2": WriterOptions(max_line_count=2),
    "highlight": WriterOptions(highlight_words=True),
    "words3": WriterOptions(max_words_per_line=3),
    "width20_words3": WriterOptions(max_line_width=20, max_words_per_line=3),
    "everything": WriterOptions(max_line_width=20, max_line_count=2, highlight_words=True, max_words_per_line=3),
}


@pytest.fixture(scope="module")
def whisper_utils():
    pytest.importorskip("whisper")
    import whisper.utils

    return whisper.utils


@pytest.mark.parametrize("transcript_name", TRANSCRIPTS)
@pytest.mark.parametrize("options_name", OPTIONS)
def test_files_match_whisper_writers_byte_for_byte(whisper_utils, tmp_path, transcript_name, options_name, caplog):
    caplog.set_level(logging.ERROR)
    transcript, options = TRANSCRIPTS[transcript_name], OPTIONS[options_name]
    theirs_dir = tmp_path / "whisper"
    theirs_dir.mkdir()
    for fmt in WHISPER_FORMATS:  # the formats whisper has; a format added to the package is not its
        whisper_utils.get_writer(fmt, str(theirs_dir))(
            transcript.to_dict(), str(tmp_path / "media" / "audio.mp3"), {k: getattr(options, k) for k in WHISPER_KEYS}
        )
    ours = write_files(transcript, tmp_path / "ours", "audio", WHISPER_FORMATS, options)
    assert [p.name for p in ours] == [f"audio.{fmt}" for fmt in WHISPER_FORMATS]
    for path in ours:
        assert path.read_bytes() == (theirs_dir / path.name).read_bytes(), path.name


def test_goldens_agree_with_whisper(whisper_utils):
    for transcript in (PLAIN, WORDY):
        for fmt, writer in (("vtt", whisper_utils.WriteVTT), ("srt", whisper_utils.WriteSRT)):
            theirs = io.StringIO()
            writer(".").write_result(transcript.to_dict(), theirs, {"max_line_width": 10, "max_line_count": 2})
            assert render(transcript, fmt, WriterOptions(max_line_width=10, max_line_count=2)) == theirs.getvalue()


def test_segments_without_words_match_whisper_given_empty_word_lists(whisper_utils):
    # A word-timestamp run can leave a segment with no words; whisper's result dict then holds
    # "words": [] (our to_dict drops the key, and whisper's writers would raise KeyError on it).
    mixed = WORDY.with_segments([WORDY.segments[0], Segment(2.5, 3.0, " mm"), WORDY.segments[2]])
    result = mixed.to_dict()
    result["segments"][1]["words"] = []
    for fmt, writer in (("vtt", whisper_utils.WriteVTT), ("srt", whisper_utils.WriteSRT)):
        theirs = io.StringIO()
        writer(".").write_result(result, theirs, {})
        assert render(mixed, fmt) == theirs.getvalue()


@pytest.mark.parametrize("seconds", [0.0, 0.0005, 0.0015, 59.9996, 3599.9995, 1234.5675, 86400.25])
def test_format_timestamp_matches_whisper(whisper_utils, seconds):
    for hours in (False, True):
        for marker in (".", ","):
            assert format_timestamp(seconds, hours, marker) == whisper_utils.format_timestamp(seconds, hours, marker)


# --- 3. property: random transcripts equal whisper's output ---------------------------------------

line_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=12)


@st.composite
def random_transcripts(draw):
    with_words = draw(st.booleans())
    times = sorted(draw(st.lists(st.floats(0, 8000, allow_nan=False), min_size=0, max_size=30)))
    segments = []
    for i in range(0, len(times) - 1, 2):
        start, end = times[i], times[i + 1]
        seg_words: tuple[Word, ...] = ()
        if with_words:
            texts = draw(st.lists(line_text, min_size=1, max_size=6))
            step = (end - start) / len(texts)
            seg_words = tuple(Word(start + k * step, start + (k + 1) * step, t) for k, t in enumerate(texts))
            text = "".join(texts)
        else:
            text = draw(line_text)
        segments.append(Segment(start, end, text, seg_words))
    return Transcript(segments=tuple(segments), language="xx")


writer_options = st.builds(
    lambda **kw: subtitle_style("whisper", **kw),
    max_line_width=st.one_of(st.none(), st.integers(1, 40)),
    max_line_count=st.one_of(st.none(), st.integers(1, 4)),
    highlight_words=st.booleans(),
    max_words_per_line=st.one_of(st.none(), st.integers(1, 5)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(transcript=random_transcripts(), options=writer_options)
def test_random_transcripts_match_whisper(whisper_utils, transcript, options):
    for name in (formats.__name__, "audiototext.style"):
        logging.getLogger(name).setLevel(logging.ERROR)
    writers = {
        "txt": whisper_utils.WriteTXT,
        "vtt": whisper_utils.WriteVTT,
        "srt": whisper_utils.WriteSRT,
        "tsv": whisper_utils.WriteTSV,
    }
    for fmt, writer in writers.items():
        theirs = io.StringIO()
        writer(".").write_result(transcript.to_dict(), theirs, {k: getattr(options, k) for k in WHISPER_KEYS})
        assert render(transcript, fmt, options) == theirs.getvalue(), fmt


# --- 4. formats, options, paths, files -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("txt,vtt,srt", ("txt", "vtt", "srt")),
        (" SRT , txt,srt ", ("srt", "txt")),
        ("all", FORMATS),
        ("json,all", ("json", *(f for f in FORMATS if f != "json"))),
        (["vtt", "TXT,tsv"], ("vtt", "txt", "tsv")),
        ("txt,,vtt,", ("txt", "vtt")),
    ],
)
def test_parse_formats(value, expected):
    assert parse_formats(value) == expected


@pytest.mark.parametrize("value", ["txt,docx", "ass", "", " , ", []])
def test_parse_formats_rejects_unknown_or_empty(value):
    with pytest.raises(OptionsError) as caught:
        parse_formats(value)
    assert ", ".join(FORMATS) in str(caught.value)
    if value == "txt,docx":
        assert "'docx'" in str(caught.value) and caught.value.value == "docx"


def test_every_preset_parses_and_default_comes_first():
    assert OUTPUT_PRESETS[0] == ",".join(formats.DEFAULT_FORMATS) == ",".join(Options().formats)
    assert "all" in OUTPUT_PRESETS and set(formats.WHISPER_FORMATS) <= set(OUTPUT_PRESETS)
    assert len(set(OUTPUT_PRESETS)) == len(OUTPUT_PRESETS)
    for preset in OUTPUT_PRESETS:
        assert parse_formats(preset)


def test_write_unknown_format_lists_valid_ones():
    with pytest.raises(OptionsError, match=f"choose from {', '.join(FORMATS)}"):
        write(PLAIN, "ass", io.StringIO())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_line_width": 0},
        {"max_line_count": -1},
        {"max_words_per_line": 2.5},
        {"max_line_width": True},
        {"highlight_words": "yes"},
    ],
)
def test_writer_options_reject_bad_values(kwargs):
    with pytest.raises(OptionsError) as caught:
        WriterOptions(**kwargs)
    assert caught.value.option == next(iter(kwargs))


def test_writer_options_warn_like_whisper_cli(caplog):
    with caplog.at_level(logging.WARNING, logger="audiototext.style"):
        WriterOptions(max_line_count=2)
        WriterOptions(max_line_width=20, max_line_count=2, max_words_per_line=3)
    assert "max_line_count has no effect without max_line_width" in caplog.text
    assert "max_words_per_line has no effect" in caplog.text


def test_options_without_word_timestamps_warn(caplog, tmp_path):
    with caplog.at_level(logging.WARNING, logger=formats.__name__):
        write_files(PLAIN, tmp_path, "a", "vtt,srt", WriterOptions(highlight_words=True))
    assert caplog.text.count("need word timestamps") == 1


def test_output_path_keeps_spaces_parentheses_and_accents(tmp_path):
    path = output_path(tmp_path, "mi charla (versión 2) ñ", "srt", "_English (British)")
    assert path == tmp_path / "mi charla (versión 2) ñ_English (British).srt"
    assert output_path(tmp_path, "talk", "txt") == tmp_path / "talk.txt"


@pytest.mark.parametrize("stem", ["", "../escape", "a/b"])
def test_output_path_refuses_folders_in_the_name(tmp_path, stem):
    with pytest.raises(OptionsError):
        output_path(tmp_path, stem, "txt")


def test_write_files_creates_nested_dir_and_utf8_files(tmp_path):
    out = tmp_path / "new" / "nested dir"
    stem = "mi charla (versión 2) ñ"
    paths = write_files(WORDY, out, stem, "all", WriterOptions(), suffix="_English (British)")
    assert paths == [out / f"{stem}_English (British).{fmt}" for fmt in FORMATS]
    assert sorted(os.listdir(out)) == sorted(p.name for p in paths)  # no temporary files left
    assert paths[0].read_bytes() == "Hola, ¿qué tal?\nÇa va bien\nÜber eine Stunde.\n".encode()


def test_write_files_never_leaves_half_a_file(tmp_path, monkeypatch):
    target = write_files(PLAIN, tmp_path, "talk", "txt")[0]
    before = target.read_bytes()

    def broken(job, stream):
        stream.write("half")
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(formats.registry._REGISTRY, "txt", dataclasses.replace(formats.get("txt"), writer=broken))
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_files(PLAIN, tmp_path, "talk", "txt")
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["talk.txt"]


# --- 5. the registry: a new format is one module ------------------------------------------------


def _write_lrc(job: formats.Job, stream) -> None:
    """LRC lyrics, a format this package lacks: ``[mm:ss.xx]`` and each segment's text."""
    for segment in job.transcript.segments:
        minutes, seconds = divmod(round(segment.start * 100), 6000)
        stream.write(f"[{minutes:02d}:{seconds // 100:02d}.{seconds % 100:02d}]{segment.text.strip()}\n")


@pytest.fixture
def lrc():
    record = formats.register(formats.Format("lrc", "lrc", _write_lrc))
    yield record
    formats.unregister("lrc")


def test_a_format_registered_outside_the_package_is_written_like_the_others(lrc, tmp_path):
    paths = write_files(PLAIN, tmp_path, "talk", "txt,LRC")
    assert paths == [tmp_path / "talk.txt", tmp_path / "talk.lrc"]
    expected = "[00:00.00]Hola, ¿qué tal?\n[00:02.50]Ça va\tbien --> 日本語\n[62:03.46]Über eine Stunde.\n"
    assert paths[1].read_text(encoding="utf-8") == expected
    assert parse_formats("all") == (*FORMATS, "lrc") and output_path(tmp_path, "a", "lrc") == tmp_path / "a.lrc"
    stream = io.StringIO()
    write(PLAIN, "lrc", stream)
    assert stream.getvalue() == expected


def test_an_unregistered_format_is_unknown_again(lrc):
    formats.unregister("lrc")
    with pytest.raises(OptionsError, match=f"choose from {', '.join(FORMATS)}"):
        write(PLAIN, "lrc", io.StringIO())


ROOT = Path(__file__).resolve().parent.parent


def readme_formats() -> list[str]:
    """The formats README's "Output formats" table lists, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Output formats") :]
    section = section[: section.index("\n#", 1)]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.M)


def test_readme_lists_every_format_once():
    """A format's doc line: README's "Output formats" table names exactly the registered formats."""
    assert readme_formats() == list(FORMATS)


#: A format module as a contributor would add it (YouTube's SubViewer): nothing else in the package changes.
SBV_MODULE = """\"\"\"SubViewer captions: ``h:mm:ss.mmm,h:mm:ss.mmm``, the text, a blank line.\"\"\"

from .registry import Format


def _time(seconds):
    hours, rest = divmod(round(seconds * 1000), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def write_sbv(job, stream):
    for segment in job.transcript.segments:
        stream.write(f"{_time(segment.start)},{_time(segment.end)}\\n{segment.text.strip()}\\n\\n")


FORMAT = Format("sbv", "sbv", write_sbv)
"""
SBV_TEXT = "0:00:00.000,0:00:02.500\nHola.\n\n0:01:02.000,0:01:03.500\nAdios.\n\n"

#: Run in a copy of the package holding that module: every face takes the new format.
EVERY_FACE = """
import sys
from pathlib import Path

import audiototext
from audiototext import formats, options
from audiototext.command import main
from audiototext.notebook import fields, saving
from audiototext.options.query import options_from_query
from audiototext.service.checks import FILE_TYPES
from audiototext.transcript import Segment, Transcript

assert audiototext.__file__.startswith(sys.argv[1]), audiototext.__file__
out = Path(sys.argv[2])
talk = Transcript((Segment(0.0, 2.5, " Hola."), Segment(62.0, 63.5, " Adios.")), "es", 64.0)
formats.write_files(talk, out, "talk", "json")
assert formats.names()[-1] == formats.parse_formats("all")[-1] == "sbv"
assert main([str(out / "talk.json"), "--from-json", "-f", "srt,sbv", "--no-progress"]) == 0  # the CLI
assert options.build({"output_formats": "all"}).formats[-1] == "sbv"  # the contract
assert options_from_query({"output_formats": "srt,sbv"}).formats == ("srt", "sbv")  # the service's query
assert FILE_TYPES["sbv"].startswith("text/plain")  # GET /api/audio/<slug>.sbv
assert fields.transcribe_options({"output_formats": "sbv"}).formats == ("sbv",)  # the notebook's form
assert "sbv" in fields.help_text("save_formats")
saving.save(save_formats="sbv", from_json=str(out / "talk.json"))  # the notebook's Save step
print(fields.param_line("output_formats"))
print(fields.param_line("save_formats"))
"""


#: What the tests below copy: the package, its tests and the files they read.
COPIED = ("audiototext", "tests", "constraints", "README.md", "setup.cfg", "pyproject.toml", "AudioToText.ipynb")


@pytest.fixture
def with_sbv(tmp_path) -> Path:
    """A copy of the package, its tests and what they read, with one format module more (sbv)."""
    import shutil

    copy = tmp_path / "copy"
    for name in COPIED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, copy / name)
    (copy / "audiototext" / "formats" / "sbv.py").write_text(SBV_MODULE, encoding="utf-8")
    return copy


def in_copy(copy: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(copy), "AUDIOTOTEXT_CACHE": str(copy.parent / "cache")}
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, cwd=cwd)


def test_a_new_format_module_alone_reaches_every_face(with_sbv, tmp_path):
    """Adding ``formats/sbv.py`` and nothing else: the CLI, the options contract, the service and
    the notebook take ``sbv`` (and ``all`` writes it); the notebook's form lines stay as they are."""
    from audiototext.notebook import fields

    work = tmp_path / "work"
    work.mkdir()
    done = in_copy(with_sbv, "-c", EVERY_FACE, str(with_sbv), str(work), cwd=work)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-2:] == [fields.param_line("output_formats"), fields.param_line("save_formats")]
    assert (work / "audio_transcription" / "talk.sbv").read_text(encoding="utf-8") == SBV_TEXT  # the CLI's
    assert (work / "talk.sbv").read_text(encoding="utf-8") == SBV_TEXT  # the notebook's, beside the json


@pytest.mark.slow  # three test files run again in a copy (about 10 s)
def test_a_new_format_module_leaves_only_its_doc_line_to_add(with_sbv):
    """With ``formats/sbv.py`` added, the tests that depend on the list of formats (whisper's writers
    byte for byte, parsing, presets, the README's flags table, the notebook's form) still pass; the
    README's formats table asks for the new format's line, and nothing else does."""
    tests = ["tests/test_subtitles.py", "tests/test_options.py", "tests/test_notebook.py"]
    run = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
    done = in_copy(with_sbv, *run, "-m", "not slow", "-k", "not readme_lists_every_format", *tests, cwd=with_sbv)
    assert done.returncode == 0, done.stdout[-3000:]
    done = in_copy(with_sbv, *run, f"{tests[0]}::test_readme_lists_every_format_once", cwd=with_sbv)
    assert done.returncode == 1 and "'sbv'" in done.stdout


@pytest.mark.parametrize("name", ["txt", "all", "Lrc", "l rc", ""])
def test_a_format_name_must_be_new_and_a_lowercase_word(name):
    with pytest.raises(OptionsError):
        formats.register(formats.Format(name, "x", _write_lrc))
    assert formats.get("txt").writer is not _write_lrc


def test_each_built_in_format_is_a_module_of_its_own():
    folder = Path(formats.__file__).parent
    modules = {p.stem for p in folder.glob("*.py")} - {"__init__", "registry", "layout"}
    assert modules == set(FORMATS) == {f for f in formats.names() if formats.get(f).writer.__module__.endswith("." + f)}
    assert subtitles.SUBTITLE_FORMATS == tuple(f for f in FORMATS if formats.get(f).cues) == ("vtt", "srt")


# --- 6. no torch -----------------------------------------------------------------------------------


def test_import_does_not_pull_torch_or_whisper():
    code = (
        "import sys, audiototext.subtitles; print(sorted(m for m in ('torch', 'whisper', 'numpy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

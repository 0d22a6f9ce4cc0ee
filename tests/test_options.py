"""The one options contract (audiototext/options.py): the registry, validation before any model
loads, the rules between options, and how the CLI, the notebook and the service map to it.
No model runs here: these tests take milliseconds."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from audiototext import options
from audiototext.cli import build_parser, main
from audiototext.errors import OptionsError
from audiototext.style import SubtitleStyle


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if anything loads a model or decodes audio."""
    import audiototext.engines
    import audiototext.media

    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError(f"loaded or decoded {args!r} although an option was bad")

    monkeypatch.setattr(audiototext.engines, "load_engine", refuse)
    monkeypatch.setattr(audiototext.media, "load_audio", refuse)
    return calls


# --- the registry covers every face ---------------------------------------------------------------


def test_registry_covers_every_cli_flag():
    parser = build_parser()
    registry_flags = {flag: o.name for o in options.for_face("cli") for flag in o.flags}
    for action in parser._actions:
        if action.dest in ("help", "version", "audio"):
            continue
        assert action.dest in options.REGISTRY, f"{action.option_strings} is not in the registry"
        for flag in action.option_strings:
            assert registry_flags.get(flag) == action.dest, flag
    parsed = {a.dest for a in parser._actions}
    assert {o.name for o in options.for_face("cli")} <= parsed


def test_every_option_is_well_formed():
    for o in options.OPTIONS:
        assert o.group in options.GROUPS, o.name
        assert o.help, o.name
        assert o.faces <= set(options.FACES) and o.faces, o.name
        if o.faces != set(options.FACES):
            assert o.why, f"{o.name} leaves out a face without saying why"
        default = o.default_value()
        if default is not None and not o.flag:
            assert o.parse(default) is not None or o.nullable, o.name  # every default passes its own checks
    names = [o.name for o in options.OPTIONS] + [o.form for o in options.OPTIONS if o.form_name]
    assert len(names) == len(set(names)), "an option or form name is used twice"


def test_notebook_fields_map_to_the_registry():
    from audiototext import notebook

    for name in notebook.DEFAULTS:
        if name != "audio_file":  # the inputs, not an option
            assert options.option(name).form == name


def test_notebook_offers_every_notebook_option():
    from audiototext import notebook

    assert {f.name for f in options.form_fields()} <= set(notebook.DEFAULTS)


def test_markdown_table_lists_every_flag():
    table = options.markdown_table()
    for o in options.for_face("cli"):
        assert f"`{o.flags[0]}`" in table
    assert "| `--temperature` | `0.0` | sampling temperature; between 0 and 1 |" in table


def test_readme_has_the_generated_table():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert options.markdown_table() in readme


# --- values are checked before anything loads ----------------------------------------------------


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--temperature", "5"], "--temperature must be between 0 and 1, not 5"),
        (
            ["--temperature_increment_on_fallback", "-0.2"],
            "--temperature_increment_on_fallback must be between 0 and 1, not -0.2",
        ),
        (["--patience", "-1"], "--patience must be greater than 0, not -1"),
        (["--threads", "-1"], "--threads must be at least 0, not -1"),
        (["--beam_size", "0"], "--beam_size must be between 1 and 20, not 0"),
        (["--no_speech_threshold", "1.5"], "--no_speech_threshold must be between 0 and 1, not 1.5"),
        (["--best_of", "two"], "--best_of must be a whole number, not 'two'"),
        (["--pause", "9"], "--pause must be between 0 and 5, not 9"),
        (["--task", "summarize"], "Unknown --task 'summarize': use one of transcribe, translate"),
        (["--engine", "whisperx"], "Unknown --engine 'whisperx': use one of openai-whisper, faster-whisper"),
        (["--word_timestamps", "maybe"], "--word_timestamps must be True or False, not 'maybe'"),
        (["--suppress_tokens", "a,b"], "suppress_tokens must be comma-separated token ids"),
        (["--deepl_target", "Klingon"], "Unknown DeepL target language 'Klingon'"),
    ],
)
def test_bad_values_fail_at_once(tmp_path, no_model, capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main(["missing.wav", "-o", str(tmp_path / "out"), *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err
    assert not no_model and not (tmp_path / "out").exists()


def test_notebook_and_service_values_fail_alike(no_model):
    with pytest.raises(OptionsError, match=r"^temperature must be between 0 and 1, not 5$"):
        options.options_from_form({"temperature": 5})
    with pytest.raises(OptionsError, match=r"^temperature must be between 0 and 1, not 5$"):
        options.options_from_query({"temperature": 5.0, "beam_size": None})
    with pytest.raises(OptionsError, match=r"^beam_size must be between 1 and 20, not 21$"):
        options.options_from_form({"beam_size": "21"})
    with pytest.raises(OptionsError, match="deepl_api_key cannot be set here: the service reads secrets"):
        options.options_from_query({"deepl_api_key": "x"})
    with pytest.raises(OptionsError, match="Unknown --task 'Summarize': use one of transcribe, translate"):
        options.build({"task": "Summarize"})
    with pytest.raises(OptionsError, match="Unknown task 'Summarize': use one of Transcribe, Translate to English"):
        options.options_from_form({"task": "Summarize"})
    assert not no_model


def test_strings_and_typed_values_give_the_same_options():
    typed = options.build(
        {
            "temperature": 0.4,
            "beam_size": 3,
            "word_timestamps": True,
            "output_formats": ["srt", "txt"],
            "output_dir": Path("out"),
            "threads": 0,
            "language": "es",
        }
    )
    text = options.build(
        {
            "temperature": "0.4",
            "beam_size": "3",
            "word_timestamps": "true",
            "output_formats": "srt,txt",
            "output_dir": "out",
            "threads": "0",
            "language": "Spanish",
        }
    )
    assert typed == text
    assert typed.decode.beam_size == 3 and typed.formats == ("srt", "txt") and typed.threads is None
    assert typed.decode.language == "es"
    assert options.build({"beam_size": "None", "initial_prompt": ""}).decode.beam_size is None


# --- the rules between options --------------------------------------------------------------------


def test_line_options_turn_word_timestamps_on_for_every_face(caplog):
    caplog.set_level(logging.INFO, logger="audiototext")
    cli = build_parser().parse_args(["a.wav", "--max_line_width", "30", "--subtitle_style", "whisper"])
    from audiototext.cli import options_from_args

    assert options_from_args(cli).decode.word_timestamps
    assert "max_line_width needs word timestamps: turning word_timestamps on" in caplog.text
    form = options.options_from_form(
        {"highlight_words": True, "word_timestamps": False, "max_line_width": 0, "subtitle_style": "whisper"}
    )
    assert form.decode.word_timestamps and form.style.highlight_words and form.style.max_line_width is None
    query = options.options_from_query({"max_words_per_line": 4, "word_timestamps": None, "subtitle_style": "whisper"})
    assert query.decode.word_timestamps and query.style.max_words_per_line == 4
    assert not options.build({"subtitle_style": "whisper"}).decode.word_timestamps


def test_line_options_with_word_timestamps_false_fail():
    with pytest.raises(
        OptionsError,
        match=r"--highlight_words and --max_line_width need word timestamps, but "
        r"--word_timestamps is set to False",
    ):
        options.build(
            {"max_line_width": "20", "highlight_words": "True", "word_timestamps": "False", "subtitle_style": "whisper"}
        )
    with pytest.raises(OptionsError, match=r"^max_words_per_line needs word timestamps, but word_timestamps is"):
        options.options_from_query({"max_words_per_line": 3, "word_timestamps": False, "subtitle_style": "whisper"})


def test_the_netflix_style_is_the_default_and_times_cues_by_words(caplog):
    caplog.set_level(logging.INFO, logger="audiototext")
    built = options.build({})
    assert built.style == SubtitleStyle() and built.style.max_line_width == 42 and built.style.max_cps == 20
    assert built.decode.word_timestamps, "srt/vtt cues are cut from word times"
    assert not options.build({"output_formats": "txt,json"}).decode.word_timestamps
    without = options.build({"word_timestamps": "False"})
    assert not without.decode.word_timestamps and "estimated from its segment's time" in caplog.text
    tuned = options.build({"max_cps": "17", "max_line_width": "37", "min_cue_gap": "0.1", "max_cue_duration": "6"})
    assert (tuned.style.max_cps, tuned.style.max_line_width, tuned.style.min_cue_gap) == (17, 37, 0.1)
    assert tuned.style.max_cue_duration == 6 and tuned.style.max_line_count == 2
    whisper = options.build({"subtitle_style": "whisper"})
    assert whisper.style.is_whisper and whisper.style.max_line_width is None and whisper.style.max_cps is None
    with pytest.raises(OptionsError, match=r"--max_cps apply to the netflix subtitle style, not to the whisper"):
        options.build({"subtitle_style": "whisper", "max_cps": "18"})
    with pytest.raises(OptionsError, match=r"subtitle_style"):
        options.options_from_query({"subtitle_style": "fancy"})
    with pytest.raises(OptionsError, match=r"max_cue_duration.*must not be under min_cue_duration"):
        options.build({"min_cue_duration": "3", "max_cue_duration": "2"})


def test_default_engine_prefers_faster_whisper(monkeypatch):
    import importlib.util

    pytest.importorskip("faster_whisper")
    assert options.default_engine() == "faster-whisper"
    assert options.build({}).engine == "faster-whisper"
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "faster_whisper" else real(name, *a)
    )
    assert options.default_engine() == "openai-whisper"
    assert options.build({}).engine == "openai-whisper"
    from audiototext.options import Options

    assert Options().engine == "openai-whisper"  # the pipeline's default follows it, at use


def test_english_uses_the_en_model(caplog):
    caplog.set_level(logging.INFO, logger="audiototext")
    assert options.build({"model": "tiny", "language": "English"}).model == "tiny.en"  # shipped offline
    assert "Using tiny.en for English" in caplog.text
    assert options.build({"model": "tiny", "language": "en", "task": "translate"}).model == "tiny"
    assert options.build({"model": "tiny", "language": "auto"}).model == "tiny"
    assert options.build({"model": "tiny", "language": "Spanish"}).model == "tiny"
    assert options.build({"model": "large-v3", "language": "English"}).model == "large-v3"
    assert options.build({"model": "tiny.en", "language": "English"}).model == "tiny.en"


def test_en_model_only_when_it_can_be_had(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="audiototext")
    # Offline (as the tests run) no package ships base.en: keep base, and say so.
    assert options.build({"model": "base", "language": "English"}).model == "base"
    assert "No offline weights for base.en: using base for English" in caplog.text
    monkeypatch.setenv("AUDIOTOTEXT_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert options.build({"model": "base", "language": "English"}).model == "base.en"
    assert options.build({"model": "small", "language": "en"}).model == "small.en"


def test_api_key_selects_the_api_engine():
    o = options.build({"api_key": "sk-test"})
    assert (o.engine, o.model, o.api_key) == ("openai-api", "whisper-1", "sk-test")
    o = options.build({"api_key": "sk-test", "engine": "faster-whisper", "model": "tiny"})
    assert (o.engine, o.model) == ("faster-whisper", "tiny")
    assert options.build({"api_key": "sk-test", "model": "gpt-4o-transcribe"}).model == "gpt-4o-transcribe"
    assert options.build({"engine": "openai-api", "language": "English"}).model == "whisper-1"  # no .en
    form = options.options_from_form(
        {"api_key": "sk-test", "use_model": "large-v3", "engine": options.default_engine()}
    )
    assert (form.engine, form.model) == ("openai-api", "whisper-1")


def test_deepl_options_up_front():
    o = options.build(
        {"deepl_target": "German", "deepl_formality": "formal", "deepl_coherence": "False", "deepl_api_key": "k:fx"}
    )
    assert (o.deepl.target, o.deepl.formality, o.deepl.coherence, o.deepl.auth_key) == (
        "German",
        "formal",
        "Translate each line independently",
        "k:fx",
    )
    assert options.build({"deepl_target": ""}).deepl is None
    with pytest.raises(OptionsError, match="ambiguous"):
        options.build({"deepl_target": "EN"})
    with pytest.raises(OptionsError, match="Unknown --deepl_formality 'polite'"):
        options.build({"deepl_target": "German", "deepl_formality": "polite"})


def test_long_audio_options_in_one_place():
    o = options.build(
        {
            "parallel": "processes",
            "workers": "2",
            "batch_size": "4",
            "vad": "silencedetect",
            "silence_db": "-35",
            "min_silence": "0.5",
            "pause": "0.6",
            "resume": "False",
        }
    )
    p = o.parallel
    assert (p.mode, p.workers, p.batch_size, p.checkpoints) == ("processes", 2, 4, False)
    assert (p.speech.vad, p.speech.noise_db, p.speech.min_silence, p.speech.pause) == ("silencedetect", -35.0, 0.5, 0.6)
    assert options.build({"vad": "off"}).parallel.speech.vad == "off"
    with pytest.raises(OptionsError, match="--pause"):
        options.build({"pause": "9"})


# --- the original AudioToText command line --------------------------------------------------------


def test_original_audiototext_flags():
    from audiototext.cli import options_from_args

    args = build_parser().parse_args(
        [
            "a.mp3",
            "--prompt",
            "Hola, Pep.",
            "--coherence_preference",
            "False",
            "--output_format",
            "txt,srt",
            "--deepl_api_key",
            "k:fx",
            "--deepl_target_language",
            "Spanish",
            "--deepl_coherence_preference",
            "False",
            "--deepl_formality",
            "informal",
            "--skip-install",
            "--language",
            "French",
            "--task",
            "translate",
        ]
    )
    o = options_from_args(args)
    assert o.decode.initial_prompt == "Hola, Pep." and o.decode.condition_on_previous_text is False
    assert o.formats == ("txt", "srt") and (o.decode.task, o.decode.language) == ("translate", "fr")
    assert (o.deepl.target, o.deepl.auth_key, o.deepl.coherence, o.deepl.formality) == (
        "Spanish",
        "k:fx",
        "Translate each line independently",
        "informal",
    )
    o = options_from_args(
        build_parser().parse_args(
            [
                "a.mp3",
                "--deepl_target_language",
                "Spanish",
                "--deepl_coherence_preference",
                "True",
                "--output_formats",
                "txt,vtt,srt",
                "--skip_install",
            ]
        )
    )
    assert o.deepl.coherence == "Share context between lines" and o.formats == ("txt", "vtt", "srt")


def test_original_api_key_command_selects_the_api_engine():
    from audiototext.cli import options_from_args

    o = options_from_args(
        build_parser().parse_args(["talk.mp3", "--output_formats", "txt,vtt,srt", "--api_key", "sk-0123456789"])
    )
    assert (o.engine, o.model, o.api_key, o.formats) == (
        "openai-api",
        "whisper-1",
        "sk-0123456789",
        ("txt", "vtt", "srt"),
    )


def test_cli_defaults_are_the_original_audiototext_s(monkeypatch, caplog):
    """The original CLI's folder, five formats and ``--deepl_api_key`` alone
    translating to English (British); the model stays base on purpose (the bundled offline weights)."""
    from audiototext.cli import options_from_args

    caplog.set_level(logging.INFO, logger="audiototext")
    monkeypatch.setenv("DEEPL_AUTH_KEY", "k:env")
    o = options_from_args(build_parser().parse_args(["talk.mp3"]))
    assert o.output_dir == Path("audio_transcription") and o.formats == ("txt", "vtt", "srt", "tsv", "json")
    assert o.model == "base" and o.deepl is None, "the environment's key alone translates nothing"
    o = options_from_args(build_parser().parse_args(["talk.mp3", "--deepl_api_key", "k:fx"]))
    assert (o.deepl.target, o.deepl.auth_key) == ("English (British)", "k:fx")
    assert "translating to English (British), as AudioToText did" in caplog.text
    chosen = options_from_args(build_parser().parse_args(["t.mp3", "--deepl_api_key", "k", "--deepl_target", "de"]))
    assert chosen.deepl.target == "de"
    # The other faces keep their own defaults: the notebook's three formats, the service's.
    assert options.options_from_form({"deepl_api_key": "k:fx"}).deepl is None
    assert options.options_from_form({}).formats == ("txt", "vtt", "srt")
    assert options.options_from_query({}).formats == ("txt", "vtt", "srt")


@pytest.mark.parametrize("model", ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"])
def test_api_model_names_pick_the_api_engine(model, caplog):
    """An API model with the default engine is no "unknown model"."""
    caplog.set_level(logging.INFO, logger="audiototext")
    o = options.build({"model": model})
    assert (o.engine, o.model) == ("openai-api", model)
    assert f"{model} is a model of OpenAI's API: using the openai-api engine" in caplog.text
    form = options.options_from_form({"use_model": model, "engine": options.default_engine()})
    assert (form.engine, form.model) == ("openai-api", model)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--model", "whisper-1", "--engine", "faster-whisper"], "whisper-1 runs on OpenAI's API only"),
        (["--engine", "openai-api", "--model", "base"], "Unknown model 'base' for engine openai-api: OpenAI's API"),
        (["--model", "turbo", "--task", "translate"], "turbo was not trained to translate"),
        (["--model", "large-v3-turbo", "--task", "translate"], "large-v3-turbo was not trained to translate"),
    ],
)
def test_model_traps_fail_before_anything_loads(tmp_path, no_model, capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main(["missing.wav", "-o", str(tmp_path / "out"), *argv])
    assert info.value.code == 2 and message in capsys.readouterr().err
    assert not no_model and not (tmp_path / "out").exists()


def test_turbo_translate_is_refused_in_the_notebook_s_words():
    with pytest.raises(OptionsError, match="its 'Translate to English' output is usually not English"):
        options.options_from_form({"use_model": "turbo", "task": "Translate to English"})
    assert options.options_from_form({"use_model": "turbo", "task": "Transcribe"}).model == "turbo"


# --- what the notebook and the service get --------------------------------------------------------


def test_form_fields_and_dropdowns():
    fields = {f.name: f for f in options.form_fields()}
    assert fields["task"].choices == ("Transcribe", "Translate to English") and fields["task"].default == "Transcribe"
    assert fields["use_model"].default == "large-v3" and "turbo" in fields["use_model"].choices
    assert fields["use_model"].free and not fields["task"].free
    assert (
        fields["coherence_preference"].default == "Less repetitions, but may have less coherence"
    )  # the windows, unless asked
    assert fields["language"].default == "Auto-Detect" and fields["language"].choices[0] == "Auto-Detect"
    assert fields["max_words_per_line"].default == 0 and fields["max_words_per_line"].minimum == 1
    assert fields["deepl_target_language"].choices[0] == "" and "German" in fields["deepl_target_language"].choices
    assert fields["output_dir"].default == "audio_transcription"
    assert "quiet" not in fields and "deepl_server_url" not in fields
    assert options.dropdown("deepl_coherence_preference") == (
        "Share context between lines",
        "Translate each line independently",
    )
    o = options.options_from_form({f.name: f.default for f in options.form_fields()})
    assert (o.model, o.decode.task, o.decode.language, o.decode.condition_on_previous_text) == (
        "large-v3",
        "transcribe",
        None,
        False,
    )
    assert o.parallel.mode == "auto", "the notebook's default: windows decoded independently"
    asked = options.options_from_form({"coherence_preference": "More coherence, but may repeat text"})
    assert asked.decode.condition_on_previous_text and asked.parallel.mode == "off", "coherence: sequential"
    assert options.build({"condition_on_previous_text": "True"}).parallel.mode == "off"
    assert options.build({"condition_on_previous_text": "True", "parallel": "batched"}).parallel.mode == "batched"
    assert options.build({}).parallel.mode == "auto" and options.build({}).decode.condition_on_previous_text
    assert o.deepl is None and o.output_dir == Path("audio_transcription") and o.style == SubtitleStyle()
    deepl = options.deepl_from_form(
        {
            "deepl_target_language": "German",
            "deepl_api_key": "",
            "deepl_formality": "informal",
            "deepl_coherence_preference": "Translate each line independently",
        }
    )
    assert (deepl.target, deepl.auth_key, deepl.formality, deepl.coherence) == (
        "German",
        None,
        "informal",
        "Translate each line independently",
    )
    assert options.deepl_from_form({"deepl_target_language": ""}) is None
    with pytest.raises(OptionsError, match="Unknown deepl_formality 'polite'"):
        options.deepl_from_form({"deepl_target_language": "German", "deepl_formality": "polite"})


def test_query_parameters():
    rows = {p.name: p for p in options.query_parameters()}
    assert (rows["temperature"].ge, rows["temperature"].le, rows["temperature"].default) == (0.0, 1.0, 0.0)
    assert rows["patience"].gt == 0.0 and rows["patience"].ge is None and rows["patience"].nullable
    assert rows["task"].choices == ("transcribe", "translate") and rows["word_timestamps"].type is bool
    assert "deepl_coherence" in rows and "deepl_api_key" not in rows and "output_dir" not in rows
    o = options.options_from_query(
        {
            "task": "translate",
            "beam_size": 1,
            "deepl_target": "de",
            "deepl_coherence": "Translate each line independently",
        }
    )
    assert (o.decode.task, o.decode.beam_size, o.deepl.coherence) == (
        "translate",
        1,
        "Translate each line independently",
    )


def test_coherence_asked_where_it_cannot_apply_is_said_and_help_shows_what_the_default_does(caplog, capsys):
    from audiototext.cli import main
    from audiototext.notebook.steps import _header

    with caplog.at_level("WARNING", logger="audiototext"):
        options.build({"condition_on_previous_text": "True", "parallel": "batched"})
    assert "--condition_on_previous_text True has no effect with --parallel batched" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiototext"):  # the notebook's field says it as its label
        more = "More coherence, but may repeat text"
        options.options_from_form({"coherence_preference": more, "parallel": "batched"})
    said = "coherence_preference 'More coherence, but may repeat text' has no effect with parallel batched"
    assert said in caplog.text and " True " not in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiototext"):
        options.build({"condition_on_previous_text": "True"})
        options.build({"condition_on_previous_text": "True", "parallel": "off"})
    assert "no effect" not in caplog.text
    default = options.options_from_form({})
    asked = options.options_from_form({"coherence_preference": "More coherence, but may repeat text"})
    assert "windows of speech decoded independently, without the text before them" in _header(default)
    assert "sequential decoding, each 30 s window prompted with the text before it" in _header(asked)
    assert "parallel off only" not in _header(default)
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "(default: True, used by --parallel off only: by default windows are decoded alone)" in help_text

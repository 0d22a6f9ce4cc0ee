"""Every user-facing option, defined once; the CLI, the notebook and the HTTP service map to it.

An :class:`Option` holds an option's name (the CLI flag ``--name`` / ``--name-with-dashes``, the
service's query parameter and, unless ``form_name`` says otherwise, the notebook's field), its
type, default, allowed values or range, help and the faces that expose it. :func:`build` turns a
mapping of values (typed, or strings from a command line, form or query) into the pipeline's
:class:`~audiototext.options.Options`; it validates every value and applies the rules between
options before any model is loaded (a mistake costs no download and no minutes of loading),
so ``temperature=5`` fails at once with the option's name and range.

The rules between options live in :mod:`.rules` and nowhere else:

1. With the ``whisper`` subtitle style, ``highlight_words``, ``max_line_width``,
   ``max_line_count`` and ``max_words_per_line`` need word timestamps: they turn
   ``word_timestamps`` on (logged), unless it was explicitly set to False, which is an error.
   The ``netflix`` style (the default) times srt and vtt cues by their words, so it turns word
   timestamps on when srt or vtt is written (unless set to False: then each segment's text is
   spread over its time); its own options (``max_cps``, ``min_cue_duration``...) are refused
   with the ``whisper`` style.
2. ``engine`` defaults to faster-whisper when it is installed (:func:`default_engine`).
3. English with tiny/base/small/medium uses the English-only ``.en`` model, as the original
   AudioToText did (it is more accurate for English); never to translate. A ``.en`` model chosen for another
   language or to translate is refused, naming the multilingual model.
4. An ``api_key``, or an API model name (``whisper-1``, ``gpt-4o-transcribe``...), without an
   explicit engine selects the OpenAI API engine (only it takes them); an API
   model with a local engine, or a Whisper model with the API engine, is an error. The engines
   say which models they take and which option holds their key
   (:class:`~audiototext.engines.EngineFacts`); no engine is named here.
5. A DeepL target is checked at once (:func:`audiototext.translation.resolve_target`).
6. ``turbo`` (large-v3-turbo) was not trained to translate: translating with it is refused
   before it loads.
7. On the command line, ``--deepl_api_key`` alone translates to English (British), as the
   original AudioToText did.
8. A decoding or long-audio option the chosen engine does not use (``--vad`` or ``--beam_size``
   with OpenAI's API, which decodes and finds speech itself) is said once, as a warning naming
   it, and the run goes on: the engine declares what it honours
   (:attr:`~audiototext.engines.EngineFacts.honours`).

The package's modules: :mod:`.spec` (what an option is), :mod:`.registry` (every option, once; a
row names the record field it sets, whose default, choices and range the record declares:
:mod:`audiototext.records`), :mod:`.record` (the pipeline's :class:`Options`), :mod:`.rules`,
:mod:`.build` (values -> Options), and one view per face: the CLI builds its parser from
:data:`OPTIONS` (``cli.build_parser``); the notebook uses :mod:`.form` (:func:`form_fields`,
:func:`dropdown`, :func:`options_from_form`); the service uses :mod:`.query`
(:func:`query_parameters`, :func:`options_from_query`); :mod:`.docs` writes the README's tables.
No heavy imports here.
"""

from __future__ import annotations

from ..engines import default_engine
from .build import build, deepl_options, fields_of, long_audio_options, resolve, to_options
from .docs import markdown_table
from .form import FormField, deepl_from_form, dropdown, form_fields, form_values, options_from_form
from .query import QueryParameter, options_from_query, query_parameters
from .record import Options
from .registry import OPTIONS, REGISTRY, for_face, option
from .spec import FACES, GROUPS, LINE_OPTIONS, Option

__all__ = [
    "Options",
    "FACES",
    "GROUPS",
    "LINE_OPTIONS",
    "Option",
    "OPTIONS",
    "REGISTRY",
    "default_engine",
    "option",
    "for_face",
    "resolve",
    "build",
    "to_options",
    "fields_of",
    "deepl_options",
    "long_audio_options",
    "FormField",
    "form_fields",
    "form_values",
    "dropdown",
    "options_from_form",
    "deepl_from_form",
    "QueryParameter",
    "query_parameters",
    "options_from_query",
    "markdown_table",
]

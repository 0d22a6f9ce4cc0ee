"""DeepL translation of a transcript: targets, windows, XML tags, validation, fallback, usage.

Every translated line keeps exactly its source line's start and end: the subtitles are timed
by Whisper, DeepL only replaces the words. Two modes (AudioToText's "coherence" option):

* "Share context between lines" sends windows of about 1,500 characters, each line wrapped in a
  numbered ``<l i="N">`` element, so that a sentence spread over several cues is translated as one
  sentence, and maps the answer back by number. A window whose answer does not map back cleanly
  is translated again sentence by sentence and each sentence is split over its lines in proportion
  to their lengths. The number of such windows is logged and returned.
* "Translate each line independently" sends one text per line.

Modules: :mod:`.targets` (languages and option values), :mod:`.options` (:class:`DeepLOptions`,
the glossary file), :mod:`.windows` (the pure algorithms), :mod:`.client` (everything that talks
to DeepL). ``deepl`` is imported inside the functions that talk to DeepL, so the package imports
without it.
"""

from __future__ import annotations

from .client import TranslationResult, Usage, check_access, translate_transcript
from .connection import available_targets, deepl_key, deepl_server_url
from .options import DeepLOptions, read_glossary
from .targets import (
    CHARACTER_SPLIT_LANGUAGES,
    COHERENCE_MODES,
    COHERENCE_SHORT,
    DEEPL_TARGETS,
    FORMALITIES,
    SOURCE_NAMES,
    TARGET_ALIASES,
    TARGET_NAMES,
    DeepLTarget,
    known_targets,
    resolve_target,
    source_language,
    translated_suffix,
)
from .windows import MAX_REQUEST_BYTES, MAX_TEXTS_PER_REQUEST, WINDOW_CHARS, split_proportionally

__all__ = [
    "deepl_key",
    "deepl_server_url",
    "check_access",
    "CHARACTER_SPLIT_LANGUAGES",
    "COHERENCE_MODES",
    "COHERENCE_SHORT",
    "DEEPL_TARGETS",
    "FORMALITIES",
    "MAX_REQUEST_BYTES",
    "MAX_TEXTS_PER_REQUEST",
    "SOURCE_NAMES",
    "TARGET_ALIASES",
    "TARGET_NAMES",
    "WINDOW_CHARS",
    "DeepLOptions",
    "DeepLTarget",
    "TranslationResult",
    "Usage",
    "available_targets",
    "known_targets",
    "read_glossary",
    "resolve_target",
    "source_language",
    "split_proportionally",
    "translate_transcript",
    "translated_suffix",
]

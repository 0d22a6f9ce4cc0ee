"""Translating with DeepL through the ``deepl`` package: usage, glossaries, the request loops of
both coherence modes (the connection and the live list of targets are :mod:`.connection`'s).

``deepl`` is imported inside the functions that talk to DeepL, so the module imports without it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import OptionsError, TranslationError
from ..logs import counted
from ..transcript import Segment, Transcript
from . import windows as W
from .connection import OddAnswer, _import_deepl, _translator
from .options import DeepLOptions, read_glossary
from .targets import (
    CHARACTER_SPLIT_LANGUAGES,
    COHERENCE_MODES,
    SOURCE_NAMES,
    DeepLTarget,
    coherence_mode,
    formality_param,
    resolve_target,
    source_language,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Usage:
    """Characters translated in this billing period, and the limit."""

    count: int
    limit: int

    @property
    def reached(self) -> bool:
        return self.limit > 0 and self.count >= self.limit

    def __str__(self) -> str:
        share = 100.0 * self.count / self.limit if self.limit else 0.0
        return f"{self.count} / {self.limit} ({share:.2f}%)"


@dataclass(frozen=True)
class TranslationResult:
    """What :func:`translate_transcript` returns.

    Attributes:
        transcript: the translated transcript (same segments, same times), or ``None`` if skipped.
        source: DeepL source code ("ES"), or "auto" when DeepL detected it.
        target: the resolved target language.
        usage: character usage after translating, when DeepL reports it.
        fallback_windows: windows translated sentence by sentence because the tagged answer
            did not map back to the lines.
        skipped: ``True`` when the transcript is already in the target language.
    """

    transcript: Transcript | None
    source: str
    target: DeepLTarget
    usage: Usage | None
    fallback_windows: int = 0
    skipped: bool = False


def translate_transcript(
    transcript: Transcript, options: DeepLOptions, *, on_line: Callable[[Segment], None] | None = None
) -> TranslationResult:
    """Translate every line of a transcript with DeepL, keeping each line's start and end.

    Options are checked before any request is sent. Logs
    ``DeepL: Translate results from Spanish [ES] to English (British) [EN-GB]`` first and
    ``DeepL: Character usage: 16558 / 500000 (3.31%)`` at the end.

    Args:
        transcript: the Whisper transcript; its ``text_language`` is the source.
        options: target, key, formality, coherence mode, glossary, server.
        on_line: called with each translated segment, in order, as soon as it is known.

    Returns:
        A :class:`TranslationResult`; ``skipped`` is set (and nothing is sent) when the text is
        already in the target language.

    Raises:
        OptionsError: unknown target/formality/coherence, unreadable glossary file.
        TranslationError: with ``kind`` "config" (no key, refused request), "auth",
            "quota" (also when the quota is already used up before starting), "rate",
            "unavailable" or "network".
    """
    target = resolve_target(options.target)
    formality = formality_param(options.formality)
    coherence = coherence_mode(options.coherence)
    source = source_language(transcript)
    source_label = f"{SOURCE_NAMES[source]} [{source}]" if source else "auto-detected language"
    if source == target.base:
        log.info("DeepL: Nothing to translate: the transcript is already in %s", source_label)
        return TranslationResult(None, source, target, None, skipped=True)
    entries = _glossary_entries(options, source, transcript.text_language)
    auth_key = options.resolved_auth_key
    server_url = options.resolved_server_url
    with _translator(auth_key, server_url) as translator:
        _refuse_if_quota_reached(translator)
        log.info("DeepL: Translate results from %s to %s [%s]", source_label, target.name, target.code)
        params: dict = {"source_lang": source, "target_lang": target.code}
        if formality:
            params["formality"] = formality
        if entries:
            params["glossary"] = _ensure_glossary(translator, entries, source, target.base)
        translated, fallbacks = _translate_lines(
            translator,
            transcript.segments,
            params,
            coherence=coherence,
            by_char=target.base in CHARACTER_SPLIT_LANGUAGES,
            on_line=on_line,
        )
        usage = _usage(translator)
    if usage is not None:
        log.info("DeepL: Character usage: %s", usage)
    segments = [_translated_segment(s, t) for s, t in zip(transcript.segments, translated)]
    # task "transcribe": the text is in the target language now, and text_language must say so
    result = dataclasses.replace(transcript, segments=tuple(segments), language=target.base.lower(), task="transcribe")
    return TranslationResult(result, source or "auto", target, usage, fallback_windows=fallbacks)


def _glossary_entries(options: DeepLOptions, source: str | None, language: str | None) -> dict[str, str] | None:
    if not options.glossary:
        return None
    entries = read_glossary(options.glossary)
    if source is None:
        raise OptionsError(
            f"A DeepL glossary needs a known source language, and {language!r} "
            "is not one DeepL translates from: remove --deepl-glossary",
            option="deepl_glossary",
        )
    return entries


def _translate_lines(
    translator, segments: Sequence[Segment], params: dict, *, coherence: str, by_char: bool, on_line
) -> tuple[list[str], int]:
    """The translated text of every segment, and how many windows fell back."""
    lines = [s.text for s in segments]
    emit = _emitter(segments, on_line)
    if coherence == COHERENCE_MODES[1]:
        return _translate_each_line(translator, lines, params, emit=emit), 0
    translated, fallbacks, windows = _translate_with_context(translator, lines, params, by_char=by_char, emit=emit)
    if fallbacks:
        log.warning(
            "DeepL: %d of %s lost %s line tags and %s translated sentence by sentence, split over %s lines by length",
            fallbacks,
            counted(windows, "window"),
            *(("its", "was", "its") if fallbacks == 1 else ("their", "were", "their")),
        )
    return translated, fallbacks


def _refuse_if_quota_reached(translator) -> None:
    usage = _usage(translator)
    if usage is not None and usage.reached:
        raise TranslationError(
            f"DeepL character quota is used up ({usage}): wait for the next billing period "
            "or use another key; nothing was translated",
            kind="quota",
        )


def _usage(translator) -> Usage | None:
    detail = translator.get_usage().character
    return Usage(detail.count, detail.limit) if detail.valid else None


def _ensure_glossary(translator, entries: dict[str, str], source: str, target_base: str):
    """Reuse this glossary for this language pair if DeepL has it already, else create it."""
    deepl = _import_deepl()

    digest = hashlib.sha256(deepl.convert_dict_to_tsv(entries).encode("utf-8")).hexdigest()[:12]
    name = f"audiototext {source}-{target_base} {digest}"
    for glossary in translator.list_glossaries():
        if (glossary.name, glossary.source_lang, glossary.target_lang) == (name, source, target_base):
            log.info("DeepL: Using glossary %r (%s)", name, counted(glossary.entry_count, "entry", "entries"))
            return glossary
    glossary = translator.create_glossary(name, source, target_base, entries)
    log.info("DeepL: Created glossary %r (%s)", name, counted(glossary.entry_count, "entry", "entries"))
    return glossary


def _translate_texts(translator, texts: Sequence[str], params: dict, **extra) -> list[str]:
    """Translate many plain texts, in as many requests as DeepL's limits need."""
    out: list[str] = []
    fixed = W.json_bytes(extra.get("context", ""))
    for batch in W.request_batches(texts, fixed_bytes=fixed):
        sent = [texts[i] for i in batch]
        out.extend(answered(sent, translator.translate_text(sent, **params, **extra)))
    return out


def answered(sent: Sequence[str], results, *, empty: bool = False) -> list[str]:
    """The texts of DeepL's ``results`` for the texts ``sent``, each checked: one per text, and
    (unless ``empty``) none empty for a text that is not (the ``deepl`` package reads an answer
    without its ``text`` field as "", which became an empty translation, written without a word
    said). A tagged window allows ``empty``: an answer that lost its tags goes to the sentence
    fallback, whose plain texts are checked.

    Raises:
        OddAnswer: what the answer lacks (turned into a TranslationError naming the server).
    """
    results = list(results) if isinstance(results, (list, tuple)) else [results]
    if len(results) != len(sent):
        raise OddAnswer(f"{len(results)} translations for the {len(sent)} texts sent")
    for text, result in zip(sent, results):
        if not empty and text.strip() and not (getattr(result, "text", None) or "").strip():
            raise OddAnswer(f"no text for {_excerpt(text)} (its `text` field is missing or empty)")
    return [result.text for result in results]


def _excerpt(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


# --- the two coherence modes --------------------------------------------------------------------


def _translate_each_line(translator, lines: Sequence[str], params: dict, *, emit) -> list[str]:
    wanted = [i for i, text in enumerate(lines) if text.strip()]
    translated = [""] * len(lines)
    for batch in W.request_batches([lines[i].strip() for i in wanted]):
        idx = [wanted[b] for b in batch]
        sent = [lines[i].strip() for i in idx]
        for i, text in zip(idx, answered(sent, translator.translate_text(sent, **params))):
            translated[i] = W.drop_added_period(lines[i], text)
        emit(translated, idx[-1] + 1)
    emit(translated, len(lines))
    return translated


def _translate_with_context(
    translator, lines: Sequence[str], params: dict, *, by_char: bool, emit
) -> tuple[list[str], int, int]:
    """Windows of tagged lines, each with the end of the previous one as ``context``; returns the
    lines, the number of windows that fell back to sentences, and the number of windows."""
    translated = [""] * len(lines)
    windows = W.sentence_windows(lines)
    fallbacks = 0
    context = ""
    for window in windows:
        texts = [lines[i] for i in window]
        tagged = W.to_xml(texts)
        results = translator.translate_text(
            tagged,
            **params,
            tag_handling="xml",
            outline_detection=False,
            non_splitting_tags=[W.LINE_TAG],
            context=context or None,
        )
        (answer,) = answered([tagged], results, empty=True)
        mapped = W.from_xml(answer, texts)
        if mapped is None:
            fallbacks += 1
            log.info("DeepL: window of %s lost its line tags: translating its sentences", counted(len(window), "line"))
            mapped = _translate_sentences(translator, texts, params, by_char=by_char)
        else:
            mapped = W.fill_empty(texts, mapped, by_char=by_char)
        for i, text in zip(window, mapped):
            translated[i] = text
        emit(translated, window[-1] + 1)
        context = W.context_tail(" ".join(t.strip() for t in texts))
    emit(translated, len(lines))
    return translated, fallbacks, len(windows)


def _translate_sentences(translator, texts: Sequence[str], params: dict, *, by_char: bool) -> list[str]:
    """Fallback for one window: translate runs of lines that end a sentence as plain texts
    (with the whole window as context) and split each over its lines by source length."""
    groups = W.sentence_windows(texts, soft=1, hard=W.FALLBACK_SENTENCE_CHARS)
    joined = [" ".join(texts[i].strip() for i in g) for g in groups]
    results = _translate_texts(translator, joined, params, context=" ".join(joined))
    return W.spread_over_lines(texts, groups, results, by_char=by_char)


# --- results ------------------------------------------------------------------------------------


def _emitter(segments: Sequence[Segment], on_line: Callable[[Segment], None] | None):
    """A function that hands each newly finished line, in order, to ``on_line``."""
    state = {"next": 0}

    def emit(translated: Sequence[str], upto: int) -> None:
        if on_line is None:
            return
        for i in range(state["next"], upto):
            on_line(_translated_segment(segments[i], translated[i]))
        state["next"] = max(state["next"], upto)

    return emit


def _translated_segment(segment: Segment, text: str) -> Segment:
    # keep Whisper's leading space: writers strip it, the "text" property joins on it
    lead = segment.text[: len(segment.text) - len(segment.text.lstrip())]
    return Segment(segment.start, segment.end, lead + text.strip() if text.strip() else "")


def check_access(options) -> None:
    """One usage request: the key is accepted and this billing period has quota left (a preflight).

    Raises:
        TranslationError: no key, a rejected key, quota used up, no network ("kind" says which).
    """
    with _translator(options.resolved_auth_key, options.resolved_server_url) as translator:
        _refuse_if_quota_reached(translator)

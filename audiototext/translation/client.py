"""Talking to DeepL through the ``deepl`` package: translator, errors, usage, glossaries, the
request loops of both coherence modes, and the live list of target languages.

``deepl`` is imported inside the functions that talk to DeepL, so the module imports without it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import OptionsError, TranslationError
from ..transcript import Segment, Transcript
from . import windows as W
from .options import DeepLOptions, deepl_key, deepl_server_url, read_glossary
from .targets import (
    CHARACTER_SPLIT_LANGUAGES,
    COHERENCE_MODES,
    SOURCE_NAMES,
    DeepLTarget,
    coherence_mode,
    formality_param,
    known_targets,
    register_targets,
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


def available_targets(auth_key: str | None = None, *, server_url: str | None = None) -> tuple[str, ...]:
    """Display names of the languages DeepL translates into now, for a dropdown: DeepL adds
    languages, and a list written into the package would hide them.

    Asks DeepL (``/v2/languages?type=target``) and merges its answer into the built-in list:
    known codes keep their built-in names, so names typed before still resolve; a code DeepL added
    appears with DeepL's name and from then on :func:`resolve_target` finds it (by name or code)
    in this process. Never raises: without a key, without the ``deepl`` package, or when DeepL
    cannot be reached or refuses, it logs why at INFO and returns the built-in (and previously
    read) names.

    Args:
        auth_key: DeepL API key; ``None`` reads the environment variable ``DEEPL_AUTH_KEY``.
        server_url: another DeepL-compatible server; ``None`` reads ``DEEPL_SERVER_URL``.

    Returns:
        The names, sorted.
    """
    key = deepl_key(auth_key)
    server_url = deepl_server_url(server_url)
    if not key:
        log.debug("DeepL: No API key: showing the built-in list of target languages")
    else:
        try:
            with _translator(key, server_url) as translator:
                reported = translator.get_target_languages()
            added = register_targets(
                DeepLTarget(str(lang.code), str(lang.name), bool(lang.supports_formality)) for lang in reported
            )
            if added:
                log.debug("DeepL: New target languages: %s", ", ".join(f"{t.name} [{t.code}]" for t in added))
        except Exception as e:  # never raise: the built-in list is a complete answer; log why
            log.info("DeepL: Cannot read the target languages (%s): showing the built-in list", e)
    return tuple(t.name for t in known_targets())


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
            "DeepL: %d of %d windows lost their line tags and were translated sentence "
            "by sentence, split over their lines by length",
            fallbacks,
            windows,
        )
    return translated, fallbacks


# --- the deepl package --------------------------------------------------------------------------


@contextmanager
def _translator(auth_key: str, server_url: str | None):
    """A ``deepl.Translator``, closed at the end; its errors become :class:`TranslationError`."""
    deepl = _import_deepl()
    with _deepl_errors(server_url, auth_key):
        translator = deepl.Translator(auth_key, server_url=server_url)
        try:
            yield translator
        finally:
            translator.close()


@contextmanager
def _deepl_errors(server_url: str | None, auth_key: str) -> Iterator[None]:
    """Turn the ``deepl`` package's exceptions into one :class:`TranslationError` each."""
    import deepl

    try:
        yield
    except deepl.AuthorizationException as e:
        raise TranslationError(
            "DeepL rejected the key: check deepl_api_key / DEEPL_AUTH_KEY", kind="auth", status=403
        ) from e
    except deepl.QuotaExceededException as e:
        raise TranslationError(
            "DeepL character quota exceeded for this billing period: wait for the next period, "
            "raise the limit in your DeepL account, or use another key",
            kind="quota",
            status=456,
        ) from e
    except deepl.TooManyRequestsException as e:
        raise TranslationError(
            "DeepL answered 'too many requests' even after retrying: wait a few minutes and run again",
            kind="rate",
            status=429,
        ) from e
    except deepl.ConnectionException as e:
        where = server_url or ("api-free.deepl.com" if auth_key.endswith(":fx") else "api.deepl.com")
        raise TranslationError(
            f"Cannot reach DeepL at {where} ({e}): check the network connection"
            + (" and DEEPL_SERVER_URL / --deepl-server-url" if server_url else ""),
            kind="network",
        ) from e
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        failed_in = traceback.extract_tb(e.__traceback__)[-1]
        if f"{os.sep}deepl{os.sep}" not in failed_in.filename:
            raise  # not the deepl package's: a fault of ours, shown as it is
        where = server_url or ("api-free.deepl.com" if auth_key.endswith(":fx") else "api.deepl.com")
        raise TranslationError(
            f"The DeepL server at {where} answered something the deepl package cannot read: it failed at "
            f"`{(failed_in.line or '').strip()}` ({type(e).__name__}: {e}). Is {where} DeepL's API or a compatible "
            "server? Check DEEPL_SERVER_URL / --deepl-server-url",
            kind="config",
        ) from e
    except deepl.DeepLException as e:
        status = getattr(e, "http_status_code", None)
        if status is not None and 400 <= status < 500:
            raise TranslationError(
                f"DeepL refused the request ({e}): check the target language and the glossary",
                kind="config",
                status=status,
            ) from e
        raise TranslationError(
            f"DeepL service unavailable ({e}): try again later", kind="unavailable", status=status
        ) from e


def _import_deepl():
    try:
        import deepl
    except ImportError as e:
        raise TranslationError(
            "DeepL translation needs the deepl package: pip install 'audiototext[deepl]'", kind="config"
        ) from e
    return deepl


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
            log.info("DeepL: Using glossary %r (%d entries)", name, glossary.entry_count)
            return glossary
    glossary = translator.create_glossary(name, source, target_base, entries)
    log.info("DeepL: Created glossary %r (%d entries)", name, glossary.entry_count)
    return glossary


def _translate_texts(translator, texts: Sequence[str], params: dict, **extra) -> list[str]:
    """Translate many plain texts, in as many requests as DeepL's limits need."""
    out: list[str] = []
    fixed = W.json_bytes(extra.get("context", ""))
    for batch in W.request_batches(texts, fixed_bytes=fixed):
        results = translator.translate_text([texts[i] for i in batch], **params, **extra)
        out.extend(r.text for r in results)
    return out


# --- the two coherence modes --------------------------------------------------------------------


def _translate_each_line(translator, lines: Sequence[str], params: dict, *, emit) -> list[str]:
    wanted = [i for i, text in enumerate(lines) if text.strip()]
    translated = [""] * len(lines)
    for batch in W.request_batches([lines[i].strip() for i in wanted]):
        idx = [wanted[b] for b in batch]
        results = translator.translate_text([lines[i].strip() for i in idx], **params)
        for i, r in zip(idx, results):
            translated[i] = W.drop_added_period(lines[i], r.text)
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
        answer = translator.translate_text(
            W.to_xml(texts),
            **params,
            tag_handling="xml",
            outline_detection=False,
            non_splitting_tags=[W.LINE_TAG],
            context=context or None,
        ).text
        mapped = W.from_xml(answer, texts)
        if mapped is None:
            fallbacks += 1
            log.info("DeepL: window of %d lines lost its line tags: translating its sentences", len(window))
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

"""DeepL translation of a transcript: targets, windows, XML tags, validation, fallback, usage.

Every translated line keeps exactly its source line's start and end: the subtitles are timed
by Whisper, DeepL only replaces the words. Two modes (AudioToText's "coherence" option):

* "Share context between lines" sends windows of about 1,500 characters, each line wrapped in a
  numbered ``<l i="N">`` element, so that a sentence spread over several cues is translated as one
  sentence, and maps the answer back by number. A window whose answer does not map back cleanly
  is translated again sentence by sentence and each sentence is split over its lines in proportion
  to their lengths. The number of such windows is logged and returned.
* "Translate each line independently" sends one text per line.

``deepl`` is imported inside the functions that talk to DeepL, so the module imports without it.
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import hashlib
import itertools
import json
import logging
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from .errors import OptionsError, TranslationError
from .transcript import Segment, Transcript

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeepLTarget:
    """One language DeepL translates into.

    Attributes:
        code: DeepL target code, upper case ("EN-GB", "ZH-HANS", "DE").
        name: display name, AudioToText's spelling ("English (British)"); also the file suffix.
        supports_formality: whether DeepL accepts ``formality`` for it.
    """

    code: str
    name: str
    supports_formality: bool

    @property
    def base(self) -> str:
        """The code without regional variant ("EN" for "EN-GB"), as glossaries and sources use."""
        return self.code.split("-")[0]


#: Every DeepL target language, sorted by display name: the one list CLI help and the notebook
#: dropdown show. Names follow DeepL's ``/v2/languages?type=target`` answer (as AudioToText shows
#: them). DeepL's beta languages (marked "*" in its docs, e.g. Catalan) are left out.
DEEPL_TARGETS: tuple[DeepLTarget, ...] = tuple(
    sorted(
        (
            DeepLTarget("AR", "Arabic", False),
            DeepLTarget("BG", "Bulgarian", False),
            DeepLTarget("ZH-HANS", "Chinese (simplified)", False),
            DeepLTarget("ZH-HANT", "Chinese (traditional)", False),
            DeepLTarget("CS", "Czech", False),
            DeepLTarget("DA", "Danish", False),
            DeepLTarget("NL", "Dutch", True),
            DeepLTarget("EN-US", "English (American)", False),
            DeepLTarget("EN-GB", "English (British)", False),
            DeepLTarget("ET", "Estonian", False),
            DeepLTarget("FI", "Finnish", False),
            DeepLTarget("FR", "French", True),
            DeepLTarget("DE", "German", True),
            DeepLTarget("EL", "Greek", False),
            DeepLTarget("HE", "Hebrew", False),
            DeepLTarget("HU", "Hungarian", False),
            DeepLTarget("ID", "Indonesian", False),
            DeepLTarget("IT", "Italian", True),
            DeepLTarget("JA", "Japanese", True),
            DeepLTarget("KO", "Korean", False),
            DeepLTarget("LV", "Latvian", False),
            DeepLTarget("LT", "Lithuanian", False),
            DeepLTarget("NB", "Norwegian", False),
            DeepLTarget("PL", "Polish", True),
            DeepLTarget("PT-BR", "Portuguese (Brazilian)", True),
            DeepLTarget("PT-PT", "Portuguese (European)", True),
            DeepLTarget("RO", "Romanian", False),
            DeepLTarget("RU", "Russian", True),
            DeepLTarget("SK", "Slovak", False),
            DeepLTarget("SL", "Slovenian", False),
            DeepLTarget("ES", "Spanish", True),
            DeepLTarget("ES-419", "Spanish (Latin American)", True),
            DeepLTarget("SV", "Swedish", False),
            DeepLTarget("TH", "Thai", False),
            DeepLTarget("TR", "Turkish", False),
            DeepLTarget("UK", "Ukrainian", False),
            DeepLTarget("VI", "Vietnamese", False),
        ),
        key=lambda t: t.name,
    )
)

#: Display names of :data:`DEEPL_TARGETS`, for dropdowns and ``--help``.
TARGET_NAMES: tuple[str, ...] = tuple(t.name for t in DEEPL_TARGETS)

#: Names (lower case) that stand for one variant, as AudioToText's dropdown had them.
TARGET_ALIASES: dict[str, str] = {
    "english": "English (British)",
    "portuguese": "Portuguese (European)",
    "chinese": "Chinese (simplified)",
    "zh": "Chinese (simplified)",  # DeepL still accepts ZH as simplified Chinese
}

#: Bare codes DeepL refuses as targets, with the variants to choose from.
_AMBIGUOUS = {"EN": ("EN-GB", "EN-US"), "PT": ("PT-PT", "PT-BR")}

COHERENCE_MODES: tuple[str, ...] = ("Share context between lines", "Translate each line independently")
FORMALITIES: tuple[str, ...] = ("default", "formal", "informal")

# "prefer_*" falls back to the default on targets without formality instead of failing
# (AudioToText issue: English targets answered 400 to formality="more").
_FORMALITY_PARAM = {"default": None, "formal": "prefer_more", "informal": "prefer_less"}
_COHERENCE_SHORT = {"context": COHERENCE_MODES[0], "lines": COHERENCE_MODES[1]}

#: DeepL source languages (non-beta) by code, to name the source in the log.
SOURCE_NAMES: dict[str, str] = {
    "AR": "Arabic", "BG": "Bulgarian", "CS": "Czech", "DA": "Danish", "DE": "German",
    "EL": "Greek", "EN": "English", "ES": "Spanish", "ET": "Estonian", "FI": "Finnish",
    "FR": "French", "HE": "Hebrew", "HU": "Hungarian", "ID": "Indonesian", "IT": "Italian",
    "JA": "Japanese", "KO": "Korean", "LT": "Lithuanian", "LV": "Latvian", "NB": "Norwegian",
    "NL": "Dutch", "PL": "Polish", "PT": "Portuguese", "RO": "Romanian", "RU": "Russian",
    "SK": "Slovak", "SL": "Slovenian", "SV": "Swedish", "TH": "Thai", "TR": "Turkish",
    "UK": "Ukrainian", "VI": "Vietnamese", "ZH": "Chinese",
}
#: Whisper language codes that DeepL spells differently.
_WHISPER_TO_DEEPL = {"no": "NB", "nn": "NB", "iw": "HE"}

#: Targets split by character, not by word, when a sentence is spread over lines.
CHARACTER_SPLIT_LANGUAGES = frozenset({"ZH", "JA", "KO", "TH"})

WINDOW_CHARS = 1500  # a window ends at the first sentence end after this many characters
MAX_TEXTS_PER_REQUEST = 50  # DeepL: at most 50 texts per /translate request
MAX_REQUEST_BYTES = 128 * 1024  # DeepL: the request body must not exceed 128 KiB
_REQUEST_OVERHEAD = 4 * 1024  # room for target_lang, glossary_id, tag lists... in the body
_CONTEXT_CHARS = 1000  # how much of the previous window goes into ``context``
_LINE_TAG = "l"

_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # DeepL would refuse the XML
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'»”’)\]」』]*\s*$")


@dataclass(frozen=True)
class DeepLOptions:
    """How to translate with DeepL.

    Attributes:
        target: display name or code of a target language (see :func:`resolve_target`).
        auth_key: DeepL API key; ``None`` reads the environment variable ``DEEPL_AUTH_KEY``.
        formality: one of :data:`FORMALITIES`.
        coherence: one of :data:`COHERENCE_MODES` (or the short forms "context", "lines").
        glossary: CSV file with one ``source,target`` pair per row, or ``None``.
        server_url: another DeepL-compatible server; ``None`` reads ``DEEPL_SERVER_URL``, and
            without it the ``deepl`` package picks the free or pro endpoint from the key.

    Raises:
        OptionsError: for an unknown target, formality or coherence mode.
    """

    target: str
    auth_key: str | None = None
    formality: str = "default"
    coherence: str = COHERENCE_MODES[0]
    glossary: Path | None = None
    server_url: str | None = None

    def __post_init__(self) -> None:
        resolve_target(self.target)
        _formality_param(self.formality)
        _coherence_mode(self.coherence)

    @property
    def resolved_auth_key(self) -> str:
        """The key to use; raises :class:`TranslationError` (kind "config") when there is none."""
        key = self.auth_key or os.environ.get("DEEPL_AUTH_KEY", "")
        if not key.strip():
            raise TranslationError(
                "No DeepL API key: pass --deepl-api-key, set deepl_api_key in the notebook, "
                "or set the environment variable DEEPL_AUTH_KEY",
                kind="config",
            )
        return key.strip()

    @property
    def resolved_server_url(self) -> str | None:
        """The server to talk to, or ``None`` for DeepL's own."""
        return self.server_url or os.environ.get("DEEPL_SERVER_URL") or None


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


def resolve_target(value: str | DeepLTarget) -> DeepLTarget:
    """Find a target language by display name, code or alias, ignoring case.

    Args:
        value: "English (British)", "en-gb", "German", "de", "English" (= British), ...

    Returns:
        The matching :class:`DeepLTarget`.

    Raises:
        OptionsError: for bare "EN"/"PT" (naming the variants) and for unknown values
            (listing the valid names).
    """
    if isinstance(value, DeepLTarget):
        return value
    key = str(value).strip()
    lowered = key.lower()
    lowered = TARGET_ALIASES.get(lowered, key).lower()
    for target in DEEPL_TARGETS:
        if lowered in (target.name.lower(), target.code.lower()):
            return target
    if key.upper() in _AMBIGUOUS:
        variants = [t for t in DEEPL_TARGETS if t.code in _AMBIGUOUS[key.upper()]]
        raise OptionsError(
            f"DeepL target {key!r} is ambiguous: choose "
            + " or ".join(f"{t.name} [{t.code}]" for t in variants),
            option="deepl_target", value=key,
        )
    raise OptionsError(
        f"Unknown DeepL target language {key!r}: use one of " + ", ".join(TARGET_NAMES)
        + " (or its code, e.g. EN-GB, DE)",
        option="deepl_target", value=key,
    )


def translated_suffix(target: DeepLTarget) -> str:
    """File-name suffix of translated subtitles, as AudioToText names them: ``"_English (British)"``."""
    return "_" + target.name


def source_language(transcript: Transcript) -> str | None:
    """DeepL source code of the transcript's text ("ES"; "EN" after Whisper's translate task).

    Returns ``None`` when the language is unknown or not a DeepL source language, so that DeepL
    detects it.
    """
    code = transcript.text_language
    if not code:
        return None
    code = _WHISPER_TO_DEEPL.get(code.lower(), code.upper())
    return code if code in SOURCE_NAMES else None


def translate_transcript(
    transcript: Transcript,
    options: DeepLOptions,
    *,
    on_line: Callable[[Segment], None] | None = None,
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
    formality = _formality_param(options.formality)
    coherence = _coherence_mode(options.coherence)
    source = source_language(transcript)
    source_label = f"{SOURCE_NAMES[source]} [{source}]" if source else "auto-detected language"
    if source == target.base:
        log.info("DeepL: Nothing to translate: the transcript is already in %s", source_label)
        return TranslationResult(None, source, target, None, skipped=True)
    entries = _read_glossary(options.glossary) if options.glossary else None
    if entries and source is None:
        raise OptionsError(
            f"A DeepL glossary needs a known source language, and {transcript.text_language!r} "
            "is not one DeepL translates from: remove --deepl-glossary",
            option="deepl_glossary",
        )
    auth_key = options.resolved_auth_key
    server_url = options.resolved_server_url
    deepl = _import_deepl()

    with _deepl_errors(server_url, auth_key):
        translator = deepl.Translator(auth_key, server_url=server_url)
        try:
            _refuse_if_quota_reached(translator)
            log.info("DeepL: Translate results from %s to %s [%s]", source_label, target.name, target.code)
            params: dict = {"source_lang": source, "target_lang": target.code}
            if formality:
                params["formality"] = formality
            if entries:
                params["glossary"] = _ensure_glossary(translator, entries, source, target.base)
            translated, fallbacks = _translate_lines(
                translator, transcript.segments, params, coherence=coherence,
                by_char=target.base in CHARACTER_SPLIT_LANGUAGES, on_line=on_line,
            )
            usage = _usage(translator)
        finally:
            translator.close()
    if usage is not None:
        log.info("DeepL: Character usage: %s", usage)
    segments = [_translated_segment(s, t) for s, t in zip(transcript.segments, translated)]
    result = dataclasses.replace(transcript, segments=tuple(segments), language=target.base.lower())
    return TranslationResult(result, source or "auto", target, usage, fallback_windows=fallbacks)


def _translate_lines(
    translator, segments: Sequence[Segment], params: dict, *, coherence: str, by_char: bool, on_line
) -> tuple[list[str], int]:
    """The translated text of every segment, and how many windows fell back."""
    lines = [s.text for s in segments]
    emit = _emitter(segments, on_line)
    if coherence == COHERENCE_MODES[1]:
        return _translate_each_line(translator, lines, params, emit=emit), 0
    translated, fallbacks, windows = _translate_with_context(
        translator, lines, params, by_char=by_char, emit=emit
    )
    if fallbacks:
        log.warning(
            "DeepL: %d of %d windows lost their line tags and were translated sentence "
            "by sentence, split over their lines by length", fallbacks, windows,
        )
    return translated, fallbacks


# --- options ------------------------------------------------------------------------------------


def _formality_param(value: str) -> str | None:
    key = str(value).strip().lower()
    if key not in _FORMALITY_PARAM:
        raise OptionsError(
            f"Unknown DeepL formality {value!r}: use one of " + ", ".join(FORMALITIES),
            option="deepl_formality", value=value,
        )
    return _FORMALITY_PARAM[key]


def _coherence_mode(value: str) -> str:
    key = str(value).strip().lower()
    for mode in COHERENCE_MODES:
        if key == mode.lower():
            return mode
    if key in _COHERENCE_SHORT:
        return _COHERENCE_SHORT[key]
    raise OptionsError(
        f"Unknown DeepL coherence mode {value!r}: use "
        + " or ".join(f'"{m}"' for m in COHERENCE_MODES) + ' (or "context", "lines")',
        option="deepl_coherence", value=value,
    )


def _read_glossary(path: Path | str) -> dict[str, str]:
    """Glossary entries from a CSV file, one ``source,target`` pair per row."""
    deepl = _import_deepl()

    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            rows = list(csv.reader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise OptionsError(
            f"Cannot read the DeepL glossary {str(path)!r} ({e}): give a UTF-8 CSV file "
            "with one 'source,target' pair per row", option="deepl_glossary", value=str(path),
        ) from e
    entries: dict[str, str] = {}
    for number, row in enumerate(rows, 1):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise OptionsError(
                f"Line {number} of the DeepL glossary {str(path)!r} is not 'source,target': "
                "fix or remove it", option="deepl_glossary", value=str(path),
            )
        source, target = row[0].strip(), row[1].strip()
        try:
            deepl.validate_glossary_term(source)
            deepl.validate_glossary_term(target)
        except ValueError as e:
            raise OptionsError(
                f"Line {number} of the DeepL glossary {str(path)!r}: {e}: fix or remove it",
                option="deepl_glossary", value=str(path),
            ) from e
        entries.setdefault(source, target)
    if not entries:
        raise OptionsError(
            f"The DeepL glossary {str(path)!r} has no entries: add 'source,target' rows",
            option="deepl_glossary", value=str(path),
        )
    return entries


# --- talking to DeepL ---------------------------------------------------------------------------


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
            kind="quota", status=456,
        ) from e
    except deepl.TooManyRequestsException as e:
        raise TranslationError(
            "DeepL answered 'too many requests' even after retrying: wait a few minutes and run again",
            kind="rate", status=429,
        ) from e
    except deepl.ConnectionException as e:
        where = server_url or ("api-free.deepl.com" if auth_key.endswith(":fx") else "api.deepl.com")
        raise TranslationError(
            f"Cannot reach DeepL at {where} ({e}): check the network connection"
            + (" and DEEPL_SERVER_URL / --deepl-server-url" if server_url else ""),
            kind="network",
        ) from e
    except deepl.DeepLException as e:
        status = getattr(e, "http_status_code", None)
        if status is not None and 400 <= status < 500:
            raise TranslationError(
                f"DeepL refused the request ({e}): check the target language and the glossary",
                kind="config", status=status,
            ) from e
        raise TranslationError(
            f"DeepL service unavailable ({e}): try again later", kind="unavailable", status=status
        ) from e


def _import_deepl():
    try:
        import deepl
    except ImportError as e:
        raise TranslationError(
            "DeepL translation needs the deepl package: pip install 'audiototext[deepl]'",
            kind="config",
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


def _batches(texts: Sequence[str], *, fixed_bytes: int = 0) -> Iterator[list[int]]:
    """Indices of ``texts`` in groups DeepL accepts in one request (count and body size)."""
    budget = MAX_REQUEST_BYTES - _REQUEST_OVERHEAD - fixed_bytes
    batch: list[int] = []
    size = 0
    for i, text in enumerate(texts):
        # requests encodes the JSON body with ensure_ascii, so measure it the same way
        cost = len(json.dumps(text)) + 2
        if batch and (len(batch) >= MAX_TEXTS_PER_REQUEST or size + cost > budget):
            yield batch
            batch, size = [], 0
        batch.append(i)
        size += cost
    if batch:
        yield batch


def _translate_texts(translator, texts: Sequence[str], params: dict, **extra) -> list[str]:
    """Translate many plain texts, in as many requests as DeepL's limits need."""
    out: list[str] = []
    fixed = len(json.dumps(extra.get("context", "")))
    for batch in _batches(texts, fixed_bytes=fixed):
        results = translator.translate_text([texts[i] for i in batch], **params, **extra)
        out.extend(r.text for r in results)
    return out


# --- independent lines --------------------------------------------------------------------------


def _translate_each_line(translator, lines: Sequence[str], params: dict, *, emit) -> list[str]:
    wanted = [i for i, text in enumerate(lines) if text.strip()]
    translated = [""] * len(lines)
    for batch in _batches([lines[i].strip() for i in wanted]):
        idx = [wanted[b] for b in batch]
        results = translator.translate_text([lines[i].strip() for i in idx], **params)
        for i, r in zip(idx, results):
            translated[i] = _drop_added_period(lines[i], r.text)
        emit(translated, idx[-1] + 1)
    emit(translated, len(lines))
    return translated


def _drop_added_period(source: str, translated: str) -> str:
    """DeepL ends a line with a period its source lacked (a cut-off sentence): take it off."""
    src, out = source.rstrip(), translated.rstrip()
    for stop in (".", "。"):
        if out.endswith(stop) and not out.endswith(stop * 2) and not src.endswith((".", "…", "。")):
            return out[: -len(stop)]
    return translated


# --- shared context: windows of tagged lines ----------------------------------------------------


def _translate_with_context(
    translator, lines: Sequence[str], params: dict, *, by_char: bool, emit
) -> tuple[list[str], int, int]:
    translated = [""] * len(lines)
    windows = _group(lines, range(len(lines)), soft=WINDOW_CHARS, hard=2 * WINDOW_CHARS)
    fallbacks = 0
    context = ""
    for window in windows:
        texts = [lines[i] for i in window]
        answer = translator.translate_text(
            _to_xml(texts),
            **params,
            tag_handling="xml",
            outline_detection=False,
            non_splitting_tags=[_LINE_TAG],
            context=context or None,
        ).text
        mapped = _from_xml(answer, texts)
        if mapped is None:
            fallbacks += 1
            log.info("DeepL: window of %d lines lost its line tags: translating its sentences", len(window))
            mapped = _translate_sentences(translator, texts, params, by_char=by_char)
        else:
            mapped = _fill_empty(texts, mapped, by_char=by_char)
        for i, text in zip(window, mapped):
            translated[i] = text
        emit(translated, window[-1] + 1)
        context = _tail(" ".join(t.strip() for t in texts), _CONTEXT_CHARS)
    emit(translated, len(lines))
    return translated, fallbacks, len(windows)


def _group(lines: Sequence[str], indices: Sequence[int], *, soft: int, hard: int) -> list[list[int]]:
    """Consecutive non-empty lines in groups that end at a sentence end once ``soft`` characters
    are reached (or anywhere once ``hard`` characters are)."""
    groups: list[list[int]] = []
    current: list[int] = []
    length = 0
    for i in indices:
        text = lines[i]
        if not text.strip():
            continue
        current.append(i)
        length += len(text.strip()) + 1
        if (length >= soft and _SENTENCE_END.search(text)) or length >= hard:
            groups.append(current)
            current, length = [], 0
    if current:
        groups.append(current)
    return groups


def _to_xml(texts: Sequence[str]) -> str:
    return " ".join(
        f'<{_LINE_TAG} i="{n}">{escape(_NOT_XML.sub("", t.strip()))}</{_LINE_TAG}>'
        for n, t in enumerate(texts)
    )


def _from_xml(answer: str, texts: Sequence[str]) -> list[str] | None:
    """The translated lines by number, or ``None`` if the answer does not map back safely.

    Text DeepL moved between elements is kept with the element before it.
    """
    try:
        root = ET.fromstring(f"<r>{answer}</r>")
    except ET.ParseError:
        return None
    found: dict[int, list[str]] = {}
    current: list[str] | None = None
    lead = root.text or ""
    for element in root:
        number = element.get("i", "") if element.tag == _LINE_TAG else ""
        if number:
            if not number.isdigit() or int(number) in found or int(number) >= len(texts):
                return None
            current = found[int(number)] = ["".join(element.itertext())]
        elif current is not None:
            current.append("".join(element.itertext()))
        else:
            lead += "".join(element.itertext())
        if current is not None:
            current.append(element.tail or "")
        else:
            lead += element.tail or ""
    if len(found) != len(texts):
        return None
    if lead.strip():
        found[0].insert(0, lead)
    mapped = [" ".join("".join(found[n]).split()) for n in range(len(texts))]
    empty = sum(1 for n in range(len(texts)) if not mapped[n] and texts[n].strip())
    if empty * 3 > len(texts):
        return None
    return mapped


def _fill_empty(texts: Sequence[str], mapped: list[str], *, by_char: bool) -> list[str]:
    """Lines DeepL left empty (their words went to a neighbour) share the neighbour's text."""
    out = list(mapped)
    n = len(out)
    i = 0
    while i < n:
        if out[i]:
            i += 1
            continue
        j = i
        while j < n and not out[j]:
            j += 1
        # run i..j-1 is empty: share the line before it, or else the line after it
        lo, hi = (i - 1, j) if i > 0 else (i, j + 1)
        if hi > n:
            break  # every line empty; nothing to share
        pieces = split_proportionally(
            ("" if by_char else " ").join(out[lo:hi]).strip(), [len(t.strip()) for t in texts[lo:hi]],
            by_char=by_char,
        )
        out[lo:hi] = pieces
        i = j
    return out


def _translate_sentences(translator, texts: Sequence[str], params: dict, *, by_char: bool) -> list[str]:
    """Fallback for one window: translate runs of lines that end a sentence as plain texts
    (with the whole window as context) and split each over its lines by source length."""
    groups = _group(texts, range(len(texts)), soft=1, hard=600)
    joined = [" ".join(texts[i].strip() for i in g) for g in groups]
    window = " ".join(joined)
    results = _translate_texts(translator, joined, params, context=window)
    mapped = [""] * len(texts)
    for group, text in zip(groups, results):
        pieces = split_proportionally(text, [len(texts[i].strip()) for i in group], by_char=by_char)
        for i, piece in zip(group, pieces):
            mapped[i] = piece
    return mapped


def split_proportionally(text: str, weights: Sequence[int], *, by_char: bool = False) -> list[str]:
    """Split ``text`` into ``len(weights)`` pieces whose lengths follow ``weights``.

    Cuts fall on word boundaries, or anywhere between characters when ``by_char`` (Chinese,
    Japanese, Korean, Thai), preferring a space or punctuation within three characters. Joining
    the pieces with spaces (or nothing, ``by_char``) gives back the text up to whitespace. Pieces
    are non-empty as long as there are enough words.
    """
    n = len(weights)
    text = " ".join(text.split()) if not by_char else text.strip()
    if n <= 1:
        return [text] * n
    cands = _cut_candidates(text, by_char)
    cum = [0]
    for w in weights:
        cum.append(cum[-1] + max(int(w), 1))
    cuts: list[int] = []
    lo = 0
    for k in range(1, n):
        ideal = len(text) * cum[k] / cum[-1]
        if lo >= len(cands):
            cuts.append(cuts[-1] if cuts else len(text))
            continue
        hi = max(lo, len(cands) - (n - k))
        j = bisect.bisect_left(cands, ideal, lo, hi + 1)
        best = min((c for c in (j - 1, j) if lo <= c <= hi), key=lambda c: abs(cands[c] - ideal))
        if by_char:
            best = _prefer_soft_boundary(text, cands, best, lo, hi)
        cuts.append(cands[best])
        lo = best + 1
    bounds = [0, *cuts, len(text)]
    return [text[a:b].strip() for a, b in itertools.pairwise(bounds)]


_NO_LINE_START = set("、。，．,.!?！？…:;：；）)]」』》〉\"'”’")


def _cut_candidates(text: str, by_char: bool) -> list[int]:
    if not by_char:
        return [m.start() for m in re.finditer(r"\S+", text)][1:]
    return [
        i for i in range(1, len(text))
        if text[i] not in _NO_LINE_START and not text[i].isspace()
        and not (text[i - 1].isascii() and text[i - 1].isalnum() and text[i].isascii() and text[i].isalnum())
    ]


def _prefer_soft_boundary(text: str, cands: list[int], best: int, lo: int, hi: int) -> int:
    for delta in (0, 1, -1, 2, -2, 3, -3):
        c = best + delta
        if lo <= c <= hi and (text[cands[c] - 1].isspace() or text[cands[c] - 1] in _NO_LINE_START):
            return c
    return best


def _tail(text: str, size: int) -> str:
    if len(text) <= size:
        return text
    cut = text.find(" ", len(text) - size)
    return text[cut + 1:] if cut != -1 else text[-size:]


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

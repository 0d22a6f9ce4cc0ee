"""The DeepL options, checked when they are made, and the glossary CSV file they name.

No ``deepl`` import: options are checked (an unknown target, a bad glossary file) before a
transcription starts, with or without the ``deepl`` package installed.
"""

from __future__ import annotations

import csv
import logging
import stat
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from ..errors import OptionsError, TranslationError
from ..logs import counted
from ..records import check, value
from .connection import KEY_VARIABLE, SERVER_VARIABLE, deepl_key, deepl_server_url
from .targets import COHERENCE_MODES, COHERENCE_SHORT, FORMALITIES, resolve_target

log = logging.getLogger(__name__)


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
        OptionsError: for an unknown target, formality or coherence mode, and for a glossary
            file that is missing, unreadable or not ``source,target`` rows (naming the file).
    """

    target: str
    auth_key: str | None = None
    formality: str = value("default", choices=FORMALITIES)
    coherence: str = value(COHERENCE_MODES[0], choices=COHERENCE_MODES, synonyms=COHERENCE_SHORT)
    glossary: Path | None = None
    server_url: str | None = None

    def __post_init__(self) -> None:
        check(self)
        check_server_url(self.server_url, "--deepl-server-url")
        if not self.server_url:
            check_server_url(deepl_server_url(), SERVER_VARIABLE)
        self._resolve_target()
        if self.glossary:
            read_glossary(self.glossary, report=True)  # a bad file fails here, before any transcription

    def _resolve_target(self) -> None:
        """The target, from the built-in list or, for a name it lacks, from DeepL's live list (the
        one the notebook's dropdown shows), read with the key when there is one: a name the dropdown
        offered must not be refused here."""
        try:
            resolve_target(self.target)
        except OptionsError:
            key = deepl_key(self.auth_key)
            if not key or str(self.target).strip().upper() in ("EN", "PT"):
                raise
            from .connection import available_targets

            available_targets(key, server_url=self.resolved_server_url)
            resolve_target(self.target)

    @property
    def resolved_auth_key(self) -> str:
        """The key to use; raises :class:`TranslationError` (kind "config") when there is none."""
        key = deepl_key(self.auth_key)
        if not key:
            raise TranslationError(
                "No DeepL API key: pass --deepl-api-key, set deepl_api_key in the notebook, "
                f"or set the environment variable {KEY_VARIABLE}",
                kind="config",
            )
        return key

    @property
    def resolved_server_url(self) -> str | None:
        """The server to talk to, or ``None`` for DeepL's own."""
        return deepl_server_url(self.server_url)


def check_server_url(url: str | None, name: str) -> None:
    """A DeepL server is an http(s) URL with a host (``localhost:8080`` alone is not).

    Raises:
        OptionsError: naming where the URL came from and how to write it.
    """
    if not url:
        return
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise OptionsError(
            f"{name} {url!r} is not an http(s) URL: write it with its scheme, e.g. http://{url.strip()}",
            option="deepl_server_url",
            value=url,
        )


#: First-row cells that make it a header, not an entry.
_HEADER_WORDS = {"source", "target", "term", "terms", "translation", "from", "to", "src", "tgt", "original"}


def _is_header(row: list[str]) -> bool:
    from .targets import SOURCE_NAMES, known_targets

    languages = {n.lower() for n in SOURCE_NAMES.values()} | {c.lower() for c in SOURCE_NAMES}
    languages |= {t.name.lower() for t in known_targets()} | {t.code.lower() for t in known_targets()}
    words = [c.strip().lower().replace("_", " ").replace(" term", "").replace(" entry", "") for c in row[:2]]
    return all(w in _HEADER_WORDS for w in words) or all(w in languages for w in words)


def read_glossary(path: Path | str, *, report: bool = False) -> dict[str, str]:
    """Glossary entries from a UTF-8 CSV file, one ``source,target`` pair per row.

    Blank rows are skipped; of two rows with the same source term the first wins. A first row of
    column names (``source,target``, ``English,German``, ``en,de``) is a header and skipped; columns
    after the second (DeepL's own CSV adds the two languages) are not read. With ``report`` the log
    says how the file was read when it was not plain pairs, so a skipped row never goes unnoticed.

    Raises:
        OptionsError: (option "deepl_glossary", value the path) when the file cannot be read,
            a row is not two non-empty terms, a term holds a character DeepL refuses, or there
            are no entries. The message names the file and the line.
    """
    path = Path(path)
    rows = _rows(path)
    entries: dict[str, str] = {}
    notes: list[str] = []
    extra: list[int] = []
    for number, row in enumerate(rows, 1):
        if not any(cell.strip() for cell in row):
            continue
        if not entries and not notes and _is_header(row):
            notes.append(f"line {number} {tuple(c.strip() for c in row)} taken as a header and skipped")
            continue
        if any(cell.strip() for cell in row[2:]):
            extra.append(number)
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise _glossary_error(
                path, f"Line {number} of the DeepL glossary {str(path)!r} is not 'source,target': fix or remove it"
            )
        source, target = row[0].strip(), row[1].strip()
        for term in (source, target):
            if not valid_glossary_term(term):
                raise _glossary_error(
                    path,
                    f"Line {number} of the DeepL glossary {str(path)!r}: term {term!r} holds a "
                    "control character or line separator DeepL refuses: fix or remove it",
                )
        if source in entries:
            notes.append(f"line {number} repeats the source term {source!r}: the first one is kept")
        entries.setdefault(source, target)
    if not entries:
        raise _glossary_error(path, f"The DeepL glossary {str(path)!r} has no entries: add 'source,target' rows")
    if extra:
        notes.append(f"columns after the second ignored on {_lines(extra)}")
    if report and notes:
        log.info("DeepL glossary %s: %s read; %s", path, counted(len(entries), "entry", "entries"), "; ".join(notes))
    return entries


def _rows(path: Path) -> list[list[str]]:
    """The CSV rows of ``path``; a FIFO or a device is refused, never waited on (reading one blocks
    until something writes to it)."""
    if path.exists() and not path.is_file() and not path.is_dir():
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(path.stat().st_mode) else "a device or socket"
        raise _glossary_error(
            path,
            f"The DeepL glossary {str(path)!r} is {kind}, not a file: save it to a UTF-8 CSV file with one "
            "'source,target' pair per row and give that",
        )
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            return list(csv.reader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise _glossary_error(
            path,
            f"Cannot read the DeepL glossary {str(path)!r} ({e}): give a UTF-8 CSV file "
            "with one 'source,target' pair per row",
        ) from e


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:5])) + (f" and {len(numbers) - 5} more" if len(numbers) > 5 else "")
    return f"line{'s' if len(numbers) > 1 else ''} {shown}"


def valid_glossary_term(term: str) -> bool:
    """Whether DeepL accepts ``term`` in a glossary: the rule of ``deepl.validate_glossary_term``
    (not empty; no C0 or C1 control character, no U+2028/U+2029), without importing ``deepl``."""
    return bool(term) and not any(ord(ch) <= 31 or 128 <= ord(ch) <= 159 or ch in "\u2028\u2029" for ch in term)


def _glossary_error(path: Path, message: str) -> OptionsError:
    return OptionsError(message, option="deepl_glossary", value=str(path))

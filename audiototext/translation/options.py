"""The DeepL options, checked when they are made, and the glossary CSV file they name.

No ``deepl`` import: options are checked (an unknown target, a bad glossary file) before a
transcription starts, with or without the ``deepl`` package installed.
"""

from __future__ import annotations

import csv
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import OptionsError, TranslationError
from .targets import COHERENCE_MODES, coherence_mode, formality_param, resolve_target


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
    formality: str = "default"
    coherence: str = COHERENCE_MODES[0]
    glossary: Path | None = None
    server_url: str | None = None

    def __post_init__(self) -> None:
        resolve_target(self.target)
        formality_param(self.formality)
        coherence_mode(self.coherence)
        if self.glossary:
            read_glossary(self.glossary)  # a bad file fails here, before any transcription

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


def read_glossary(path: Path | str) -> dict[str, str]:
    """Glossary entries from a UTF-8 CSV file, one ``source,target`` pair per row.

    Blank rows are skipped; of two rows with the same source term the first wins.

    Raises:
        OptionsError: (option "deepl_glossary", value the path) when the file cannot be read,
            a row is not two non-empty terms, a term holds a character DeepL refuses, or there
            are no entries. The message names the file and the line.
    """
    path = Path(path)
    if path.exists() and not path.is_file():  # a FIFO or a device would be waited on forever
        raise _glossary_error(
            path,
            f"The DeepL glossary {str(path)!r} is "
            + ("a named pipe (FIFO)" if stat.S_ISFIFO(path.stat().st_mode) else "not a regular file")
            + ", not a file: save it to a UTF-8 CSV file with one 'source,target' pair per row and give that",
        )
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            rows = list(csv.reader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise _glossary_error(
            path,
            f"Cannot read the DeepL glossary {str(path)!r} ({e}): give a UTF-8 CSV file "
            "with one 'source,target' pair per row",
        ) from e
    entries: dict[str, str] = {}
    for number, row in enumerate(rows, 1):
        if not any(cell.strip() for cell in row):
            continue
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
        entries.setdefault(source, target)
    if not entries:
        raise _glossary_error(path, f"The DeepL glossary {str(path)!r} has no entries: add 'source,target' rows")
    return entries


def valid_glossary_term(term: str) -> bool:
    """Whether DeepL accepts ``term`` in a glossary: the rule of ``deepl.validate_glossary_term``
    (not empty; no C0 or C1 control character, no U+2028/U+2029), without importing ``deepl``."""
    return bool(term) and not any(ord(ch) <= 31 or 128 <= ord(ch) <= 159 or ch in "\u2028\u2029" for ch in term)


def _glossary_error(path: Path, message: str) -> OptionsError:
    return OptionsError(message, option="deepl_glossary", value=str(path))

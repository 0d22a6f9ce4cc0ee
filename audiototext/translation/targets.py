"""DeepL's target languages and the values of the DeepL options: no network, no ``deepl`` import.

The built-in list (:data:`DEEPL_TARGETS`) is what CLI help and the notebook show offline. Targets
DeepL adds later become known to :func:`resolve_target` once
:func:`audiototext.translation.available_targets` has read them from DeepL, so a language DeepL
added after this list was written can be chosen; they are kept in a registry for the life of the process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import OptionsError
from ..transcript import Transcript


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

#: Targets DeepL reported that the built-in list lacks, by code (see :func:`register_targets`).
_LIVE: dict[str, DeepLTarget] = {}
_LIVE_LOCK = threading.Lock()

COHERENCE_MODES: tuple[str, ...] = ("Share context between lines", "Translate each line independently")
#: The coherence modes' short forms.
COHERENCE_SHORT = {"context": COHERENCE_MODES[0], "lines": COHERENCE_MODES[1]}

# "prefer_*" falls back to the default on targets without formality instead of failing
# (DeepL answers 400 to formality="more" for English targets, which have no formality).
_FORMALITY_PARAM = {"default": None, "formal": "prefer_more", "informal": "prefer_less"}
FORMALITIES: tuple[str, ...] = tuple(_FORMALITY_PARAM)

#: DeepL source languages (non-beta) by code, to name the source in the log.
SOURCE_NAMES: dict[str, str] = {
    "AR": "Arabic",
    "BG": "Bulgarian",
    "CS": "Czech",
    "DA": "Danish",
    "DE": "German",
    "EL": "Greek",
    "EN": "English",
    "ES": "Spanish",
    "ET": "Estonian",
    "FI": "Finnish",
    "FR": "French",
    "HE": "Hebrew",
    "HU": "Hungarian",
    "ID": "Indonesian",
    "IT": "Italian",
    "JA": "Japanese",
    "KO": "Korean",
    "LT": "Lithuanian",
    "LV": "Latvian",
    "NB": "Norwegian",
    "NL": "Dutch",
    "PL": "Polish",
    "PT": "Portuguese",
    "RO": "Romanian",
    "RU": "Russian",
    "SK": "Slovak",
    "SL": "Slovenian",
    "SV": "Swedish",
    "TH": "Thai",
    "TR": "Turkish",
    "UK": "Ukrainian",
    "VI": "Vietnamese",
    "ZH": "Chinese",
}
#: Whisper language codes that DeepL spells differently.
_WHISPER_TO_DEEPL = {"no": "NB", "nn": "NB", "iw": "HE"}

#: Targets split by character, not by word, when a sentence is spread over lines.
CHARACTER_SPLIT_LANGUAGES = frozenset({"ZH", "JA", "KO", "TH"})


def known_targets() -> tuple[DeepLTarget, ...]:
    """The built-in targets and those DeepL reported since, sorted by display name."""
    live = _LIVE
    if not live:
        return DEEPL_TARGETS
    return tuple(sorted((*DEEPL_TARGETS, *live.values()), key=lambda t: t.name))


def register_targets(reported: Iterable[DeepLTarget]) -> tuple[DeepLTarget, ...]:
    """Make targets DeepL reported known to :func:`resolve_target`; returns the ones added.

    A reported code the built-in list already has (also as an alias or a bare "EN"/"PT") keeps its
    built-in name, so names users typed before still resolve; a new code whose name is already
    taken is left out, so that every name stands for one code.
    """
    global _LIVE
    added = []
    with _LIVE_LOCK:
        for target in reported:
            code, name = target.code.strip().upper(), target.name.strip()
            if not code or not name or code in _AMBIGUOUS or _find(code) or _find(name):
                continue
            added.append(DeepLTarget(code, name, bool(target.supports_formality)))
            # copy on write: readers iterate the dict without the lock
            _LIVE = {**_LIVE, code: added[-1]}
    return tuple(added)


def _find(value: str) -> DeepLTarget | None:
    lowered = value.lower()
    lowered = TARGET_ALIASES.get(lowered, lowered).lower()
    for target in (*DEEPL_TARGETS, *_LIVE.values()):
        if lowered in (target.name.lower(), target.code.lower()):
            return target
    return None


def resolve_target(value: str | DeepLTarget) -> DeepLTarget:
    """Find a target language by display name, code or alias, ignoring case.

    Targets that :func:`~audiototext.translation.available_targets` read from DeepL and that the
    built-in list lacks are found too.

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
    found = _find(key)
    if found is not None:
        return found
    if key.upper() in _AMBIGUOUS:
        variants = [t for t in DEEPL_TARGETS if t.code in _AMBIGUOUS[key.upper()]]
        raise OptionsError(
            f"DeepL target {key!r} is ambiguous: choose " + " or ".join(f"{t.name} [{t.code}]" for t in variants),
            option="deepl_target",
            value=key,
        )
    raise OptionsError(
        f"Unknown DeepL target language {key!r}: use one of "
        + ", ".join(t.name for t in known_targets())
        + " (or its code, e.g. EN-GB, DE)",
        option="deepl_target",
        value=key,
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


def formality_param(value: str) -> str | None:
    """The ``formality`` DeepL is sent for one of :data:`FORMALITIES` (``None``: not sent)."""
    key = str(value).strip().lower()
    if key not in _FORMALITY_PARAM:
        raise OptionsError(
            f"Unknown DeepL formality {value!r}: use one of " + ", ".join(FORMALITIES),
            option="deepl_formality",
            value=value,
        )
    return _FORMALITY_PARAM[key]


def coherence_mode(value: str) -> str:
    """One of :data:`COHERENCE_MODES` for its name or short form ("context", "lines")."""
    key = str(value).strip().lower()
    for mode in COHERENCE_MODES:
        if key == mode.lower():
            return mode
    if key in COHERENCE_SHORT:
        return COHERENCE_SHORT[key]
    raise OptionsError(
        f"Unknown DeepL coherence mode {value!r}: use "
        + " or ".join(f'"{m}"' for m in COHERENCE_MODES)
        + ' (or "context", "lines")',
        option="deepl_coherence",
        value=value,
    )

"""Whisper's languages by code and name, without importing whisper (which pulls in torch).

The table equals ``whisper.tokenizer.LANGUAGES`` and ``TO_LANGUAGE_CODE`` (a test checks it).
"""

from __future__ import annotations

from .errors import OptionsError

#: code -> lower-case English name, in Whisper's token order.
LANGUAGES: dict[str, str] = {
    "en": "english",
    "zh": "chinese",
    "de": "german",
    "es": "spanish",
    "ru": "russian",
    "ko": "korean",
    "fr": "french",
    "ja": "japanese",
    "pt": "portuguese",
    "tr": "turkish",
    "pl": "polish",
    "ca": "catalan",
    "nl": "dutch",
    "ar": "arabic",
    "sv": "swedish",
    "it": "italian",
    "id": "indonesian",
    "hi": "hindi",
    "fi": "finnish",
    "vi": "vietnamese",
    "he": "hebrew",
    "uk": "ukrainian",
    "el": "greek",
    "ms": "malay",
    "cs": "czech",
    "ro": "romanian",
    "da": "danish",
    "hu": "hungarian",
    "ta": "tamil",
    "no": "norwegian",
    "th": "thai",
    "ur": "urdu",
    "hr": "croatian",
    "bg": "bulgarian",
    "lt": "lithuanian",
    "la": "latin",
    "mi": "maori",
    "ml": "malayalam",
    "cy": "welsh",
    "sk": "slovak",
    "te": "telugu",
    "fa": "persian",
    "lv": "latvian",
    "bn": "bengali",
    "sr": "serbian",
    "az": "azerbaijani",
    "sl": "slovenian",
    "kn": "kannada",
    "et": "estonian",
    "mk": "macedonian",
    "br": "breton",
    "eu": "basque",
    "is": "icelandic",
    "hy": "armenian",
    "ne": "nepali",
    "mn": "mongolian",
    "bs": "bosnian",
    "kk": "kazakh",
    "sq": "albanian",
    "sw": "swahili",
    "gl": "galician",
    "mr": "marathi",
    "pa": "punjabi",
    "si": "sinhala",
    "km": "khmer",
    "sn": "shona",
    "yo": "yoruba",
    "so": "somali",
    "af": "afrikaans",
    "oc": "occitan",
    "ka": "georgian",
    "be": "belarusian",
    "tg": "tajik",
    "sd": "sindhi",
    "gu": "gujarati",
    "am": "amharic",
    "yi": "yiddish",
    "lo": "lao",
    "uz": "uzbek",
    "fo": "faroese",
    "ht": "haitian creole",
    "ps": "pashto",
    "tk": "turkmen",
    "nn": "nynorsk",
    "mt": "maltese",
    "sa": "sanskrit",
    "lb": "luxembourgish",
    "my": "myanmar",
    "bo": "tibetan",
    "tl": "tagalog",
    "mg": "malagasy",
    "as": "assamese",
    "tt": "tatar",
    "haw": "hawaiian",
    "ln": "lingala",
    "ha": "hausa",
    "ba": "bashkir",
    "jw": "javanese",
    "su": "sundanese",
    "yue": "cantonese",
}

#: Other names Whisper accepts for a language ("castilian" -> "es").
ALIASES: dict[str, str] = {
    "burmese": "my",
    "valencian": "ca",
    "flemish": "nl",
    "haitian": "ht",
    "letzeburgesch": "lb",
    "pushto": "ps",
    "panjabi": "pa",
    "moldavian": "ro",
    "moldovan": "ro",
    "sinhalese": "si",
    "castilian": "es",
    "mandarin": "zh",
}

#: Names as the notebook's dropdown shows them ("Spanish"), sorted, for forms and help.
LANGUAGE_NAMES: tuple[str, ...] = tuple(sorted(name.title() for name in LANGUAGES.values()))

AUTO = ("", "auto", "auto-detect", "autodetect", "detect", "none")


def resolve_language(value: str | None) -> str | None:
    """Whisper language code for a name or code ("Spanish", "es", "Castilian"); None for auto-detect.

    Raises:
        OptionsError: not one of Whisper's languages; the message lists them.
    """
    if value is None or value.strip().lower() in AUTO:
        return None
    key = value.strip().lower()
    if key in LANGUAGES:
        return key
    for code, name in LANGUAGES.items():
        if name == key:
            return code
    if key in ALIASES:
        return ALIASES[key]
    raise OptionsError(
        f"Unknown language {value!r}. Use 'auto' or one of Whisper's languages: "
        + ", ".join(f"{name.title()} ({code})" for code, name in LANGUAGES.items()),
        language=value,
    )


def language_name(code: str | None) -> str:
    """ "es" -> "Spanish"; unknown codes are returned as given."""
    if not code:
        return "Unknown"
    return LANGUAGES.get(code, code).title()

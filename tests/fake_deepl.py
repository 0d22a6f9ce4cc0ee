"""A fake DeepL API server on 127.0.0.1 that the real ``deepl`` package talks to (``server_url=``).

It behaves like DeepL where the translation module depends on it:

* ``/v2/translate`` with a deterministic word-level "translation" (a small es<->en dictionary,
  unknown words kept; Japanese/Chinese targets get pseudo-CJK text without spaces), glossaries
  applied before the dictionary, billed characters added to the usage, ``context`` not billed;
* ``tag_handling=xml``: text inside elements is translated, elements and attributes kept;
* ``/v2/usage``, ``/v2/languages``, ``/v2/glossary-language-pairs``, ``/v2/glossaries`` (create,
  list, get, entries, delete);
* 403 for a wrong key, 456 when the quota is used up, 400 for ``formality=more/less`` on a target
  without formality (as DeepL does).

Switches (attributes, set per test): ``fail_status`` (answer that status), ``move_words`` (move
the last word of each line element into the next one, as real reordering does), ``drop_line`` /
``duplicate_line`` (number of a line element to lose or repeat), ``strip_tags``, ``break_xml``,
``add_period``, ``close_connection``, ``merge_every`` (every n-th line element gives its words to
the next one and comes back empty), ``extra_targets`` (more entries for ``/v2/languages?type=target``,
e.g. ``[TEST_LANGUAGE]``: a language DeepL added after the built-in list was written);
``omit_fields`` (fields each ``/v2/translate`` answer leaves out, e.g. ``("billed_characters",)``, as
some stand-in servers do); ``fail_path`` limits ``fail_status`` to one path. Every request is recorded in ``requests``.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

ES_EN = {
    "a": "to",
    "abrimos": "open",
    "agua": "water",
    "ahora": "now",
    "ahorra": "saves",
    "al": "at the",
    "antes": "before",
    "aprendimos": "learned",
    "arreglar": "repair",
    "años": "years",
    "beber": "drink",
    "bienvenidos": "welcome",
    "buenos": "good",
    "cada": "each",
    "cambiar": "change",
    "cambio": "change",
    "camino": "way",
    "casa": "home",
    "casas": "houses",
    "casi": "almost",
    "cerrar": "close",
    "charla": "talk",
    "ciudad": "city",
    "ciudades": "cities",
    "comida": "food",
    "como": "as",
    "cómo": "how",
    "con": "with",
    "contaros": "tell you",
    "cosas": "things",
    "creemos": "believe",
    "creo": "believe",
    "cuando": "when",
    "cuesta": "costs",
    "cuidarla": "protect it",
    "cuántos": "how many",
    "de": "of",
    "del": "of the",
    "desde": "since",
    "después": "then",
    "dicen": "tell",
    "dientes": "teeth",
    "difícil": "hard",
    "donde": "where",
    "durante": "during",
    "día": "day",
    "el": "the",
    "empieza": "starts",
    "en": "in",
    "enseñar": "teach",
    "entonces": "so",
    "es": "is",
    "escuchar": "listening",
    "escuela": "school",
    "esta": "this",
    "este": "this",
    "está": "is",
    "familia": "family",
    "final": "end",
    "fue": "was",
    "gobierno": "government",
    "gracias": "thanks",
    "grande": "big",
    "grifo": "tap",
    "gustaría": "would like",
    "hablan": "talk",
    "hablar": "talk",
    "hace": "ago",
    "hacemos": "do",
    "hacer": "do",
    "hizo": "made",
    "hola": "hello",
    "hoy": "today",
    "ideas": "ideas",
    "importante": "important",
    "juntos": "together",
    "la": "the",
    "lago": "lake",
    "largo": "long",
    "las": "the",
    "lavadora": "washing machine",
    "lavamos": "brush",
    "lejos": "far",
    "limpian": "clean",
    "litros": "litres",
    "llega": "arrives",
    "llegar": "reaching",
    "llena": "full",
    "lo": "what",
    "los": "the",
    "luego": "then",
    "mañana": "morning",
    "me": "I",
    "mejor": "better",
    "menos": "less",
    "mi": "my",
    "mientras": "while",
    "mitad": "half",
    "mucho": "much",
    "muchas": "many",
    "muy": "very",
    "más": "more",
    "necesita": "needs",
    "niños": "children",
    "nos": "we",
    "nuestras": "our",
    "nunca": "never",
    "o": "or",
    "padres": "parents",
    "para": "for",
    "parece": "seems",
    "pasa": "passes",
    "pensamos": "think",
    "pequeña": "small",
    "pequeñas": "small",
    "perdíamos": "lost",
    "pero": "but",
    "personas": "people",
    "persona": "person",
    "pierden": "leak",
    "planta": "plant",
    "podemos": "can",
    "poco": "little",
    "por": "for",
    "porque": "because",
    "preguntas": "questions",
    "preparan": "prepare",
    "primera": "first",
    "primero": "first",
    "proyecto": "project",
    "que": "that",
    "qué": "why",
    "quiero": "want",
    "responder": "answer",
    "río": "river",
    "sabéis": "know",
    "sale": "comes",
    "segunda": "second",
    "semana": "week",
    "sencillas": "simple",
    "si": "if",
    "sobre": "about",
    "solo": "only",
    "son": "are",
    "sus": "their",
    "también": "also",
    "tan": "so",
    "tercera": "third",
    "tienen": "have",
    "todo": "all",
    "todos": "everyone",
    "trabajaron": "worked",
    "trabajo": "work",
    "tres": "three",
    "tuberías": "pipes",
    "un": "a",
    "una": "a",
    "unos": "some",
    "usa": "uses",
    "usar": "use",
    "vamos": "go",
    "vecinos": "neighbours",
    "viejas": "old",
    "vuestras": "your",
    "y": "and",
    "ya": "already",
    "ropa": "clothes",
    "buenas": "good",
    "noches": "evening",
    "tardes": "afternoon",
    "amigos": "friends",
    "gente": "people",
    "mundo": "world",
    "vida": "life",
    "tiempo": "time",
    "año": "year",
    "hombre": "man",
    "mujer": "woman",
    "nuevo": "new",
    "nueva": "new",
    "bueno": "good",
    "malo": "bad",
    "siempre": "always",
    "aquí": "here",
    "allí": "there",
    "bien": "well",
    "mal": "badly",
    "sí": "yes",
    "no": "not",
    "hay": "there is",
    "tengo": "have",
    "tiene": "has",
    "puede": "can",
    "pueden": "can",
    "hacen": "do",
    "dice": "says",
    "ver": "see",
    "dar": "give",
    "saber": "know",
    "querer": "want",
    "tú": "you",
    "usted": "you",
    "yo": "I",
    "él": "he",
    "ella": "she",
    "nosotros": "we",
    "ellos": "they",
}
EN_ES = {}
for _es, _en in ES_EN.items():
    if " " not in _en:
        EN_ES.setdefault(_en, _es)

_WORD = re.compile(r"[^\W\d_]+")

#: What ``/v2/languages?type=target`` answers (a subset of DeepL's, enough for the client).
TARGET_LANGUAGES = [
    {"language": "DE", "name": "German", "supports_formality": True},
    {"language": "EN-GB", "name": "English (British)", "supports_formality": False},
    {"language": "EN-US", "name": "English (American)", "supports_formality": False},
    {"language": "ES", "name": "Spanish", "supports_formality": True},
    {"language": "JA", "name": "Japanese", "supports_formality": True},
    {"language": "ZH-HANS", "name": "Chinese (simplified)", "supports_formality": False},
]
#: A target language no built-in list has, for ``extra_targets``.
TEST_LANGUAGE = {"language": "ZZ", "name": "Test language", "supports_formality": False}
_NO_FORMALITY = {
    "EN-GB",
    "EN-US",
    "ZH",
    "ZH-HANS",
    "ZH-HANT",
    "AR",
    "BG",
    "CS",
    "DA",
    "EL",
    "ET",
    "FI",
    "HE",
    "HU",
    "ID",
    "KO",
    "LT",
    "LV",
    "NB",
    "RO",
    "SK",
    "SL",
    "SV",
    "TH",
    "TR",
    "UK",
    "VI",
}


def _cased(word: str, translation: str) -> str:
    if word[:1].isupper():
        return translation[:1].upper() + translation[1:]
    return translation


def _cjk(text: str) -> str:
    """English-like text as pseudo-Japanese: one katakana per letter, no spaces."""
    out = []
    for ch in text:
        if "a" <= ch.lower() <= "z":
            out.append(chr(0x30A2 + (ord(ch.lower()) - 97) * 2))
        elif ch.isspace():
            continue
        else:
            out.append({".": "。", ",": "、", "?": "？", "¿": "", "!": "！", "¡": ""}.get(ch, ch))
    return "".join(out)


@dataclass
class Recorded:
    method: str
    path: str
    body_bytes: int
    data: dict
    texts: int = 0


@dataclass
class FakeDeepL:
    """State and switches of one fake server; ``url`` is set once it runs."""

    auth_key: str = "fake-key:fx"
    usage_count: int = 0
    usage_limit: int = 500000
    fail_status: int | None = None
    fail_path: str | None = None
    move_words: bool = False
    drop_line: int | None = None
    duplicate_line: int | None = None
    strip_tags: bool = False
    break_xml: bool = False
    add_period: bool = False
    close_connection: bool = False
    merge_every: int | None = None
    extra_targets: list[dict] = field(default_factory=list)
    omit_fields: tuple[str, ...] = ()
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    glossaries: dict[str, dict] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def translate_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/v2/translate"]

    # --- translation --------------------------------------------------------------------------

    def translate_plain(self, text: str, source: str | None, target: str, entries: dict[str, str]) -> str:
        """The fake translation of a plain text (public so tests can compute expectations)."""
        base = target.split("-")[0]
        if base == "EN":
            table = ES_EN
        elif base == "ES":
            table = EN_ES
        elif base in ("JA", "ZH"):
            table = ES_EN
        else:
            table = {}

        def words(part: str) -> str:
            return _WORD.sub(lambda m: _cased(m.group(), table.get(m.group().lower(), m.group())), part)

        if entries:
            pattern = re.compile(
                r"\b(" + "|".join(re.escape(k) for k in sorted(entries, key=len, reverse=True)) + r")\b", re.IGNORECASE
            )
            lowered = {k.lower(): v for k, v in entries.items()}
            parts = pattern.split(text)
            out = "".join(lowered[p.lower()] if i % 2 else words(p) for i, p in enumerate(parts))
        else:
            out = words(text)
        if base in ("JA", "ZH"):
            out = _cjk(out)
        return out

    def translate_xml(self, text: str, translate) -> str:
        root = ET.fromstring(f"<r>{text}</r>")
        items = [[el.tag, dict(el.attrib), translate("".join(el.itertext())), translate(el.tail or "")] for el in root]
        if self.move_words:
            for a, b in itertools.pairwise(items):
                words = a[2].split()
                if len(words) >= 2:
                    a[2] = " ".join(words[:-1])
                    b[2] = words[-1] + " " + b[2].lstrip()
        if self.merge_every:
            for n, (a, b) in enumerate(itertools.pairwise(items)):
                if n % self.merge_every == 0:
                    sep = " " if a[2][-1:].isascii() else ""  # no spaces in pseudo-Japanese
                    b[2], a[2] = (a[2] + sep + b[2]).strip(), ""
        if self.drop_line is not None:
            items = [it for it in items if it[1].get("i") != str(self.drop_line)]
        if self.duplicate_line is not None:
            twice = str(self.duplicate_line)
            items = [x for it in items for x in ([it, it] if it[1].get("i") == twice else [it])]
        head = translate(root.text or "")
        if self.strip_tags:
            return head + "".join(it[2] + it[3] for it in items)
        body = "".join(
            f"<{tag}{''.join(f' {k}={quoteattr(v)}' for k, v in attrs.items())}>{escape(inner)}</{tag}>" + escape(tail)
            for tag, attrs, inner, tail in items
        )
        if self.break_xml:
            body = body.replace("</", "<", 1)
        return escape(head) + body

    def handle_translate(self, data: dict) -> tuple[int, object]:
        target = str(data.get("target_lang", "")).upper()
        source = data.get("source_lang")
        if target in ("EN", "PT") or not target:
            return 400, {"message": "Value for 'target_lang' not supported."}
        if data.get("formality") in ("more", "less") and target in _NO_FORMALITY:
            return 400, {"message": "'formality' is not supported for given 'target_lang'."}
        if self.usage_count >= self.usage_limit:
            return 456, {"message": "Quota exceeded"}
        entries: dict[str, str] = {}
        if data.get("glossary_id"):
            glossary = self.glossaries.get(data["glossary_id"])
            if glossary is None:
                return 404, {"message": "Glossary not found"}
            entries = glossary["entries"]
        texts = data.get("text") or []
        if isinstance(texts, str):
            texts = [texts]

        def translate(t: str) -> str:
            return self.translate_plain(t, source, target, entries)

        out = []
        for text in texts:
            if data.get("tag_handling") == "xml":
                try:
                    result = self.translate_xml(text, translate)
                except ET.ParseError:
                    return 400, {"message": "Tag handling parsing failed"}
            else:
                result = translate(text)
                if self.add_period and not result.rstrip().endswith("."):
                    result = result.rstrip() + "."
            with self.lock:
                self.usage_count += len(text)
            answer = {
                "detected_source_language": (source or "ES").upper(),
                "text": result,
                "billed_characters": len(text),
            }
            out.append({k: v for k, v in answer.items() if k not in self.omit_fields})
        return 200, {"translations": out}

    # --- glossaries ---------------------------------------------------------------------------

    def create_glossary(self, data: dict) -> tuple[int, object]:
        fmt = data.get("entries_format", "tsv")
        sep = "\t" if fmt == "tsv" else ","
        entries = {}
        for line in str(data.get("entries", "")).splitlines():
            if line.strip():
                src, tgt = line.split(sep)[:2]
                entries[src.strip()] = tgt.strip()
        glossary_id = str(uuid.uuid4())
        self.glossaries[glossary_id] = {
            "glossary_id": glossary_id,
            "name": data["name"],
            "ready": True,
            "source_lang": str(data["source_lang"]).lower(),
            "target_lang": str(data["target_lang"]).lower(),
            "creation_time": "2024-05-01T12:00:00.123456Z",
            "entry_count": len(entries),
            "entries": entries,
        }
        return 201, self._glossary_info(glossary_id)

    def _glossary_info(self, glossary_id: str) -> dict:
        return {k: v for k, v in self.glossaries[glossary_id].items() if k != "entries"}

    # --- dispatch -----------------------------------------------------------------------------

    def respond(self, method: str, path: str, data: dict, auth: str) -> tuple[int, object]:
        if self.fail_status is not None and self.fail_path in (None, path):
            return self.fail_status, {"message": f"fake failure {self.fail_status}"}
        if auth != f"DeepL-Auth-Key {self.auth_key}":
            return 403, {"message": "Wrong endpoint or key"}
        if path == "/v2/translate" and method == "POST":
            return self.handle_translate(data)
        if path == "/v2/usage":
            return 200, {"character_count": self.usage_count, "character_limit": self.usage_limit}
        if path == "/v2/languages":
            if str(data.get("type", "source")) == "target":
                return 200, TARGET_LANGUAGES + self.extra_targets
            return 200, [{"language": "EN", "name": "English"}, {"language": "ES", "name": "Spanish"}]
        if path == "/v2/glossary-language-pairs":
            pairs = [("en", "es"), ("es", "en"), ("en", "de"), ("de", "en"), ("es", "ja")]
            return 200, {"supported_languages": [{"source_lang": s, "target_lang": t} for s, t in pairs]}
        if path == "/v2/glossaries":
            if method == "POST":
                return self.create_glossary(data)
            return 200, {"glossaries": [self._glossary_info(g) for g in self.glossaries]}
        match = re.fullmatch(r"/v2/glossaries/([^/]+)(/entries)?", path)
        if match:
            glossary_id, entries = match.groups()
            if glossary_id not in self.glossaries:
                return 404, {"message": "Glossary not found"}
            if method == "DELETE":
                del self.glossaries[glossary_id]
                return 204, None
            if entries:
                tsv = "\n".join(f"{s}\t{t}" for s, t in self.glossaries[glossary_id]["entries"].items())
                return 200, tsv
            return 200, self._glossary_info(glossary_id)
        return 404, {"message": "Not found"}


def _handler(state: FakeDeepL):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            data: dict = {k: v[0] for k, v in parse_qs(url.query).items()}
            if raw:
                if (self.headers.get("Content-Type") or "").startswith("application/json"):
                    data.update(json.loads(raw))
                else:
                    data.update({k: v[0] if len(v) == 1 else v for k, v in parse_qs(raw.decode()).items()})
            texts = data.get("text")
            with state.lock:
                state.requests.append(
                    Recorded(
                        self.command,
                        url.path,
                        len(raw),
                        data,
                        len(texts) if isinstance(texts, list) else int(bool(texts)),
                    )
                )
            if state.close_connection:
                self.close_connection = True
                return
            status, body = state.respond(self.command, url.path, data, self.headers.get("Authorization", ""))
            if isinstance(body, str):
                payload, ctype = body.encode(), "text/tab-separated-values"
            else:
                payload, ctype = (b"" if body is None else json.dumps(body).encode()), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _serve

    return Handler


class FakeDeepLServer:
    """Runs a :class:`FakeDeepL` on 127.0.0.1 in a thread: ``with FakeDeepLServer() as fake: ...``."""

    def __init__(self, state: FakeDeepL | None = None) -> None:
        self.state = state or FakeDeepL()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self._server.daemon_threads = True
        self.state.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> FakeDeepL:
        self._thread.start()
        return self.state

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

"""The recordings of the subtitle benchmark and where their speech is, measured with ffmpeg alone.

Every recording is a list of **parts** (start, end, reference text): the long eval files list theirs
in ``<stem>.segments.json``; ``en_physicsworks`` is one part, the whole file; the espeak-ng
recordings are made here, one part per sentence, with pauses of 0.3-2 s between them. From the parts:

* each part is trimmed of its leading and trailing digital silence (first and last sample above
  -60 dBFS, :data:`DIGITAL_SILENCE_DB`);
* inside the trimmed part, ffmpeg ``silencedetect`` finds the pauses of 1 s or more at a level
  :data:`PAUSE_BELOW_PEAK_DB` (25 dB) under the part's loudest 50 ms (its peak RMS). silencedetect
  compares each sample's amplitude, and the peaks of room noise sit 10-20 dB above its RMS: at
  35 dB it found 2 of the physics lecture's pauses, at 25 dB 15, and on every recording here the
  loudest 50 ms inside a pause it finds is still 31 dB or more under the part's peak (not speech);
* each stretch between those pauses starts at its first 10 ms frame within
  :data:`EDGE_BELOW_PEAK_DB` (30 dB) of the part's peak RMS that begins 150 ms at that level on
  average, and ends at the last such frame: the fleurs clips hold up to 2.5 s of room noise before
  the voice, with clicks that keep silencedetect from seeing one pause in it. 150 ms, not 50: a
  click or a breath 30 dB under the speech lasts 50 ms (it read the voice of 3 fleurs clips 0.8 to
  2 s early), a syllable lasts longer;
* the **speech** is those stretches; its **onsets** are where each starts (each part's first voice
  and the end of each pause).

Level is not voice: a loud non-speech sound (the crash of the physics lecture's demonstration at
191.7 s) counts as speech.

Nothing here uses the package: the yardstick must not share the code it measures.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import wave
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from audiototext.media import SAMPLE_RATE, load_audio, probe, run_ffmpeg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EVAL = ROOT.parent / "shared" / "eval" / "data"
DIGITAL_SILENCE_DB = -60.0
PAUSE_BELOW_PEAK_DB = 25.0
RMS_WINDOW_S = 0.05
PAUSE_S = 1.0
EDGE_BELOW_PEAK_DB = 30.0
EDGE_FRAMES = 15

LONG = ("en_long_mix", "en_long_udhr_sonnets", "es_long_mix")
ESPEAK = {"espeak_en": ("en-us", "en"), "espeak_es": ("es", "es")}
PHYSICS = "en_physicsworks"
ALL = (*LONG, PHYSICS, *ESPEAK)

EN_SENTENCES = [
    "Good morning.",
    "Today we look at how rivers shape the land around them.",
    "Water always finds the lowest path.",
    "Over thousands of years, a small stream can cut a valley deep enough to hide a town.",
    "Look at this map.",
    "The blue lines are rivers, and the grey areas are hills.",
    "Where the land is soft, the river bends again and again, drawing wide loops across the plain.",
    "Those loops are called meanders.",
    "Sometimes a loop is cut off.",
    "The river takes a shorter way, and the old bend becomes a quiet lake shaped like a horseshoe.",
    "Farmers have always liked these plains.",
    "The soil is rich, because every flood leaves a thin layer of fresh mud behind.",
    "But floods are also dangerous.",
    "In the spring of one wet year, the water rose faster than anyone in the village expected, "
    "and many families had to leave their homes in the middle of the night.",
    "Nobody was hurt.",
    "Afterwards, the village built a wall of earth along the bank.",
    "It worked for twenty years.",
    "Then a bigger flood came.",
    "Engineers now prefer to give the river room instead of fighting it.",
    "They move the walls back, plant trees, and let the meadows fill with water when the river needs the space.",
    "It sounds simple.",
    "It is not cheap, and it takes a long time to agree with everyone who owns the land.",
    "Still, most towns that tried it say they would do it again.",
    "Questions?",
    "Yes, in the back.",
    "The question is whether dams help.",
    "They can, for a while, but a dam also stops the sand and stones that the river would carry down to the sea.",
    "Without them, the coast slowly shrinks.",
    "So every choice has a price somewhere else.",
    "That is the main lesson for today.",
    "Next week we follow a single drop of rain from a mountain top all the way "
    "to the ocean, and we count how long the journey takes.",
    "Please read the second chapter before then.",
    "Thank you.",
]

ES_SENTENCES = [
    "Buenas tardes a todos.",
    "Hoy quiero hablar del agua que usamos en casa.",
    "Cada persona usa más de cien litros al día sin darse cuenta.",
    "La ducha, la lavadora y el grifo de la cocina son los grandes culpables.",
    "Pero hay cosas sencillas que podemos cambiar.",
    "Cerrar el grifo mientras nos lavamos los dientes ahorra muchos litros cada semana.",
    "Arreglar una tubería vieja también ayuda.",
    "En mi barrio, los vecinos trabajaron juntos durante un año entero para "
    "cambiar las tuberías de todas las casas de la calle.",
    "Fue difícil.",
    "Al final, la factura bajó casi a la mitad.",
    "Los niños también aprendieron mucho.",
    "En la escuela preparan carteles con ideas para cuidar el agua, y "
    "luego los llevan a casa para enseñar a sus padres.",
    "Me parece una idea preciosa.",
    "El gobierno de la ciudad ahora quiere hacer lo mismo en otros barrios.",
    "¿Cuánto cuesta?",
    "Menos de lo que pensamos.",
    "El agua que perdíamos valía más que las tuberías nuevas.",
    "Gracias por escuchar.",
    "Ahora podemos responder a vuestras preguntas sobre el proyecto y sobre cómo empezar en vuestra propia casa.",
    "Muchas gracias.",
]


@dataclass
class Recording:
    """One recording of the benchmark: its audio, language, parts and reference text."""

    name: str
    audio: Path
    language: str
    parts: list[tuple[float, float, str]]

    @property
    def reference(self) -> str:
        return " ".join(text for _, _, text in self.parts)


@dataclass
class Speech:
    """Where a recording's speech is (seconds), from :func:`find_speech`."""

    duration: float
    speech: list[tuple[float, float]]
    onsets: list[float]
    thresholds_db: list[float]

    @property
    def speech_s(self) -> float:
        return sum(b - a for a, b in self.speech)

    @property
    def pauses(self) -> list[tuple[float, float]]:
        """The silences longer than 1 s between two stretches of speech."""
        gaps = [(a[1], b[0]) for a, b in zip(self.speech, self.speech[1:], strict=False)]
        return [(p, q) for p, q in gaps if q - p > PAUSE_S]

    @property
    def silences(self) -> list[tuple[float, float]]:
        """Everything that is not speech, from 0 to the end, the ends included."""
        edges = [0.0, *(t for span in self.speech for t in span), self.duration]
        return [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2) if edges[i + 1] > edges[i]]


def recording(name: str, cache: Path) -> Recording:
    """The recording called ``name`` (one of :data:`ALL`); espeak-ng ones are made under ``cache``."""
    if name in LONG:
        audio = EVAL / "long" / f"{name}.opus"
        segments = json.loads(audio.with_suffix(".segments.json").read_text(encoding="utf-8"))
        parts = [(float(s["start"]), float(s["end"]), s["ref"]) for s in segments]
    elif name == PHYSICS:
        audio = EVAL / "faster-whisper" / f"{name}.flac"
        parts = [(0.0, probe_duration(audio), audio.with_suffix(".txt").read_text(encoding="utf-8").strip())]
    elif name in ESPEAK:
        audio, parts = espeak_recording(name, cache)
    else:
        raise SystemExit(f"unknown recording {name!r}; choose from {', '.join(ALL)}")
    if not audio.is_file():
        raise SystemExit(f"{audio} is missing: the eval data lives in ../shared/eval/data")
    return Recording(name, audio, ESPEAK[name][1] if name in ESPEAK else name.split("_")[0], parts)


def espeak_recording(name: str, cache: Path) -> tuple[Path, list[tuple[float, float, str]]]:
    """``cache/<name>.wav``: the sentences spoken by espeak-ng, 0.3-2 s apart (seeded), made once."""
    voice, language = ESPEAK[name]
    audio, parts_file = cache / f"{name}.wav", cache / f"{name}.segments.json"
    if audio.is_file() and parts_file.is_file():
        return audio, [tuple(p) for p in json.loads(parts_file.read_text(encoding="utf-8"))]
    cache.mkdir(parents=True, exist_ok=True)
    sentences = EN_SENTENCES if language == "en" else ES_SENTENCES
    rng = random.Random(17)
    rate, chunks, parts, t = None, [], [], 1.0
    for text in sentences:
        rate, samples = espeak(voice, text, cache / f"{name}.part.wav")
        chunks.append(np.zeros(int(round((t - sum(len(c) for c in chunks) / rate) * rate)), np.int16))
        chunks.append(samples)
        parts.append((t, t + len(samples) / rate, text))
        t += len(samples) / rate + rng.uniform(0.3, 2.0)
    chunks.append(np.zeros(rate, np.int16))
    (cache / f"{name}.part.wav").unlink()
    with wave.open(str(audio), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(np.concatenate(chunks).tobytes())
    parts = [(round(a, 4), round(b, 4), text) for a, b, text in parts]
    parts_file.write_text(json.dumps(parts, indent=1, ensure_ascii=False), encoding="utf-8")
    return audio, parts


def espeak(voice: str, text: str, path: Path) -> tuple[int, np.ndarray]:
    subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(path), text], check=True)
    with wave.open(str(path), "rb") as f:
        return f.getframerate(), np.frombuffer(f.readframes(f.getnframes()), np.int16)


def probe_duration(audio: Path) -> float:
    return probe(audio).duration


def decode(audio: Path) -> np.ndarray:
    """The whole file as float32 mono at 16 kHz, by the package's own decoding."""
    return load_audio(audio)


def silencedetect(samples: np.ndarray, noise_db: float, min_s: float) -> list[tuple[float, float]]:
    """ffmpeg ``silencedetect`` on raw samples: the silences (seconds from their start) of ``min_s`` or more."""
    cmd = ["-nostats", "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0"]
    cmd += ["-af", f"silencedetect=noise={noise_db:.2f}dB:d={min_s}", "-f", "null", "-"]
    data = samples.astype(np.float32).tobytes()
    err = run_ffmpeg(
        cmd, name="samples", problem="silencedetect failed", fix="check ffmpeg", data=data, loglevel="info"
    )
    err = err.stderr
    starts, ends = [], []
    for line in err.decode(errors="replace").splitlines():
        if "silence_start:" in line:
            starts.append(max(0.0, float(line.split("silence_start:")[1].split()[0])))
        elif "silence_end:" in line:
            ends.append(float(line.split("silence_end:")[1].split()[0]))
    length = len(samples) / SAMPLE_RATE
    return [(a, ends[i] if i < len(ends) else length) for i, a in enumerate(starts)]


def peak_rms_db(samples: np.ndarray) -> float:
    size = int(RMS_WINDOW_S * SAMPLE_RATE)
    frames = samples[: len(samples) // size * size].reshape(-1, size).astype(np.float64)
    if not len(frames):
        return -120.0
    return float(10 * np.log10(max(np.mean(frames**2, axis=1).max(), 1e-12)))


def part_speech(samples: np.ndarray, start: float, end: float) -> tuple[list[tuple[float, float]], float]:
    """The speech inside one part: trimmed of digital silence, less its pauses of 1 s or more."""
    piece = samples[int(round(start * SAMPLE_RATE)) : int(round(end * SAMPLE_RATE))]
    loud = np.flatnonzero(np.abs(piece) > 10 ** (DIGITAL_SILENCE_DB / 20))
    if not len(loud):
        return [], -120.0
    first, last = int(loud[0]), int(loud[-1]) + 1
    piece = piece[first:last]
    threshold = peak_rms_db(piece) - PAUSE_BELOW_PEAK_DB
    voice = peak_rms_db(piece) - EDGE_BELOW_PEAK_DB
    t0 = start + first / SAMPLE_RATE
    spans, cursor = [], 0.0
    for a, b in [*silencedetect(piece, threshold, PAUSE_S), (len(piece) / SAMPLE_RATE,) * 2]:
        if a > cursor:
            edges = voiced_edges(piece[int(cursor * SAMPLE_RATE) : int(a * SAMPLE_RATE)], voice)
            if edges:
                spans.append((t0 + cursor + edges[0], t0 + cursor + edges[1]))
        cursor = max(cursor, b)
    return spans, threshold


def voiced_edges(samples: np.ndarray, level_db: float) -> tuple[float, float] | None:
    """(first, last) second of ``samples`` where the voice is: the first 10 ms frame at ``level_db`` or
    louder that starts 150 ms at that level on average, and the last that ends such 150 ms; None
    when there is none."""
    size = SAMPLE_RATE // 100
    frames = samples[: len(samples) // size * size].reshape(-1, size).astype(np.float64)
    power = np.mean(frames**2, axis=1) if len(frames) else np.zeros(0)
    level = 10 ** (level_db / 10)
    n = EDGE_FRAMES
    if len(power) < n:
        return None
    window = np.convolve(power, np.ones(n) / n, mode="valid")  # window[i]: frames i .. i + n - 1
    starts = np.flatnonzero((power[: len(window)] >= level) & (window >= level))
    ends = np.flatnonzero((power[n - 1 :] >= level) & (window >= level)) + n - 1
    if not len(starts) or not len(ends):
        return None
    return starts[0] / 100, (ends[-1] + 1) / 100


def find_speech(rec: Recording, cache: Path) -> Speech:
    """The recording's :class:`Speech`, computed once per file version and kept in ``cache``."""
    stat = rec.audio.stat()
    levels = f"{PAUSE_BELOW_PEAK_DB}|{EDGE_BELOW_PEAK_DB}|{EDGE_FRAMES}|v3"
    key = f"{rec.audio.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{rec.parts}|{levels}"
    path = cache / f"{rec.name}.speech-{hashlib.sha1(key.encode()).hexdigest()[:10]}.json"
    if path.is_file():
        return Speech(**json.loads(path.read_text(encoding="utf-8")))
    samples = decode(rec.audio)
    speech, onsets, thresholds = [], [], []
    for start, end, _ in rec.parts:
        spans, threshold = part_speech(samples, start, end)
        speech += spans
        onsets += [a for a, _ in spans]
        thresholds.append(round(threshold, 1))
    found = Speech(len(samples) / SAMPLE_RATE, sorted(speech), sorted(onsets), thresholds)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(found)), encoding="utf-8")
    return found

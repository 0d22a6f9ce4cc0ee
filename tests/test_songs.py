"""Songs and music: the notebook's ``vad`` field; a song in which voice detection
finds no speech is decoded whole, while noise and a test tone still never reach the model;
and the loop guard
(``longaudio.stitch.trim_loops``) keeping real repetition — a chorus sung four times — while cutting
what Whisper invents when it loops. Synthesized speech through the notebook's Transcribe step with
the bundled base model, and scripted transcripts straight through ``trim_loops``."""

from __future__ import annotations


import numpy as np
import pytest

from audiototext.longaudio.stitch import Placed, trim_loops
from audiototext.transcript import Word

from conftest import speak, write_wav

RATE = 16000
#: A chorus line base transcribes reliably, sung (spoken) four times with 2.5 s pauses.
CHORUS = "I will always love you, my darling."


@pytest.fixture(scope="session")
def chorus_wav(media_dir):
    from audiototext.media import load_audio

    line = load_audio(speak(CHORUS, "en-us", media_dir / "chorus-line.wav", speed=140))
    loud = np.flatnonzero(np.abs(line) > 1e-3)
    line = line[loud[0] : loud[-1] + 1]
    pause = np.zeros(int(2.5 * RATE), np.float32)
    return write_wav(
        media_dir / "chorus.wav", np.concatenate([pause, *(np.concatenate([line, pause]) for _ in range(4))])
    )


#: The song's lyric, and the level of its backing (square and sine chords, a beat) against the
#: voice: Silero finds 0 s of speech in it at 0.6 and 0.7 (8 s of 20 at 0.5), base hears every line.
LYRIC = "I will always love you, my darling. The stars are shining in the summer night."
BACKING = 0.65
CHORDS = ((220, 277, 330), (175, 220, 262), (262, 330, 392), (196, 247, 294))  # A, F, C, G: 2 s each


@pytest.fixture(scope="session")
def song_wav(media_dir):
    """The lyric three times over a loud backing: what a song is to voice detection (about 20 s)."""
    from audiototext.media import load_audio

    from conftest import trimmed

    line = trimmed(load_audio(speak(LYRIC, "en-us", media_dir / "lyric.wav", speed=130)))
    gap = np.zeros(int(0.8 * RATE), np.float32)
    voice = np.concatenate([gap, *(np.concatenate([line, gap]) for _ in range(3))])
    t = np.arange(len(voice)) / RATE
    backing = np.zeros_like(voice)
    for k in range(int(t[-1] // 2) + 1):
        at = (t >= 2 * k) & (t < 2 * k + 2)
        waves = (0.5 * np.sign(np.sin(2 * np.pi * f * t[at])) + np.sin(2 * np.pi * f * t[at]) for f in CHORDS[k % 4])
        backing[at] = sum(waves) / 3
    beat = (np.sin(2 * np.pi * 2 * t) > 0.9) * np.random.default_rng(0).standard_normal(len(t)) * 0.5
    song = voice / np.abs(voice).max() * 0.5 + BACKING * (0.5 * backing + 0.3 * beat)
    return write_wav(media_dir / "song.wav", song / np.abs(song).max() * 0.8)


@pytest.fixture(scope="session")
def tone_wav(media_dir):
    """20 s of a 440 Hz test tone: audible and tonal, but one pitch: not music."""
    from conftest import ffmpeg

    path = media_dir / "tone.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=20", "-ac", "1", str(path))
    return path


@pytest.fixture(scope="session")
def loop_wav(media_dir):
    """One word forty times in one utterance (Whisper base answers it with a loop of hundreds of
    words on some runs and not on others, so the decoder's loop is scripted below)."""
    return speak(" ".join(["go"] * 40), "en-us", media_dir / "go-loop.wav", speed=160)


def transcribe(path, tmp_path, **form):
    from audiototext import notebook

    transcription = notebook.transcribe(
        [str(path)],
        use_model="base",
        engine="faster-whisper",
        language="English",
        output_dir=str(tmp_path / "out"),
        output_formats="txt",
        **form,
    )
    [result] = transcription.results
    assert result.ok, result.error
    return result.transcript.text


# --- through the Transcribe step, with the bundled base model -------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("vad", ["silero", "off"])
def test_a_chorus_sung_four_times_keeps_its_four_lines(chorus_wav, tmp_path, vad, capsys):
    text = transcribe(chorus_wav, tmp_path, vad=vad)
    assert text.lower().count("darling") == 4, text
    assert text.lower().count("always love you") == 4, text
    assert "repeated in a loop" not in capsys.readouterr().out, "nothing was cut"


def test_a_song_without_detected_speech_is_decoded_whole(song_wav, caplog):
    """Voice detection finds (almost) no speech in a song; the plan decodes all of
    it, as ``vad off`` does, and says so (before: no window, empty files, no hint)."""
    from audiototext.longaudio import plan
    from audiototext.longaudio.source import DecodedFile, duration_of
    from audiototext.longaudio.speech import SpeechOptions, detect_speech

    with DecodedFile(song_wav) as source, caplog.at_level("WARNING", logger="audiototext"):
        found = sum(e - s for s, e in detect_speech(source, SpeechOptions(vad="silero")))
        windows = plan(source)
        duration = duration_of(source)
    assert found < 0.1 * duration, f"the premise: Silero hears no voice in the song ({found:.1f} s)"
    assert sum(p.duration for w in windows for p in w.pieces) == pytest.approx(duration, abs=0.05)
    assert f"silero voice detection found {found:.0f} s of speech in 20 s of music: decoding all of it" in caplog.text


def test_noise_a_test_tone_and_silence_still_never_reach_the_model(noise_wav, tone_wav, silence_wav, caplog):
    from audiototext.longaudio import plan
    from audiototext.longaudio.source import DecodedFile

    for path in (noise_wav, tone_wav, silence_wav):
        with DecodedFile(path) as source, caplog.at_level("WARNING", logger="audiototext"):
            assert plan(source) == [], path.name
    assert "music" not in caplog.text


@pytest.mark.slow
def test_a_song_gives_its_lyrics_with_the_default_vad(song_wav, tmp_path, capsys):
    text = transcribe(song_wav, tmp_path).lower()  # vad: the notebook's default, silero
    assert text.count("always love you") >= 2 and "shining" in text, text
    assert "decoding all of it, as with vad off" in capsys.readouterr().out


class LoopingBackend:
    """Decodes every window as Whisper does when it loops: one word over and over (tokens run out
    at 224), spread over the window."""

    name = "looping"
    tasks = 1

    def detect_language(self, audio):
        return "en"

    def submit(self, batch, options):
        from concurrent.futures import Future

        from audiototext.engines.windows import WindowText

        results = []
        for index, audio in zip(batch.indices, batch.audio):
            step = len(audio) / RATE / 224
            words = tuple(Word(k * step, (k + 1) * step, " go") for k in range(224))
            results.append((index, WindowText("".join(w.word for w in words), words)))
        future = Future()
        future.set_result(results)
        return future

    def close(self):
        pass


def test_a_spoken_loop_is_cut_in_the_long_audio_path(loop_wav, caplog):
    """Forty "go" spoken in one breath, planned by the real voice detection; the decoder loops; the
    cues keep the first two repeats and the log says how many words were cut."""
    from audiototext.engines import DecodeOptions
    from audiototext.longaudio import plan, transcribe_windows
    from audiototext.longaudio.source import DecodedFile

    with DecodedFile(loop_wav) as source, caplog.at_level("WARNING", logger="audiototext"):
        windows = plan(source)
        result = transcribe_windows(source, windows, DecodeOptions(language="en"), LoopingBackend(), batch_size=4)
    assert len(windows) == 1
    assert [cue.text.strip() for cue in result.transcript.segments] == ["go go"]
    assert "Cut 222 words that Whisper repeated in a loop" in caplog.text


# --- scripted transcripts through the loop guard (milliseconds) -----------------------------------------


def placed(text: str, seconds_per_word: float = 0.3) -> list[Placed]:
    return [
        Placed(Word(i * seconds_per_word, (i + 1) * seconds_per_word, f" {w}"), 0, 0)
        for i, w in enumerate(text.split())
    ]


def kept_text(text: str) -> tuple[str, int]:
    kept, cut = trim_loops(placed(text))
    return "".join(p.word.word for p in kept).strip(), cut


@pytest.mark.parametrize(
    "text",
    [
        " ".join(["I will always love you, my darling."] * 4),  # a chorus: a 7-word line four times
        " ".join(["Sing it loud!"] * 4) + " And again.",  # a short line four times
        "No, no, no, no, I said.",  # one word four times
        " ".join(["la la la"] * 5),  # 15 syllables of a refrain
        " ".join(["Stay with me."] * 5),  # a 3-word phrase five times (limit 16/3)
    ],
)
def test_real_repetition_is_kept(text):
    assert kept_text(text) == (text, 0)


@pytest.mark.parametrize(
    "text, kept",
    [
        (" ".join(["go"] * 40), "go go"),  # one word forty times
        (" ".join(["Thank you."] * 30), "Thank you. Thank you."),  # a 2-word phrase thirty times
        ("So " + " ".join(["we are here,"] * 12) + " today.", "So we are here, we are here, today."),
    ],
)
def test_a_loop_keeps_its_first_two_repeats(text, kept):
    result, cut = kept_text(text)
    assert result == kept and cut == len(text.split()) - len(kept.split())

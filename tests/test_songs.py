"""Songs and music (issue 12, point 3): the notebook's ``vad`` field, and the loop guard
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

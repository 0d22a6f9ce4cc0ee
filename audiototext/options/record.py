"""The pipeline's :class:`Options`: everything a run needs besides its inputs, made of the stages'
own records (decoding, long audio, subtitle style, DeepL). :func:`audiototext.options.build` makes
one from what a user typed; Python code may also make one directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..engines import ENGINES, DecodeOptions, default_engine, default_model
from ..formats import DEFAULT_FORMATS
from ..records import check, value
from ..longaudio import ParallelOptions
from ..style import NETFLIX, SubtitleStyle
from ..translation import DeepLOptions


@dataclass(frozen=True)
class Options:
    """Everything a run needs besides its inputs. Defaults do the right thing.

    Attributes:
        model: official name ("base", "large-v3", "turbo") or a local path (default: the
            default engine's default model).
        engine: "faster-whisper" (the default when installed), "openai-whisper", or "openai-api"
            (OpenAI's API, with ``api_key``).
        device: "cuda", "cpu" or None (a GPU when there is one).
        threads: CPU threads (None: all cores).
        decode: task, language, prompt and decoding options.
        output_dir: where ``<stem>.<ext>`` files go.
        formats: the registered formats to write (:func:`audiototext.formats.names`).
        style: how srt and vtt cues are made (reading rules by default, or the whisper CLI's).
        deepl: translate the lines with DeepL after writing (None: don't).
        progress: show tqdm.auto progress bars.
        parallel: how audio is decoded: windows of speech packed across pauses, decoded in
            batches (see :class:`~audiototext.longaudio.ParallelOptions`); ``mode="off"`` is the
            engine's own sequential decoding, identical to its CLI.
        api_key: OpenAI API key for the "openai-api" engine.
        audio_track: the audio track of each input, from 1 (None: the one flagged default, else
            the first that is not silent).
    """

    model: str = field(default_factory=default_model)
    engine: str = value(factory=default_engine, choices=tuple(ENGINES))
    device: str | None = None
    threads: int | None = value(None, min=0)
    decode: DecodeOptions = DecodeOptions()
    output_dir: Path = Path(".")
    formats: tuple[str, ...] = DEFAULT_FORMATS
    style: SubtitleStyle = NETFLIX
    deepl: DeepLOptions | None = None
    progress: bool = False
    parallel: ParallelOptions = ParallelOptions()
    api_key: str | None = None
    audio_track: int | None = value(None, min=0)

    def __post_init__(self) -> None:
        check(self)


__all__ = ["Options"]

"""audiototext: subtitles and transcripts from any audio or video, in any language, fast.

Quick start::

    import audiototext
    transcript = audiototext.transcribe("talk.mp4", model="base", task="transcribe")
    for segment in transcript.segments:
        print(segment.start, segment.end, segment.text)

Heavy dependencies (torch, whisper, faster_whisper, deepl) load only when a model or DeepL is
used, so importing this package is cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import AudioToTextError, MediaError, ModelError, OptionsError, TranslationError
from .transcript import Segment, Transcript, Word

__all__ = [
    "__version__",
    "transcribe",
    "run",
    "Options",
    "Segment",
    "Transcript",
    "Word",
    "AudioToTextError",
    "MediaError",
    "ModelError",
    "OptionsError",
    "TranslationError",
]


def __getattr__(name: str):
    # The pipeline pulls in numpy and the engines' modules; load it on first use only.
    if name in ("transcribe", "run"):
        from . import pipeline

        return getattr(pipeline, name)
    if name == "Options":
        from .options import Options

        return Options
    raise AttributeError(f"module 'audiototext' has no attribute {name!r}")

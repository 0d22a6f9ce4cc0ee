"""One exception base for the whole library; every error says what to do.

Errors keep their inputs as attributes and are picklable, because they cross process pools
(a worker's error is raised again in the parent).
"""

from __future__ import annotations


class AudioToTextError(Exception):
    """Base of every error this library raises on purpose."""

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        for key, value in details.items():
            setattr(self, key, value)

    def __reduce__(self):
        return (_rebuild, (type(self), self.message, self.details))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls, message, details):
    return cls(message, **details)


class MediaError(AudioToTextError):
    """An input cannot be read as audio: missing, not media, no audio stream, empty, no ffmpeg."""


class ModelError(AudioToTextError):
    """A model name or path cannot be resolved or loaded."""


class OptionsError(AudioToTextError):
    """An option has a value the library does not accept (unknown language, engine, format...)."""


class TranslationError(AudioToTextError):
    """DeepL translation failed: bad key, quota, network, service."""


class OutputError(AudioToTextError):
    """The output folder refused a file (read-only, full, not a folder, no permission).

    Attributes (when known): ``path`` the file or folder, ``reason`` the system's words.
    """

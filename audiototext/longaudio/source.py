"""Audio the long-audio path reads in pieces, so memory stays flat however long the recording.

A media file is decoded once by ffmpeg, streaming, into a temporary file of 16 kHz mono 16-bit
samples next to the work (2 bytes per sample: 115 MB per hour); windows and voice detection then
read only the stretch they need. An array already in memory (the Python API) is read the same way.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Protocol
from collections.abc import Iterator

import numpy as np

from ..errors import MediaError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
#: Seconds per block when the whole recording is scanned (voice detection, hashing): 19 MB of float32.
BLOCK_SECONDS = 300.0


class AudioSource(Protocol):
    """16 kHz mono audio that can be read in pieces."""

    @property
    def samples(self) -> int: ...

    def read(self, start: float, end: float) -> np.ndarray:
        """float32 samples of ``[start, end)`` seconds (clipped to the audio)."""
        ...


def duration_of(source: AudioSource) -> float:
    return source.samples / SAMPLE_RATE


def blocks(source: AudioSource, seconds: float = BLOCK_SECONDS) -> Iterator[tuple[float, np.ndarray]]:
    """(start in seconds, samples) of consecutive blocks covering the whole source."""
    step = int(seconds * SAMPLE_RATE)
    for first in range(0, source.samples, step):
        yield first / SAMPLE_RATE, source.read(first / SAMPLE_RATE, (first + step) / SAMPLE_RATE)


def whole(source: AudioSource) -> np.ndarray:
    """The whole audio in memory (the engines' own sequential decoding needs it)."""
    return source.read(0.0, duration_of(source))


def peak(source: AudioSource) -> float:
    """The largest absolute sample, read block by block."""
    return max((float(np.max(np.abs(block))) for _, block in blocks(source) if block.size), default=0.0)


def as_source(audio) -> AudioSource:
    """An array as an :class:`ArraySource`; a source as it is."""
    return ArraySource(audio) if isinstance(audio, np.ndarray) else audio


def fingerprint(source: AudioSource) -> str:
    """A hash of every sample, read block by block (what a checkpoint's text depends on)."""
    digest = hashlib.sha1()
    for _, block in blocks(source):
        digest.update(np.ascontiguousarray(block, np.float32).tobytes())
    return digest.hexdigest()


def _span(start: float, end: float, total: int) -> tuple[int, int]:
    lo = min(max(0, int(round(start * SAMPLE_RATE))), total)
    return lo, min(max(lo, int(round(end * SAMPLE_RATE))), total)


class ArraySource:
    """An in-memory float32 array as an :class:`AudioSource`."""

    def __init__(self, audio: np.ndarray):
        self.audio = np.asarray(audio, np.float32)

    @property
    def samples(self) -> int:
        return len(self.audio)

    def read(self, start: float, end: float) -> np.ndarray:
        lo, hi = _span(start, end, len(self.audio))
        return self.audio[lo:hi]


class DecodedFile:
    """A media file decoded once to a temporary 16-bit PCM file; read back in pieces.

    Use as a context manager (or call :meth:`close`): the temporary file is removed.
    """

    def __init__(self, path: Path | str, *, name: str | None = None, work_dir: Path | None = None):
        """Decode ``path``; ``name`` is how messages name it (the link the user gave, not a download)."""
        from ..media import probe, require_ffmpeg

        require_ffmpeg()
        probe(path, name=name)  # a clear error for "not media" / "no audio stream" first
        name = name or str(path)
        handle, temporary = tempfile.mkstemp(prefix="audiototext-", suffix=".s16", dir=work_dir)
        os.close(handle)
        self.path = Path(temporary)
        cmd = [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-threads",
            "0",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-ac",
            "1",
            "-ar",
            str(SAMPLE_RATE),
            "-f",
            "s16le",
            "-acodec",
            "pcm_s16le",
            str(self.path),
        ]
        try:
            subprocess.run(cmd, check=True, capture_output=True)
        except subprocess.CalledProcessError as e:
            self.close()
            reason = (e.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or ["unknown error"]
            raise MediaError(f"{name}: ffmpeg could not decode the audio ({reason[0]})", source=name) from e
        except BaseException:
            self.close()
            raise
        self._samples = self.path.stat().st_size // 2
        if self._samples == 0:
            self.close()
            raise MediaError(f"{name}: the audio is empty (0 samples); nothing to transcribe", source=name)

    @property
    def samples(self) -> int:
        return self._samples

    def read(self, start: float, end: float) -> np.ndarray:
        lo, hi = _span(start, end, self._samples)
        with open(self.path, "rb") as f:
            f.seek(lo * 2)
            data = np.fromfile(f, dtype="<i2", count=hi - lo)
        return data.astype(np.float32) / 32768.0

    def close(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError as e:  # a read-only or vanished temp dir must not hide the real error
            log.debug("Could not remove %s (%s)", self.path, e)

    def __enter__(self) -> DecodedFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = [
    "AudioSource",
    "ArraySource",
    "DecodedFile",
    "blocks",
    "duration_of",
    "fingerprint",
    "whole",
    "peak",
    "as_source",
    "SAMPLE_RATE",
]

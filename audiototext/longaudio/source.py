"""Audio the long-audio path reads in pieces, so memory stays flat however long the recording.

A media file is decoded once by ffmpeg, streaming, into a temporary file of 16 kHz mono 16-bit
samples next to the work (2 bytes per sample: 115 MB per hour); windows and voice detection then
read only the stretch they need. An array already in memory (the Python API) is read the same way.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol
from collections.abc import Iterator

import numpy as np

from ..errors import MediaError
from ..interrupts import forget, keep
from ..media import SAMPLE_RATE

log = logging.getLogger(__name__)

#: Seconds per block when the whole recording is scanned (voice detection, hashing): 19 MB of float32.
BLOCK_SECONDS = 300.0
#: Below this peak (about -80 dBFS) audio is silence: not sent to the model, a track passed over.
SILENT_PEAK = 1e-4
#: Bytes of decoded audio per second (16 kHz, 16-bit).
BYTES_PER_SECOND = 2 * SAMPLE_RATE


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


def _check_room(folder: Path, duration: float, name: str) -> None:
    """Refuse before decoding when ``folder`` has no room for ``duration`` seconds of decoded audio.

    Raises:
        MediaError: naming the folder, the room needed and the room left.
    """
    needed = int(duration * BYTES_PER_SECOND) + (1 << 20)
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # the decoding itself will say what is wrong with the folder
    if free < needed:
        raise MediaError(
            f"{name}: decoding needs about {needed / 1e6:.0f} MB in the temporary folder {folder}, which has "
            f"{free / 1e6:.0f} MB free; free some space there or set TMPDIR to a folder with more room",
            source=name,
            needed=needed,
            free=free,
        )


def _refuse_unwritten(stderr: bytes | str, name: str, folder: Path, *, cause: BaseException | None = None) -> None:
    """Raise when ffmpeg's messages say the decoded audio could not be written (a full folder).

    Raises:
        MediaError: naming the temporary folder and what to do (free space, or set TMPDIR).
    """
    from ..media import write_failure

    failure = write_failure(stderr)
    if failure is not None:
        raise MediaError(
            f"{name}: the decoded audio could not be written to the temporary folder {folder} ({failure.strip()}); "
            "free some space there or set TMPDIR to a folder with more room, then run again",
            source=name,
        ) from cause


class DecodedFile:
    """A media file decoded once to a temporary 16-bit PCM file; read back in pieces.

    The audio track is the one asked for, else the one the file flags default, else the first;
    a silent track is passed over for the next one (a film's silent default track would give empty
    subtitles). The media's timeline is
    kept across timestamp gaps (:data:`~audiototext.media.KEEP_TIMELINE`). A temporary folder
    without room for the decoded audio fails before decoding; one that fills up while ffmpeg
    writes fails too, naming the folder, whether ffmpeg exits 1 (it is no fault of the file) or 0
    (it can, after failing to write its last buffer: the end of the audio would be missing unsaid).
    Use as a context manager (or call :meth:`close`): the temporary file is removed.
    """

    def __init__(
        self, path: Path | str, *, name: str | None = None, work_dir: Path | None = None, track: int | None = None
    ):
        """Decode ``path``; ``name`` is how messages name it (the link the user gave, not a download);
        ``track`` the audio track, from 1 (None: chosen as above).

        Raises:
            MediaError: not media, no audio, ffmpeg failed, the temporary folder is full.
            OptionsError: ``track`` is not one of the file's audio tracks.
        """
        from ..media import probe, require_ffmpeg, track_order

        require_ffmpeg()
        name = name or str(path)
        info = probe(path, name=name)  # a clear error for "not media" / "no audio stream" first
        candidates = track_order(info, track, name)
        folder = Path(work_dir or tempfile.gettempdir())
        _check_room(folder, info.duration, name)
        handle, temporary = tempfile.mkstemp(prefix="audiototext-", suffix=".s16", dir=folder)
        os.close(handle)
        self.path, self.track, self._samples = Path(temporary), candidates[0], 0
        keep(self.path)  # removed by stop_children if the process is stopped while this file is in use
        try:
            for number, candidate in enumerate(candidates, 1):
                self.track = candidate
                self._decode(path, name, folder)
                if number == len(candidates) or peak(self) >= SILENT_PEAK:
                    break
                log.info("%s: audio track %s is silent: trying track %d", name, candidate, candidates[number].number)
        except BaseException:
            self.close()
            raise
        if self._samples == 0:
            self.close()
            raise MediaError(f"{name}: the audio is empty (0 samples); nothing to transcribe", source=name)

    def _decode(self, path: Path | str, name: str, folder: Path) -> None:
        from ..media import DECODE_FIX, DECODE_PROBLEM, decode_command, run_ffmpeg

        command = decode_command(path, str(self.path), track=self.track.number)
        try:
            stderr = run_ffmpeg(command, name=name, problem=DECODE_PROBLEM, fix=DECODE_FIX, path=path).stderr
        except MediaError as e:  # a full folder makes ffmpeg exit 1 too: the file is not to blame then
            _refuse_unwritten(getattr(e, "stderr", ""), name, folder, cause=e)
            raise
        self._samples = self.path.stat().st_size // 2
        _refuse_unwritten(stderr, name, folder)  # ffmpeg may exit 0 after failing to write its last buffer
        decoded = self._samples / SAMPLE_RATE
        if self.track.end and decoded < self.track.end - max(1.0, 0.01 * self.track.end):
            stated = f"only {decoded:.1f} s of the {self.track.end:.1f} s the file states could be decoded"
            if shutil.disk_usage(folder).free < (1 << 20):  # the temporary folder filled up
                raise MediaError(
                    f"{name}: {stated}: the temporary folder {folder} is full; free some space there or set "
                    "TMPDIR to a folder with more room, then run again",
                    source=name,
                )
            log.warning("%s: %s; its end may be missing (a damaged file?)", name, stated)

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
        forget(self.path)
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
]

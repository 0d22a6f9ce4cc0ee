"""Media input: resolve local paths and URLs, probe, decode to 16 kHz mono float32 with ffmpeg.

Every ffmpeg and ffprobe the package starts goes through :func:`run_ffmpeg`: an argument list
(never a shell string), local paths as ``file:`` paths (:func:`ffmpeg_path`), the process known to
:func:`~audiototext.interrupts.stop_children`, and one error style, a :class:`MediaError` that
names the input, quotes ffmpeg's reason and says what to do. Decoding keeps the media's timeline
and reads the chosen audio track (:func:`decode_command`, :func:`track_order`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator, Sequence

import numpy as np

from .errors import MediaError
from .interrupts import registered
from .links import fetch_link, is_url

log = logging.getLogger(__name__)

#: Samples per second of all the audio the package handles: what Whisper's models take.
SAMPLE_RATE = 16000

_INSTALL_FFMPEG = (
    "ffmpeg is not installed or not on PATH: install it (Debian/Ubuntu/Colab: "
    "`apt-get install -y ffmpeg`; macOS: `brew install ffmpeg`; Windows: `winget install ffmpeg`)"
)


@dataclass(frozen=True)
class AudioTrack:
    """One audio stream of a file, as ffprobe describes it.

    Attributes:
        number: its place among the file's audio tracks, from 1 (``--audio-track``).
        default: the file flags it as the one to play.
        language: its language tag ("eng"), or "".
        title: its title tag ("Commentary"), or "".
        end: where it ends, in seconds from the file's start (0 when the file does not say).
    """

    number: int
    default: bool = False
    language: str = ""
    title: str = ""
    end: float = 0.0

    def __str__(self) -> str:
        tags = ", ".join(t for t in (self.language, repr(self.title) if self.title else "") if t)
        return f"{self.number}" + (f" ({tags})" if tags else "") + (" [default]" if self.default else "")


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says about a file."""

    path: Path
    duration: float
    audio_streams: int
    video_streams: int
    format_name: str
    tracks: tuple[AudioTrack, ...] = ()


@dataclass(frozen=True)
class MediaInput:
    """An input resolved to a local file.

    Attributes:
        source: the argument as the user gave it (path or URL).
        path: the local file to decode.
        stem: the name output files take (``<stem>.srt``).
    """

    source: str
    path: Path
    stem: str


def ffmpeg_path(path: Path | str) -> str:
    """A local path as ffmpeg and ffprobe must get it: ``file:`` first, so that a name starting with
    ``-`` is no option and ``notes:part1.wav``, ``https:clip.wav`` or ``pipe:0.wav`` no protocol."""
    return "file:" + os.fspath(path)


def require_ffmpeg() -> None:
    """Raise :class:`MediaError` with install instructions when ffmpeg/ffprobe are missing."""
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            raise MediaError(_INSTALL_FFMPEG, tool=tool)


def run_ffmpeg(
    args: Sequence[str],
    *,
    name: str,
    problem: str,
    fix: str,
    path: Path | str | None = None,
    data: bytes | None = None,
    tool: str = "ffmpeg",
    loglevel: str = "error",
    cwd: Path | str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess:
    """Run ffmpeg (or ffprobe) with ``args``, an argument list, and return what it wrote.

    The command starts ``<tool> -hide_banner -loglevel <loglevel>`` (and ``-nostdin`` for ffmpeg
    without ``data``, so it never reads the terminal). The process is registered, so a service
    stopping ends it (:func:`~audiototext.interrupts.stop_children`); Ctrl-C or SIGTERM ends it too.

    Args:
        args: the rest of the command; local files as :func:`ffmpeg_path` gives them.
        name: the input as the user named it (a link, not its temporary download).
        problem: what failed, as the message says it after the name ("ffmpeg could not decode the audio").
        fix: what the user can do, the message's end.
        path: the local file, replaced by ``name`` in ffmpeg's words.
        data: bytes for ffmpeg's standard input (``pipe:0``).
        loglevel: ffmpeg's ``-loglevel``; "info" where its messages are the answer (silencedetect).
        timeout: seconds before the process is killed and the run fails.

    Returns:
        The finished process, ``stdout`` and ``stderr`` as bytes.

    Raises:
        MediaError: ``"<name>: <problem> (<its last line>); <fix>"`` (``stderr``: its words); no tool: how to install it
    """
    if shutil.which(tool) is None:
        raise MediaError(_INSTALL_FFMPEG, tool=tool)
    quiet_stdin = ["-nostdin"] if tool == "ffmpeg" and data is None else []
    command = [tool, "-hide_banner", "-loglevel", loglevel, *quiet_stdin, *map(str, args)]
    stdin = subprocess.DEVNULL if data is None else subprocess.PIPE
    try:
        with (
            subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd) as process,
            registered(process),
        ):
            try:
                stdout, stderr = process.communicate(data, timeout=timeout)
            except BaseException:  # Ctrl-C, SIGTERM, the timeout: ffmpeg goes too
                process.kill()
                raise
    except subprocess.TimeoutExpired as e:
        raise MediaError(f"{name}: {problem} ({tool} took more than {timeout:g} s); {fix}", source=name) from e
    except OSError as e:
        raise MediaError(f"{name}: {problem} ({tool} could not start: {e}); {fix}", source=name) from e
    if process.returncode < 0:  # killed: stop_children, the system running out of memory
        raise MediaError(f"{name}: {problem} ({tool} was stopped by signal {-process.returncode}); {fix}", source=name)
    if process.returncode != 0:  # ffmpeg's words kept: a caller may find a cause the fix must name
        text = stderr.decode("utf-8", "replace")[-4000:]
        raise MediaError(f"{name}: {problem} ({_reason(stderr, path, name)}); {fix}", source=name, stderr=text)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _reason(stderr: bytes, path: Path | str | None, name: str) -> str:
    """ffmpeg's last line, the local path written as the user named the input."""
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    reason = lines[-1].strip() if lines else "no message"
    if path is not None:
        reason = reason.replace(ffmpeg_path(path), name).replace(os.fspath(path), name)
    return reason


def resolve(
    source: str | os.PathLike,
    *,
    download_dir: Path | None = None,
    progress: bool = True,
    max_bytes: int | None = None,
    timeout: float = 60.0,
) -> MediaInput:
    """Turn a path or an ``http(s)://`` link into a :class:`MediaInput` with a local file.

    Raises:
        MediaError: the path is missing or a directory, or the download failed.
    """
    source = str(source)
    if is_url(source):
        target_dir = Path(download_dir) if download_dir else Path(tempfile.mkdtemp(prefix="audiototext-"))
        try:
            path = fetch_link(source, target_dir, progress=progress, max_bytes=max_bytes, timeout=timeout)
        except BaseException:
            if not download_dir:
                shutil.rmtree(target_dir, ignore_errors=True)
            raise
        return MediaInput(source, path, path.stem)
    if "://" in source:
        raise MediaError(f"{source}: only http:// and https:// links can be downloaded", source=source)
    path = Path(source).expanduser()
    if not path.exists():
        raise MediaError(f"{source}: no such file; check the path (relative to {os.getcwd()})", source=source)
    if path.is_dir():
        raise MediaError(f"{source}: is a directory; give the audio or video files inside it", source=source)
    check_regular(path, source)
    return MediaInput(source, path, path.stem)


def check_regular(path: Path, name: str) -> None:
    """Refuse a FIFO, a device or a socket: reading one can wait forever.

    Raises:
        MediaError: ``path`` is not a regular file (links are followed).
    """
    mode = path.stat().st_mode
    if stat.S_ISREG(mode):
        return
    kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    raise MediaError(
        f"{name}: is {kind}, not a file; save the stream to a file first (e.g. `ffmpeg -i {name} recording.wav`) "
        "and give that file",
        source=name,
    )


@contextlib.contextmanager
def fetched(
    source: str | os.PathLike, *, progress: bool = True, max_bytes: int | None = None, timeout: float = 60.0
) -> Iterator[MediaInput]:
    """:func:`resolve` ``source``; a link is downloaded into a temporary folder, removed on exit.

    The folder goes also when the download or the decoding fails, or on Ctrl-C: downloads are
    large and nobody would know to look for them.

    Raises:
        MediaError: as :func:`resolve`.
    """
    if not is_url(str(source)):
        yield resolve(source, progress=progress)
        return
    folder = Path(tempfile.mkdtemp(prefix="audiototext-"))
    try:
        yield resolve(source, download_dir=folder, progress=progress, max_bytes=max_bytes, timeout=timeout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def natural_stem(source: str) -> str | None:
    """The name a local source's output files take (its stem); None for a link, whose name is
    known only once downloaded (``Content-Disposition``, else the link's last path part)."""
    if is_url(str(source)):
        return None
    return Path(str(source)).expanduser().stem or None


def probe(path: Path | str, *, name: str | None = None) -> MediaInfo:
    """Duration, stream counts and audio tracks of a media file.

    Args:
        path: the local file.
        name: how messages name it (the link the user gave, not a temporary download).

    Raises:
        MediaError: ffmpeg missing, the file is not media, or it has no audio stream.
    """
    require_ffmpeg()
    name = name or str(path)
    done = run_ffmpeg(
        ["-show_format", "-show_streams", "-of", "json", ffmpeg_path(path)],
        name=name,
        problem="not an audio or video file ffmpeg can read",
        fix=NOT_MEDIA_FIX,
        path=path,
        tool="ffprobe",
    )
    info = json.loads(done.stdout.decode("utf-8", "replace") or "{}")
    streams = info.get("streams", [])
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    video = [
        s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    fmt = info.get("format", {})
    if not audio:
        what = "a video with no audio stream" if video else "no audio stream"
        raise MediaError(f"{name}: {what}; nothing to transcribe", source=name)
    duration = _float(fmt.get("duration")) or max((_float(s.get("duration")) for s in audio), default=0.0)
    start = _float(fmt.get("start_time"))
    tracks = tuple(_track(number, stream, start) for number, stream in enumerate(audio, 1))
    return MediaInfo(Path(path), duration, len(audio), len(video), fmt.get("format_name", ""), tracks)


def _track(number: int, stream: dict, file_start: float) -> AudioTrack:
    tags = {k.lower(): v for k, v in (stream.get("tags") or {}).items()}
    length = _float(stream.get("duration")) or _clock_seconds(tags.get("duration", ""))
    offset = max(0.0, _float(stream.get("start_time")) - file_start)
    return AudioTrack(
        number,
        bool((stream.get("disposition") or {}).get("default")),
        str(tags.get("language", "")).strip(),
        str(tags.get("title", "")).strip(),
        offset + length if length else 0.0,
    )


def _clock_seconds(text: str) -> float:
    """``00:01:02.500000000`` (Matroska's DURATION tag) in seconds; 0 when it is not one."""
    try:
        h, m, sec = str(text).split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)
    except ValueError:
        return 0.0


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def track_order(info: MediaInfo, requested: int | None, name: str) -> list[AudioTrack]:
    """The audio tracks to try, best first: ``requested`` alone, else the one flagged default, then
    the others in file order (the caller moves on when one is silent). Says which tracks exist.

    Raises:
        OptionsError: ``requested`` is not one of the file's tracks.
    """
    tracks = list(info.tracks) or [AudioTrack(1)]
    if requested is not None:
        if not 1 <= requested <= len(tracks):
            from .errors import OptionsError

            raise OptionsError(
                f"{name}: has {len(tracks)} audio track{'s' if len(tracks) > 1 else ''} ("
                + ", ".join(map(str, tracks))
                + f"): audio_track must be between 1 and {len(tracks)}, not {requested}",
                option="audio_track",
                value=requested,
            )
        return [tracks[requested - 1]]
    order = sorted(tracks, key=lambda t: not t.default)  # stable: flagged default first
    if len(tracks) > 1:
        log.info(
            "%s has %d audio tracks: %s; transcribing track %d (choose another with audio_track)",
            name,
            len(tracks),
            ", ".join(map(str, tracks)),
            order[0].number,
        )
    return order


#: How the timeline is kept: timestamp gaps are filled with silence and a track that starts after
#: the file does is padded at the start, so subtitle times match the media's clock (a recording with
#: gaps, or a video whose audio starts late, would otherwise get subtitles that drift).
KEEP_TIMELINE = "aresample=async=1:first_pts=0"
#: ffmpeg's options that keep a jump in the timestamps of MPEG-TS (and other formats that allow
#: discontinuities): beyond 10 s (the default threshold) ffmpeg takes a forward jump for a broken
#: clock and closes it, so a recording paused for a minute would lose its pause. 100000 s (28 h)
#: keeps every real gap; the 26.5-hour wrap of MPEG-TS clocks is undone before this applies.
KEEP_GAPS = ("-dts_delta_threshold", "100000")


#: How decoding failures read (:func:`run_ffmpeg`'s ``problem`` and ``fix``).
DECODE_PROBLEM = "ffmpeg could not decode the audio"
DECODE_FIX = "the file may be damaged: check that it plays, or convert it to WAV and give that file"
#: What to do about a file ffprobe cannot read.
NOT_MEDIA_FIX = "give an audio or video file (check that it plays in a media player)"


def decode_command(path: Path | str, output: str, *, track: int = 1, sample_rate: int = SAMPLE_RATE) -> list[str]:
    """The arguments of :func:`run_ffmpeg` that decode audio track ``track`` (from 1) of ``path`` to
    16-bit mono PCM at ``output`` ("-": standard output)."""
    return [
        *("-y", "-threads", "0", *KEEP_GAPS),
        *("-i", ffmpeg_path(path), "-map", f"0:a:{track - 1}", "-af", KEEP_TIMELINE),
        *("-ac", "1", "-ar", str(sample_rate), "-f", "s16le", "-acodec", "pcm_s16le", output),
    ]


#: What ffmpeg prints when it could not write its output, while it may still exit 0 (a full disk).
_WRITE_FAILURES = ("No space left", "Error writing", "Error closing", "File too large", "Disk quota", "write_frame")


def write_failure(stderr: bytes | str) -> str | None:
    """The line of ffmpeg's messages saying the output could not be written, or None."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    return next((line for line in text.splitlines() if any(f in line for f in _WRITE_FAILURES)), None)


def load_audio(
    path: Path | str, *, sample_rate: int = SAMPLE_RATE, name: str | None = None, track: int | None = None
) -> np.ndarray:
    """Decode an audio track of any media file to mono float32 at ``sample_rate``.

    Args:
        path: the local file.
        sample_rate: samples per second of the result.
        name: how messages name it (the link the user gave, not a temporary download).
        track: the audio track, from 1 (None: the one flagged default, else the first).

    Raises:
        MediaError: not media, no audio stream, or no samples at all.
    """
    name = name or str(path)
    info = probe(path, name=name)  # clear errors for "not media" / "no audio" before decoding
    chosen = track_order(info, track, name)[0].number
    command = decode_command(path, "-", track=chosen, sample_rate=sample_rate)
    done = run_ffmpeg(command, name=name, problem=DECODE_PROBLEM, fix=DECODE_FIX, path=path)
    audio = np.frombuffer(done.stdout, np.int16).astype(np.float32) / 32768.0
    if audio.size == 0:
        raise MediaError(f"{name}: the audio is empty (0 samples); nothing to transcribe", source=name)
    return audio

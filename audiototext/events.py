"""The one events contract: how every stage reports while it runs, and how every face shows it.

Engines, long-audio execution and the pipeline report through one :class:`Callbacks` record;
progress is one :class:`Progress` record counted in windows (30 s pieces of audio the model
decodes), whatever the path: the long-audio executor counts the windows it really decodes, the
sequential path counts Whisper's 30 s windows as its segments pass them. The CLI and the
notebook draw it with one :class:`ProgressBar`; the HTTP service stores it as the job's status.

Live lines reach the faces only through ``Callbacks.on_segment`` (never by capturing
``sys.stdout``: process-wide state mixes jobs that run in threads). No heavy imports here.
"""

from __future__ import annotations

import math
import sys
import weakref
from dataclasses import dataclass
from collections.abc import Callable

from .transcript import Segment

#: Seconds of audio Whisper decodes per window; the sequential path counts progress in these.
WINDOW_SECONDS = 30.0


@dataclass(frozen=True)
class Progress:
    """One progress event.

    Attributes:
        total_segments: windows to decode (grows when a window Whisper ended early gets a
            continuation window).
        done_segments: windows decoded so far (resumed ones included).
        tasks: workers decoding (1 for one in-process batch stream).
        finished: the last event of a run.
    """

    total_segments: int
    done_segments: int
    tasks: int
    finished: bool = False


@dataclass(frozen=True)
class Download:
    """A model download's progress (a large model is gigabytes: a silent wait looks like a hang).

    Attributes:
        name: the model ("large-v3").
        done: bytes downloaded so far.
        total: bytes in all (None: not known yet).
        finished: the last event of the download.
    """

    name: str
    done: int
    total: int | None
    finished: bool = False


ProgressCallback = Callable[[Progress], None]
SegmentCallback = Callable[[Segment], None]
DownloadCallback = Callable[[Download], None]


@dataclass
class Callbacks:
    """Live reporting, shared by engines, long-audio execution, pipeline and the three faces.

    Every field is optional; the library never prints.

    Attributes:
        on_segment: each final line as soon as it is known, in time order (whole-audio time).
        on_language: the detected (or given) language code, once per input.
        on_progress: :class:`Progress` events.
        on_file_start: an input's name, before its work starts.
        on_translated_line: each DeepL-translated line as it is written.
        on_download: :class:`Download` events while model weights download.
    """

    on_segment: SegmentCallback | None = None
    on_language: Callable[[str], None] | None = None
    on_progress: ProgressCallback | None = None
    on_file_start: Callable[[str], None] | None = None
    on_translated_line: SegmentCallback | None = None
    on_download: DownloadCallback | None = None

    def segment(self, segment: Segment) -> None:
        if self.on_segment:
            self.on_segment(segment)

    def language(self, code: str) -> None:
        if self.on_language:
            self.on_language(code)

    def progress(self, event: Progress) -> None:
        if self.on_progress:
            self.on_progress(event)


def windows_in(duration: float) -> int:
    """Whisper windows in ``duration`` seconds of audio (at least 1)."""
    return max(1, math.ceil(duration / WINDOW_SECONDS - 1e-9))


class SequentialProgress:
    """Progress events for sequential decoding, which reports segments, not windows.

    The audio's 30 s windows are the unit: a segment ending at 95 s means three windows are done.
    """

    def __init__(self, duration: float, callbacks: Callbacks):
        self.total = windows_in(duration)
        self.callbacks = callbacks
        self.done = 0
        callbacks.progress(Progress(self.total, 0, 1))

    def advance_to(self, seconds: float) -> None:
        done = min(self.total - 1, int(seconds // WINDOW_SECONDS))
        if done > self.done:
            self.done = done
            self.callbacks.progress(Progress(self.total, done, 1))

    def finish(self) -> None:
        self.callbacks.progress(Progress(self.total, self.total, 1, True))


#: The bars drawn now (:class:`ProgressBar`, :class:`DownloadBar`), for :func:`close_bars`.
_OPEN_BARS: weakref.WeakSet = weakref.WeakSet()


def close_bars() -> None:
    """Close every bar still drawn, as it stands. A run stopped by Ctrl-C leaves its bar open, and
    tqdm closes an open bar at exit, drawing it once more: after the face's last line."""
    for owner in list(_OPEN_BARS):
        if owner.bar is not None:
            owner.bar.close()
            owner.bar = None


class _Bar:
    """A ``tqdm.auto`` bar. In a notebook, tqdm's widget also carries a plain-text copy of the bar
    for viewers without widgets (a saved notebook on GitHub, nbconvert), taken when it is shown: 0 %.
    The widget is shown here with a display id instead, and shown again when the bar closes, so that
    copy says how it ended."""

    def __init__(self, **kwargs) -> None:
        from tqdm.auto import tqdm

        self.handle = None
        notebook = sys.modules.get("tqdm.notebook")  # imported by tqdm.auto in a notebook only
        if notebook is not None and issubclass(tqdm, notebook.tqdm):
            from IPython.display import display

            self.tqdm = tqdm(display=False, **kwargs)
            if hasattr(self.tqdm, "container"):  # not when tqdm disabled itself
                self.handle = display(self.tqdm.container, display_id=True)
        else:
            self.tqdm = tqdm(**kwargs)

    def close(self) -> None:
        self.tqdm.close()
        if self.handle is not None:
            self.handle.update(self.tqdm.container)


class ProgressBar:
    """A :data:`ProgressCallback` that draws a ``tqdm.auto`` bar (terminal or notebook) over windows."""

    def __init__(self, desc: str = "Transcribing"):
        self.desc = desc
        self.bar = None

    def __call__(self, event: Progress) -> None:
        if self.bar is None:
            self.bar = _Bar(total=event.total_segments, unit="window", desc=self.desc)
            _OPEN_BARS.add(self)
        bar = self.bar.tqdm
        if bar.total != event.total_segments:
            bar.total = event.total_segments
        bar.set_postfix_str(f"{event.tasks} worker{'s' if event.tasks != 1 else ''}", refresh=False)
        bar.update(event.done_segments - bar.n)
        if event.finished:
            self.bar.close()
            self.bar = None


class DownloadBar:
    """A :data:`DownloadCallback` that draws a ``tqdm.auto`` bar in bytes (terminal or notebook)."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, event: Download) -> None:
        if self.bar is None:
            self.bar = _Bar(
                total=event.total, unit="B", unit_scale=True, unit_divisor=1024, desc=f"Downloading {event.name}"
            )
            _OPEN_BARS.add(self)
        bar = self.bar.tqdm
        if event.total and bar.total != event.total:
            bar.total = event.total
        bar.update(event.done - bar.n)
        if event.finished:
            self.bar.close()
            self.bar = None


def write_line(text: str, file=None) -> None:
    """Print one line around any live progress bar (``tqdm.write``).

    A Ctrl-C that lands while tqdm takes its lock stays a KeyboardInterrupt: tqdm then releases a
    lock it never took and raises RuntimeError in its place, which would hide the interrupt.
    """
    from tqdm.auto import tqdm

    try:
        tqdm.write(text, file=file)
    except RuntimeError as e:
        if isinstance(e.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        raise


def fan_out(*listeners: Callable | None) -> Callable:
    """One callback (progress, download) that calls every given listener (None ones skipped)."""
    active = [f for f in listeners if f]

    def call(event: Progress) -> None:
        for listener in active:
            listener(event)

    return call


__all__ = [
    "close_bars",
    "write_line",
    "WINDOW_SECONDS",
    "Progress",
    "Download",
    "DownloadCallback",
    "DownloadBar",
    "ProgressCallback",
    "SegmentCallback",
    "Callbacks",
    "SequentialProgress",
    "ProgressBar",
    "fan_out",
    "windows_in",
]

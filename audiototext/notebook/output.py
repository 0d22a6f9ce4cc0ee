"""What the notebook shows: the library's log lines, live subtitle lines, HTML, one-line errors.

Front ends print; the library only logs and calls :class:`~audiototext.events.Callbacks`. Live
lines reach the cell through those callbacks (never by capturing ``sys.stdout``) and are written
with ``tqdm.write`` so they go around a live progress bar.
"""

from __future__ import annotations

import html
import sys

from ..downloads import size_text as human_size
from ..errors import AudioToTextError
from ..events import Callbacks, write_line
from ..formats import format_timestamp
from ..transcript import Segment
from .colab import in_colab, in_jupyter


class NotebookError(AudioToTextError):
    """A step could not go on. IPython shows only its message, not a traceback wall."""

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of formatting the traceback (IPython's InteractiveShell.showtraceback).
        return [f"\x1b[1;31m❌ {self.message}\x1b[0m"]


def stop(error: AudioToTextError) -> NotebookError:
    """The error to raise from a step: the same message, shown without a traceback."""
    return NotebookError(str(error), cause=type(error).__name__)


def write(line: str) -> None:
    """Print one line in the cell, around a live tqdm bar."""
    write_line(line, file=sys.stdout)


def setup_logging() -> None:
    """Print the library's INFO lines (detected language, files written...) in the notebook, warnings
    and errors marked; every line goes to the debug log (:mod:`audiototext.logs`), written afresh
    once per session. The CLI's handler, with the cell's output for a stream."""
    from ..logs import show_logs

    show_logs(stream="stdout", marks=True, session=True)


def segment_line(segment: Segment) -> str:
    """ "[00:01.500 --> 00:04.000] Hola." """
    return f"[{format_timestamp(segment.start)} --> {format_timestamp(segment.end)}] {segment.text.strip()}"


def print_segment(segment: Segment) -> None:
    write(segment_line(segment))


def rich() -> bool:
    """Whether the cell shows HTML (Colab, Jupyter) rather than plain text."""
    return in_colab() or in_jupyter()


def display(obj) -> None:
    """Show a rich object (HTML, Audio, a widget) in the cell."""
    from IPython.display import display as show

    show(obj)


def show(html_text: str, plain: str) -> None:
    """HTML in a notebook, ``plain`` elsewhere."""
    if rich():
        from IPython.display import HTML

        display(HTML(html_text))
    else:
        print(plain)


def show_error(error: Exception, note: str = "") -> None:
    """One red line (and a note) without stopping the step."""
    text = f"❌ {error}" + (f"\n{note}" if note else "")
    show(
        f"<p style='color:#c00'>❌ {html.escape(str(error))}" + (f"<br>{html.escape(note)}" if note else "") + "</p>",
        text,
    )


def callbacks() -> Callbacks:
    """Live lines: each input's name, each line as soon as it is final, each DeepL line. The pipeline
    draws the progress bar itself (``Options.progress``) and logs how the audio was cut up."""

    def on_file_start(source: str) -> None:
        write(f"\n▶ {source}")

    return Callbacks(on_segment=print_segment, on_file_start=on_file_start, on_translated_line=print_segment)


__all__ = [
    "NotebookError",
    "stop",
    "write",
    "setup_logging",
    "segment_line",
    "print_segment",
    "rich",
    "display",
    "show",
    "show_error",
    "human_size",
    "callbacks",
]

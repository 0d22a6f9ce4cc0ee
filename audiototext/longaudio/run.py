"""One long-audio run: windows decoded by a backend, continued where Whisper stopped early, and
their cues placed on the recording as soon as each window and every window before it are final.

Batches are fixed groups of windows (:func:`audiototext.longaudio.batch_groups`), so a resumed run
decodes exactly the batches an uninterrupted one would. With several in-process workers (a CPU)
the work is cut finer: each window is encoded on its own as a task, and a batch is decoded as soon
as its windows are encoded, so no worker waits while another finishes a big batch (the encoder's
output does not depend on its batch, and a batch's decoding is the same whoever runs it).
"""

from __future__ import annotations

import dataclasses
import logging
from concurrent.futures import FIRST_COMPLETED, Future, wait
from collections.abc import Callable

from ..engines import DecodeOptions
from ..engines.windows import Encoded, WindowText
from ..events import Callbacks, Progress
from ..transcript import Segment, Word
from .backends import Backend, Batch
from .checkpoints import Checkpoints
from .plan import Window, continuation
from .source import AudioSource
from .coverage import (
    EARLY_STOP,
    MAX_ROUNDS,
    REDECODED,
    UNCOVERED_SPEECH,
    WORD_BASE,
    plausible_end,
    same_word,
    uncovered,
)
from .onsets import refine_onsets
from .stitch import Placed, make_cues, place_words, trim_loops

log = logging.getLogger(__name__)


def _outside(words: list[Word], stop: float, resume: float, first: Word | None, at_end: bool) -> list[Word]:
    """A window's words, less those of the stretch ``stop..resume`` its continuation decoded again.

    Words stretched over the resume (ending past it) were said there, with the stretched words
    just before them: they stay, from the resume on. When the stretch runs to the window's end
    (``at_end``: Whisper ended it early), the word stretched from the stop was said at the stop, and
    stays at its likely length unless the continuation says it again (``first``: its first word).
    """
    inside = [k for k, w in enumerate(words) if stop - 1e-6 <= w.start < resume - 1e-6]
    late = [k for k in inside if words[k].end > resume + 1e-6]
    kept = {k: w for k, w in enumerate(words) if k not in inside}
    if late:  # the stretched words chained up to it belong there too, in order, from the resume
        k = late[0]
        while k - 1 in inside and words[k - 1].end > plausible_end(words[k - 1]) + 1e-6:
            k -= 1
        chain = range(k, late[0] + 1)
        t = resume
        for m in chain:
            w = words[m]
            end = w.end if m == late[0] else min(t + WORD_BASE / 2, w.end)
            kept[m] = dataclasses.replace(w, start=t, end=max(t, end))
            t = kept[m].end
        kept.update({m: words[m] for m in late[1:]})
    elif inside and at_end:
        w = words[inside[0]]
        if abs(w.start - stop) < 1e-6 and w.end > plausible_end(w) + 1e-6:  # said at the stop
            if not (first is not None and first.start < REDECODED and same_word(w, first)):
                kept[inside[0]] = dataclasses.replace(w, end=plausible_end(w))
    return [kept[k] for k in sorted(kept)]


class WindowRun:
    """Decode the windows, continue those Whisper ended early, place the cues.

    A window that stopped early gets a continuation window for the rest at once, decoded while the
    other batches still run. Its index is fixed by its origin — window ``i``'s continuation is
    ``i + n``, that one's ``i + 2n`` (``n`` first-pass windows) — so a resumed run finds its
    checkpoint whatever order the batches finished in.
    """

    def __init__(
        self,
        source: AudioSource,
        options: DecodeOptions,
        backend: Backend,
        *,
        callbacks: Callbacks,
        checkpoints: Checkpoints | None,
        onsets: bool = True,
    ):
        self.source, self.options, self.backend = source, options, backend
        self.callbacks, self.checkpoints, self.onsets = callbacks, checkpoints, onsets
        self.windows: dict[int, Window] = {}
        self.results: dict[int, WindowText] = checkpoints.load() if checkpoints else {}
        self.first: list[Window] = []
        self.todo: list[list[Window]] = []
        self.cues: list[Segment] = []
        self.encoded: dict[int, Encoded] = {}  # windows encoded on their own, waiting for their batch
        self.encoding: set[int] = set()
        self.stops: dict[int, list[tuple[float, float]]] = {}  # window -> the stretches decoded again
        self.decoded = self.placed = self.extra = self.cut = 0

    def run(self, first: list[Window], groups: list[list[Window]]) -> list[Segment]:
        """Decode ``groups`` (the batches of the ``first``-pass windows) and stitch; the cues in order."""
        self.first = first
        for w in first:
            self.windows[w.index] = w
        self.todo = [g for g in groups if not all(w.index in self.results for w in g)]
        for w in (w for g in self.todo for w in g):  # decoded again with its batch: not final before that
            self.results.pop(w.index, None)
        for w in (w for g in groups if g not in self.todo for w in g):
            self.decoded += 1
            self.follow(w)
        self.progress()
        self.emit_ready()
        split = self.backend.tasks > 1 and hasattr(self.backend, "submit_encode")
        self.schedule(self._next_split if split else self._next_batch)
        if self.extra:
            log.debug(
                "Whisper ended %d window%s early: %d more decoded for the rest",
                self.extra,
                "s" if self.extra > 1 else "",
                self.extra,
            )
        if self.cut:
            log.warning(
                "Cut %d word%s that Whisper repeated in a loop (a hallucination)", self.cut, "s" if self.cut > 1 else ""
            )
        self.progress(finished=True)
        return self.cues

    # --- scheduling ------------------------------------------------------------------------------

    def schedule(self, next_task: Callable[[], tuple[Future, Callable] | None]) -> None:
        """Keep the workers busy (one task queued beyond them) until every batch is decoded.

        ``next_task`` gives a submitted task's future and what to do with its result, or None when
        nothing can start now.
        """
        running: dict[Future, Callable] = {}
        while self.todo or running:
            while len(running) < self.backend.tasks + 1 and (task := next_task()):
                running[task[0]] = task[1]
            if not running:  # cannot happen: every window of a batch left is encoded or can be
                raise RuntimeError(f"the window scheduler stalled with {len(self.todo)} batch(es) left")
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                running.pop(future)(future.result())

    def _next_batch(self) -> tuple[Future, Callable] | None:
        """A whole batch, encoded and decoded by one worker (processes, Ray, one GPU stream)."""
        if not self.todo:
            return None
        group = self.todo.pop(0)
        batch = Batch(tuple(w.index for w in group), tuple(w.audio(self.source) for w in group))
        return self.backend.submit(batch, self.options), lambda result: self.finish(group, [r for _, r in result])

    def _next_split(self) -> tuple[Future, Callable] | None:
        """A batch whose windows are all encoded, else the next window to encode (a few ahead at most)."""
        ready = next((g for g in self.todo if all(w.index in self.encoded for w in g)), None)
        if ready is not None:
            self.todo.remove(ready)
            encoded = [self.encoded.pop(w.index) for w in ready]
            return self.backend.submit_decode(encoded, self.options), lambda result: self.finish(ready, result)
        window = next(
            (w for g in self.todo for w in g if w.index not in self.encoded and w.index not in self.encoding), None
        )
        if window is None or len(self.encoded) + len(self.encoding) >= 2 * max(map(len, self.todo)) + 2:
            return None
        self.encoding.add(window.index)

        def done(encoded: Encoded) -> None:
            self.encoding.discard(window.index)
            self.encoded[window.index] = encoded

        return self.backend.submit_encode(window.audio(self.source)), done

    def finish(self, group: list[Window], results: list[WindowText]) -> None:
        """A batch is decoded: keep, checkpoint, continue where needed, report."""
        for window, result in zip(group, results):
            self.results[window.index] = result
            self.save(window.index, result)
            self.decoded += 1
        for window in group:
            self.follow(window)
        self.progress()
        self.emit_ready()

    def follow(self, window: Window) -> None:
        """After ``window`` is decoded: its continuation, when Whisper stopped early and rounds are left."""
        n = len(self.first)
        stretches = uncovered(window, self.results[window.index])
        if not stretches or window.index // n >= MAX_ROUNDS:
            return
        [rest] = continuation([(window, a, b) for a, b in stretches], first_index=window.index + n)
        self.stops[window.index] = stretches
        self.windows[rest.index] = rest
        self.extra += 1
        log.debug(
            "Window %d: no word covers its speech in %s of %.1f s; decoding that again",
            window.index,
            ", ".join(f"{x:.1f}-{y:.1f}" for x, y in stretches),
            window.duration,
        )
        if rest.index in self.results:  # resumed
            self.decoded += 1
            self.follow(rest)
        else:
            self.todo.insert(0, [rest])  # before the remaining batches: it holds up the cues after it

    # --- reporting ---------------------------------------------------------------------------------

    def progress(self, finished: bool = False) -> None:
        total = len(self.windows)
        self.callbacks.progress(Progress(total, total if finished else self.decoded, self.backend.tasks, finished))

    def save(self, index: int, result: WindowText) -> None:
        """Checkpoint one window; a folder that refuses (read-only, full) costs only the resume, said once."""
        if self.checkpoints is None:
            return
        try:
            self.checkpoints.save(index, result)
        except OSError as e:
            log.warning(
                "Cannot save checkpoints in %s (%s): this run goes on, but could not resume if interrupted",
                self.checkpoints.directory,
                e.strerror or e,
            )
            self.checkpoints.remove()  # a partial set is of no use and must not fill the folder further
            self.checkpoints = None

    def chain(self, index: int) -> list[int] | None:
        """A first-pass window and its continuations, when every one is decoded; else None."""
        chain = []
        while index in self.windows:
            if index not in self.results:
                return None
            chain.append(index)
            index += len(self.first)
        return chain

    def chain_words(self, chain: list[int]) -> list[Placed]:
        """The placed words of a window and its continuations: each window's words up to where its
        continuation starts (that one decoded the rest again, the last word included)."""
        placed = []
        for i in chain:
            words = list(self.results[i].words)
            rest = self.results.get(i + len(self.first))
            if i in self.stops and rest is not None:  # stretches of it decoded again
                offset = 0.0  # where each stretch begins in the continuation
                for stop, resume in self.stops[i]:
                    first = next((w for w in rest.words if w.start >= offset - 1e-6), None)
                    first = first and dataclasses.replace(first, start=first.start - offset)
                    at_end = resume >= self.windows[i].duration - 1e-6
                    words = _outside(words, stop, resume, first, at_end)
                    offset += sum(b - a for a, b in self.windows[i].between(stop, resume))
            placed += place_words(self.windows[i], words)
        return placed

    def emit_ready(self) -> None:
        """Place the cues of every first-pass window that is final, in time order, and report them."""
        while self.placed < len(self.first) and (chain := self.chain(self.first[self.placed].index)):
            words = sorted(self.chain_words(chain), key=lambda p: p.word.start)
            words, cut = trim_loops(words)
            self.cut += cut
            if self.onsets:  # a word after a pause starts where its voice does (see .onsets)
                words = refine_onsets(words, self.source, self.cues[-1].end if self.cues else None)
            for cue in make_cues(words, self.windows, keep_words=self.options.word_timestamps):
                if self.cues and cue.start < self.cues[-1].end:
                    cue = cue.clamped(self.cues[-1].end, max(cue.end, self.cues[-1].end))
                self.cues.append(cue)
                self.callbacks.segment(cue)
            self.placed += 1


__all__ = ["EARLY_STOP", "UNCOVERED_SPEECH", "MAX_ROUNDS", "WindowRun", "uncovered"]

"""The names a run gives its output files, chosen before any input is decoded, so that no file is
written over and a clash is refused before hours of decoding.

One input's files are ``<name>.<ext>``; its DeepL translations ``<name>_<Target>.<ext>`` (the
"Translate each line independently" mode adds ``_lines``). Whisper's "Translate to English" task
names its files ``<stem>_English``, so that they sit beside the transcription of the same input.
:class:`OutputNames` gives every input of a run a name that

* differs, ignoring case, from every other input's name *and from the names derived from it*
  (``talk.wav`` and ``talk_German.wav`` in one run: ``talk`` and ``talk_German (2)``), whatever
  built-in target a later translation picks (and the run's own target, also one only DeepL's live
  list has), so the same command always gives the same names;
* never names an input of the run (``voice.txt -f txt`` is written as ``voice (2).txt``), also
  through a link, nor a file that is no UTF-8 text (every output is: such a file is someone's);
* fits the file system (a name too long is shortened; a name of dots only, ``..wav``, becomes
  ``audio``), checked before the input is decoded.

:func:`check_outputs` refuses, before decoding, files that cannot be replaced: a read-only earlier
output (someone protected it) or something that is not a file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from .errors import OutputError
from .formats import FORMATS, get, names

log = logging.getLogger(__name__)

#: The suffix of Whisper's "Translate to English" outputs.
WHISPER_TRANSLATION = "_English"
#: Added after the target's name by the DeepL mode that translates each line alone.
LINES_SUFFIX = "_lines"
#: File name length when the file system does not say (bytes).
DEFAULT_NAME_MAX = 255
#: Room kept for " (NN)" when a shortened name must be numbered.
_NUMBER_ROOM = 8


def task_suffix(task: str) -> str:
    """What the task adds to an input's name: nothing to transcribe, ``_English`` to translate."""
    return WHISPER_TRANSLATION if task == "translate" else ""


def deepl_suffix(target_name: str, coherence: str | None = None) -> str:
    """The suffix of a DeepL translation's files: ``_German``, or ``_German_lines`` for the mode
    that translates each line independently (the two modes never overwrite each other)."""
    from .translation.targets import COHERENCE_MODES, coherence_mode

    lines = coherence is not None and coherence_mode(coherence) == COHERENCE_MODES[1]
    return f"_{target_name}{LINES_SUFFIX if lines else ''}"


def derived_suffixes(deepl: str = "") -> tuple[str, ...]:
    """Every suffix a name can get after its transcript is written: Whisper's English, each built-in
    DeepL target in both coherence modes, and ``deepl``, this run's own DeepL suffix (a target only
    DeepL's live list has).

    Not every target read from DeepL: names would then depend on whether this process had read
    DeepL's list before (the notebook and the service do), and one command would name its files
    one way, then another.
    """
    from .translation.targets import DEEPL_TARGETS

    suffixes = [WHISPER_TRANSLATION]
    for target in DEEPL_TARGETS:
        suffixes += [f"_{target.name}", f"_{target.name}{LINES_SUFFIX}"]
    return tuple(suffixes) + ((deepl,) if deepl and deepl not in suffixes else ())


def name_max(folder: Path | str) -> int:
    """The longest file name ``folder``'s file system takes, in bytes (255 when unknown)."""
    for candidate in (Path(folder), *Path(folder).absolute().parents):
        try:
            return int(os.pathconf(candidate, "PC_NAME_MAX"))
        except (OSError, ValueError, AttributeError):
            continue
    return DEFAULT_NAME_MAX


def fit(name: str, limit: int) -> str:
    """``name`` cut (at a character boundary, trailing spaces and dots dropped) to ``limit`` bytes."""
    encoded = os.fsencode(name)
    if len(encoded) <= limit:
        return name
    cut = encoded[:limit].decode("utf-8", "ignore") if _is_utf8(encoded) else os.fsdecode(encoded[:limit])
    return cut.rstrip(" .") or "audio"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def short_name(name: str, limit: int = 64) -> str:
    """``name`` for an internal folder or temporary file: itself when short, else its start and a hash."""
    if len(os.fsencode(name)) <= limit:
        return name
    digest = hashlib.sha1(os.fsencode(name)).hexdigest()[:12]
    return f"{fit(name, limit - 13)}-{digest}"


def usable_stem(stem: str) -> str:
    """A name made of dots only (from ``..wav``) or empty is no file name: ``audio``."""
    return stem if stem.strip(". ") else "audio"


def _not_text(path: Path) -> bool:
    """Whether ``path`` is a file that no format wrote: every output is UTF-8 text, so a file with a
    NUL byte or bytes that are not UTF-8 at its start (a recording named ``talk_German.txt``) is
    someone's, never an earlier output to replace."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # never open a FIFO: check_outputs refuses it
            return False
        with open(path, "rb") as f:
            head = f.read(8192)
    except (OSError, ValueError):  # missing or unreadable: check_outputs says what is wrong
        return False
    if b"\0" in head:
        return True
    return not any(_is_utf8(head[: len(head) - cut]) for cut in range(4))  # a character cut at the end


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)  # follows links: a link to an input is that input
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


class OutputNames:
    """The names of one run's outputs in ``output_dir``: distinct, clear of each other's derived
    names, never an input of the run, and short enough for the file system.

    Args:
        output_dir: where the files go.
        formats: the formats the run writes.
        task: "transcribe" or "translate" (adds ``_English``).
        inputs: the run's local inputs, never to be written over.
        deepl: the DeepL suffix of this run's translations ("" when none), whose files must fit too.
    """

    def __init__(
        self,
        output_dir: Path | str,
        formats: Sequence[str] = FORMATS,
        *,
        task: str = "transcribe",
        inputs: Iterable[Path | str] = (),
        deepl: str = "",
    ):
        self.output_dir = Path(output_dir)
        self.formats = tuple(formats)
        self.suffix = task_suffix(task)
        self.deepl = deepl
        self.derived = derived_suffixes(deepl)
        self.taken: set[str] = set()  # the names claimed and the names derived from them
        self.claimed: set[str] = set()
        self.inputs = {i for i in map(_identity, inputs) if i is not None}
        self.limit = name_max(self.output_dir)  # the folder may not exist yet: its nearest parent's

    @classmethod
    def of_run(cls, options, inputs: Iterable[Path | str]) -> OutputNames:
        """The names of a run with the pipeline's ``options`` (folder, formats, task, DeepL target)."""
        deepl = ""
        if getattr(options.deepl, "target", None):
            from .translation import resolve_target

            deepl = deepl_suffix(resolve_target(options.deepl.target).name, options.deepl.coherence)
        return cls(options.output_dir, options.formats, task=options.decode.task, inputs=inputs, deepl=deepl)

    def add_input(self, path: Path | str) -> None:
        """Protect one more input (a download) from being written over."""
        identity = _identity(Path(path))
        if identity is not None:
            self.inputs.add(identity)

    def claim(self, stem: str, *, source: str = "") -> str:
        """The name of the next input's files (``stem`` is its own name), reserved with its derived names."""
        base = usable_stem(stem)
        # the longest file this name leads to: <name><suffixes>.json (temporary names are hashed to fit)
        room = self.limit - _extension_bytes() - len(os.fsencode(self.suffix + self.deepl))
        if len(os.fsencode(base)) > room:
            base = fit(base, room - _NUMBER_ROOM)
            log.info("%s: its name is too long for the file system: its files are named %s.*", source, base)
        name, n, why = base + self.suffix, 1, None
        while reason := self._clash(name):
            n, why = n + 1, why or reason
            name = f"{base} ({n}){self.suffix}"
        if why == "input":
            log.info("%s: a file named like its output is an input of this run: its files are named %s.*", source, name)
        elif why == "foreign":
            log.info(
                "%s: a file named like its output is no transcript (a recording?), so it is kept: its files "
                "are named %s.*",
                source,
                name,
            )
        elif why == "derived":
            log.info(
                "%s: its files would be named like another input's translation (or its translation like "
                "another input's files) in this run: its files are named %s.*",
                source,
                name,
            )
        elif why:
            log.info("%s: another input of this run has the same name: its files are named %s.*", source, name)
        self._reserve(name)
        return name

    def _clash(self, name: str) -> str | None:
        """Why ``name`` cannot be taken ("name": another input's, "derived": another input's derived name
        or a name derived from it is another input's, "input": it would write over one, "foreign": it
        would write over a file that is no output, such as a recording), or None."""
        folded = name.casefold()
        if folded in self.claimed:
            return "name"
        if folded in self.taken or any((folded + s.casefold()) in self.taken for s in self.derived):
            return "derived"
        paths = self.paths(name, derived=True)
        if self.inputs and any(_identity(p) in self.inputs for p in paths):
            return "input"
        if any(_not_text(p) for p in paths):
            return "foreign"
        return None

    def _reserve(self, name: str) -> None:
        folded = name.casefold()
        self.claimed.add(folded)
        self.taken.add(folded)
        self.taken.update(folded + s.casefold() for s in self.derived)

    def paths(self, name: str, *, derived: bool = False) -> list[Path]:
        """The files ``name`` leads to in the output folder (with ``derived``: its translations' too)."""
        suffixes = ("", *self.derived) if derived else ("", *((self.deepl,) if self.deepl else ()))
        return [self.output_dir / f"{name}{s}.{get(fmt).extension}" for s in suffixes for fmt in self.formats]


def _extension_bytes() -> int:
    """The longest extension a format adds (".json"), so that every format's file fits."""
    return max(len(os.fsencode("." + get(name).extension)) for name in names())


def check_outputs(paths: Iterable[Path], *, source: str = "") -> None:
    """Refuse, before decoding, output files that cannot be replaced.

    Raises:
        OutputError: a file is read-only (an earlier output someone protected: it is never
            replaced silently), or the name is taken by a folder or something else that is no file.
    """
    for path in paths:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            _check_dangling_link(Path(path), source)
            continue
        except OSError as e:
            raise OutputError(
                f"{source}: its output {path} cannot be checked ({e.strerror}); choose another output folder",
                source=source,
                path=str(path),
                reason=e.strerror,
            ) from e
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(
                f"{source}: its output {path} exists and is not a file: move it away or choose another output folder",
                source=source,
                path=str(path),
                reason="not a file",
            )
        if not st.st_mode & 0o222:
            raise OutputError(
                f"{source}: its output {path} exists and is read-only, so it is kept: make it writable "
                "(chmod u+w) or remove it to replace it, or choose another output folder",
                source=source,
                path=str(path),
                reason="read-only file",
            )


def _check_dangling_link(path: Path, source: str) -> None:
    """A link to a file not there yet is written through, so its folder must exist (else the
    transcript could only be rescued after decoding)."""
    if not path.is_symlink():
        return
    target = Path(os.path.realpath(path))
    if not target.parent.is_dir():
        raise OutputError(
            f"{source}: its output {path} is a link to {target}, whose folder does not exist: create "
            f"{target.parent}, remove the link, or choose another output folder",
            source=source,
            path=str(path),
            reason="link to a missing folder",
        )


__all__ = [
    "WHISPER_TRANSLATION",
    "LINES_SUFFIX",
    "OutputNames",
    "check_outputs",
    "deepl_suffix",
    "derived_suffixes",
    "fit",
    "name_max",
    "short_name",
    "task_suffix",
    "usable_stem",
]

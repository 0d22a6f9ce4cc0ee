"""Model weights fetched before an engine loads them, with a download bar and their size.

A ``large-v3`` download is about 3 GB: it used to happen inside each engine's loader, silently.
:func:`fetch_weights` downloads an official model's files the way the engine would (faster-whisper:
the Hugging Face hub repository ``faster_whisper.utils._MODELS`` names, ``$HF_ENDPOINT`` honoured;
openai-whisper: the checkpoint at ``whisper._MODELS[name]``, SHA-256 checked), reports
:class:`~audiototext.events.Download` events as the bytes arrive, then logs ``Loading model
large-v3 (2.9 GB)…``. The engine then finds the files cached. A download that fails is left to
the engine, which falls back to the offline weights and says so (:func:`audiototext.models.offline_fallback`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.request
from pathlib import Path
from collections.abc import Callable

from .events import Download
from .files import atomic_path
from .models import ALIASES, bundled_ct2_dir, import_whole, offline, resolve, whisper_download_root

log = logging.getLogger(__name__)

#: The files faster-whisper's ``download_model`` takes from a model repository.
HF_FILES = ["config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*"]
_CHUNK = 1 << 20
#: (weights, size) -> why the last :func:`fetch_weights` could not download it, so that the engine goes
#: straight to the offline weights instead of retrying the network (the hub retries for a minute).
_FAILED: dict[tuple[str, str], BaseException] = {}


def download_failure(weights: str, size: str) -> BaseException | None:
    """Why :func:`fetch_weights` just failed to download ``size`` in the ``weights`` kind ("ct2",
    "openai-pt"); None if it did not."""
    return _FAILED.get((weights, size))


def size_text(size: int) -> str:
    """1536 -> "1.5 KB"; 3_100_000_000 -> "2.9 GB"."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def disk_size(path: Path) -> int:
    """Bytes of a file, or of every file under a folder (links followed: the hub's cache links blobs)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def fetch_weights(
    weights: str | None, model: str, on_download: Callable[[Download], None] | None = None
) -> Path | None:
    """Make sure ``model``'s weights are on disk, then log "Loading model NAME (SIZE)…".

    ``weights`` is the engine's kind (:attr:`audiototext.engines.EngineFacts.weights`: "ct2",
    "openai-pt", or None for a hosted engine): the caller asks the engine, so this module sits below
    the engines and knows none of them. Returns the downloaded file or folder; None for a hosted
    engine, in offline mode, or when the download failed (logged at debug level; the engine then
    falls back to the offline weights). Raises nothing a download can cause.
    """
    if weights is None:  # a hosted engine
        return None
    spec = resolve(model)
    report = on_download or (lambda event: None)
    path = None
    _FAILED.pop((weights, spec.size), None)
    if spec.kind != "official":
        path = spec.path
    elif not offline():
        try:
            if weights == "ct2":
                path = _fetch_hub(spec.size, report)
            elif weights == "openai-pt":
                path = _fetch_openai(spec.size, report)
        except Exception as e:  # noqa: BLE001 - the engine falls back to the offline weights, saying why
            log.debug("Downloading model %s failed (%s: %s)", spec.name, type(e).__name__, e)
            _FAILED[(weights, spec.size)] = e
    shown = path if path is not None else bundled_ct2_dir(ALIASES.get(spec.name, spec.name))
    if shown is not None:
        log.info("Loading model %s (%s)…", spec.name, size_text(disk_size(shown)))
    else:
        log.info("Loading model %s…", spec.name)
    return path


def _fetch_hub(size: str, report: Callable[[Download], None]) -> Path:
    """The faster-whisper model repository of ``size``, from the hub's cache or downloaded."""
    import huggingface_hub

    repository = import_whole("faster_whisper").utils._MODELS[size]
    counter = _byte_counter(size, report)
    return Path(huggingface_hub.snapshot_download(repository, allow_patterns=HF_FILES, tqdm_class=counter))


def _byte_counter(name: str, report: Callable[[Download], None]):
    """A tqdm class for ``snapshot_download``: its byte bars become :class:`Download` events, drawn nowhere."""
    from tqdm import tqdm

    class Counter(tqdm):
        def __init__(self, *args, **kwargs):
            self.bytes = kwargs.get("unit") == "B" and str(kwargs.get("desc", "")).startswith("Reconstruct")
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            self.count = 0

        def update(self, n=1):
            self.count += n or 0
            if self.bytes and self.total:
                report(Download(name, int(self.count), int(self.total), self.count >= self.total))

    return Counter


def _fetch_openai(size: str, report: Callable[[Download], None]) -> Path:
    """openai-whisper's checkpoint of ``size`` in :func:`whisper_download_root`, downloaded when missing.

    The SHA-256 in the checkpoint's URL is checked as the bytes arrive; the file appears only when
    complete and right (whisper checks it again when it loads).
    """
    url = import_whole("whisper")._MODELS[size]
    target = whisper_download_root() / os.path.basename(url)
    if target.is_file():
        return target
    expected = url.split("/")[-2]
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=60) as response, atomic_path(target) as partial:
        total = int(response.headers.get("Content-Length") or 0) or None
        done = 0
        with open(partial, "wb") as out:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                report(Download(size, done, total, False))
        if digest.hexdigest() != expected:
            raise OSError(f"{url}: the download does not match its SHA-256 checksum; try again")
    report(Download(size, done, total or done, True))
    return target


__all__ = ["HF_FILES", "download_failure", "size_text", "disk_size", "fetch_weights"]

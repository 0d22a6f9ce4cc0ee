"""The GPU check's measurement helpers: peak GPU memory, time per decoding phase, the decoding thread,
batches of windows decoded through the package's engines, and WER."""

from __future__ import annotations

import contextlib
import gc
import subprocess
import threading
import time

from gpu_report import first_line


def nvml():
    try:
        import pynvml

        pynvml.nvmlInit()
        return pynvml
    except Exception:  # noqa: BLE001 - nvidia-ml-py is optional: nvidia-smi does the same, slower
        return None


class DeviceMemory:
    """Peak used memory of GPU ``index`` above its level at the start, sampled every 50 ms in a thread."""

    def __init__(self, index: int = 0):
        self.index, self.peak, self.base = index, 0, 0
        self.nvml = nvml()
        self.handle = self.nvml.nvmlDeviceGetHandleByIndex(index) if self.nvml else None
        self.stop = threading.Event()

    def used(self) -> int:
        if self.nvml:
            return int(self.nvml.nvmlDeviceGetMemoryInfo(self.handle).used)
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", str(self.index)],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        return int(float(out.strip().splitlines()[0]) * 2**20)

    def _sample(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(Exception):
                self.peak = max(self.peak, self.used())
            self.stop.wait(0.05)

    def __enter__(self) -> DeviceMemory:
        self.base = self.peak = self.used()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        with contextlib.suppress(Exception):
            self.peak = max(self.peak, self.used())

    @property
    def mib(self) -> float:
        return (self.peak - self.base) / 2**20


class Meter:
    """Peak GPU memory of a block: torch's allocator (``kind="torch"``) or the whole device (``"device"``)."""

    def __init__(self, device: str, kind: str, *, since: int | None = None):
        self.device, self.kind, self.since, self.mib = device, kind, since, None
        self.sampler = None

    def __enter__(self) -> Meter:
        if not self.device.startswith("cuda"):
            return self
        if self.kind == "torch":
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        else:
            try:
                self.sampler = DeviceMemory(torch_index(self.device)).__enter__()
                if self.since is not None:
                    self.sampler.base = self.since
            except Exception as e:  # noqa: BLE001 - no NVML and no nvidia-smi: report no figure
                print(f"  (no device memory sampling: {first_line(e)})")
        return self

    def __exit__(self, *exc) -> None:
        if not self.device.startswith("cuda"):
            return
        if self.kind == "torch":
            import torch

            torch.cuda.synchronize()
            self.mib = torch.cuda.max_memory_allocated() / 2**20
        elif self.sampler:
            self.sampler.__exit__(*exc)
            self.mib = self.sampler.mib


def device_used(device: str) -> int | None:
    """Bytes in use on the GPU now (every process), or None off a GPU or without NVML and nvidia-smi."""
    if not device.startswith("cuda"):
        return None
    try:
        return DeviceMemory(torch_index(device)).used()
    except Exception:  # noqa: BLE001
        return None


def torch_index(device: str) -> int:
    return int(device.split(":")[1]) if ":" in device else 0


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()


def free_gpu() -> None:
    gc.collect()
    with contextlib.suppress(Exception):
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


@contextlib.contextmanager
def phase_times(cls, device: str):
    """Seconds spent in ``cls``'s encode, generate and align while the block runs (methods wrapped, then
    restored), and ``fallback``: windows decoded again at a higher temperature."""
    names = ("encode", "generate", "align")
    totals = {name: 0.0 for name in names} | {"fallback": 0}
    own = {name: cls.__dict__.get(name) for name in names}

    def timed(name, method):
        def wrapper(self, *args, **kwargs):
            start = time.perf_counter()
            out = method(self, *args, **kwargs)
            synchronize(device)
            totals[name] += time.perf_counter() - start
            if name == "generate" and args[2] > 0:  # generate(encoded, options, temperature, prompt)
                totals["fallback"] += len(args[0])
            return out

        return wrapper

    for name in names:
        setattr(cls, name, timed(name, getattr(cls, name)))
    try:
        yield totals
    finally:
        for name, method in own.items():
            if method is None:
                delattr(cls, name)
            else:
                setattr(cls, name, method)


def phases_note(totals: dict) -> str:
    note = "encode/generate/align " + "/".join(f"{totals[k]:.2f}" for k in ("encode", "generate", "align")) + " s"
    return note + (f"; {totals['fallback']} window decodings at a higher temperature" if totals["fallback"] else "")


def normalizer(language: str):
    """whisper's normaliser for ``language`` (English: EnglishTextNormalizer), or a plain one without whisper."""
    try:
        from whisper.normalizers import BasicTextNormalizer, EnglishTextNormalizer

        return EnglishTextNormalizer() if language == "en" else BasicTextNormalizer()
    except ImportError:
        import re

        return lambda text: " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def word_error_rate(reference: str, hypothesis: str, language: str) -> float:
    """WER in percent after whisper's normalisers; jiwer when installed, else the same edit distance here."""
    normalize = normalizer(language)
    ref, hyp = normalize(reference), normalize(hypothesis)
    try:
        import jiwer

        return 100 * jiwer.wer(ref, hyp)
    except ImportError:
        r, h = ref.split(), hyp.split()
        previous = list(range(len(h) + 1))
        for i, word in enumerate(r, 1):
            current = [i] + [0] * len(h)
            for j, other in enumerate(h, 1):
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other))
            previous = current
        return 100 * previous[-1] / max(1, len(r))


def decode_options(language: str, beam_size: int, *, forced: bool = False):
    """The CLI's decoding options; ``forced`` (random models): no fallback and no thresholds, since a
    random model's text always "fails" them and would be decoded at every temperature."""
    from audiototext.engines import DecodeOptions

    if not forced:
        return DecodeOptions(language=language, beam_size=beam_size)
    return DecodeOptions(
        language=language,
        beam_size=beam_size,
        temperature_increment_on_fallback=None,
        compression_ratio_threshold=None,
        logprob_threshold=None,
        no_speech_threshold=None,
    )


def run_batches(decode, windows, source, batch_size: int) -> tuple[float, dict]:
    """Wall seconds to decode every window in the library's batches, and each window's result by index.

    The batches run one after the other on the decoding thread (see :func:`on_decode_thread`).
    """
    from audiototext.longaudio import batch_groups

    def work() -> dict:
        results = {}
        for group in batch_groups(windows, batch_size):
            out = decode(group, [w.audio(source) for w in group])
            results.update(zip((w.index for w in group), out))
        return results

    start = time.perf_counter()
    results = on_decode_thread(work)
    return time.perf_counter() - start, results


_DECODE_THREAD = None


def on_decode_thread(fn, *args):
    """``fn(*args)`` on the one worker thread every decoding here runs on, warm-ups included.

    A worker thread, as the library's ThreadBackend decodes (on the 2-core benchmark CPU the same
    torch decoding took 48-75 s in the main thread of a process that had run Silero, and 21 s on
    a worker thread); always the same one, so the warm-up creates the per-thread cuBLAS handles
    that the timed batches use.
    """
    global _DECODE_THREAD
    if _DECODE_THREAD is None:
        from concurrent.futures import ThreadPoolExecutor

        _DECODE_THREAD = ThreadPoolExecutor(1, thread_name_prefix="gpu-bench-decode")
    return _DECODE_THREAD.submit(fn, *args).result()


def windows_class(engine_name: str):
    """The engine's window-model class (public in its engine module), whose encode/generate/align
    :func:`phase_times` wraps; ``gpu_shapes`` subclasses it."""
    from audiototext.engines import engine_class

    if engine_class(engine_name).weights == "ct2":
        from audiototext.engines.faster_whisper import CT2Windows

        return CT2Windows
    from audiototext.engines.openai_whisper import TorchWindows

    return TorchWindows

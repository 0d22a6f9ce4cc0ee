"""The GPU check's environment section: versions and tools, each probed on its own (``gpu.py --check-env``)."""

from __future__ import annotations

import os
import shutil

from gpu_measure import nvml
from gpu_report import first_line


def environment(device: str) -> dict:
    """Versions and tools, each probed on its own: a missing one is reported, not fatal."""
    import platform

    env: dict = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "device": device,
    }
    try:
        import torch

        env["torch"] = torch.__version__
        env["torch_cuda"] = torch.version.cuda
        if device.startswith("cuda") and torch.cuda.is_available():
            env["gpu"] = torch.cuda.get_device_name(device)
            env["gpu_memory_mib"] = torch.cuda.get_device_properties(device).total_memory // 2**20
    except Exception as e:  # noqa: BLE001 - report whatever is missing
        env["torch"] = f"missing ({first_line(e)})"
    for label, probe in (
        ("openai-whisper", _whisper_version),
        ("faster-whisper", _fw_version),
        ("ctranslate2", _ct2_version),
        ("jiwer", _jiwer_version),
    ):
        try:
            env[label] = probe()
        except Exception as e:  # noqa: BLE001
            env[label] = f"missing ({first_line(e)})"
    if device.startswith("cuda"):
        env["libcublas.so.12"] = _loadable("libcublas.so.12")  # what CTranslate2 4.x loads on CUDA
        env["nvml"] = "yes" if nvml() is not None else "no (nvidia-smi sampling)"
    env["ffmpeg"] = shutil.which("ffmpeg") or "missing"
    env["ffprobe"] = shutil.which("ffprobe") or "missing"
    return env


def _whisper_version() -> str:
    from importlib.metadata import version

    import whisper  # noqa: F401

    return version("openai-whisper")


def _fw_version() -> str:
    import faster_whisper

    return faster_whisper.__version__


def _ct2_version() -> str:
    import ctranslate2

    return f"{ctranslate2.__version__} (CUDA devices: {ctranslate2.get_cuda_device_count()})"


def _jiwer_version() -> str:
    from importlib.metadata import version

    import jiwer  # noqa: F401

    return version("jiwer")


def _loadable(library: str) -> str:
    import ctypes

    try:
        ctypes.CDLL(library)
        return "yes"
    except OSError as e:
        return f"no ({first_line(e)})"

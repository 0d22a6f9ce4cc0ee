"""The openai-whisper engine: the reference implementation, on CUDA with fp16 or on CPU in fp32."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys

import numpy as np

from ..errors import ModelError
from ..languages import LANGUAGES
from ..models import ModelSpec, offline, offline_fallback, openai_checkpoint
from ..transcript import Segment, Transcript
from . import (DecodeOptions, Hooks, ProgressBar, describe_device, english_only_check, log_model,
               warn_turbo_translate)

log = logging.getLogger(__name__)

# whisper.transcribe(verbose=True) prints "[00:00.000 --> 00:06.040]  text" per segment and
# "Detected language: Spanish"; it has no callback, so its stdout is read line by line.
_SEGMENT_LINE = re.compile(r"^\[((?:\d+:)?\d+:\d+\.\d+) --> ((?:\d+:)?\d+:\d+\.\d+)\] (.*)$")
_LANGUAGE_LINE = re.compile(r"^Detected language: (.+)$")
_NAME_TO_CODE = {name.title(): code for code, name in LANGUAGES.items()}


def _seconds(stamp: str) -> float:
    parts = [float(p) for p in stamp.split(":")]
    return sum(p * 60 ** i for i, p in enumerate(reversed(parts)))


class _LineSink(io.TextIOBase):
    """A text stream that hands each complete line to ``handle``, run with the real stdout back."""

    def __init__(self, handle, stdout):
        self.handle = handle
        self.stdout = stdout
        self.pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            with contextlib.redirect_stdout(self.stdout):
                self.handle(line)
        return len(text)


def load_whisper_model(spec: ModelSpec, device: str):
    """A ``whisper.model.Whisper`` for ``spec``: official download, local file, or offline package."""
    import whisper

    if spec.kind == "openai-pt":
        return whisper.load_model(str(spec.path), device=device)
    if spec.kind == "ct2":
        return _load_checkpoint_with_heads(openai_checkpoint(spec.path), spec.path, device)
    name = spec.size
    download_root = os.path.join(os.getenv("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "whisper")
    cached = os.path.join(download_root, os.path.basename(whisper._MODELS[name]))
    if not offline() or os.path.isfile(cached):
        try:
            return whisper.load_model(name, device=device, download_root=download_root)
        except Exception as e:  # noqa: BLE001 - any download failure falls back to the bundled weights
            failure = e
    else:
        failure = "offline mode (AUDIOTOTEXT_OFFLINE/HF_HUB_OFFLINE)"
    ct2_dir = offline_fallback(name, failure)
    return _load_checkpoint_with_heads(openai_checkpoint(ct2_dir), ct2_dir, device)


def _load_checkpoint_with_heads(checkpoint, ct2_dir, device: str):
    import whisper

    from ..convert import alignment_heads_from_ct2

    try:
        model = whisper.load_model(str(checkpoint), device=device)
    except Exception as e:  # noqa: BLE001
        raise ModelError(f"{checkpoint}: could not load the checkpoint ({e})", model=str(checkpoint)) from e
    # Word timestamps need the model's own alignment heads; a checkpoint loaded from a path
    # gets whisper's generic default, so set the ones config.json names.
    heads = alignment_heads_from_ct2(ct2_dir)
    if heads is not None:
        model.register_buffer("alignment_heads", heads.to_sparse().to(model.device), persistent=False)
    return model


class OpenAIWhisperEngine:
    """openai-whisper: CUDA + fp16 when a GPU is present, else CPU fp32 on all cores."""

    name = "openai-whisper"

    def __init__(self, spec: ModelSpec, *, device: str | None = None, threads: int | None = None):
        import torch

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.threads = threads or os.cpu_count() or 1
        if self.device == "cpu":
            torch.set_num_threads(self.threads)
        gpu = torch.cuda.get_device_name(self.device) if self.device.startswith("cuda") else None
        log.info("Using %s", describe_device(self.device, gpu, self.threads))
        self.spec = spec
        self.model_name = spec.name
        self.model = load_whisper_model(spec, self.device)
        self.is_multilingual = bool(self.model.is_multilingual)
        log_model(self, sum(int(np.prod(p.shape)) for p in self.model.parameters()))

    def transcribe(self, audio: np.ndarray, options: DecodeOptions, hooks: Hooks = Hooks()) -> Transcript:
        options = english_only_check(self, options)
        warn_turbo_translate(self.spec.size, options)
        duration = len(audio) / 16000
        bar = ProgressBar(duration, hooks.progress)
        detected: list[str] = []

        def handle(line: str) -> None:
            if match := _SEGMENT_LINE.match(line):
                start, end = _seconds(match[1]), _seconds(match[2])
                bar.advance_to(end)
                if hooks.on_segment and match[3].strip():
                    hooks.on_segment(Segment(start, end, match[3]))
            elif match := _LANGUAGE_LINE.match(line):
                detected.append(_NAME_TO_CODE.get(match[1], match[1]))
                if hooks.on_language:
                    hooks.on_language(detected[0])
            elif line.strip():
                log.debug("whisper: %s", line)

        sink = _LineSink(handle, sys.stdout)
        try:
            with contextlib.redirect_stdout(sink):
                result = self.model.transcribe(audio, verbose=True, **self._kwargs(options))
        finally:
            bar.close()
        if not detected and hooks.on_language:
            hooks.on_language(result["language"])
        return to_transcript(result, duration, options.task)

    def _kwargs(self, options: DecodeOptions) -> dict:
        return dict(
            task=options.task,
            language=options.language,
            initial_prompt=options.initial_prompt or None,
            condition_on_previous_text=options.condition_on_previous_text,
            temperature=options.temperatures,
            compression_ratio_threshold=options.compression_ratio_threshold,
            logprob_threshold=options.logprob_threshold,
            no_speech_threshold=options.no_speech_threshold,
            word_timestamps=options.word_timestamps,
            fp16=self.device.startswith("cuda"),
            beam_size=options.beam_size,
            best_of=options.best_of,
            patience=options.patience,
            length_penalty=options.length_penalty,
            suppress_tokens=options.suppress_tokens,
        )


def to_transcript(result: dict, duration: float, task: str) -> Transcript:
    """openai-whisper's result dict -> Transcript (the one conversion for this engine).

    Every segment is kept, blanked ones too, so files match what the ``whisper`` CLI writes.
    """
    segments = tuple(Segment.from_dict(s) for s in result["segments"])
    return Transcript(segments, result.get("language"), duration, task)

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
from . import (DecodeOptions, Hooks, ProgressBar, chunk_verdict, decode_until_covered, describe_device,
               english_only_check, log_model, split_at_timestamps, warn_turbo_translate)

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

    def detect_language(self, audio: np.ndarray) -> str:
        """The language of the first 30 s of ``audio`` ("en" for English-only models)."""
        if not self.is_multilingual:
            return "en"
        _, probs = self.model.detect_language(self._mels([audio[: 30 * 16000]])[0])
        return max(probs, key=probs.get)

    def _mels(self, chunks: list[np.ndarray]):
        import torch
        import whisper

        mels = torch.stack([whisper.log_mel_spectrogram(whisper.pad_or_trim(np.asarray(c, np.float32)),
                                                        self.model.dims.n_mels) for c in chunks])
        return mels.to(self.device)

    def transcribe_batch(self, chunks: list[np.ndarray], options: DecodeOptions) -> list[tuple[Segment, ...]]:
        """Decode chunks of at most 30 s together; segment times are relative to each chunk.

        The chunks' mel spectrograms go through ``whisper.decode`` as one batch at the first
        temperature. Beam search runs one chunk at a time, because openai-whisper's batched beam
        search fails for more than one audio (its cross-attention cache keeps the batch size
        while the beams multiply it: "The size of tensor a (20) must match the size of tensor b (4)").
        Chunks that fail Whisper's thresholds are decoded again at the next temperatures, and
        chunks that Whisper ended early are continued (:func:`~audiototext.engines.decode_until_covered`).
        """
        from whisper.tokenizer import get_tokenizer

        if not chunks:
            return []
        options = english_only_check(self, options)
        language = options.language or self.detect_language(chunks[0])
        tokenizer = get_tokenizer(self.model.is_multilingual, num_languages=self.model.num_languages,
                                  language=language, task=options.task)
        return decode_until_covered(chunks, lambda pieces: self._decode(pieces, options, language, tokenizer))

    def _decode(self, chunks, options: DecodeOptions, language: str, tokenizer) -> list[tuple[Segment, ...]]:
        import torch
        from whisper.decoding import DecodingOptions, decode

        mels = self._mels(chunks)
        results: list = [None] * len(chunks)
        pending = list(range(len(chunks)))
        for temperature in options.temperatures:
            if not pending:
                break
            sampling = temperature > 0
            decoding = DecodingOptions(
                task=options.task, language=language, temperature=temperature,
                beam_size=None if sampling else options.beam_size,
                best_of=options.best_of if sampling else None,
                patience=None if sampling else options.patience, length_penalty=options.length_penalty,
                prompt=options.initial_prompt or None, suppress_tokens=options.suppress_tokens,
                fp16=self.device.startswith("cuda"),
            )
            one_by_one = (decoding.beam_size or 1) > 1 or (decoding.best_of or 1) > 1
            with torch.no_grad():
                if one_by_one:
                    decoded = [decode(self.model, mels[i], decoding) for i in pending]
                else:
                    decoded = decode(self.model, mels[pending], decoding)
            retry = []
            for i, result in zip(pending, decoded):
                results[i] = result
                if chunk_verdict(result.text, result.avg_logprob, result.no_speech_prob, options) == "retry":
                    retry.append(i)
            if retry and temperature != options.temperatures[-1]:
                log.debug("%d chunk(s) failed the decoding thresholds at temperature %.1f; decoding again",
                          len(retry), temperature)
            pending = retry

        out = []
        for i, result in enumerate(results):
            if chunk_verdict(result.text, result.avg_logprob, result.no_speech_prob, options) == "silent":
                out.append(())
                continue
            segments = split_at_timestamps(result.tokens, tokenizer, len(chunks[i]) / 16000)
            if options.word_timestamps and segments:
                from whisper.timing import add_word_timestamps

                num_frames = min(len(chunks[i]) // 160, mels.shape[-1])
                add_word_timestamps(segments=segments, model=self.model, tokenizer=tokenizer, mel=mels[i],
                                    num_frames=num_frames, last_speech_timestamp=0.0)
            out.append(tuple(Segment.from_dict(s) for s in segments if s["text"].strip()))
        return out

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

"""The faster-whisper engine (CTranslate2): CUDA float16 on a GPU, int8 on CPU."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..models import ModelSpec, offline, offline_fallback
from ..transcript import Segment, Transcript, Word
from . import (DecodeOptions, Hooks, ProgressBar, chunk_verdict, decode_until_covered, describe_device,
               english_only_check, log_model, split_at_timestamps, warn_turbo_translate)

log = logging.getLogger(__name__)


def ct2_model_dir(spec: ModelSpec) -> Path:
    """The CTranslate2 directory for ``spec``: local, downloaded as faster-whisper does, or bundled."""
    if spec.kind == "ct2":
        return spec.path
    if spec.kind == "openai-pt":
        raise ModelError(
            f"{spec.name}: faster-whisper needs a CTranslate2 model directory, not an openai-whisper .pt; "
            "use --engine openai-whisper, or convert it with ct2-transformers-converter",
            model=spec.name,
        )
    from faster_whisper.utils import download_model

    try:
        return Path(download_model(spec.name, local_files_only=offline()))
    except Exception as e:  # noqa: BLE001 - any download failure falls back to the bundled weights
        return offline_fallback(spec.size, e)


def _gpu_name() -> str | None:
    try:
        import torch

        return torch.cuda.get_device_name(0)
    except Exception:  # noqa: BLE001 - torch is optional for this engine
        return None


class FasterWhisperEngine:
    """faster-whisper's WhisperModel behind the engine interface."""

    name = "faster-whisper"

    def __init__(self, spec: ModelSpec, *, device: str | None = None, threads: int | None = None,
                 compute_type: str | None = None):
        import ctranslate2
        from faster_whisper import WhisperModel

        self.device = device or ("cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu")
        self.threads = threads or os.cpu_count() or 1
        self.compute_type = compute_type or ("float16" if self.device.startswith("cuda") else "int8")
        log.info("Using %s", describe_device(self.device, _gpu_name() if self.device != "cpu" else None,
                                             self.threads))
        self.spec = spec
        self.model_name = spec.name
        self.model_dir = ct2_model_dir(spec)
        try:
            self.model = WhisperModel(str(self.model_dir), device=self.device.split(":")[0],
                                      compute_type=self.compute_type, cpu_threads=self.threads)
        except (RuntimeError, ValueError) as e:
            raise ModelError(f"{self.model_dir}: faster-whisper could not load the model ({e})",
                             model=str(self.model_dir)) from e
        self.is_multilingual = bool(self.model.model.is_multilingual)
        from ..convert import count_openai_parameters

        log_model(self, count_openai_parameters(self.model_dir))

    def transcribe(self, audio: np.ndarray, options: DecodeOptions, hooks: Hooks = Hooks()) -> Transcript:
        options = english_only_check(self, options)
        warn_turbo_translate(self.spec.size, options)
        duration = len(audio) / 16000
        segments_iter, info = self.model.transcribe(audio, **self._kwargs(options))
        if hooks.on_language:
            hooks.on_language(info.language)
        bar = ProgressBar(duration, hooks.progress)
        segments = []
        try:
            for native in segments_iter:
                segment = to_segment(native)
                segments.append(segment)
                bar.advance_to(segment.end)
                if hooks.on_segment:
                    hooks.on_segment(segment)
        finally:
            bar.close()
        return Transcript(tuple(segments), info.language, duration, options.task)

    def detect_language(self, audio: np.ndarray) -> str:
        """The language of the first 30 s of ``audio`` ("en" for English-only models)."""
        if not self.is_multilingual:
            return "en"
        language, probability, _ = self.model.detect_language(audio[: 30 * 16000])
        log.debug("Detected language %s with probability %.2f", language, probability)
        return language

    def transcribe_batch(self, chunks: list[np.ndarray], options: DecodeOptions) -> list[tuple[Segment, ...]]:
        """Decode chunks of at most 30 s together; segment times are relative to each chunk.

        The first temperature runs batched through faster-whisper's BatchedInferencePipeline on
        our own chunks (its ``generate_segment_batched``: one encoder call and one ``generate``
        for the batch), split at timestamp tokens; chunks that Whisper ended early are continued
        (:func:`~audiototext.engines.decode_until_covered`), their rests packed several to a
        window and decoded with word timestamps, which say where to cut a line that runs from
        one rest into the next. Chunks that fail Whisper's thresholds go through the
        sequential ``transcribe`` with the rest of the temperature schedule, because the batched
        ``generate`` keeps top-k 1 and so ignores the temperature. ``options.language`` should be
        set (see :meth:`detect_language`); condition_on_previous_text cannot cross chunks.
        """
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

        if not chunks:
            return []
        options = english_only_check(self, options)
        language = options.language or self.detect_language(chunks[0])
        tokenizer = Tokenizer(self.model.hf_tokenizer, self.is_multilingual, task=options.task, language=language)
        kwargs = self._kwargs(options)
        native = TranscriptionOptions(
            beam_size=kwargs["beam_size"], best_of=kwargs["best_of"], patience=kwargs["patience"],
            length_penalty=kwargs["length_penalty"], repetition_penalty=1, no_repeat_ngram_size=0,
            log_prob_threshold=options.logprob_threshold, no_speech_threshold=options.no_speech_threshold,
            compression_ratio_threshold=options.compression_ratio_threshold,
            condition_on_previous_text=False, prompt_reset_on_temperature=0.5,
            temperatures=[options.temperatures[0]], initial_prompt=options.initial_prompt or None, prefix=None,
            suppress_blank=True, suppress_tokens=get_suppressed_tokens(tokenizer, kwargs["suppress_tokens"]),
            without_timestamps=False, max_initial_timestamp=1.0, word_timestamps=options.word_timestamps,
            prepend_punctuations="\"'“¿([{-", append_punctuations="\"'.。,，!！?？:：”)]}、",
            multilingual=False, max_new_tokens=None, clip_timestamps="0",
            hallucination_silence_threshold=None, hotwords=None,
        )
        words = dataclasses.replace(options, word_timestamps=True)
        native_words = dataclasses.replace(native, word_timestamps=True)
        return decode_until_covered(
            chunks, lambda pieces: self._decode(pieces, options, language, tokenizer, native),
            decode_packed=lambda pieces: self._decode(pieces, words, language, tokenizer, native_words),
            keep_words=options.word_timestamps)

    def _decode(self, chunks, options, language, tokenizer, native) -> list[tuple[Segment, ...]]:
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.transcribe import BatchedInferencePipeline

        features = np.stack([pad_or_trim(self.model.feature_extractor(c)[..., :-1]) for c in chunks])
        pipeline = BatchedInferencePipeline(self.model)
        encoded, outputs = pipeline.generate_segment_batched(features, tokenizer, native)

        results: list = []
        for chunk, output in zip(chunks, outputs):
            parts = split_at_timestamps(output["tokens"], tokenizer, len(chunk) / 16000)
            text = "".join(p["text"] for p in parts)
            verdict = chunk_verdict(text, output["avg_logprob"], output["no_speech_prob"], options)
            if verdict == "silent" or not text.strip():
                results.append(())
            elif verdict == "retry" and len(options.temperatures) > 1:
                results.append(self._fallback(chunk, options, language))
            else:
                results.append(parts)
        if options.word_timestamps:
            self._add_words(results, features, encoded, chunks, tokenizer, native)
        return [r if isinstance(r, tuple) else tuple(_part_to_segment(p) for p in r if p["text"].strip())
                for r in results]

    def _add_words(self, results, features, encoded, chunks, tokenizer, native) -> None:
        """Word timestamps for the batch-decoded chunks, from the batch's encoder output."""
        decoded = [i for i, r in enumerate(results) if isinstance(r, list)]
        if not decoded:
            return
        if len(decoded) < len(results):  # the aligner wants every batch item: encode the others again
            encoded = self.model.encode(features[decoded])
        self.model.add_word_timestamps([results[i] for i in decoded], tokenizer, encoded,
                                       [int(np.ceil(len(chunks[i]) / 160)) for i in decoded],
                                       native.prepend_punctuations, native.append_punctuations, 0.0)

    def _fallback(self, chunk: np.ndarray, options: DecodeOptions, language: str) -> tuple[Segment, ...]:
        log.debug("A chunk failed the decoding thresholds at temperature %.1f; decoding it again",
                  options.temperatures[0])
        kwargs = self._kwargs(options)
        kwargs.update(language=language, temperature=list(options.temperatures[1:]),
                      condition_on_previous_text=False)
        segments, _ = self.model.transcribe(chunk, **kwargs)
        return tuple(s for s in (to_segment(n) for n in segments) if s.text.strip())

    def _kwargs(self, options: DecodeOptions) -> dict:
        return dict(
            task=options.task,
            language=options.language,
            initial_prompt=options.initial_prompt or None,
            condition_on_previous_text=options.condition_on_previous_text,
            temperature=list(options.temperatures),
            compression_ratio_threshold=options.compression_ratio_threshold,
            log_prob_threshold=options.logprob_threshold,
            no_speech_threshold=options.no_speech_threshold,
            word_timestamps=options.word_timestamps,
            beam_size=options.beam_size or 1,
            best_of=options.best_of or 1,
            patience=options.patience or 1,
            length_penalty=options.length_penalty or 1,
            suppress_tokens=[int(t) for t in options.suppress_tokens.split(",") if t.strip()],
        )


def _part_to_segment(part: dict) -> Segment:
    """A segment dict of BatchedInferencePipeline.forward -> ours (the batched path's one conversion)."""
    words = tuple(Word(float(w["start"]), float(w["end"]), w["word"], float(w["probability"]))
                  for w in part.get("words") or ())
    return Segment(float(part["start"]), float(part["end"]), part["text"], words)


def to_segment(native) -> Segment:
    """faster-whisper's Segment -> ours (the one conversion for this engine)."""
    words = tuple(Word(w.start, w.end, w.word, w.probability) for w in native.words or ())
    return Segment(native.start, native.end, native.text, words)

"""The faster-whisper engine (CTranslate2): CUDA float16 on a GPU, int8 on a CPU."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from collections.abc import Sequence

import numpy as np

from ..errors import ModelError
from ..events import Callbacks, SequentialProgress
from ..media import SAMPLE_RATE
from ..models import ModelSpec, import_whole, offline, offline_fallback
from ..transcript import Segment, Transcript, Word
from . import DecodeOptions, WindowDecoding, english_only_check, loaded_name, log_model, warn_turbo_translate
from .device import default_device, describe_device, split_cores
from .windows import Decoded, words_from_alignment

log = logging.getLogger(__name__)

#: Windows encoded per CTranslate2 call on a CPU: small encoder batches run faster per window there.
CPU_ENCODE_BATCH = 2


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
    download_model = import_whole("faster_whisper").utils.download_model
    from ..downloads import download_failure

    failure = download_failure("ct2", spec.size)  # just tried (with a bar): no second wait
    if failure is None:
        try:
            return Path(download_model(spec.name, local_files_only=offline()))
        except Exception as e:  # noqa: BLE001 - any download failure falls back to the bundled weights
            failure = e
    return offline_fallback(spec.size, failure)


class FasterWhisperEngine(WindowDecoding):
    """faster-whisper's WhisperModel behind the engine interface.

    On a CPU with ``workers`` > 1 the model is loaded once and served by that many CTranslate2
    replicas (``num_workers``), each with its share of the cores, so that several windows
    batches decode at the same time from as many threads.
    """

    name = "faster-whisper"
    weights = "ct2"

    def __init__(
        self,
        spec: ModelSpec,
        *,
        device: str | None = None,
        threads: int | None = None,
        workers: int = 1,
        compute_type: str | None = None,
    ):
        import ctranslate2  # noqa: F401 - fail here, clearly, when the extra is missing

        WhisperModel = import_whole("faster_whisper").WhisperModel

        self.device = device or default_device(self.name)
        on_gpu = self.device.startswith("cuda")
        self.workers = max(1, workers)
        if on_gpu:
            self.threads = threads or 1
        else:
            self.workers, self.threads = (
                split_cores(self.workers, threads) if self.workers > 1 else (1, threads or os.cpu_count() or 1)
            )
        self.compute_type = compute_type or ("float16" if on_gpu else "int8")
        log.info("Using %s", describe_device(self.device, self.threads, self.workers))
        self.spec = spec
        self.model_dir = ct2_model_dir(spec)
        try:
            self.model = WhisperModel(
                str(self.model_dir),
                device=self.device.split(":")[0],
                device_index=int(self.device.split(":")[1]) if ":" in self.device else 0,
                compute_type=self.compute_type,
                cpu_threads=self.threads,
                num_workers=self.workers,
            )
        except (RuntimeError, ValueError) as e:
            raise ModelError(
                f"{self.model_dir}: faster-whisper could not load the model ({e})", model=str(self.model_dir)
            ) from e
        self.is_multilingual = bool(self.model.model.is_multilingual)
        self.model_name = loaded_name(spec.name, self.is_multilingual)
        from ..convert import count_openai_parameters

        log_model(self, count_openai_parameters(self.model_dir))

    def transcribe(self, audio: np.ndarray, options: DecodeOptions, callbacks: Callbacks = Callbacks()) -> Transcript:
        """The whole recording, sequentially, as faster-whisper's own ``transcribe`` decodes it."""
        options = english_only_check(self, options)
        warn_turbo_translate(self.spec.size, options)
        duration = len(audio) / SAMPLE_RATE
        segments_iter, info = self.model.transcribe(audio, **self._kwargs(options))
        callbacks.language(info.language)
        progress = SequentialProgress(duration, callbacks)
        segments = []
        for native in segments_iter:
            segment = to_segment(native)
            segments.append(segment)
            progress.advance_to(segment.end)
            callbacks.segment(segment)
        progress.finish()
        return Transcript(tuple(segments), info.language, duration, options.task)

    def detect_language(self, audio: np.ndarray) -> str:
        """The language of the first 30 s of ``audio`` ("en" for English-only models)."""
        if not self.is_multilingual:
            return "en"
        language, probability, _ = self.model.detect_language(audio[: 30 * SAMPLE_RATE])
        log.debug("Detected language %s with probability %.2f", language, probability)
        return language

    def _window_model(self, options: DecodeOptions) -> CT2Windows:
        return CT2Windows(self, options)

    def _encode(self, audio: Sequence[np.ndarray]) -> list[np.ndarray]:
        import ctranslate2
        from faster_whisper.audio import pad_or_trim

        extractor = self.model.feature_extractor
        features = np.stack([pad_or_trim(extractor(a)[..., :-1]) for a in audio]).astype(np.float32)
        step = CPU_ENCODE_BATCH if self.device == "cpu" else 32
        out: list[np.ndarray] = []
        for k in range(0, len(features), step):
            view = ctranslate2.StorageView.from_array(np.ascontiguousarray(features[k : k + step]))
            out.extend(np.array(self.model.model.encode(view, to_cpu=True)))
        return out

    def _kwargs(self, options: DecodeOptions) -> dict:
        return dict(
            options.common_kwargs(),
            temperature=list(options.temperatures),
            log_prob_threshold=options.logprob_threshold,
            beam_size=options.beam_size or 1,
            best_of=options.best_of or 1,
            patience=options.patience or 1,
            length_penalty=options.length_penalty or 1,
            suppress_tokens=suppress_token_ids(options),
        )


def suppress_token_ids(options: DecodeOptions) -> list[int]:
    return [int(t) for t in options.suppress_tokens.split(",") if t.strip()]


class CT2Windows:
    """The batched primitives of :class:`~audiototext.engines.windows.WindowModel` on CTranslate2.

    Encoder outputs are kept on the host as numpy arrays, one per window, so any subset of a
    batch (the windows that fall back, the ones with text to align) is regrouped without
    encoding again; moving 3 MB per window to the GPU and back costs well under a millisecond.
    """

    def __init__(self, engine: FasterWhisperEngine, options: DecodeOptions):
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self.engine = engine
        self.model = engine.model
        self.tokenizer = Tokenizer(
            self.model.hf_tokenizer, engine.is_multilingual, task=options.task, language=options.language
        )
        self.suppress = get_suppressed_tokens(self.tokenizer, suppress_token_ids(options))

    def encode(self, audio: Sequence[np.ndarray]) -> list[np.ndarray]:
        return self.engine._encode(audio)

    def _view(self, encoded: Sequence[np.ndarray]):
        import ctranslate2

        return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.stack(encoded)))

    def prompt_tokens(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def generate(
        self, encoded: Sequence[np.ndarray], options: DecodeOptions, temperature: float, prompt: Sequence[int]
    ) -> list[Decoded]:
        t = self.tokenizer
        full = [([t.sot_prev, *prompt] if prompt else []) + [*t.sot_sequence, t.no_timestamps]] * len(encoded)
        length_penalty = options.length_penalty or 1
        sampling = temperature > 0
        results = self.model.model.generate(
            self._view(encoded),
            full,
            beam_size=1 if sampling else (options.beam_size or 1),
            num_hypotheses=(options.best_of or 1) if sampling else 1,
            sampling_topk=0 if sampling else 1,
            sampling_temperature=temperature if sampling else 1.0,
            patience=options.patience or 1,
            length_penalty=length_penalty,
            max_length=self.model.max_length,
            suppress_blank=True,
            suppress_tokens=self.suppress,
            return_scores=True,
            return_no_speech_prob=True,
        )
        out = []
        for result in results:
            tokens = [tok for tok in result.sequences_ids[0] if tok < t.eot]
            cumulative = result.scores[0] * (len(result.sequences_ids[0]) ** length_penalty)
            out.append(
                Decoded(
                    tuple(tokens),
                    t.decode(tokens),
                    cumulative / (len(result.sequences_ids[0]) + 1),
                    float(result.no_speech_prob),
                    temperature,
                )
            )
        return out

    def align(
        self, encoded: Sequence[np.ndarray], tokens: Sequence[Sequence[int]], frames: Sequence[int]
    ) -> list[list[Word]]:
        t = self.tokenizer
        results = self.model.model.align(
            self._view(encoded), t.sot_sequence, [list(x) for x in tokens], list(frames), median_filter_width=7
        )
        out = []
        for result, text_tokens in zip(results, tokens):
            words, word_tokens = t.split_to_word_tokens(list(text_tokens) + [t.eot])
            if len(word_tokens) <= 1:
                out.append([])
                continue
            text_indices = np.array([pair[0] for pair in result.alignments])
            time_indices = np.array([pair[1] for pair in result.alignments])
            boundaries = np.pad(np.cumsum([len(w) for w in word_tokens[:-1]]), (1, 0))
            jumps = np.pad(np.diff(text_indices), (1, 0), constant_values=1).astype(bool)
            jump_times = time_indices[jumps] / self.model.tokens_per_second
            probs = result.text_token_probs
            out.append(
                words_from_alignment(
                    words[:-1],
                    jump_times[boundaries[:-1]],
                    jump_times[boundaries[1:]],
                    [float(np.mean(probs[i:j])) if j > i else 0.0 for i, j in zip(boundaries[:-1], boundaries[1:])],
                )
            )
        return out


def to_segment(native) -> Segment:
    """faster-whisper's Segment -> ours (the one conversion for this engine)."""
    words = tuple(Word(w.start, w.end, w.word, w.probability) for w in native.words or ())
    return Segment(native.start, native.end, native.text, words)

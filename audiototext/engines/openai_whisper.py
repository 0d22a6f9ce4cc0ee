"""The openai-whisper engine: the reference implementation, on CUDA with fp16 or on CPU in fp32."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Sequence

import numpy as np

from ..errors import ModelError
from ..events import Callbacks, SequentialProgress
from ..media import SAMPLE_RATE
from ..models import ModelSpec, import_whole, offline, offline_fallback, openai_checkpoint
from ..transcript import Segment, Transcript, Word
from . import DecodeOptions, WindowDecoding, english_only_check, loaded_name, log_model, warn_turbo_translate
from .device import default_device, describe_device
from .windows import Decoded, words_from_alignment

log = logging.getLogger(__name__)


def load_whisper_model(spec: ModelSpec, device: str):
    """A ``whisper.model.Whisper`` for ``spec``: official download, local file, or offline package."""
    whisper = import_whole("whisper")

    if spec.kind == "openai-pt":
        return whisper.load_model(str(spec.path), device=device)
    if spec.kind == "ct2":
        return _load_checkpoint_with_heads(openai_checkpoint(spec.path), spec.path, device)
    from ..downloads import download_failure
    from ..models import whisper_download_root

    name = spec.size
    download_root = str(whisper_download_root())
    cached = os.path.join(download_root, os.path.basename(whisper._MODELS[name]))
    failure = download_failure("openai-pt", name)  # just tried (with a bar): no second try
    if os.path.isfile(cached) or (failure is None and not offline()):
        try:
            return whisper.load_model(name, device=device, download_root=download_root)
        except Exception as e:  # noqa: BLE001 - any download failure falls back to the bundled weights
            failure = e
    elif failure is None:
        failure = "offline mode (AUDIOTOTEXT_OFFLINE/HF_HUB_OFFLINE)"
    ct2_dir = offline_fallback(name, failure)
    return _load_checkpoint_with_heads(openai_checkpoint(ct2_dir), ct2_dir, device)


def _load_checkpoint_with_heads(checkpoint, ct2_dir, device: str):
    whisper = import_whole("whisper")

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


class OpenAIWhisperEngine(WindowDecoding):
    """openai-whisper: CUDA + fp16 when a GPU is present, else CPU fp32 on all cores.

    One decoding stream (``workers`` is 1): torch already spreads every operation over the cores.
    """

    name = "openai-whisper"
    weights = "openai-pt"

    def __init__(self, spec: ModelSpec, *, device: str | None = None, threads: int | None = None, workers: int = 1):
        import torch

        self.device = device or default_device(self.name)
        self.threads = threads or os.cpu_count() or 1
        self.workers = 1
        if self.device == "cpu":
            torch.set_num_threads(self.threads)
        log.info("Using %s", describe_device(self.device, self.threads))
        self.spec = spec
        self.model = load_whisper_model(spec, self.device)
        self.is_multilingual = bool(self.model.is_multilingual)
        self.model_name = loaded_name(spec.name, self.is_multilingual)
        log_model(self, sum(int(np.prod(p.shape)) for p in self.model.parameters()))

    @property
    def fp16(self) -> bool:
        return self.device.startswith("cuda")

    def transcribe(self, audio: np.ndarray, options: DecodeOptions, callbacks: Callbacks = Callbacks()) -> Transcript:
        """The whole recording, sequentially, exactly as the ``whisper`` CLI decodes it.

        whisper has no per-segment callback and printing is process-wide (capturing it mixed the
        lines of jobs running in threads), so it runs silently and its lines are reported when
        it is done.
        """
        options = english_only_check(self, options)
        warn_turbo_translate(self.spec.size, options)
        duration = len(audio) / SAMPLE_RATE
        progress = SequentialProgress(duration, callbacks)
        result = self.model.transcribe(audio, verbose=None, **self._kwargs(options))
        callbacks.language(result["language"])
        transcript = to_transcript(result, duration, options.task)
        for segment in transcript.segments:
            callbacks.segment(segment)
        progress.finish()
        return transcript

    def detect_language(self, audio: np.ndarray) -> str:
        """The language of the first 30 s of ``audio`` ("en" for English-only models)."""
        if not self.is_multilingual:
            return "en"
        _, probs = self.model.detect_language(self._mels([audio[: 30 * SAMPLE_RATE]])[0])
        return max(probs, key=probs.get)

    def _mels(self, chunks: Sequence[np.ndarray]):
        import torch
        import whisper

        # On the model's device: on a GPU the spectrograms cost ~0.3 ms a window instead of 27 ms on a CPU core.
        return torch.stack(
            [
                whisper.log_mel_spectrogram(
                    whisper.pad_or_trim(np.asarray(c, np.float32)), self.model.dims.n_mels, device=self.device
                )
                for c in chunks
            ]
        )

    def _window_model(self, options: DecodeOptions) -> TorchWindows:
        return TorchWindows(self, options)

    def _encode(self, audio: Sequence[np.ndarray]) -> list:
        import torch

        mels = self._mels(audio)
        with torch.no_grad():
            return list(self.model.encoder(mels.half() if self.fp16 else mels))

    def _kwargs(self, options: DecodeOptions) -> dict:
        return dict(
            options.common_kwargs(),
            temperature=options.temperatures,
            logprob_threshold=options.logprob_threshold,
            fp16=self.fp16,
            beam_size=options.beam_size,
            best_of=options.best_of,
            patience=options.patience,
            length_penalty=options.length_penalty,
            suppress_tokens=options.suppress_tokens,
        )


_SDPA_LOCK = threading.Lock()
_SDPA_USERS = 0
_SDPA_SAVED = True


@contextlib.contextmanager
def attention_weights():
    """whisper's ``disable_sdpa`` for threads: its switch is a class attribute of the whole process,
    so the first aligning thread turns SDPA off and the last one out restores it (one thread leaving
    ``disable_sdpa`` while another aligned made the other's attention weights None)."""
    from whisper.model import MultiHeadAttention

    global _SDPA_USERS, _SDPA_SAVED
    with _SDPA_LOCK:
        if _SDPA_USERS == 0:
            _SDPA_SAVED = MultiHeadAttention.use_sdpa
            MultiHeadAttention.use_sdpa = False
        _SDPA_USERS += 1
    try:
        yield
    finally:
        with _SDPA_LOCK:
            _SDPA_USERS -= 1
            if _SDPA_USERS == 0:
                MultiHeadAttention.use_sdpa = _SDPA_SAVED


def batched_decoding_task(model, options):
    """A ``whisper.decoding.DecodingTask`` whose beam search and best-of sampling work on batches.

    openai-whisper repeats the text tokens once per beam but not the audio features, so its
    cross-attention sees ``n_audio`` rows against ``n_audio x beams`` (upstream fails with "The
    size of tensor a (20) must match the size of tensor b (4)" for more than one audio). Here the
    encoded audio is repeated per beam as well; the rest is whisper's own code.
    """
    from whisper.decoding import DecodingTask

    class BatchedDecodingTask(DecodingTask):
        def _get_audio_features(self, mel):
            return super()._get_audio_features(mel).repeat_interleave(self.n_group, dim=0)

        def _detect_language(self, audio_features, tokens):
            languages, probs = super()._detect_language(audio_features[:: self.n_group], tokens)
            return languages, probs

    return BatchedDecodingTask(model, options)


class TorchWindows:
    """The batched primitives of :class:`~audiototext.engines.windows.WindowModel` on openai-whisper."""

    def __init__(self, engine: OpenAIWhisperEngine, options: DecodeOptions):
        from whisper.tokenizer import get_tokenizer

        self.engine = engine
        self.model = engine.model
        self.tokenizer = get_tokenizer(
            self.model.is_multilingual,
            num_languages=self.model.num_languages,
            language=options.language,
            task=options.task,
        )

    def encode(self, audio: Sequence[np.ndarray]) -> list:
        return self.engine._encode(audio)

    def prompt_tokens(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def generate(
        self, encoded: Sequence, options: DecodeOptions, temperature: float, prompt: Sequence[int]
    ) -> list[Decoded]:
        import torch
        from whisper.decoding import DecodingOptions

        sampling = temperature > 0
        decoding = DecodingOptions(
            task=options.task,
            language=options.language,
            temperature=temperature,
            beam_size=None if sampling else options.beam_size,
            best_of=options.best_of if sampling else None,
            patience=None if sampling else options.patience,
            length_penalty=options.length_penalty,
            prompt=list(prompt) or None,
            suppress_tokens=options.suppress_tokens,
            without_timestamps=True,
            fp16=self.engine.fp16,
        )
        with torch.no_grad():
            results = batched_decoding_task(self.model, decoding).run(torch.stack(list(encoded)))
        out = []
        for result in results:
            tokens = tuple(t for t in result.tokens if t < self.tokenizer.eot)
            out.append(
                Decoded(
                    tokens,
                    self.tokenizer.decode(list(tokens)),
                    float(result.avg_logprob),
                    float(result.no_speech_prob),
                    temperature,
                )
            )
        return out

    def align(self, encoded: Sequence, tokens: Sequence[Sequence[int]], frames: Sequence[int]) -> list[list[Word]]:
        """Word times from the alignment heads' cross-attention (whisper's ``find_alignment``), batched.

        The audio features are already encoded, so only the decoder runs (whisper's own function
        runs the encoder again); the token rows are padded with end-of-text, which a causal
        decoder never looks back at.
        """
        import torch
        from whisper.timing import dtw, median_filter

        t = self.tokenizer
        head = [*t.sot_sequence, t.no_timestamps]
        rows = [head + list(x) + [t.eot] for x in tokens]
        width = max(len(r) for r in rows)
        batch = torch.tensor([r + [t.eot] * (width - len(r)) for r in rows], device=self.model.device)
        qks: list = [None] * self.model.dims.n_text_layer
        hooks = [
            block.cross_attn.register_forward_hook(lambda _m, _inputs, outs, index=i: qks.__setitem__(index, outs[-1]))
            for i, block in enumerate(self.model.decoder.blocks)
        ]
        try:
            with torch.no_grad(), attention_weights():
                logits = self.model.decoder(batch, torch.stack(list(encoded)))
        finally:
            for hook in hooks:
                hook.remove()
        probs = logits[:, len(t.sot_sequence) :, : t.eot].float().softmax(dim=-1)
        heads = self.model.alignment_heads.indices().T
        out = []
        for b, (text_tokens, n_frames) in enumerate(zip(tokens, frames)):
            text_tokens = list(text_tokens)
            token_probs = probs[b, np.arange(len(text_tokens)), text_tokens].tolist()
            weights = torch.stack([qks[layer][b, h] for layer, h in heads])[:, : len(rows[b]), : n_frames // 2]
            weights = weights.float().softmax(dim=-1)
            std, mean = torch.std_mean(weights, dim=-2, keepdim=True, unbiased=False)
            weights = median_filter((weights - mean) / std, 7)
            matrix = weights.mean(axis=0)[len(t.sot_sequence) : -1]
            text_indices, time_indices = dtw(-matrix)
            words, word_tokens = t.split_to_word_tokens(text_tokens + [t.eot])
            if len(word_tokens) <= 1:
                out.append([])
                continue
            boundaries = np.pad(np.cumsum([len(w) for w in word_tokens[:-1]]), (1, 0))
            jumps = np.pad(np.diff(text_indices), (1, 0), constant_values=1).astype(bool)
            jump_times = time_indices[jumps] / 50  # whisper.audio.TOKENS_PER_SECOND
            out.append(
                words_from_alignment(
                    words[:-1],
                    jump_times[boundaries[:-1]],
                    jump_times[boundaries[1:]],
                    [
                        float(np.mean(token_probs[i:j])) if j > i else 0.0
                        for i, j in zip(boundaries[:-1], boundaries[1:])
                    ],
                )
            )
        return out


def to_transcript(result: dict, duration: float, task: str) -> Transcript:
    """openai-whisper's result dict -> Transcript (the one conversion for this engine).

    Every segment is kept, blanked ones too, so files match what the ``whisper`` CLI writes.
    """
    segments = tuple(Segment.from_dict(s) for s in result["segments"])
    return Transcript(segments, result.get("language"), duration, task)

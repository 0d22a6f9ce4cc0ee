"""The GPU check's random-shape section: models of the large-v3 and large-v3-turbo shapes, random weights.

Only the base weights exist offline, so models of those shapes (``whisper.model.ModelDimensions``)
are initialised at random and each window is decoded (beam 5) to exactly the number of tokens the
real base model wrote there, so the work per window is real: encoder, beam search, alignment.
openai-whisper forces the lengths with a logit filter per row; CTranslate2 (the same random
weights, converted) has no such hook, so its batches are formed from windows of similar length and
decoded to the longest (the row's note says how many more tokens that decodes than the real run).

The engines' window-model classes (``TorchWindows`` and ``CT2Windows``, public in their engine
modules) are subclassed here to force the lengths.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from gpu_audio import SAMPLE_RATE
from gpu_measure import Meter, decode_options, free_gpu, on_decode_thread, phase_times, phases_note, run_batches
from gpu_measure import torch_index
from gpu_report import Report, Row

from audiototext.engines import engine_class

#: Official dimensions (openai-whisper's checkpoints); "tiny" is a small model with large-v3's
#: 128 mel bins and 51,866-token vocabulary, to check the large-v3 code path on a CPU.
LARGE_V3 = dict(
    n_mels=128,
    n_audio_ctx=1500,
    n_audio_state=1280,
    n_audio_head=20,
    n_audio_layer=32,
    n_vocab=51866,
    n_text_ctx=448,
    n_text_state=1280,
    n_text_head=20,
    n_text_layer=32,
)
SHAPES: dict[str, dict[str, int]] = {
    "large-v3": LARGE_V3,
    "large-v3-turbo": dict(LARGE_V3, n_text_layer=4),  # large-v3 with 4 decoder layers
    "tiny": dict(
        n_mels=128,
        n_audio_ctx=1500,
        n_audio_state=384,
        n_audio_head=6,
        n_audio_layer=4,
        n_vocab=51866,
        n_text_ctx=448,
        n_text_state=384,
        n_text_head=6,
        n_text_layer=4,
    ),
}

#: Windows decoded before timing a random model (kernels, cuBLAS handles); base warms up on a whole batch.
WARM_UP = 4


def force_length_filter(targets, sample_begin: int, n_group: int, eot: int, device):
    """A ``whisper.decoding.LogitFilter``: row ``i`` may not end before ``targets[i]`` text tokens and must end
    then; special and timestamp tokens are banned (a random model would write them; base never does)."""
    import torch
    from whisper.decoding import LogitFilter

    class ForceLength(LogitFilter):
        def __init__(self):
            self.targets = torch.tensor(targets, device=device).repeat_interleave(n_group)

        def apply(self, logits, tokens):
            # Random fp16 weights must not stop the beam search; the suppressed tokens' -inf stay.
            torch.nan_to_num_(logits, nan=0.0, posinf=float("inf"), neginf=float("-inf"))
            logits[:, eot + 1 :] = -np.inf
            done = self.targets <= tokens.shape[1] - sample_begin
            logits[~done, eot] = -np.inf
            logits[done] = -np.inf
            logits[done, eot] = 0.0

    return ForceLength()


def forced_torch_windows(engine, options):
    """openai-whisper's window primitives (the engine's own class) with a per-row forced length."""
    from audiototext.engines.openai_whisper import TorchWindows, batched_decoding_task
    from audiototext.engines.windows import Decoded

    class ForcedTorchWindows(TorchWindows):
        targets: list[int] = []

        def generate(self, encoded, options, temperature, prompt):
            import torch
            from whisper.decoding import DecodingOptions

            decoding = DecodingOptions(
                task=options.task,
                language=options.language,
                temperature=temperature,
                beam_size=options.beam_size,
                length_penalty=options.length_penalty,
                suppress_tokens=options.suppress_tokens,
                without_timestamps=True,
                fp16=self.engine.fp16,
            )
            task = batched_decoding_task(self.model, decoding)
            task.logit_filters.append(
                force_length_filter(
                    self.targets, task.sample_begin, task.n_group, self.tokenizer.eot, self.model.device
                )
            )
            with torch.no_grad():
                results = task.run(torch.stack(list(encoded)))
            return [
                Decoded(
                    tuple(r.tokens),
                    self.tokenizer.decode(r.tokens),
                    float(r.avg_logprob),
                    float(r.no_speech_prob),
                    temperature,
                )
                for r in results
            ]

    return ForcedTorchWindows(engine, options)


def forced_ct2_windows(ct2_model, tokenizer, n_mels: int, device: str, suppress: list[int]):
    """faster-whisper's window primitives (the engine's own class) over a bare CTranslate2 model, lengths forced.

    CTranslate2's Whisper.generate has no per-row hook: end-of-text is suppressed and each batch is
    decoded to its longest target. Its ``max_length`` counts the prompt and halves (openai's
    ``sample_len``): it generates ``min(max_length // 2, max_length - len(prompt) + 1)`` tokens (measured).
    """
    from faster_whisper.feature_extractor import FeatureExtractor

    from audiototext.engines.faster_whisper import FasterWhisperEngine, CT2Windows
    from audiototext.engines.windows import Decoded

    class ForcedCT2Windows(CT2Windows):
        def __init__(self):
            self.model = SimpleNamespace(
                model=ct2_model,
                feature_extractor=FeatureExtractor(feature_size=n_mels),
                max_length=448,
                tokens_per_second=SAMPLE_RATE / 160 / 2,
            )
            self.engine = SimpleNamespace(device=device, model=self.model)
            self.tokenizer = tokenizer
            self.suppress = suppress
            self.targets: list[int] = []
            self.steps = 0

        def encode(self, audio):
            # the engine's own encoder batching, on this bare model
            return FasterWhisperEngine._encode(self.engine, audio)

        def generate(self, encoded, options, temperature, prompt):
            t = self.tokenizer
            head = [*t.sot_sequence, t.no_timestamps]
            steps = max(self.targets) + 1  # the real decoding's last step writes end-of-text
            results = self.model.model.generate(
                self._view(encoded),
                [head] * len(encoded),
                beam_size=options.beam_size or 1,
                patience=1,
                length_penalty=1,
                max_length=max(2 * steps, steps + len(head) - 1),
                suppress_blank=True,
                suppress_tokens=self.suppress,
                return_scores=True,
                return_no_speech_prob=True,
            )
            out = []
            for result, target in zip(results, self.targets):
                self.steps += len(result.sequences_ids[0])
                tokens = [tok for tok in result.sequences_ids[0] if tok < t.eot][:target]
                scores = float(result.scores[0]), float(result.no_speech_prob)
                out.append(Decoded(tuple(tokens), t.decode(tokens), *scores, temperature))
            return out

    return ForcedCT2Windows()


def random_whisper(shape: str, device: str):
    """A randomly initialised ``whisper.model.Whisper`` of ``shape``; fp32 weights, as ``whisper.load_model``
    keeps them (the engine decodes in fp16 on CUDA all the same)."""
    import torch
    import whisper
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(0)
    with torch.device(device):  # initialised where it runs, not built on the host and copied
        model = Whisper(ModelDimensions(**SHAPES[shape]))
    if shape in whisper._ALIGNMENT_HEADS:
        model.set_alignment_heads(whisper._ALIGNMENT_HEADS[shape])
    return model.to(device).eval()


def ct2_from_whisper(model, tokenizer, base_dir: Path, target: Path) -> None:
    """Save ``model`` (openai-whisper) as a float16 CTranslate2 Whisper model in ``target``.

    The inverse of :mod:`audiototext.convert`'s mapping; the vocabulary is base's 50,257 text tokens
    followed by the tokenizer's special and timestamp tokens, so ids match openai-whisper's.
    """
    import torch
    from ctranslate2.specs import whisper_spec

    dims = model.dims
    sd = {k: v.detach().to(torch.float16).cpu().numpy() for k, v in model.state_dict().items()}
    spec = whisper_spec.WhisperSpec(dims.n_audio_layer, dims.n_audio_head, dims.n_text_layer, dims.n_text_head)
    fill_spec(spec, sd)
    del sd

    text = (base_dir / "vocabulary.txt").read_text(encoding="utf-8").split("\n")[: tokenizer.eot]
    vocabulary = text + [token for token, _ in sorted(tokenizer.special_tokens.items(), key=lambda kv: kv[1])]
    if len(vocabulary) != dims.n_vocab:
        raise RuntimeError(f"built a vocabulary of {len(vocabulary)} tokens for a model of {dims.n_vocab}")
    spec.register_vocabulary(vocabulary)
    config = json.loads((base_dir / "config.json").read_text())
    spec.config.suppress_ids = [i for i in config.get("suppress_ids", []) if i < tokenizer.eot]
    spec.config.suppress_ids_begin = [220, tokenizer.eot]
    spec.config.lang_ids = list(tokenizer.all_language_tokens)
    spec.config.alignment_heads = [tuple(int(x) for x in pair) for pair in model.alignment_heads.indices().T.tolist()]
    spec.validate()
    spec.optimize(quantization="float16")
    spec.save(str(target))


def fill_spec(spec, sd: dict) -> None:
    """CTranslate2's Whisper ``spec`` filled from openai-whisper's state dict ``sd`` (float16 arrays)."""

    def norm(s, key):
        s.gamma, s.beta = sd[f"{key}.weight"], sd[f"{key}.bias"]

    def linear(s, key, bias=True):
        s.weight = sd[f"{key}.weight"]
        if bias:
            s.bias = sd[f"{key}.bias"]

    def fused(s, key, names):  # openai's key projection has no bias; CTranslate2's fused one has zeros there
        s.weight = np.concatenate([sd[f"{key}.{n}.weight"] for n in names])
        s.bias = np.concatenate(
            [sd.get(f"{key}.{n}.bias", np.zeros(len(sd[f"{key}.{n}.weight"]), np.float16)) for n in names]
        )

    def block(s, key, cross: bool):
        norm(s.self_attention.layer_norm, f"{key}.attn_ln")
        fused(s.self_attention.linear[0], f"{key}.attn", ("query", "key", "value"))
        linear(s.self_attention.linear[1], f"{key}.attn.out")
        if cross:
            norm(s.attention.layer_norm, f"{key}.cross_attn_ln")
            linear(s.attention.linear[0], f"{key}.cross_attn.query")
            fused(s.attention.linear[1], f"{key}.cross_attn", ("key", "value"))
            linear(s.attention.linear[2], f"{key}.cross_attn.out")
        norm(s.ffn.layer_norm, f"{key}.mlp_ln")
        linear(s.ffn.linear_0, f"{key}.mlp.0")
        linear(s.ffn.linear_1, f"{key}.mlp.2")

    encoder, decoder = spec.encoder, spec.decoder
    linear(encoder.conv1, "encoder.conv1")
    linear(encoder.conv2, "encoder.conv2")
    encoder.position_encodings.encodings = sd["encoder.positional_embedding"]
    for i, layer in enumerate(encoder.layer):
        block(layer, f"encoder.blocks.{i}", cross=False)
    norm(encoder.layer_norm, "encoder.ln_post")
    decoder.embeddings.weight = sd["decoder.token_embedding.weight"]
    decoder.position_encodings.encodings = sd["decoder.positional_embedding"]
    for i, layer in enumerate(decoder.layer):
        block(layer, f"decoder.blocks.{i}", cross=True)
    norm(decoder.layer_norm, "decoder.ln")
    decoder.projection.weight = sd["decoder.token_embedding.weight"]


def shape_rows(report: Report, shape: str, ctx: SimpleNamespace) -> None:
    """Both engines on a random model of ``shape``, each window decoded to base's token count."""
    from whisper.tokenizer import get_tokenizer

    label = f"random {shape}"
    if not ctx.targets:
        for engine_name in ctx.engines:
            report.failed(
                "random shape",
                engine_name,
                label,
                "no token counts to decode to: no base run, and --data has none saved by --prepare",
                audio_s=ctx.duration,
            )
        return
    free_gpu()
    try:
        model = random_whisper(shape, ctx.device)
    except Exception as e:  # noqa: BLE001
        for engine_name in ctx.engines:
            report.failed("random shape", engine_name, label, e, audio_s=ctx.duration)
        return
    tokenizer = get_tokenizer(
        model.is_multilingual, num_languages=model.num_languages, language=ctx.language, task="transcribe"
    )
    weights = {engine_class(name).weights for name in ctx.engines}  # the engines measured, by what they run
    if "openai-pt" in weights:
        torch_shape_row(report, model, label, ctx)
        free_gpu()
    if "ct2" in weights:
        holder = [model]  # the converter's caller lets go of the torch model before CTranslate2 loads
        del model
        ct2_shape_row(report, holder, tokenizer, shape, ctx)
    free_gpu()


def source_note(ctx) -> str:
    return f"; {ctx.targets_from}" if "saved" in ctx.targets else ""


def torch_shape_row(report: Report, model, label: str, ctx) -> None:
    """openai-whisper on the random model, halving the batch while it runs out of GPU memory."""
    import torch

    from audiototext.engines.openai_whisper import OpenAIWhisperEngine
    from audiototext.engines.windows import decode_windows
    from audiototext.longaudio import batch_groups

    want = ctx.targets.get("openai-whisper") or next(iter(ctx.targets.values()))
    options = decode_options(ctx.language, ctx.beam_size, forced=True)
    engine = OpenAIWhisperEngine.__new__(OpenAIWhisperEngine)
    engine.device, engine.model, engine.workers, engine.threads = ctx.device, model, 1, os.cpu_count() or 1
    engine.is_multilingual, engine.model_name, engine.spec = model.is_multilingual, label, None
    primitives = forced_torch_windows(engine, options)

    def decode(group, audio):
        primitives.targets = [want[w.index] for w in group]
        return decode_windows(primitives, audio, options)

    size, too_big = ctx.shape_batch_size, []
    try:
        first = batch_groups(ctx.windows, size)[0][:WARM_UP]
        on_decode_thread(decode, first, [w.audio(ctx.source) for w in first])
        while True:
            try:
                with Meter(ctx.device, "torch") as meter, phase_times(type(primitives), ctx.device) as phases:
                    wall, results = run_batches(decode, ctx.windows, ctx.source, size)
                break
            except torch.cuda.OutOfMemoryError:  # whisper's beam search keeps each beam's cross-attention cache
                if size == 1:
                    raise
            free_gpu()  # here, once the exception (and the tensors its frames hold) is gone
            too_big.append(size)
            size //= 2
            print(f"  batch {too_big[-1]} ran out of GPU memory: trying {size}", flush=True)
        off = sum(len(results[w.index].tokens) != want[w.index] for w in ctx.windows)
        oom = f"; batch {', '.join(map(str, too_big))} ran out of memory" if too_big else ""
        note = (
            f"{sum(want.values())} tokens as base wrote them ({off} windows off); "
            f"{phases_note(phases)}{oom}{source_note(ctx)}"
        )
        report.add(Row("random shape", "openai-whisper", label, size, ctx.duration, wall, meter.mib, note=note))
    except Exception as e:  # noqa: BLE001
        report.failed("random shape", "openai-whisper", label, e, batch=size, audio_s=ctx.duration)


def ct2_shape_row(report: Report, holder: list, tokenizer, shape: str, ctx) -> None:
    """faster-whisper's primitives on the random model converted to CTranslate2 (``holder[0]``, let go once
    converted), batches of windows of similar length."""
    label, batch_size = f"random {shape}", ctx.shape_batch_size
    want = ctx.targets.get("faster-whisper") or next(iter(ctx.targets.values()))
    scratch = Path(tempfile.mkdtemp(prefix="gpu-bench-ct2-", dir=ctx.scratch))
    try:
        if ctx.base_dir is None:
            raise RuntimeError("the CTranslate2 model is built with base's vocabulary: pass --model")
        start = time.perf_counter()
        ct2_from_whisper(holder[0], tokenizer, ctx.base_dir, scratch)
        convert_s = time.perf_counter() - start
        holder.clear()
        free_gpu()
        with Meter(ctx.device, "device") as meter:
            steps, real, wall, phases = ct2_decode(scratch, tokenizer, shape, want, ctx)
        note = (
            f"decoded {steps / real:.2f}x the real run's tokens (batches by length); "
            f"{phases_note(phases)}; random weights converted in {convert_s:.0f} s{source_note(ctx)}"
        )
        report.add(Row("random shape", "faster-whisper", label, batch_size, ctx.duration, wall, meter.mib, note=note))
    except Exception as e:  # noqa: BLE001 - e.g. CTranslate2 without cuBLAS 12 on a CUDA 13 machine
        report.failed("random shape", "faster-whisper", label, e, batch=batch_size, audio_s=ctx.duration)
    finally:
        holder.clear()
        shutil.rmtree(scratch, ignore_errors=True)


def ct2_decode(model_dir: Path, tokenizer, shape: str, want: dict, ctx):
    """(tokens decoded, tokens of the real run, wall seconds, phase times) of the converted model."""
    import ctranslate2

    from audiototext.engines.windows import decode_windows
    from audiototext.longaudio import batch_groups

    options = decode_options(ctx.language, ctx.beam_size, forced=True)
    ct2 = ctranslate2.models.Whisper(
        str(model_dir),
        device=ctx.device.split(":")[0],
        device_index=torch_index(ctx.device),
        compute_type="float16" if ctx.device.startswith("cuda") else "int8",
        intra_threads=1 if ctx.device.startswith("cuda") else (os.cpu_count() or 1),
    )
    vocab = SHAPES[shape]["n_vocab"]
    suppress = sorted(set(ct2_suppress(ctx.base_dir, tokenizer) + list(range(tokenizer.eot, vocab))))
    primitives = forced_ct2_windows(ct2, tokenizer, SHAPES[shape]["n_mels"], ctx.device, suppress)
    # Batches of windows of similar length (see forced_ct2_windows), in length order.
    ordered = sorted(ctx.windows, key=lambda w: want[w.index])

    def decode(group, audio):
        primitives.targets = [want[w.index] for w in group]
        return decode_windows(primitives, audio, options)

    first = batch_groups(ordered, ctx.shape_batch_size)[0][:WARM_UP]
    on_decode_thread(decode, first, [w.audio(ctx.source) for w in first])
    primitives.steps = 0
    with phase_times(type(primitives), ctx.device) as phases:
        wall, _ = run_batches(decode, ordered, ctx.source, ctx.shape_batch_size)
    return primitives.steps, sum(want.values()) + len(want), wall, phases


def ct2_suppress(base_dir: Path, tokenizer) -> list[int]:
    """The non-speech symbols base suppresses (ids below end-of-text are the same in every vocabulary)."""
    config = json.loads((base_dir / "config.json").read_text())
    return [i for i in config.get("suppress_ids", []) if i < tokenizer.eot]

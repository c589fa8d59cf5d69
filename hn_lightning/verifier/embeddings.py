"""Embedding many texts at once through the on-disk cache.

:class:`CachedEmbedder` deduplicates the texts of a whole batch, looks them up in the cache (key:
``sha256(encoder fingerprint, text)``), encodes only the missing ones in one encoder call, stores
them, and returns a ``text -> vector`` map. Everything the verifier embeds in a batch (questions,
reference steps, predicted steps, conditions) goes through one :meth:`CachedEmbedder.embed` call.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

from hn_lightning.verifier.cache import VectorCache, text_key
from hn_lightning.verifier.encoder import Encoder

__all__ = ["CachedEmbedder"]


class CachedEmbedder:
    """An :class:`~hn_lightning.verifier.encoder.Encoder` behind a :class:`VectorCache`."""

    def __init__(self, encoder: Encoder, cache: VectorCache):
        self.encoder = encoder
        self.cache = cache
        self.encoded = 0
        """How many texts were actually run through the encoder (cache misses, deduplicated)."""
        self.encode_seconds = 0.0

    @property
    def fingerprint(self) -> str:
        return self.encoder.fingerprint

    def embed(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """Unit-norm float32 vectors for every distinct text."""
        unique = list(dict.fromkeys(texts))
        if not unique:
            return {}
        keys = {t: text_key(self.encoder.fingerprint, t) for t in unique}
        cached = self.cache.get_many(list(keys.values()))
        out = {t: cached[k] for t, k in keys.items() if k in cached}
        missing = [t for t in unique if t not in out]
        if missing:
            t0 = time.perf_counter()
            vecs = self.encoder.encode(missing)
            self.encode_seconds += time.perf_counter() - t0
            self.encoded += len(missing)
            self.cache.put_many((keys[t], v) for t, v in zip(missing, vecs, strict=True))
            for t, v in zip(missing, vecs, strict=True):
                out[t] = np.asarray(v, dtype=np.float32)
        return out

    def matrix(self, texts: list[str], table: dict[str, np.ndarray], dim: int | None = None) -> np.ndarray:
        """Stack the vectors of ``texts`` from ``table`` into ``[len(texts), dim]``."""
        if not texts:
            d = dim or (next(iter(table.values())).shape[0] if table else 384)
            return np.zeros((0, d), dtype=np.float32)
        return np.stack([table[t] for t in texts]).astype(np.float32, copy=False)

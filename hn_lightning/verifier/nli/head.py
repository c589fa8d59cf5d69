"""The trained NLI head: a one-hidden-layer MLP on MiniLM pair features, in plain numpy.

Files (in ``hn_lightning/assets/nli/steps/`` and ``.../conditions/`` for the committed heads):

* ``head.npz``: ``w1 [D, H]``, ``b1 [H]``, ``w2 [H, 3]``, ``b2 [3]`` (stored as float16 to keep the
  asset small, computed in float32) plus ``mean [D]``/``scale [D]`` feature standardisation.
* ``head.json``: label order, feature recipe, encoder fingerprint, training data description and
  the measured accuracies (written by :mod:`hn_lightning.verifier.nli.train`).

Forward pass: ``p = softmax(relu(((x - mean) / scale) @ w1 + b1) @ w2 + b2)`` with the columns in
the order of ``labels`` (always ``entailment, neutral, contradiction`` for heads written here).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["NLIHead", "LABELS", "HEAD_KINDS", "default_head_dir"]

LABELS = ("entailment", "neutral", "contradiction")


HEAD_KINDS = ("steps", "conditions")
"""The packaged heads: ``steps`` judges successive-step pairs, ``conditions`` (problem condition,
step) pairs (trained with extra "state change" neutrals; see :mod:`hn_lightning.verifier.nli.train`)."""


def default_head_dir(kind: str = "steps") -> Path:
    """A committed head: ``hn_lightning/assets/nli/<kind>``."""
    if kind not in HEAD_KINDS:
        raise ValueError(f"unknown head kind {kind!r}; expected one of {HEAD_KINDS}")
    return Path(__file__).resolve().parents[2] / "assets" / "nli" / kind


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class NLIHead:
    """MLP weights and metadata (see the module doc for the formula)."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.meta.get("labels", LABELS))

    @property
    def input_dim(self) -> int:
        return int(self.w1.shape[0])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities ``[N, 3]`` (entailment, neutral, contradiction) for features ``[N, D]``."""
        if x.shape[0] == 0:
            return np.zeros((0, 3), dtype=np.float32)
        h = np.maximum(((x - self.mean) / self.scale) @ self.w1 + self.b1, 0.0)
        p = _softmax(h @ self.w2 + self.b2).astype(np.float32)
        order = [self.labels.index(name) for name in LABELS]
        return p[:, order]

    def save(self, folder: str | os.PathLike) -> None:
        """Write ``head.npz`` (float16 weights) and ``head.json`` into ``folder``."""
        from hn_lightning.io import atomic_write_json, atomic_writer

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_writer(folder / "head.npz", mode="wb") as fh:
            np.savez_compressed(
                fh,
                w1=self.w1.astype(np.float16), b1=self.b1.astype(np.float16),
                w2=self.w2.astype(np.float16), b2=self.b2.astype(np.float16),
                mean=self.mean.astype(np.float32), scale=self.scale.astype(np.float32),
            )
        atomic_write_json(folder / "head.json", self.meta)

    @classmethod
    def load(cls, folder: str | os.PathLike | None = None) -> NLIHead:
        """Read a head written by :meth:`save` (default: the committed ``steps`` head)."""
        folder = Path(folder) if folder is not None else default_head_dir()
        npz_path, meta_path = folder / "head.npz", folder / "head.json"
        if not npz_path.is_file():
            raise FileNotFoundError(
                f"no NLI head at {npz_path}; train one with `python benchmarks/train_nli.py` "
                "or point VerifierConfig.nli_head_dir at a folder with head.npz + head.json"
            )
        with np.load(npz_path) as z:
            arrays = {k: z[k].astype(np.float32) for k in ("w1", "b1", "w2", "b2", "mean", "scale")}
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        return cls(meta=meta, **arrays)

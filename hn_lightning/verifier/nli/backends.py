"""Pluggable NLI backends and the on-disk NLI cache.

The paper scores logic with a DeBERTa-v3 MNLI cross-encoder (arXiv 2512.19728, section 3.2, fine
channel). No MNLI model can be installed offline here (shared/docs/offline-models.md, section 3), so
the default backend is :class:`MiniLMHeadNLI`: the MiniLM sentence embeddings the fast channel has
already computed, fed through a small trained head (:mod:`hn_lightning.verifier.nli.head`). Where a
local MNLI-style checkpoint exists, :class:`HFCrossEncoderNLI` uses it instead.

Every backend answers the same protocol::

    predict(premises: list[str], hypotheses: list[str]) -> np.ndarray  # [N, 3], rows sum to 1
                                                                      # columns: entailment, neutral, contradiction

:class:`CachedNLI` wraps any backend with a sqlite cache keyed by ``sha256(backend fingerprint,
premise, hypothesis)``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from hn_lightning.verifier.cache import VectorCache, text_key
from hn_lightning.verifier.embeddings import CachedEmbedder
from hn_lightning.verifier.nli.features import NUMERIC_RECIPE, pair_features
from hn_lightning.verifier.nli.head import LABELS, NLIHead

__all__ = ["NLIBackend", "MiniLMHeadNLI", "HFCrossEncoderNLI", "CachedNLI", "label_order_from_config"]


@runtime_checkable
class NLIBackend(Protocol):
    """An NLI model: probabilities of (entailment, neutral, contradiction) per pair."""

    fingerprint: str

    def predict(self, premises: list[str], hypotheses: list[str]) -> np.ndarray:
        ...


class MiniLMHeadNLI:
    """The default backend: MiniLM embeddings (through the shared embedding cache) + trained head."""

    def __init__(self, embedder: CachedEmbedder, head: NLIHead | None = None, head_dir: str | os.PathLike | None = None):
        self.embedder = embedder
        self.head = head if head is not None else NLIHead.load(head_dir)
        recipe = self.head.meta.get("feature_recipe", {})
        if recipe.get("numeric") not in (None, NUMERIC_RECIPE):
            raise ValueError(f"NLI head expects numeric features {recipe.get('numeric')!r}, this code computes {NUMERIC_RECIPE!r}")
        trained_on = self.head.meta.get("encoder_fingerprint")
        # the same encoder under bf16 autocast (``<fingerprint>:bf16``) is accepted: its features are
        # within ~1e-4 of the fp32 ones the head was fitted on; its probabilities are cached apart
        if trained_on and embedder.fingerprint not in (trained_on, f"{trained_on}:bf16"):
            raise ValueError(
                f"NLI head was trained on encoder {trained_on}, but the verifier uses {embedder.fingerprint}; "
                "retrain the head (benchmarks/train_nli.py) or use the matching encoder"
            )
        self.fingerprint = f"minilm-head:{self.head.meta.get('head_sha256', 'unversioned')[:16]}" + (
            ":bf16" if embedder.fingerprint.endswith(":bf16") else "")

    def predict(self, premises: list[str], hypotheses: list[str]) -> np.ndarray:
        if len(premises) != len(hypotheses):
            raise ValueError("premises and hypotheses differ in length")
        if not premises:
            return np.zeros((0, 3), dtype=np.float32)
        table = self.embedder.embed([*premises, *hypotheses])
        u = self.embedder.matrix(list(premises), table)
        v = self.embedder.matrix(list(hypotheses), table)
        return self.head.predict_proba(pair_features(u, v, list(premises), list(hypotheses)))


def label_order_from_config(id2label: dict) -> list[int]:
    """Column indices of (entailment, neutral, contradiction) in a checkpoint's logits.

    Reads ``config.id2label`` (names matched case-insensitively by prefix: ``entail``, ``neutral``,
    ``contra``); raises if one of the three is missing.
    """
    found: dict[str, int] = {}
    for idx, name in id2label.items():
        low = str(name).lower()
        for want in LABELS:
            if low.startswith(want[:6]):
                found[want] = int(idx)
    missing = [w for w in LABELS if w not in found]
    if missing:
        raise ValueError(f"checkpoint id2label {id2label} lacks {missing}; cannot map it to entailment/neutral/contradiction")
    return [found[w] for w in LABELS]


class HFCrossEncoderNLI:
    """A local MNLI-style cross-encoder checkpoint (e.g. DeBERTa-v3-base-MNLI), local files only; ``path``
    may also be a Hugging Face Hub id ``org/name[@revision]`` (its snapshot in the HF cache).

    Loads ``AutoTokenizer`` and ``AutoModelForSequenceClassification`` from ``path`` with
    ``local_files_only=True``; the label order comes from ``config.id2label``. Pairs are encoded as
    ``(premise, hypothesis)``, truncated to ``max_length`` tokens, in batches of ``batch_size``.
    """

    def __init__(self, path: str | os.PathLike, batch_size: int = 32, max_length: int = 256, device: str = "cpu"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from hn_lightning.models.hub import hub_snapshot, parse_hub_id

        self.path = Path(path).expanduser()
        hub_id = parse_hub_id(str(path))
        if not self.path.is_dir() and hub_id is not None:  # a Hub id org/name[@rev]; a local folder wins
            self.path = hub_snapshot(hub_id)
        if not self.path.is_dir():
            raise FileNotFoundError(f"NLI checkpoint folder not found: {self.path}")
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        self.model = AutoModelForSequenceClassification.from_pretrained(str(self.path), local_files_only=True).to(device).eval()
        self.order = label_order_from_config(self.model.config.id2label)
        self.batch_size, self.max_length, self.device = batch_size, max_length, device
        from hn_lightning.verifier.encoder import _folder_fingerprint

        self.fingerprint = f"hf-nli:{_folder_fingerprint(str(self.path))}"

    def predict(self, premises: list[str], hypotheses: list[str]) -> np.ndarray:
        import torch

        if len(premises) != len(hypotheses):
            raise ValueError("premises and hypotheses differ in length")
        out = []
        with torch.inference_mode():
            for i in range(0, len(premises), self.batch_size):
                enc = self.tokenizer(
                    list(premises[i:i + self.batch_size]), list(hypotheses[i:i + self.batch_size]),
                    truncation=True, max_length=self.max_length, padding=True, return_tensors="pt",
                ).to(self.device)
                probs = torch.softmax(self.model(**enc).logits.float(), dim=-1)[:, self.order]
                out.append(probs.cpu().numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 3), dtype=np.float32)


class CachedNLI:
    """Any :class:`NLIBackend` behind an on-disk cache of pair probabilities."""

    def __init__(self, backend: NLIBackend, cache: VectorCache):
        self.backend = backend
        self.cache = cache
        self.fingerprint = backend.fingerprint
        self.computed = 0

    def predict(self, premises: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        pairs = list(zip(premises, hypotheses, strict=True))
        if not pairs:
            return np.zeros((0, 3), dtype=np.float32)
        keys = [text_key(self.fingerprint, p, h) for p, h in pairs]
        found = self.cache.get_many(keys)
        first: dict[str, int] = {}  # first occurrence of each uncached pair
        for i, k in enumerate(keys):
            if k not in found and k not in first:
                first[k] = i
        todo = list(first.values())
        if todo:
            probs = self.backend.predict([pairs[i][0] for i in todo], [pairs[i][1] for i in todo])
            self.computed += len(todo)
            new = [(keys[i], probs[j]) for j, i in enumerate(todo)]
            self.cache.put_many(new)
            found.update(dict(new))
        return np.stack([found[k] for k in keys]).astype(np.float32)

r"""The semantic dimension ``s_sem`` (fast channel): drift, coverage, redundancy.

Paper method step (arXiv 2512.19728, section 3.2, fast channel): cosine-similarity matrices between
the question ``q``, the reference steps ``R`` (m x d) and the predicted steps ``P`` (n x d), all
unit-norm MiniLM embeddings, so ``S = P R^T`` holds cosines.

* **drift** (predicted steps wandering from the problem): a step's relevance is
  ``rel_i = max(cos(p_i, q), max_j S_ij)``; ``drift_i = clip((hi - rel_i) / (hi - lo), 0, 1)`` with
  ``lo = relevance_low``, ``hi = relevance_high``; ``drift = mean_i drift_i``.
* **coverage** (reference steps matched by some predicted step): ``c_j = max_i S_ij``,
  ``cov_j = clip((c_j - (t - 0.1)) / 0.2, 0, 1)`` with ``t = match_threshold``; ``coverage = mean_j cov_j``.
* **redundancy** (near-duplicate predicted steps): the share of steps ``i > 0`` with
  ``max_{k<i} cos(p_i, p_k) >= duplicate_threshold``.

``s_sem = w_drift * drift + w_uncovered * (1 - coverage) + w_redundancy * redundancy`` (weights
``sem_weights``, default 0.4 / 0.4 / 0.2, normalised to sum 1). An empty prediction scores 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SemanticResult", "semantic_scores"]


@dataclass
class SemanticResult:
    """Scores and the similarity matrix ``sim = P R^T`` (reused by the fine channel)."""

    s_sem: float
    drift: float
    coverage: float
    redundancy: float
    sim: np.ndarray
    q_sim: np.ndarray
    flags: list[str] = field(default_factory=list)


def semantic_scores(
    q: np.ndarray,
    ref: np.ndarray,
    pred: np.ndarray,
    match_threshold: float = 0.6,
    relevance_low: float = 0.2,
    relevance_high: float = 0.55,
    duplicate_threshold: float = 0.95,
    weights: dict[str, float] | None = None,
    max_flags: int = 2,
) -> SemanticResult:
    """Compute the fast-channel scores from unit-norm embeddings (see the module doc)."""
    w = weights or {"drift": 0.4, "uncovered": 0.4, "redundancy": 0.2}
    total = sum(w.values())
    n, m = pred.shape[0], ref.shape[0]
    sim = pred @ ref.T if n and m else np.zeros((n, m), dtype=np.float32)
    q_sim = pred @ q if n else np.zeros(0, dtype=np.float32)
    if n == 0:
        return SemanticResult(1.0, 1.0, 0.0, 0.0, sim, q_sim, ["semantic: the prediction has no steps"])
    rel = np.maximum(q_sim, sim.max(axis=1)) if m else q_sim
    drift_i = np.clip((relevance_high - rel) / (relevance_high - relevance_low), 0.0, 1.0)
    drift = float(drift_i.mean())
    if m:
        best = sim.max(axis=0)
        cov_j = np.clip((best - (match_threshold - 0.1)) / 0.2, 0.0, 1.0)
        coverage = float(cov_j.mean())
    else:
        best, cov_j, coverage = np.zeros(0), np.zeros(0), 1.0
    dup = []
    if n > 1:
        self_sim = pred @ pred.T
        for i in range(1, n):
            k = int(np.argmax(self_sim[i, :i]))
            if self_sim[i, k] >= duplicate_threshold:
                dup.append((i, k, float(self_sim[i, k])))
    redundancy = len(dup) / (n - 1) if n > 1 else 0.0
    s_sem = (w["drift"] * drift + w["uncovered"] * (1.0 - coverage) + w["redundancy"] * redundancy) / total

    flags = []
    for i in np.argsort(-drift_i, kind="stable")[:max_flags]:
        if drift_i[i] >= 1.0:
            flags.append(f"semantic: step {i + 1} drifts from the problem (best cos {rel[i]:.2f})")
    for j in np.argsort(cov_j, kind="stable")[:max_flags]:
        if cov_j[j] <= 0.0:
            flags.append(f"semantic: reference step {j + 1} is not covered (best cos {best[j]:.2f})")
    for i, k, c in dup[:max_flags]:
        flags.append(f"semantic: step {i + 1} repeats step {k + 1} (cos {c:.2f})")
    return SemanticResult(float(s_sem), drift, coverage, redundancy, sim, q_sim, flags)

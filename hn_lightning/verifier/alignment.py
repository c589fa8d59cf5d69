r"""Structure and order (fine channel): Needleman-Wunsch alignment and step-order statistics.

Paper method step (arXiv 2512.19728, section 3.2): align predicted to reference steps on embedding
similarity; the alignment gives a structural score and an order score.

**Alignment** (:func:`needleman_wunsch`): global alignment of the ``n`` predicted and ``m``
reference steps with substitution score ``sim[i, j] - offset`` (``offset = match_threshold``, so only
similar steps gain) and a constant ``gap`` for skipping a step on either side::

    F[0, 0] = 0,  F[i, 0] = i * gap,  F[0, j] = j * gap
    F[i, j] = max(F[i-1, j-1] + sim[i-1, j-1] - offset,  F[i-1, j] + gap,  F[i, j-1] + gap)

Traceback prefers diagonal, then a gap in the reference, then a gap in the prediction, so ties are
broken the same way every time. Aligned pairs with ``sim >= match_threshold`` are *matches*.

**Structure**: with ``k`` matches, ``P = k / n`` and ``R = k / m``;
``s_struct = 1 - F_2 = 1 - 5PR / (4P + R)`` (1 when nothing matches). ``F_2`` weighs recall four
times as much as precision: skipping a reference step is a structural failure, spelling a step out
in several predicted steps (long CoT against a terse reference) much less so.

**Order**: Needleman-Wunsch is monotone, so it cannot see swapped steps by itself. The order score
uses the best one-to-one assignment (Hungarian, on ``sim``), keeps pairs with
``sim >= match_threshold``, sorts them by predicted position and compares the reference positions:
Spearman's ``rho`` and the inversion rate ``inv / C(k, 2)``;
``s_order = 0.5 * (1 - rho) / 2 + 0.5 * inversion_rate`` (0 with fewer than 2 matched pairs: no evidence).
The relative loss of the monotone alignment against the free assignment is reported as ``order_gap``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Alignment", "needleman_wunsch", "structure_order_scores", "StructureOrder", "spearman", "inversions"]


@dataclass
class Alignment:
    """``pairs`` are aligned (pred, ref) index pairs in order; ``score`` the optimal total."""

    score: float
    pairs: list[tuple[int, int]]


def needleman_wunsch(sim: np.ndarray, gap: float = -0.1, offset: float = 0.6) -> Alignment:
    """Global alignment of rows (predicted steps) to columns (reference steps); see the module doc."""
    n, m = sim.shape
    f = np.zeros((n + 1, m + 1), dtype=np.float64)
    f[1:, 0] = gap * np.arange(1, n + 1)
    f[0, 1:] = gap * np.arange(1, m + 1)
    sub = sim.astype(np.float64) - offset
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            f[i, j] = max(f[i - 1, j - 1] + sub[i - 1, j - 1], f[i - 1, j] + gap, f[i, j - 1] + gap)
    pairs: list[tuple[int, int]] = []
    i, j = n, m
    while i > 0 and j > 0:
        if np.isclose(f[i, j], f[i - 1, j - 1] + sub[i - 1, j - 1]):
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif np.isclose(f[i, j], f[i - 1, j] + gap):
            i -= 1
        else:
            j -= 1
    pairs.reverse()
    return Alignment(score=float(f[n, m]), pairs=pairs)


def spearman(x: list[int] | np.ndarray, y: list[int] | np.ndarray) -> float:
    """Spearman's rank correlation of two sequences without ties: ``1 - 6 sum d^2 / (k (k^2 - 1))``."""
    k = len(x)
    if k < 2:
        return 1.0
    rx = np.argsort(np.argsort(np.asarray(x)))
    ry = np.argsort(np.argsort(np.asarray(y)))
    d = rx - ry
    return float(1.0 - 6.0 * float((d * d).sum()) / (k * (k * k - 1)))


def inversions(seq: list[int]) -> int:
    """Number of pairs ``a < b`` with ``seq[a] > seq[b]``."""
    return sum(1 for a in range(len(seq)) for b in range(a + 1, len(seq)) if seq[a] > seq[b])


@dataclass
class StructureOrder:
    s_struct: float
    s_order: float
    matched: int
    spearman: float
    inversions: int
    order_gap: float
    alignment: Alignment
    flags: list[str] = field(default_factory=list)


def structure_order_scores(sim: np.ndarray, match_threshold: float = 0.6, gap: float = -0.1) -> StructureOrder:
    """``s_struct`` and ``s_order`` from the predicted x reference cosine matrix (see the module doc)."""
    from scipy.optimize import linear_sum_assignment

    n, m = sim.shape
    if n == 0 or m == 0:
        return StructureOrder(1.0, 0.0, 0, 1.0, 0, 0.0, Alignment(0.0, []), ["structure: nothing to align"])
    aln = needleman_wunsch(sim, gap=gap, offset=match_threshold)
    matches = [(i, j) for i, j in aln.pairs if sim[i, j] >= match_threshold]
    k = len(matches)
    if k == 0:
        s_struct = 1.0
    else:
        p, r = k / n, k / m
        s_struct = 1.0 - 5 * p * r / (4 * p + r)

    rows, cols = linear_sum_assignment(-sim)
    free = sorted((int(i), int(j)) for i, j in zip(rows, cols, strict=True) if sim[i, j] >= match_threshold)
    ref_pos = [j for _, j in free]
    rho = spearman(list(range(len(free))), ref_pos) if len(free) >= 2 else 1.0
    inv = inversions(ref_pos)
    pairs_total = len(free) * (len(free) - 1) / 2
    inv_rate = inv / pairs_total if pairs_total else 0.0
    s_order = 0.5 * (1.0 - rho) / 2.0 + 0.5 * inv_rate if len(free) >= 2 else 0.0
    free_total = sum(float(sim[i, j]) for i, j in free)
    nw_total = sum(float(sim[i, j]) for i, j in matches)
    order_gap = max(0.0, (free_total - nw_total) / free_total) if free_total > 0 else 0.0

    flags = []
    if s_struct >= 0.5:
        flags.append(f"structure: {k} of {m} reference steps align in order with the {n} predicted steps")
    if inv:
        swapped = [(a, b) for a in range(len(free)) for b in range(a + 1, len(free)) if ref_pos[a] > ref_pos[b]]
        a, b = swapped[0]
        flags.append(
            f"order: predicted steps {free[a][0] + 1} and {free[b][0] + 1} match reference steps "
            f"{free[a][1] + 1} and {free[b][1] + 1} in reverse order ({inv} inversion{'s' if inv > 1 else ''})"
        )
    return StructureOrder(float(s_struct), float(s_order), k, float(rho), inv, float(order_gap), aln, flags)

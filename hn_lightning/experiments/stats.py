"""Paired statistics for comparing two trained cells on the same problems: the exact McNemar test, a
seeded paired bootstrap interval of the accuracy difference, pooling over seeds, the minimum detectable
effect of a paired design (and its inverse, the problems needed), the spread of a cell's pair weights, and
the per-cell Wilson interval (:func:`hn_lightning.evaluation.metrics.wilson_interval`, not duplicated here). Pure functions of
0/1 outcome arrays (numpy); nothing here trains or reads files.

Outcomes of a cell are a ``[n]`` array (one seed) or a ``[n, S]`` array (``n`` problems x ``S`` seeds; seed
``s`` of cell A is paired with seed ``s`` of cell B). The difference is always ``accuracy(A) - accuracy(B)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from statistics import NormalDist

import numpy as np

from hn_lightning.evaluation.metrics import wilson_interval

#: bootstrap replicates drawn per batch (bounds memory at ``BOOT_CHUNK x n`` indices; results do not depend
#: on it: the replicates are drawn from one generator in order)
BOOT_CHUNK = 512

#: the power the design is stated at (the minimum detectable effect is the difference found with this
#: probability)
DESIGN_POWER = 0.8


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar test (the binomial test on the discordant pairs).

    Under H0 (both cells equally accurate) each of the ``m = a_only + b_only`` discordant problems is
    A-right-B-wrong with probability 1/2, so with ``k = min(a_only, b_only)``

        p = min(1, 2 * sum_{i=0}^{k} C(m, i) / 2^m)

    computed exactly in rationals. ``p = 1`` when there is no discordant pair.
    """
    if a_only < 0 or b_only < 0:
        raise ValueError(f"discordant counts must be >= 0, got {a_only}, {b_only}")
    m, k = a_only + b_only, min(a_only, b_only)
    if m == 0:
        return 1.0
    tail = Fraction(sum(math.comb(m, i) for i in range(k + 1)), 2**m)
    return float(min(Fraction(1), 2 * tail))


def _z_terms(alpha: float, power: float) -> tuple[float, float]:
    """``(z_{1-alpha/2}, z_{power})`` of the standard normal."""
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError(f"alpha and power must lie in (0, 1), got {alpha}, {power}")
    normal = NormalDist()
    return normal.inv_cdf(1.0 - alpha / 2.0), normal.inv_cdf(power)


def _check_discordance(discordance: float) -> None:
    if not 0.0 < discordance <= 1.0:
        raise ValueError(f"discordance must lie in (0, 1], got {discordance}")


def mcnemar_mde(n: int, discordance: float, alpha: float = 0.05, power: float = DESIGN_POWER) -> float:
    """Minimum detectable effect of a paired binary comparison: the smallest true accuracy difference
    ``delta = p10 - p01`` that McNemar's test at two-sided level ``alpha`` finds with probability ``power``
    on ``n`` paired observations whose discordance rate is ``psi = p10 + p01`` (the fraction of pairs where
    exactly one of the two is right; measured as ``(b + c) / n``).

    The standard sample-size formula of McNemar's test (Connor 1987, Biometrics 43:207, the normal
    approximation of the unconditional test, as in Fleiss, Levin & Paik, *Statistical Methods for Rates and
    Proportions*, ch. 13):

        n = (z_{1-alpha/2} sqrt(psi) + z_{power} sqrt(psi - delta^2))^2 / delta^2

    solved for ``delta`` (the larger root of ``(n + z_b^2) delta^2 - 2 z_a sqrt(n psi) delta + (z_a^2 - z_b^2) psi = 0``,
    with ``z_a = z_{1-alpha/2}``, ``z_b = z_{power}``):

        delta = sqrt(psi) (z_a sqrt(n) + z_b sqrt(n + z_b^2 - z_a^2)) / (n + z_b^2)

    For large ``n`` this is the common simplification ``(z_a + z_b) sqrt(psi / n)``. The exact test the
    report runs (:func:`mcnemar_exact`) is a little more conservative: at ``n = 1000``, ``psi = 0.2`` it finds
    this ``delta`` with probability about 0.78 rather than 0.80 (tests/test_experiment_design.py simulates
    both). Observations pooled
    over seeds (``n`` = problems x seeds) are treated as independent, which they are not quite (one
    problem's seeds are correlated): with several seeds the true MDE is somewhat larger. A result above
    ``psi`` means no effect the discordance allows is detectable (``|delta| <= psi`` always).

    Args:
        n: paired observations (problems x seeds).
        discordance: ``psi`` in (0, 1].
        alpha: two-sided significance level.
        power: probability of detecting ``delta`` (default :data:`DESIGN_POWER`).

    Returns:
        ``delta`` in accuracy units (fractions); ``inf`` when ``n`` is too small for the approximation
        (``n < z_a^2 - z_b^2``, about 3).
    """
    _check_discordance(discordance)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    za, zb = _z_terms(alpha, power)
    if n + zb * zb - za * za < 0:
        return math.inf
    return math.sqrt(discordance) * (za * math.sqrt(n) + zb * math.sqrt(n + zb * zb - za * za)) / (n + zb * zb)


def mcnemar_pairs_needed(mde: float, discordance: float, alpha: float = 0.05, power: float = DESIGN_POWER) -> int:
    """Paired observations for a minimum detectable effect ``mde`` at discordance ``psi`` (the inverse of
    :func:`mcnemar_mde`; Connor 1987): ``ceil((z_a sqrt(psi) + z_b sqrt(psi - mde^2))^2 / mde^2)``.
    ``ValueError`` unless ``0 < mde < psi`` (a difference can never exceed the discordance)."""
    _check_discordance(discordance)
    if not 0.0 < mde < discordance:
        raise ValueError(f"the detectable effect must lie in (0, discordance = {discordance}), got {mde}")
    za, zb = _z_terms(alpha, power)
    n = (za * math.sqrt(discordance) + zb * math.sqrt(discordance - mde * mde)) ** 2 / (mde * mde)
    return math.ceil(n - 1e-9)  # an exact integer solution stays itself despite rounding


def problems_needed(mde: float, discordance: float, seeds: int = 1, alpha: float = 0.05, power: float = DESIGN_POWER) -> int:
    """Evaluation problems for a minimum detectable effect ``mde`` when each is paired over ``seeds`` seeds:
    ``ceil(mcnemar_pairs_needed(...) / seeds)``."""
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    return -(-mcnemar_pairs_needed(mde, discordance, alpha, power) // seeds)


def weight_spread(weights, w_min: float | None = None, w_max: float | None = None, rtol: float = 1e-6) -> dict[str, float | None]:
    """``{"weight_mean", "weight_std", "weight_min", "weight_max", "weight_clipped"}`` of the per-pair weights
    a cell trained with (population std; ``weight_clipped``: the fraction equal to ``w_min`` or ``w_max``
    within ``rtol``, the clip range of :func:`hn_lightning.losses.weights.normalize_weights`; ``None`` when no
    bounds are given, e.g. when the weights were rescaled after clipping)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"expected a non-empty [n] array of weights, got shape {w.shape}")
    clipped = None
    if w_min is not None and w_max is not None:
        at_bound = np.isclose(w, w_min, rtol=rtol, atol=0.0) | np.isclose(w, w_max, rtol=rtol, atol=0.0)
        clipped = float(at_bound.mean())
    return {"weight_mean": float(w.mean()), "weight_std": float(w.std()), "weight_min": float(w.min()),
            "weight_max": float(w.max()), "weight_clipped": clipped}


def _as_matrix(x: Sequence | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty [n] or [n, seeds] array of 0/1 outcomes, got shape {arr.shape}")
    if not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name}: outcomes must be 0/1 (or bool)")
    return arr.astype(np.float64)


def paired_bootstrap_ci(a, b, n_boot: int = 10_000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``mean(a) - mean(b)`` resampling **problems** (with all their seeds).

    Each replicate draws ``n`` problem indices uniformly with replacement (``numpy.random.default_rng(seed)``,
    ``integers(0, n)``, replicate after replicate) and takes the difference of the two accuracies over the
    drawn rows; the interval is the ``(1 - level)/2`` and ``(1 + level)/2`` quantiles (numpy's default linear
    interpolation) of the ``n_boot`` differences. Resampling whole problems keeps the pairing between the
    cells and the correlation between seeds of the same problem.

    Args:
        a, b: ``[n]`` or ``[n, S]`` 0/1 outcomes of cells A and B on the same problems (same shape).
        n_boot: replicates.
        seed: generator seed (the interval is a deterministic function of it).
        level: coverage.

    Returns:
        ``(low, high)`` in accuracy units (fractions, not percent).
    """
    A, B = _as_matrix(a, "a"), _as_matrix(b, "b")
    if A.shape != B.shape:
        raise ValueError(f"paired outcomes need the same shape, got {A.shape} and {B.shape}")
    d = (A - B).mean(axis=1)  # per-problem difference, averaged over seeds: [n]
    n = d.shape[0]
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot, dtype=np.float64)
    for start in range(0, n_boot, BOOT_CHUNK):
        rows = min(BOOT_CHUNK, n_boot - start)
        idx = rng.integers(0, n, size=(rows, n))
        diffs[start : start + rows] = d[idx].mean(axis=1)
    lo, hi = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


@dataclass
class PairedComparison:
    """Cell A against cell B on the same problems (pooled over seeds where there are several)."""

    a: str
    b: str
    n: int
    """Paired observations: problems x seeds."""
    seeds: int
    accuracy_a: float
    accuracy_b: float
    difference: float
    """``accuracy_a - accuracy_b``."""
    a_only: int
    """Observations A got right and B wrong (discordant)."""
    b_only: int
    p_value: float
    """Exact McNemar p on the pooled discordant counts."""
    ci_low: float
    ci_high: float
    """Paired bootstrap interval of ``difference`` (resampling problems)."""
    alpha: float

    @property
    def distinguishable(self) -> bool:
        """``p < alpha`` (and then the bootstrap interval normally excludes 0 as well)."""
        return self.p_value < self.alpha

    @property
    def discordance(self) -> float:
        """``(a_only + b_only) / n``: the fraction of paired observations where exactly one cell is right."""
        return (self.a_only + self.b_only) / self.n

    @property
    def mde(self) -> float | None:
        """The minimum detectable effect of this comparison at its own discordance (:func:`mcnemar_mde`,
        :data:`DESIGN_POWER`, ``alpha``); ``None`` without a discordant pair."""
        return mcnemar_mde(self.n, self.discordance, self.alpha) if self.discordance > 0 else None

    def as_row(self) -> dict:
        return {**asdict(self), "distinguishable": self.distinguishable, "discordance": self.discordance, "mde": self.mde}

    def sentence(self) -> str:
        """The comparison in words (:func:`hn_lightning.reports.words.comparison_sentence`)."""
        from hn_lightning.reports.words import comparison_sentence

        return comparison_sentence(self.as_row())


def compare_paired(name_a: str, a, name_b: str, b, n_boot: int = 10_000, seed: int = 0, alpha: float = 0.05) -> PairedComparison:
    """Exact McNemar test and paired bootstrap interval for cells A and B (``[n]`` or ``[n, S]`` outcomes).
    Seeds are pooled: McNemar counts every (problem, seed) pair; the bootstrap resamples problems."""
    A, B = _as_matrix(a, name_a), _as_matrix(b, name_b)
    if A.shape != B.shape:
        raise ValueError(f"{name_a} and {name_b}: paired outcomes need the same shape, got {A.shape} and {B.shape}")
    a_only = int(((A == 1) & (B == 0)).sum())
    b_only = int(((A == 0) & (B == 1)).sum())
    lo, hi = paired_bootstrap_ci(A, B, n_boot=n_boot, seed=seed, level=1 - alpha)
    return PairedComparison(
        a=name_a, b=name_b, n=int(A.size), seeds=int(A.shape[1]), accuracy_a=float(A.mean()), accuracy_b=float(B.mean()),
        difference=float(A.mean() - B.mean()), a_only=a_only, b_only=b_only, p_value=mcnemar_exact(a_only, b_only),
        ci_low=lo, ci_high=hi, alpha=alpha,
    )


def pool_seeds(per_seed: Mapping[int, Mapping[str, bool]]) -> tuple[list[str], np.ndarray]:
    """Stack one cell's per-seed outcomes ``{seed: {problem_id: correct}}`` into ``(ids, [n, S])``, seeds in
    ascending order, problems sorted by id. Every seed must cover the same problems (else ``ValueError``
    naming what differs): pairing across cells relies on it."""
    seeds = sorted(per_seed)
    if not seeds:
        raise ValueError("no seeds to pool")
    ids = sorted(per_seed[seeds[0]])
    for s in seeds[1:]:
        if set(per_seed[s]) != set(ids):
            diff = sorted(set(per_seed[s]) ^ set(ids))[:3]
            raise ValueError(f"seed {s} covers different problems than seed {seeds[0]} (e.g. {diff})")
    return ids, np.array([[int(bool(per_seed[s][i])) for s in seeds] for i in ids], dtype=np.int64)


def accuracy_with_interval(outcomes) -> dict:
    """``{"n", "correct", "accuracy", "ci_low", "ci_high"}`` over all problems and seeds (Wilson 95%)."""
    arr = _as_matrix(outcomes, "outcomes")
    n, k = int(arr.size), int(arr.sum())
    lo, hi = wilson_interval(k, n)
    return {"n": n, "correct": k, "accuracy": k / n, "ci_low": lo, "ci_high": hi}

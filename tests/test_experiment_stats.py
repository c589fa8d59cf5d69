"""Paired statistics on hand-made outcomes: exact McNemar p by hand (binomial sums), the seeded paired
bootstrap against an independent float64 re-computation and against the exact bootstrap distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from hn_lightning.experiments.stats import (
    accuracy_with_interval,
    compare_paired,
    mcnemar_exact,
    paired_bootstrap_ci,
    pool_seeds,
)


def outcomes(both: int, a_only: int, b_only: int, neither: int) -> tuple[np.ndarray, np.ndarray]:
    """Paired 0/1 outcomes with the given 2x2 table, interleaved (order must not matter)."""
    a = [1] * both + [1] * a_only + [0] * b_only + [0] * neither
    b = [1] * both + [0] * a_only + [1] * b_only + [0] * neither
    order = np.random.default_rng(123).permutation(len(a))
    return np.array(a)[order], np.array(b)[order]


@pytest.mark.parametrize("a_only,b_only,want", [
    (1, 6, 2 * (1 + 7) / 2**7),            # 0.125
    (0, 5, 2 * 1 / 2**5),                  # 0.0625
    (2, 10, 2 * (1 + 12 + 66) / 2**12),    # 0.03857421875
    (10, 2, 2 * (1 + 12 + 66) / 2**12),    # symmetric
    (3, 3, 1.0),                           # 2 * 42/64 > 1 -> capped at 1
    (0, 0, 1.0),                           # no discordant pair
    (0, 1, 1.0),
])
def test_mcnemar_exact_by_hand(a_only, b_only, want):
    assert mcnemar_exact(a_only, b_only) == pytest.approx(want, abs=1e-15)
    if a_only + b_only:
        assert mcnemar_exact(a_only, b_only) == pytest.approx(binomtest(a_only, a_only + b_only, 0.5).pvalue, rel=1e-12)


def test_mcnemar_large_counts_stay_exact():
    """m = 2000 discordant pairs: 2^2000 overflows a float; the rational sum does not."""
    p = mcnemar_exact(950, 1050)
    assert 0 < p < 1 and p == pytest.approx(binomtest(950, 2000, 0.5).pvalue, rel=1e-9)
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 3)


def reference_bootstrap(a, b, n_boot, seed, level=0.95):
    """Independent re-computation: one replicate at a time, Python float64 sums, quantiles by hand."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim == 1:
        a, b = a[:, None], b[:, None]
    n, s = a.shape
    per_problem = [sum(float(a[i, j]) - float(b[i, j]) for j in range(s)) / s for i in range(n)]
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, size=n)
        diffs.append(sum(per_problem[i] for i in idx) / n)
    diffs.sort()

    def quantile(q):  # linear interpolation between order statistics (numpy's default, "type 7")
        pos = q * (len(diffs) - 1)
        lo = math.floor(pos)
        return diffs[lo] + (pos - lo) * (diffs[min(lo + 1, len(diffs) - 1)] - diffs[lo])

    return quantile((1 - level) / 2), quantile((1 + level) / 2)


def test_bootstrap_matches_independent_float64_computation():
    a, b = outcomes(both=9, a_only=7, b_only=2, neither=5)  # n = 23 (odd on purpose)
    got = paired_bootstrap_ci(a, b, n_boot=1500, seed=7)
    want = reference_bootstrap(a, b, 1500, 7)
    assert got == pytest.approx(want, abs=1e-12)
    assert got == paired_bootstrap_ci(a, b, n_boot=1500, seed=7)  # deterministic in the seed
    assert got[0] < (7 - 2) / 23 < got[1]


def test_bootstrap_two_seeds_resamples_problems():
    a1, b1 = outcomes(6, 5, 1, 4)
    a2, b2 = outcomes(7, 3, 2, 4)
    A, B = np.stack([a1, a2], axis=1), np.stack([b1, b2], axis=1)
    got = paired_bootstrap_ci(A, B, n_boot=1200, seed=3)
    assert got == pytest.approx(reference_bootstrap(A, B, 1200, 3), abs=1e-12)


def test_bootstrap_quantiles_match_the_exact_bootstrap_distribution():
    """With d_i in {-1, 0, 1} (n-, n0, n+ of each), a bootstrap replicate's sum is N+ - N- with
    (N+, N0, N-) ~ Multinomial(n, (n+/n, n0/n, n-/n)): the exact 2.5% / 97.5% quantiles of that law,
    enumerated in float64, and 20,000 seeded replicates agree within one grid step (1/n)."""
    n_plus, n_zero, n_minus = 6, 11, 3
    n = n_plus + n_zero + n_minus
    a, b = outcomes(both=5, a_only=n_plus, b_only=n_minus, neither=n_zero - 5)
    p = (n_plus / n, n_zero / n, n_minus / n)
    law: dict[int, float] = {}
    for k_plus in range(n + 1):
        for k_minus in range(n + 1 - k_plus):
            k_zero = n - k_plus - k_minus
            prob = math.factorial(n) / (math.factorial(k_plus) * math.factorial(k_zero) * math.factorial(k_minus)) \
                * p[0] ** k_plus * p[1] ** k_zero * p[2] ** k_minus
            law[k_plus - k_minus] = law.get(k_plus - k_minus, 0.0) + prob
    assert sum(law.values()) == pytest.approx(1.0, abs=1e-12)
    cdf, exact = 0.0, {}
    for value in sorted(law):
        cdf += law[value]
        for q in (0.025, 0.975):
            if q not in exact and cdf >= q:
                exact[q] = value / n
    lo, hi = paired_bootstrap_ci(a, b, n_boot=20_000, seed=0)
    assert abs(lo - exact[0.025]) <= 1 / n + 1e-12 and abs(hi - exact[0.975]) <= 1 / n + 1e-12


def test_compare_paired_on_hand_made_outcomes():
    a, b = outcomes(both=30, a_only=2, b_only=10, neither=8)  # n = 50: A 32/50, B 40/50
    c = compare_paired("hn-weighted", a, "random", b, n_boot=2000, seed=1)
    assert (c.n, c.seeds, c.a_only, c.b_only) == (50, 1, 2, 10)
    assert c.accuracy_a == 0.64 and c.accuracy_b == 0.8 and c.difference == pytest.approx(-0.16)
    assert c.p_value == pytest.approx(2 * (1 + 12 + 66) / 2**12) and c.distinguishable
    assert (c.ci_low, c.ci_high) == paired_bootstrap_ci(a, b, n_boot=2000, seed=1) and c.ci_high < 0
    assert "distinguishable from noise (p = 0.0386" in c.sentence()
    x, y = outcomes(10, 3, 2, 5)
    c2 = compare_paired("x", x, "y", y, n_boot=500)
    assert not c2.distinguishable and "not distinguishable" in c2.sentence()
    with pytest.raises(ValueError, match="same shape"):
        compare_paired("x", [1, 0], "y", [1, 0, 1])
    with pytest.raises(ValueError, match="0/1"):
        compare_paired("x", [1, 2], "y", [1, 0])


def test_pool_seeds_and_wilson():
    ids, m = pool_seeds({1: {"q2": True, "q1": False}, 0: {"q1": True, "q2": True}})
    assert ids == ["q1", "q2"] and m.tolist() == [[1, 0], [1, 1]]  # columns: seed 0, seed 1
    with pytest.raises(ValueError, match="seed 1 covers different problems"):
        pool_seeds({0: {"q1": True}, 1: {"q9": True}})
    acc = accuracy_with_interval(m)
    # Wilson for 3/4 at z = 1.96: (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)
    z, k, n = 1.959963984540054, 3, 4
    center = (k / n + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(k / n * (1 - k / n) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert acc["accuracy"] == 0.75 and acc["ci_low"] == pytest.approx(center - half) and acc["ci_high"] == pytest.approx(center + half)


def test_baseline_without_seed_is_paired_with_every_seed_of_a_condition():
    """The starting policy (``baseline``, seed None) against a condition with seeds 0 and 1: its outcomes
    are repeated per seed, so the pooled table is counted by hand over (problem, seed) pairs."""
    from hn_lightning.experiments.config import EvalSpec, ExperimentConfig
    from hn_lightning.experiments.report import comparisons

    base = {"cell": "sft", "condition": "sft", "seed": None, "baseline": True, "outcomes": {"p0": 1, "p1": 0, "p2": 1}}
    x0 = {"cell": "x-s0", "condition": "x", "seed": 0, "outcomes": {"p0": 1, "p1": 1, "p2": 0}}
    x1 = {"cell": "x-s1", "condition": "x", "seed": 1, "outcomes": {"p0": 0, "p1": 1, "p2": 1}}
    cfg = ExperimentConfig(grid=None, eval=EvalSpec(), bootstrap=200)
    cond, comps, sentences = comparisons([base, x0, x1], cfg)
    assert [(r["condition"], r["seeds"], r["n"], r["correct"]) for r in cond] == [("sft", 1, 3, 2), ("x", 2, 6, 4)]
    (c,) = comps
    # sft per (problem, seed): 1,0,1 | 1,0,1; x: 1,1,0 | 0,1,1 -> sft only right on (p2,s0),(p0,s1); x only on p1 twice
    assert (c["a"], c["b"], c["n"], c["seeds"], c["a_only"], c["b_only"]) == ("sft", "x", 6, 2, 2, 2)
    assert c["difference"] == 0.0 and c["p_value"] == pytest.approx(1.0)
    assert sentences[0].startswith("sft vs x: 66.7% vs 66.7%")

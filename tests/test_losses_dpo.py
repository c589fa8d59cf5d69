"""Golden values for the DPO-family losses and the weight normalization, computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from hn_lightning.losses.dpo import (
    IPO,
    Hinge,
    PairLogps,
    SigmoidDPO,
    dpo_logits,
    hinge_loss,
    ipo_loss,
    nll_term,
    sigmoid_dpo_loss,
    weighted_mean,
)
from hn_lightning.losses.weights import normalize_weights

D = torch.float64
# one pair: policy chosen -10, rejected -12, reference chosen -11, rejected -11
PC, PR, RC, RR = (torch.tensor([v], dtype=D) for v in (-10.0, -12.0, -11.0, -11.0))
# h = (pc - rc) - (pr - rr) = (1) - (-1) = 2


def test_dpo_logit():
    assert float(dpo_logits(PC, PR, RC, RR)) == 2.0


def test_sigmoid_dpo_golden():
    """beta=0.1: z = 0.2, loss = -log sigmoid(0.2) = log(1 + e^-0.2) = 0.598138869..."""
    got = sigmoid_dpo_loss(PC, PR, RC, RR, beta=0.1)
    assert float(got) == pytest.approx(math.log(1 + math.exp(-0.2)), abs=1e-12)
    assert float(got) == pytest.approx(0.5981388693815918, abs=1e-12)


def test_cdpo_label_smoothing_golden():
    """eps=0.1: 0.9 * log(1+e^-0.2) + 0.1 * log(1+e^0.2) = 0.9*0.598139 + 0.1*0.798139 = 0.618138869..."""
    got = sigmoid_dpo_loss(PC, PR, RC, RR, beta=0.1, label_smoothing=0.1)
    want = 0.9 * math.log(1 + math.exp(-0.2)) + 0.1 * math.log(1 + math.exp(0.2))
    assert float(got) == pytest.approx(want, abs=1e-12)
    assert float(got) == pytest.approx(0.6181388693815918, abs=1e-12)


def test_at_zero_margin_every_sigmoid_variant_is_ln2():
    zero = torch.zeros(3, dtype=D)
    for eps in (0.0, 0.1, 0.3):
        torch.testing.assert_close(sigmoid_dpo_loss(zero, zero, zero, zero, 0.1, eps), torch.full((3,), math.log(2), dtype=D))


def test_ipo_golden():
    """beta=0.1: (h - 1/(2*0.1))^2 = (2 - 5)^2 = 9; length-normalized with 4 and 2 tokens:
    h = (-10+11)/4 - (-12+11)/2 = 0.25 + 0.5 = 0.75 -> (0.75 - 5)^2 = 18.0625."""
    assert float(ipo_loss(PC, PR, RC, RR, beta=0.1)) == 9.0
    logps = PairLogps(PC, PR, RC, RR, torch.tensor([4.0], dtype=D), torch.tensor([2.0], dtype=D))
    assert float(IPO(beta=0.1, length_normalize=True).per_pair(logps)) == pytest.approx(18.0625)
    assert float(IPO(beta=0.1, length_normalize=False).per_pair(logps)) == 9.0


def test_hinge_golden():
    """relu(1 - beta h): beta=0.1 -> 0.8; beta=1 -> 0 (margin met)."""
    assert float(hinge_loss(PC, PR, RC, RR, beta=0.1)) == pytest.approx(0.8)
    assert float(Hinge(beta=1.0).per_pair(PairLogps(PC, PR, RC, RR, torch.ones(1), torch.ones(1)))) == 0.0


def test_rewards_and_nll():
    logps = PairLogps(PC, PR, RC, RR, torch.tensor([5.0], dtype=D), torch.tensor([5.0], dtype=D))
    losses, chosen, rejected = SigmoidDPO(beta=0.1)(logps)
    assert float(chosen) == pytest.approx(0.1) and float(rejected) == pytest.approx(-0.1)
    assert float(nll_term(PC, torch.tensor([5.0], dtype=D))) == 2.0  # -(-10)/5


def test_weighted_mean():
    v = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=D)
    w = torch.tensor([0.5, 1.0, 1.5, 1.0], dtype=D)
    assert float(weighted_mean(v, w)) == pytest.approx((0.5 + 2 + 4.5 + 4) / 4)
    assert float(weighted_mean(v[:2], w[:2], denominator=4)) == pytest.approx((0.5 + 2) / 4)


def test_normalize_weights_golden():
    """w_raw = [1, 2, 3, 10]: mean 4 -> unit [0.25, 0.5, 0.75, 2.5];
    tempered (lambda 0.3) 1 + 0.3 (u - 1) = [0.775, 0.85, 0.925, 1.45]; nothing clipped; mean stays 1."""
    w, stats = normalize_weights(torch.tensor([1.0, 2.0, 3.0, 10.0]), lam=0.3, w_min=0.5, w_max=2.0)
    assert w.dtype == torch.float64  # float64 until the product with the losses
    want = [1.0 + 0.3 * (u - 1.0) for u in (0.25, 0.5, 0.75, 2.5)]  # Python floats: IEEE float64
    torch.testing.assert_close(w, torch.tensor(want, dtype=D), rtol=0, atol=1e-15)
    assert stats.mean == pytest.approx(1.0) and stats.frac_clipped == 0.0
    assert stats.min == pytest.approx(0.775) and stats.max == pytest.approx(1.45)
    ess = 4.0**2 / (0.775**2 + 0.85**2 + 0.925**2 + 1.45**2)
    assert stats.ess == pytest.approx(ess) and stats.ess_fraction == pytest.approx(ess / 4)


def test_normalize_weights_clipping_and_renormalize():
    """w_raw = [1, 1, 1, 97]: mean 25 -> unit [0.04, 0.04, 0.04, 3.88]; lambda 1 -> same; clip to
    [0.5, 2.0] -> [0.5, 0.5, 0.5, 2.0] (all four clipped), mean 0.875; renormalized -> / 0.875."""
    w, stats = normalize_weights(torch.tensor([1.0, 1.0, 1.0, 97.0]), lam=1.0)
    torch.testing.assert_close(w, torch.tensor([0.5, 0.5, 0.5, 2.0], dtype=D))
    assert stats.frac_clipped == 1.0 and stats.mean == pytest.approx(0.875)
    w2, stats2 = normalize_weights(torch.tensor([1.0, 1.0, 1.0, 97.0]), lam=1.0, renormalize=True)
    torch.testing.assert_close(w2, torch.tensor([0.5, 0.5, 0.5, 2.0], dtype=D) / 0.875, rtol=0, atol=1e-15)
    assert stats2.mean == pytest.approx(1.0)


def test_normalize_weights_edge_cases():
    w, _ = normalize_weights(torch.zeros(3))
    torch.testing.assert_close(w, torch.ones(3, dtype=D))
    w, _ = normalize_weights(torch.tensor([2.0, 5.0]), lam=0.0)
    torch.testing.assert_close(w, torch.ones(2, dtype=D))
    with pytest.raises(ValueError, match="pair b: raw weight -1.0"):
        normalize_weights(torch.tensor([1.0, -1.0]), ids=["a", "b"])
    with pytest.raises(ValueError, match="pair index 0: raw weight nan"):
        normalize_weights(torch.tensor([float("nan"), 1.0]))


def test_normalization_keeps_float64_precision():
    """Raw weights 1 and 1 + 3e-9 (float64): unit-mean (1 -+ 1.5e-9 / (1 + 1.5e-9)), tempered with lambda 0.3
    -> a difference of 0.3 * 3e-9 / (1 + 1.5e-9), far below float32's resolution at 1 (6e-8): a float32
    normalization would return two equal weights."""
    w, _ = normalize_weights(torch.tensor([1.0, 1.0 + 3e-9], dtype=D), lam=0.3)
    mean = 1.0 + 1.5e-9
    want = [1.0 + 0.3 * (1.0 / mean - 1.0), 1.0 + 0.3 * ((1.0 + 3e-9) / mean - 1.0)]
    torch.testing.assert_close(w, torch.tensor(want, dtype=D), rtol=0, atol=1e-15)
    assert float(w[1] - w[0]) == pytest.approx(0.3 * 3e-9 / mean, rel=1e-6)


def test_step0_loss_is_ln2_times_mean_weight_float64_weights():
    """At step 0 (policy = reference) every per-pair loss is ln 2, so the weighted loss is ln 2 x mean(w):
    fp32 losses times the float64 weights, cast at the product."""
    w, stats = normalize_weights(torch.tensor([1.0, 1.0, 1.0, 97.0, 5.0], dtype=D), lam=0.6)  # one weight clipped
    assert stats.frac_clipped > 0 and abs(stats.mean - 1.0) > 1e-3  # clipping moved the mean off 1
    zero = torch.zeros(5)
    losses = SigmoidDPO(beta=0.1).per_pair(PairLogps(zero, zero, zero, zero, torch.ones(5), torch.ones(5)))
    loss = weighted_mean(losses, w)
    assert loss.dtype == torch.float32
    assert float(loss) == pytest.approx(math.log(2) * stats.mean, rel=1e-6)

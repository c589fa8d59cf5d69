"""Golden values for the robust, SimPO and ORPO losses: closed forms by hand in float64, and values produced
by TRL 1.16.0's own code (``DPOTrainer`` ``robust`` branch, ``CPOTrainer.cpo_loss`` with ``loss_type: simpo``,
``ORPOTrainer.odds_ratio_loss``), run in float64 on the inputs below and pasted here (TRL is not a
dependency)."""

from __future__ import annotations

import math

import pytest
import torch

from hn_lightning.losses import IPO, ORPO, Hinge, PairLogps, RobustDPO, SigmoidDPO, SimPO
from hn_lightning.losses.dpo import robust_dpo_loss, sigmoid_dpo_loss
from hn_lightning.losses.reference_free import log1mexp, log_odds_ratio, orpo_loss, simpo_loss

D = torch.float64


def t(*values) -> torch.Tensor:
    return torch.tensor(values, dtype=D)


def softplus(x: float) -> float:
    """-log sigmoid(-x) = log(1 + e^x), in float64."""
    return math.log1p(math.exp(x))


# -- robust DPO ---------------------------------------------------------------------------------------

def test_robust_closed_form():
    """h = 2, beta = 0.1, eps = 0.1: [0.9 log(1 + e^-0.2) - 0.1 log(1 + e^0.2)] / 0.8."""
    pc, pr, rc, rr = t(-10.0), t(-12.0), t(-11.0), t(-11.0)
    want = (0.9 * softplus(-0.2) - 0.1 * softplus(0.2)) / 0.8
    assert float(robust_dpo_loss(pc, pr, rc, rr, beta=0.1, label_smoothing=0.1)) == pytest.approx(want, abs=1e-15)


@pytest.mark.parametrize("eps,trl", [
    (0.0, [0.5981388693815918, 0.7443966600735709, 0.6931471805599453]),
    (0.1, [0.5731388693815918, 0.7568966600735708, 0.6931471805599452]),
    (0.3, [0.4481388693815917, 0.8193966600735706, 0.6931471805599451]),
])
def test_robust_matches_trl(eps, trl):
    """DPO logits h = [2, -1, 0] (TRL's ``delta_score``), beta = 0.1."""
    pc, pr, rc, rr = t(-10.0, -12.0, -5.0), t(-12.0, -11.0, -5.0), t(-11.0, -11.0, -4.0), t(-11.0, -11.0, -4.0)
    logps = PairLogps(pc, pr, rc, rr, t(1.0, 1.0, 1.0), t(1.0, 1.0, 1.0))
    torch.testing.assert_close(RobustDPO(beta=0.1, label_smoothing=eps).per_pair(logps), t(*trl), rtol=0, atol=1e-14)


def test_robust_is_unbiased_under_label_flips():
    """Chowdhury et al. 2024, Lemma 3.1: with labels flipped at rate eps, the expected robust loss is the
    clean DPO loss: (1 - eps) l(h) + eps l(-h) = -log sigmoid(beta h)."""
    h, zero = t(-3.0, -0.5, 0.0, 0.7, 4.0), torch.zeros(5, dtype=D)
    for eps in (0.05, 0.2, 0.45):
        mixed = (1 - eps) * robust_dpo_loss(h, zero, zero, zero, 0.3, eps) + eps * robust_dpo_loss(-h, zero, zero, zero, 0.3, eps)
        torch.testing.assert_close(mixed, sigmoid_dpo_loss(h, zero, zero, zero, 0.3), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="label_smoothing"):
        RobustDPO(label_smoothing=0.5)


# -- SimPO --------------------------------------------------------------------------------------------

def test_simpo_closed_form():
    """pc = -10 over 4 tokens (a_c = -2.5), pr = -12 over 6 (a_r = -2), beta 2, gamma 0.5:
    z = 2 (-2.5 + 2) - 0.5 = -1.5, loss = log(1 + e^1.5); rewards beta * a = -5 and -4."""
    logps = PairLogps(t(-10.0), t(-12.0), None, None, t(4.0), t(6.0))
    losses, chosen, rejected = SimPO(beta=2.0, gamma=0.5)(logps)
    assert float(losses) == pytest.approx(softplus(1.5), abs=1e-15)
    assert float(losses) == pytest.approx(1.7014132779827524, abs=1e-15)
    assert (float(chosen), float(rejected)) == (-5.0, -4.0)


def test_simpo_matches_trl():
    """TRL ``CPOTrainer.cpo_loss`` (loss_type simpo, beta 2, simpo_gamma 0.5, alpha 0) on average log-probs."""
    a_c, a_r = t(-0.5, -1.2, -0.05), t(-0.8, -0.9, -2.0)
    trl = t(0.6443966600735709, 1.3873353251154308, 0.03282847042486534)
    torch.testing.assert_close(simpo_loss(a_c, a_r, beta=2.0, gamma=0.5), trl, rtol=0, atol=1e-14)
    # the same through the class: sums over 3 and 5 tokens
    n_c, n_r = t(3.0, 3.0, 3.0), t(5.0, 5.0, 5.0)
    losses, chosen, _ = SimPO(beta=2.0, gamma=0.5)(PairLogps(a_c * n_c, a_r * n_r, None, None, n_c, n_r))
    torch.testing.assert_close(losses, trl, rtol=0, atol=1e-14)
    torch.testing.assert_close(chosen, t(-1.0, -2.4, -0.1), rtol=0, atol=1e-14)  # TRL's chosen_rewards


def test_simpo_equal_averages_give_softplus_gamma():
    a = t(-0.3, -2.0)
    torch.testing.assert_close(simpo_loss(a, a, 2.5, 0.8), t(softplus(0.8), softplus(0.8)), rtol=0, atol=1e-15)


# -- ORPO ---------------------------------------------------------------------------------------------

def test_orpo_closed_form():
    """a_c = -0.5, a_r = -0.8: P = e^a, log odds = log(P / (1 - P));
    loss = -a_c + 0.1 * log(1 + exp(-(logodds_c - logodds_r)))."""
    def logodds(a: float) -> float:
        p = math.exp(a)
        return math.log(p / (1.0 - p))

    lor = logodds(-0.5) - logodds(-0.8)
    logps = PairLogps(t(-1.5), t(-4.0), None, None, t(3.0), t(5.0))  # averages -0.5 and -0.8
    assert float(log_odds_ratio(t(-0.5), t(-0.8))) == pytest.approx(lor, abs=1e-14)
    losses, chosen, rejected = ORPO(beta=0.1)(logps)
    assert float(losses) == pytest.approx(0.5 + 0.1 * softplus(-lor), abs=1e-14)
    assert float(chosen) == pytest.approx(-0.05) and float(rejected) == pytest.approx(-0.08)


def test_orpo_matches_trl():
    """TRL ``ORPOTrainer.odds_ratio_loss`` (beta 0.1) returns beta * log sigmoid(log OR) = [-0.0424.., ...];
    TRL's total is NLL - mean(that), so each pair's loss here is -a_c minus TRL's value. (TRL's function
    upcasts to float32 with ``.float()``; the values below come from it with that upcast removed.)"""
    a_c, a_r = t(-0.5, -1.2, -0.05), t(-0.8, -0.9, -2.0)
    trl_or = t(-0.04248327674084143, -0.09514853846897225, -0.0007992803419142246)
    torch.testing.assert_close(orpo_loss(a_c, a_r, beta=0.1), -a_c - trl_or, rtol=0, atol=1e-14)


def test_log1mexp_both_branches_and_the_clamp():
    for x in (-1e-4, -0.1, -0.6931, -0.6932, -1.0, -5.0, -40.0):
        assert float(log1mexp(t(x))) == pytest.approx(math.log(-math.expm1(x)), rel=1e-12)
    # a chosen completion of probability ~1 (average log-prob 0) gives a finite loss and gradient
    a_c = t(0.0).requires_grad_()
    loss = orpo_loss(a_c, t(-1.0))
    loss.backward()
    assert math.isfinite(float(loss.detach())) and math.isfinite(float(a_c.grad))


# -- interface ----------------------------------------------------------------------------------------

def test_interface_flags():
    assert SigmoidDPO.requires_reference and RobustDPO.requires_reference and Hinge.requires_reference
    assert not SimPO.requires_reference and not ORPO.requires_reference
    assert SimPO().uses_lengths and ORPO().uses_lengths and IPO().uses_lengths
    assert not IPO(length_normalize=False).uses_lengths and not SigmoidDPO().uses_lengths
    assert repr(SimPO(beta=2.5, gamma=1.0)) == "SimPO(beta=2.5, gamma=1.0)"


def test_reference_loss_without_reference_is_a_clear_error():
    logps = PairLogps(t(-1.0), t(-2.0), None, None, t(1.0), t(1.0))
    for loss in (SigmoidDPO(), RobustDPO(), IPO(), Hinge()):
        with pytest.raises(ValueError, match="needs reference log-probs"):
            loss(logps)

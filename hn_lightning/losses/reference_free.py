"""Reference-free preference losses: SimPO and ORPO. They read only the policy's log-probs and the
completion lengths, so a module training with one loads no reference model and computes no reference
log-prob (``PreferenceLoss.requires_reference = False``).

Notation as in :mod:`hn_lightning.losses.dpo`: ``pc, pr`` summed policy log-probs of the chosen /
rejected completion (``[B]``), ``nc, nr`` their token counts (``[B]``); ``a_c = pc / nc`` and
``a_r = pr / nr`` are per-token average log-probs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from hn_lightning.losses.dpo import PairLogps, PreferenceLoss, check_beta, check_loss_setting

#: average log-probs are clamped to at most this before ``log(1 - exp(a))`` (a = 0 would give -inf)
MAX_AVERAGE_LOGP = -1e-6


def simpo_loss(avg_chosen: Tensor, avg_rejected: Tensor, beta: float = 2.0, gamma: float = 0.5) -> Tensor:
    """SimPO (Meng et al. 2024, eq. 6): the reward is the length-normalized log-prob ``beta * a``, and the
    Bradley-Terry objective asks for a target margin ``gamma``:

        loss = -log sigmoid(beta (a_c - a_r) - gamma)

    Same as TRL's ``CPOTrainer`` with ``loss_type: simpo`` (``simpo_gamma = gamma``, ``cpo_alpha = 0``).

    Args:
        avg_chosen, avg_rejected: ``[B]`` per-token average log-probs ``a_c``, ``a_r``.
        beta: reward scale (the paper uses 2.0 to 2.5).
        gamma: target reward margin (the paper tunes ``gamma / beta`` in 0.3 to 1.6).

    Returns:
        ``[B]`` losses; ``ln(1 + e^gamma)`` where ``a_c = a_r``.
    """
    return -F.logsigmoid(beta * (avg_chosen - avg_rejected) - gamma)


def log1mexp(x: Tensor) -> Tensor:
    """``log(1 - exp(x))`` for ``x < 0``, stable on both sides of ``-ln 2`` (Maechler 2012)."""
    return torch.where(x < -math.log(2.0), torch.log1p(-torch.exp(x)), torch.log(-torch.expm1(x)))


def log_odds_ratio(avg_chosen: Tensor, avg_rejected: Tensor) -> Tensor:
    """ORPO's log odds ratio (Hong et al. 2024, eqs. 4 and 7) with ``P(y|x) = exp(a)``:

        log OR = log[P_c / (1 - P_c)] - log[P_r / (1 - P_r)]
               = (a_c - a_r) - (log(1 - e^{a_c}) - log(1 - e^{a_r}))

    Averages are clamped to ``<= MAX_AVERAGE_LOGP`` first (a completion of probability 1 has infinite odds).
    Shapes ``[B] -> [B]``.
    """
    a_c, a_r = avg_chosen.clamp(max=MAX_AVERAGE_LOGP), avg_rejected.clamp(max=MAX_AVERAGE_LOGP)
    return (a_c - a_r) - (log1mexp(a_c) - log1mexp(a_r))


def orpo_loss(avg_chosen: Tensor, avg_rejected: Tensor, beta: float = 0.1) -> Tensor:
    """ORPO (Hong et al. 2024, eq. 6), per pair: ``L_SFT + lambda * L_OR`` with

        L_SFT = -a_c                      (per-token NLL of the chosen completion)
        L_OR  = -log sigmoid(log OR)      (:func:`log_odds_ratio`)

    ``lambda`` is ``beta`` here, as in TRL. TRL's ``ORPOTrainer`` averages the NLL over all chosen tokens
    of the batch; here it is averaged per pair so that each pair's weight ``w_i`` multiplies its whole
    loss (the two agree when all chosen completions have the same length). Returns ``[B]``.
    """
    return -avg_chosen - beta * F.logsigmoid(log_odds_ratio(avg_chosen, avg_rejected))


class _ReferenceFree(PreferenceLoss):
    requires_reference = False
    uses_lengths = True

    def rewards(self, logps: PairLogps) -> tuple[Tensor, Tensor]:
        """``beta * a_c`` and ``beta * a_r`` (detached): the SimPO reward, and TRL's ORPO log value."""
        a_c, a_r = logps.average()
        return (self.beta * a_c).detach(), (self.beta * a_r).detach()


class SimPO(_ReferenceFree):
    """SimPO: length-normalized log-prob reward with a target margin; no reference model."""

    def __init__(self, beta: float = 2.0, gamma: float = 0.5):
        """
        Args:
            beta: reward scale on per-token average log-probs (the paper: 2.0 to 2.5).
            gamma: target reward margin (the paper: gamma / beta in 0.3 to 1.6).
        """
        check_beta(self, beta)
        check_loss_setting(self, "gamma", gamma, isinstance(gamma, (int, float)) and gamma >= 0, ">= 0",
                           "the target margin between chosen and rejected rewards; a negative one rewards the rejected side")
        self.beta, self.gamma = beta, gamma

    def per_pair(self, logps: PairLogps) -> Tensor:
        return simpo_loss(*logps.average(), self.beta, self.gamma)


class ORPO(_ReferenceFree):
    """ORPO: NLL on the chosen completion plus a weighted odds-ratio term; no reference model. Leave the
    module's ``nll_alpha`` at 0 (ORPO has its NLL term already)."""

    def __init__(self, beta: float = 0.1):
        """
        Args:
            beta: ORPO's lambda, the weight of the odds-ratio term against the NLL (the paper: 0.1 to 1.0;
                TRL's default 0.1).
        """
        check_beta(self, beta)
        self.beta = beta

    def per_pair(self, logps: PairLogps) -> Tensor:
        return orpo_loss(*logps.average(), self.beta)

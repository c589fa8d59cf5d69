"""Preference losses as pure functions of four log-prob tensors (DPO-family), plus thin classes that
LightningCLI can select by ``class_path``.

Notation (all tensors ``[B]``, fp32): ``pc, pr`` policy log-probs of the chosen / rejected completion
(summed over completion tokens), ``rc, rr`` the same under the frozen reference. Reference-free losses
(SimPO, ORPO) live in :mod:`hn_lightning.losses.reference_free`. The implicit reward
of a completion is ``beta * (log pi(y|x) - log pi_ref(y|x))`` and the DPO logit is

    h = (pc - rc) - (pr - rr)                                                  (DPO, Rafailov et al. 2023)

Every loss returns ``(losses [B], chosen_rewards [B], rejected_rewards [B])``; the weighted reduction
``mean(w_i * loss_i)`` happens in :func:`weighted_mean` (arXiv 2512.19728, weighted DPO objective).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass
class PairLogps:
    """Log-probs of a batch of preference pairs.

    ``policy_chosen``, ``policy_rejected``, ``ref_chosen``, ``ref_rejected``: ``[B]`` summed completion
    log-probs; the two reference tensors are ``None`` when the loss needs no reference (nothing computed).
    ``chosen_tokens``, ``rejected_tokens``: ``[B]`` completion lengths (for length-normalized losses and
    per-token NLL).
    """

    policy_chosen: Tensor
    policy_rejected: Tensor
    ref_chosen: Tensor | None
    ref_rejected: Tensor | None
    chosen_tokens: Tensor
    rejected_tokens: Tensor

    def average(self) -> tuple[Tensor, Tensor]:
        """Per-token average policy log-probs ``(pc / |y_c|, pr / |y_r|)``, each ``[B]``."""
        return self.policy_chosen / self.chosen_tokens.clamp(min=1), self.policy_rejected / self.rejected_tokens.clamp(min=1)

    def reference(self) -> tuple[Tensor, Tensor]:
        """``(ref_chosen, ref_rejected)``; a clear error when a reference-based loss got none."""
        if self.ref_chosen is None or self.ref_rejected is None:
            raise ValueError("this loss needs reference log-probs, but none were computed")
        return self.ref_chosen, self.ref_rejected


def dpo_logits(pc: Tensor, pr: Tensor, rc: Tensor, rr: Tensor) -> Tensor:
    """``h = (pc - rc) - (pr - rr)``, shape ``[B]``."""
    return (pc - rc) - (pr - rr)


def rewards(pc: Tensor, pr: Tensor, rc: Tensor, rr: Tensor, beta: float) -> tuple[Tensor, Tensor]:
    """Implicit rewards ``beta (pc - rc)`` and ``beta (pr - rr)``, each ``[B]`` (detached)."""
    return (beta * (pc - rc)).detach(), (beta * (pr - rr)).detach()


def sigmoid_dpo_loss(pc: Tensor, pr: Tensor, rc: Tensor, rr: Tensor, beta: float = 0.1, label_smoothing: float = 0.0) -> Tensor:
    """DPO (Rafailov et al. 2023, eq. 7) with conservative label smoothing (cDPO, Mitchell 2023, eq. 3):

        loss = -(1 - eps) log sigmoid(beta h) - eps log sigmoid(-beta h)

    ``eps = 0`` is plain DPO; at ``h = 0`` the loss is ``ln 2`` for every ``eps``. Returns ``[B]``.
    """
    z = beta * dpo_logits(pc, pr, rc, rr)
    return -(1.0 - label_smoothing) * F.logsigmoid(z) - label_smoothing * F.logsigmoid(-z)


def ipo_loss(pc: Tensor, pr: Tensor, rc: Tensor, rr: Tensor, beta: float = 0.1) -> Tensor:
    """IPO (Azar et al. 2023, eq. 17): ``(h - 1/(2 beta))^2``, ``[B]``. Pass length-averaged log-probs
    for the length-normalized variant (TRL's ``ipo``)."""
    return (dpo_logits(pc, pr, rc, rr) - 1.0 / (2.0 * beta)) ** 2


def robust_dpo_loss(pc: Tensor, pr: Tensor, rc: Tensor, rr: Tensor, beta: float = 0.1, label_smoothing: float = 0.0) -> Tensor:
    """Robust DPO (Chowdhury et al. 2024, "Provably Robust DPO", eq. 8; TRL's ``robust``): an unbiased
    estimate of the clean-label DPO loss when each label is flipped with probability ``eps < 1/2``:

        loss = [-(1 - eps) log sigmoid(beta h) + eps log sigmoid(-beta h)] / (1 - 2 eps)

    ``eps = 0`` is plain DPO; at ``h = 0`` the loss is ``ln 2`` for every ``eps``. Returns ``[B]``.
    """
    z = beta * dpo_logits(pc, pr, rc, rr)
    return (-(1.0 - label_smoothing) * F.logsigmoid(z) + label_smoothing * F.logsigmoid(-z)) / (1.0 - 2.0 * label_smoothing)


def hinge_loss(pc: Tensor, pr: Tensor, rc: Tensor, rr: Tensor, beta: float = 0.1) -> Tensor:
    """SLiC-style hinge on the scaled DPO logit (Zhao et al. 2023): ``relu(1 - beta h)``, ``[B]``."""
    return torch.relu(1.0 - beta * dpo_logits(pc, pr, rc, rr))


def nll_term(policy_chosen: Tensor, chosen_tokens: Tensor) -> Tensor:
    """Per-pair NLL of the chosen completion, averaged over its tokens (RPO, Pang et al. 2024): ``[B]``."""
    return -policy_chosen / chosen_tokens.clamp(min=1)


def weighted_mean(values: Tensor, weights: Tensor, denominator: int | None = None) -> Tensor:
    """``sum(w_i * v_i) / n`` with ``n = len(values)`` unless given.

    ``weights`` may be float64 on the CPU (the normalized weights stay float64 until here): they are cast
    to the dtype and device of ``values`` at the multiplication.

    Passing ``denominator`` = the micro-batch size keeps the reduction a plain mean over pairs, so that
    gradient accumulation over equal-sized micro-batches reproduces the global-batch mean exactly.
    """
    n = values.shape[0] if denominator is None else denominator
    return (weights.to(device=values.device, dtype=values.dtype) * values).sum() / max(1, n)


# ---------------------------------------------------------------------------------------------------
# class_path-selectable wrappers

LOSS_KEY = "model.init_args.loss.init_args"
"""Where a loss's settings live in a training config (named in range errors)."""


class LossSettingError(ValueError):
    """A loss setting outside its documented range (the command line prints it as one ``error:`` line).

    Its own class because the losses import nothing else of the package (``hn_lightning.errors`` included)."""


def check_loss_setting(loss: object, key: str, value: float, ok: bool, allowed: str, why: str) -> None:
    """Raise :class:`LossSettingError` naming the key, the value and the allowed range unless ``ok``."""
    if not ok:
        raise LossSettingError(f"{LOSS_KEY}.{key} = {value!r} is out of range for {type(loss).__name__}: allowed {allowed} ({why})")


def check_beta(loss: object, beta: float) -> None:
    """``beta > 0``: a negative beta trains the preference reversed, 0 removes the preference signal."""
    ok = isinstance(beta, (int, float)) and not isinstance(beta, bool) and beta > 0
    check_loss_setting(loss, "beta", beta, ok, "> 0", "a negative beta trains the preference reversed, 0 learns nothing")


def check_label_smoothing(loss: object, eps: float) -> None:
    """cDPO / robust DPO label-flip rate in ``[0, 0.5)`` (at 0.5 the two labels weigh the same)."""
    check_loss_setting(loss, "label_smoothing", eps, isinstance(eps, (int, float)) and 0.0 <= eps < 0.5, "[0, 0.5)",
                       "the assumed rate of flipped labels; 0.5 or more reverses or cancels the preference")


class PreferenceLoss:
    """Base class: ``loss(logps) -> (losses [B], chosen_rewards [B], rejected_rewards [B])``.

    Two class attributes tell the training module what a loss consumes:
    ``requires_reference`` (False: no reference model is loaded, no reference cache is opened and no
    reference log-prob is computed; ``logps.ref_*`` are then ``None``) and ``uses_lengths`` (the loss
    reads ``chosen_tokens`` / ``rejected_tokens``, e.g. to average log-probs per token).
    """

    beta: float = 0.1
    requires_reference: bool = True
    uses_lengths: bool = False

    def per_pair(self, logps: PairLogps) -> Tensor:
        raise NotImplementedError

    def rewards(self, logps: PairLogps) -> tuple[Tensor, Tensor]:
        """Implicit rewards for logging (detached ``[B]`` each); DPO's ``beta * (log pi - log pi_ref)``."""
        rc, rr = logps.reference()
        return rewards(logps.policy_chosen, logps.policy_rejected, rc, rr, self.beta)

    def __call__(self, logps: PairLogps) -> tuple[Tensor, Tensor, Tensor]:
        chosen, rejected = self.rewards(logps)
        return self.per_pair(logps), chosen, rejected

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class SigmoidDPO(PreferenceLoss):
    """DPO with optional cDPO label smoothing (the paper's loss; ``label_smoothing: 0``)."""

    def __init__(self, beta: float = 0.1, label_smoothing: float = 0.0):
        """
        Args:
            beta: KL strength (the paper uses 0.1).
            label_smoothing: cDPO's assumed label-flip rate in [0, 0.5); 0 is plain DPO.
        """
        check_beta(self, beta)
        check_label_smoothing(self, label_smoothing)
        self.beta, self.label_smoothing = beta, label_smoothing

    def per_pair(self, logps: PairLogps) -> Tensor:
        rc, rr = logps.reference()
        return sigmoid_dpo_loss(logps.policy_chosen, logps.policy_rejected, rc, rr, self.beta, self.label_smoothing)


class RobustDPO(PreferenceLoss):
    """Robust DPO for noisy labels (Chowdhury et al. 2024; TRL ``loss_type: robust``)."""

    def __init__(self, beta: float = 0.1, label_smoothing: float = 0.1):
        """
        Args:
            beta: KL strength.
            label_smoothing: assumed label-flip rate ``eps`` in [0, 0.5); 0 is plain DPO.
        """
        check_beta(self, beta)
        check_label_smoothing(self, label_smoothing)
        self.beta, self.label_smoothing = beta, label_smoothing

    def per_pair(self, logps: PairLogps) -> Tensor:
        rc, rr = logps.reference()
        return robust_dpo_loss(logps.policy_chosen, logps.policy_rejected, rc, rr, self.beta, self.label_smoothing)


class IPO(PreferenceLoss):
    """IPO's squared loss; ``length_normalize`` averages log-probs over completion tokens (as TRL does)."""

    def __init__(self, beta: float = 0.1, length_normalize: bool = True):
        """
        Args:
            beta: regularisation (the target margin is 1 / (2 beta)).
            length_normalize: use per-token average log-probs instead of sums.
        """
        check_beta(self, beta)
        self.beta, self.length_normalize = beta, length_normalize

    @property
    def uses_lengths(self) -> bool:  # type: ignore[override]
        return self.length_normalize

    def per_pair(self, logps: PairLogps) -> Tensor:
        (pc, pr), (rc, rr) = (logps.policy_chosen, logps.policy_rejected), logps.reference()
        if self.length_normalize:
            nc, nr = logps.chosen_tokens.clamp(min=1), logps.rejected_tokens.clamp(min=1)
            pc, rc, pr, rr = pc / nc, rc / nc, pr / nr, rr / nr
        return ipo_loss(pc, pr, rc, rr, self.beta)


class Hinge(PreferenceLoss):
    """Hinge loss on the scaled DPO logit."""

    def __init__(self, beta: float = 0.1):
        """
        Args:
            beta: scale of the DPO logit inside the hinge.
        """
        check_beta(self, beta)
        self.beta = beta

    def per_pair(self, logps: PairLogps) -> Tensor:
        rc, rr = logps.reference()
        return hinge_loss(logps.policy_chosen, logps.policy_rejected, rc, rr, self.beta)

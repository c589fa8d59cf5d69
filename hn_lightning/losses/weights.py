"""The paper's per-step normalization of verifier weights (arXiv 2512.19728, weighted DPO).

For the raw weights ``w_raw`` of all pairs in one optimizer step (the global batch, across gradient
accumulation):

    w~_i = w_raw_i / mean(w_raw)                 unit mean
    w_i  = 1 + lambda (w~_i - 1)                 tempered toward 1 (lambda = 0.3); keeps the mean at 1
    w_i  = clip(w_i, w_min, w_max)               [0.5, 2.0]

Clipping can move the mean away from 1. By default the mean is **not** restored afterwards (as in the
paper); with the default lambda = 0.3 the lower clip never binds (w >= 1 - lambda = 0.7 > 0.5) and the
upper one binds only for w~ > 1 + (2 - 1)/0.3 = 4.33, i.e. a pair more than 4.3x the batch mean.
``renormalize=True`` rescales to unit mean after clipping (weights may then leave [w_min, w_max]).

Everything runs in float64 and the weights are returned in float64: they become float32 only where they
multiply the per-pair losses (:func:`hn_lightning.losses.dpo.weighted_mean`), so a rounding of the
normalization never shifts the relative weights of a step.

Imports torch only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class WeightStats:
    """Diagnostics of one optimizer step's weights."""

    mean: float
    std: float
    min: float
    max: float
    ess: float
    """Effective sample size ``(sum w)^2 / sum w^2`` (= n for uniform weights)."""
    ess_fraction: float
    """``ess / n`` in (0, 1]."""
    frac_clipped: float
    """Fraction of pairs whose tempered weight was clipped."""

    def as_dict(self, prefix: str = "weights/") -> dict[str, float]:
        return {f"{prefix}{k}": v for k, v in vars(self).items()}


def check_raw_weights(w_raw: Tensor, ids: list[str] | None = None) -> None:
    """Raise ``ValueError`` naming the first pair whose raw weight is negative or not finite."""
    bad = (~torch.isfinite(w_raw)) | (w_raw < 0)
    if bad.any():
        i = int(bad.nonzero()[0])
        who = ids[i] if ids is not None else f"index {i}"
        raise ValueError(f"pair {who}: raw weight {float(w_raw[i])} is negative or not finite")


def normalize_weights(
    w_raw: Tensor,
    lam: float = 0.3,
    w_min: float = 0.5,
    w_max: float = 2.0,
    renormalize: bool = False,
    ids: list[str] | None = None,
) -> tuple[Tensor, WeightStats]:
    """Normalize the raw weights of one optimizer step.

    Args:
        w_raw: ``[N]`` non-negative raw weights of every pair in the step.
        lam: tempering ``lambda`` in [0, 1]; 0 gives uniform weights, 1 keeps the unit-mean weights.
        w_min, w_max: clip range.
        renormalize: restore unit mean after clipping.
        ids: pair ids for error messages.

    Returns:
        ``(w [N] float64, stats)``. All-zero raw weights give uniform weights.
    """
    w_raw = w_raw.to(torch.float64)
    check_raw_weights(w_raw, ids)
    # w~ = w_raw / mean(w_raw) is scale-free: divide by the max first so the sum cannot overflow
    # (two raw weights near 1e308 would give mean = inf and every w~ = 0)
    top = w_raw.max()
    if top > 0:
        w_raw = w_raw / top
    mean = w_raw.mean()
    unit = w_raw / mean if mean > 0 else torch.ones_like(w_raw)
    tempered = 1.0 + lam * (unit - 1.0)
    w = tempered.clamp(w_min, w_max)
    clipped = (w != tempered).double().mean()
    if renormalize:
        w = w / w.mean()
    n = w.numel()
    ess = float(w.sum() ** 2 / (w**2).sum())
    stats = WeightStats(
        mean=float(w.mean()),
        std=float(w.std(unbiased=False)) if n > 1 else 0.0,
        min=float(w.min()),
        max=float(w.max()),
        ess=ess,
        ess_fraction=ess / n,
        frac_clipped=float(clipped),
    )
    return w, stats


def uniform_stats(n: int) -> WeightStats:
    """Stats of ``n`` weights equal to 1."""
    return WeightStats(mean=1.0, std=0.0, min=1.0, max=1.0, ess=float(n), ess_fraction=1.0, frac_clipped=0.0)

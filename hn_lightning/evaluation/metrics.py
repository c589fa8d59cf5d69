"""Accuracy (a torchmetrics metric), its Wilson 95% interval, and per-subject / per-level breakdowns."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torchmetrics import Metric

__all__ = ["MathAccuracy", "wilson_interval", "accuracy_summary", "breakdown", "Z_95"]

Z_95 = 1.959963984540054
"""The two-sided 95% normal quantile."""


class MathAccuracy(Metric):
    """Fraction of correct answers. ``update(correct)`` takes a bool/0-1 tensor or list; sums are
    reduced across processes, so it works under DDP like any torchmetrics metric."""

    higher_is_better = True
    full_state_update = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("correct", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, correct: torch.Tensor | Iterable[bool]) -> None:
        values = torch.as_tensor(list(correct) if not isinstance(correct, torch.Tensor) else correct)
        self.correct += values.to(torch.long).sum().to(self.correct.device)
        self.total += values.numel()

    def compute(self) -> torch.Tensor:
        if self.total == 0:
            return torch.tensor(float("nan"))
        return self.correct.double() / self.total  # float64: 16/50 is 0.32, not 0.3199999928


def wilson_interval(correct: int, total: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for ``correct / total`` (95% by default); ``(nan, nan)`` when empty.

    ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``: unlike the normal interval it stays in
    [0, 1] and is sensible at 0% and 100% and for small n.
    """
    if total <= 0:
        return float("nan"), float("nan")
    p = correct / total
    z2 = z * z
    denom = 1.0 + z2 / total
    center = (p + z2 / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / denom
    lo = 0.0 if correct <= 0 else max(0.0, center - half)  # exact at the edges (no rounding noise)
    hi = 1.0 if correct >= total else min(1.0, center + half)
    return lo, hi


def accuracy_summary(correct: list[bool]) -> dict[str, Any]:
    """``{"n", "correct", "accuracy", "ci95": [lo, hi]}`` of exactly these verdicts (accuracy through
    :class:`MathAccuracy`, never synced: under DDP a rank summarizing its own records must not wait for the
    others, which may be summarizing something else or nothing at all)."""
    metric = MathAccuracy(sync_on_compute=False)
    if correct:
        metric.update(correct)
    n, k = len(correct), int(sum(bool(c) for c in correct))
    lo, hi = wilson_interval(k, n)
    return {"n": n, "correct": k, "accuracy": float(metric.compute()) if n else None,
            "ci95": [lo, hi] if n else None}


def breakdown(rows: list[tuple[Any, bool]]) -> dict[str, dict[str, Any]]:
    """Accuracy per group for ``(group, correct)`` pairs, groups sorted; ``None`` groups are skipped."""
    groups: dict[Any, list[bool]] = {}
    for key, ok in rows:
        if key is not None:
            groups.setdefault(key, []).append(bool(ok))
    return {str(key): accuracy_summary(groups[key]) for key in sorted(groups, key=lambda k: (str(type(k)), k))}

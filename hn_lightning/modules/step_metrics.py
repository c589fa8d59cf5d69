"""Per-optimizer-step DPO metrics, accumulated over the micro-batches of one step.

Logging each micro-batch separately would report accuracies over one pair when micro-batches hold one
pair; these metrics are computed over all pairs of the step (the same global batch the weights were
normalized over). Reference-free losses produce no ``ref_*`` tensors; the drift metrics are then absent.
With several ranks, ``compute`` gathers every rank's per-pair tensors first, so each value is over the
whole global batch (what one process with the same global batch logs), and every rank holds the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


class StepMetrics:
    """Collects per-pair tensors (``add``) and reduces them once per step (``compute``)."""

    FIELDS = (
        "losses", "weights", "chosen_rewards", "rejected_rewards", "policy_chosen_logps", "policy_rejected_logps",
        "chosen_tokens", "rejected_tokens",
    )
    REFERENCE_FIELDS = ("ref_chosen_logps", "ref_rejected_logps")

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.parts: dict[str, list[torch.Tensor]] = {k: [] for k in self.FIELDS + self.REFERENCE_FIELDS}
        self.padding: list[float] = []

    @property
    def count(self) -> int:
        return sum(t.numel() for t in self.parts["losses"])

    def add(self, out: dict[str, torch.Tensor], padding_fraction: float) -> None:
        for key in self.FIELDS + self.REFERENCE_FIELDS:
            if key in out:
                self.parts[key].append(out[key].detach().float())
        self.padding.append(padding_fraction)

    def compute(self, prefix: str = "train/", gather: Callable[[Any], list[Any]] | None = None) -> dict[str, float]:
        """The step's metrics (empty when nothing was added anywhere). ``gather(obj)`` returns every rank's
        ``obj`` (:meth:`hn_lightning.modules.ranks.Ranks.gather`); every rank must call it."""
        t = {k: torch.cat(v) for k, v in self.parts.items() if v}
        padding = list(self.padding)
        if gather is not None:
            everyone = gather(({k: v.cpu() for k, v in t.items()}, padding))
            keys = [k for k in self.FIELDS + self.REFERENCE_FIELDS if any(k in got for got, _ in everyone)]
            t = {k: torch.cat([got[k] for got, _ in everyone if k in got]) for k in keys}
            padding = [x for _, pads in everyone for x in pads]
        if not t:
            return {}
        w = t["weights"]
        correct = (t["chosen_rewards"] > t["rejected_rewards"]).float()
        values = {
            "loss": (w * t["losses"]).mean(),
            "loss_unweighted": t["losses"].mean(),
            "rewards/chosen": t["chosen_rewards"].mean(),
            "rewards/rejected": t["rejected_rewards"].mean(),
            "rewards/margins": (t["chosen_rewards"] - t["rejected_rewards"]).mean(),
            "rewards/accuracy": correct.mean(),
            "rewards/accuracy_weighted": (w * correct).sum() / w.sum().clamp(min=1e-12),
            "logps/chosen": t["policy_chosen_logps"].mean(),
            "logps/rejected": t["policy_rejected_logps"].mean(),
            "padding_fraction": torch.tensor(sum(padding) / max(1, len(padding))),
        }
        if "ref_chosen_logps" in t:
            values["logps/chosen_drift_per_token"] = ((t["policy_chosen_logps"] - t["ref_chosen_logps"]) / t["chosen_tokens"].clamp(min=1)).mean()
            values["logps/rejected_drift_per_token"] = ((t["policy_rejected_logps"] - t["ref_rejected_logps"]) / t["rejected_tokens"].clamp(min=1)).mean()
        return {f"{prefix}{k}": float(v) for k, v in values.items()}

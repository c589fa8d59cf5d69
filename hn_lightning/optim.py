"""Learning-rate schedules usable from LightningCLI (``model.scheduler: class_path: ...``)."""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler


class WarmupCosineLR(LRScheduler):
    """Linear warm-up from 0, then cosine decay to ``min_lr_ratio x base_lr``.

    ``total_steps`` defaults to the trainer's ``estimated_stepping_batches`` (the LightningModule calls
    :meth:`set_total_steps`); warm-up is ``warmup_steps`` if > 0, else ``warmup_ratio x total_steps``.
    The schedule advances once per optimizer step.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int = 0,
        warmup_ratio: float = 0.03,
        total_steps: int | None = None,
        min_lr_ratio: float = 0.0,
        last_epoch: int = -1,
    ):
        self.warmup_steps, self.warmup_ratio = warmup_steps, warmup_ratio
        self.total_steps, self.min_lr_ratio = total_steps, min_lr_ratio
        super().__init__(optimizer, last_epoch)

    def set_total_steps(self, total_steps: int) -> None:
        """Fill in the schedule length when it was not given."""
        if self.total_steps is None:
            self.total_steps = int(total_steps)
            self._last_lr = self.get_lr()  # the learning rate of the current step under the real length
            for group, lr in zip(self.optimizer.param_groups, self._last_lr):
                group["lr"] = lr

    def factor(self, step: int) -> float:
        """Multiplier of the base learning rate at optimizer step ``step``."""
        total = max(1, self.total_steps or 1)
        warmup = self.warmup_steps if self.warmup_steps > 0 else int(self.warmup_ratio * total)
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    def get_lr(self) -> list[float]:
        return [base * self.factor(self.last_epoch) for base in self.base_lrs]

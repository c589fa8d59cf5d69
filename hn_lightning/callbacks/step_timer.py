"""Time per optimizer step, measured over the training batches only.

The wall time of a whole ``fit`` also holds model loading, the reference pass set-up, checkpoints,
validation and the export; :class:`StepTimer` adds up the time between ``on_train_batch_start`` and
``on_train_batch_end`` of the micro-batches of one optimizer step (forward, backward, optimizer step;
on CUDA after a synchronize) and logs it as ``time/step_seconds`` when the step completes.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

__all__ = ["StepTimer"]


class StepTimer(Callback):
    """Logs ``time/step_seconds``: seconds spent in the training batches of each optimizer step."""

    def __init__(self) -> None:
        self._start: float | None = None
        self._seconds = 0.0
        self._step: int | None = None

    @staticmethod
    def _sync(pl_module: LightningModule) -> None:
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize(pl_module.device)

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int) -> None:
        if self._step is None:
            self._step = trainer.global_step
        self._sync(pl_module)
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self._start is None:
            return
        self._sync(pl_module)
        self._seconds += time.perf_counter() - self._start
        self._start = None
        if trainer.global_step != self._step:  # this micro-batch completed an optimizer step
            pl_module.log("time/step_seconds", self._seconds, on_step=True, on_epoch=False, batch_size=1)
            self._seconds = 0.0
            self._step = trainer.global_step

"""A rich progress bar that counts micro-batches correctly under gradient accumulation.

Lightning's bar sizes a ``max_steps`` run as ``max_steps`` batches, but each optimizer step takes
``accumulate_grad_batches`` micro-batches, so the bar overflowed (``12/6``) and the ETA was wrong.

Off a terminal (a log file, CI) rich draws no live bar; the bar then prints plain lines instead
(``train: 40/200 steps (20%), 0.8 steps/s, ETA 3m20s, loss 0.61``, paced by
:class:`hn_lightning.progress.PlainReporter`).
"""

from __future__ import annotations

import math
from typing import Any

from lightning.pytorch.callbacks import RichProgressBar

from hn_lightning.progress import PlainReporter, off_terminal


class StepProgressBar(RichProgressBar):
    """``RichProgressBar`` with a micro-batch total that accounts for gradient accumulation and an
    ``Epoch e`` / ``step s/N`` description (no ``Epoch 0/-2`` for step-based runs); plain progress lines
    off a terminal."""

    _plain: PlainReporter | None = None

    def on_train_start(self, trainer, pl_module) -> None:
        super().on_train_start(trainer, pl_module)
        if self.is_enabled and self._console is not None and off_terminal(self._console):
            total = trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else trainer.estimated_stepping_batches
            total = total if math.isfinite(total) else None  # an iterable without a length: no total, no ETA
            self._plain = PlainReporter("train", total=total, done=trainer.global_step, unit="steps", stream=self._console.file)

    def on_train_batch_end(self, trainer, pl_module, outputs: Any, batch: Any, batch_idx: int) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        if self._plain is not None:
            loss = trainer.progress_bar_metrics.get("train/loss")
            self._plain.update(trainer.global_step, fields={"loss": f"{float(loss):.4g}" if loss is not None else None})

    @property
    def total_train_batches(self) -> int | float:
        trainer = self.trainer
        if trainer.max_steps is not None and trainer.max_steps > 0:
            remaining = (trainer.max_steps - trainer.global_step) * trainer.accumulate_grad_batches
            return min(trainer.num_training_batches, remaining)
        return trainer.num_training_batches

    def _get_train_description(self, current_epoch: int) -> str:
        trainer = self.trainer
        text = f"Epoch {current_epoch}"
        if trainer.max_epochs is not None and trainer.max_epochs > 0:
            text += f"/{trainer.max_epochs - 1}"
        if trainer.max_steps is not None and trainer.max_steps > 0:
            text += f" (steps to {trainer.max_steps})"
        if len(self.validation_description) > len(text):
            text = f"{text:{len(self.validation_description)}}"
        return text

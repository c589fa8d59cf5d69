"""A rich progress bar that counts micro-batches correctly under gradient accumulation.

Lightning's bar sizes a ``max_steps`` run as ``max_steps`` batches, but each optimizer step takes
``accumulate_grad_batches`` micro-batches, so the bar overflowed (``12/6``) and the ETA was wrong.
"""

from __future__ import annotations

from lightning.pytorch.callbacks import RichProgressBar


class StepProgressBar(RichProgressBar):
    """``RichProgressBar`` with a micro-batch total that accounts for gradient accumulation and an
    ``Epoch e`` / ``step s/N`` description (no ``Epoch 0/-2`` for step-based runs)."""

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

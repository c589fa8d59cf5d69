"""Deterministic data order and mid-epoch resume.

The order of every epoch is a pure function of ``(seed, epoch)``. A DataModule records in its
checkpointed ``state_dict`` how many micro-batches of the current epoch the trainer has *processed*
(read from the fit loop's progress counters, so batches prefetched but not yet trained on are not
counted). On resume, the first epoch skips exactly that many batches: no example is seen twice and
none is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import Sampler


class ResumableShuffleSampler(Sampler[int]):
    """Shuffles ``range(n)`` with ``torch.Generator(seed + epoch)``; can start ``skip`` items in."""

    def __init__(self, n: int, seed: int, shuffle: bool = True):
        self.n, self.seed, self.shuffle = n, seed, shuffle
        self.epoch = 0
        self._resume: tuple[int, int] | None = None  # (epoch, items to skip)

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of every epoch."""
        self.epoch = epoch

    def resume_at(self, epoch: int, items: int) -> None:
        """Skip the first ``items`` indices the next time epoch ``epoch`` is iterated."""
        self._resume = (epoch, items)

    def order(self, epoch: int) -> list[int]:
        """The full index order of ``epoch``."""
        if not self.shuffle:
            return list(range(self.n))
        gen = torch.Generator().manual_seed(self.seed + epoch)
        return torch.randperm(self.n, generator=gen).tolist()

    def __iter__(self) -> Iterator[int]:
        order = self.order(self.epoch)
        if self._resume is not None and self._resume[0] == self.epoch:
            order = order[self._resume[1]:]
        self._resume = None
        return iter(order)

    def __len__(self) -> int:
        return self.n


def processed_batches(trainer) -> tuple[int, int]:
    """``(epoch, micro-batches processed in that epoch)`` as the fit loop counts them."""
    if trainer is None:
        return 0, 0
    loop = trainer.fit_loop.epoch_loop
    return trainer.current_epoch, int(loop.batch_progress.current.processed)


def position_state(trainer, batch_size: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The data position to store in a checkpoint."""
    epoch, batches = processed_batches(trainer)
    return {"epoch": epoch, "batches": batches, "batch_size": batch_size, **(extra or {})}

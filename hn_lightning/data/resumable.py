"""Deterministic data order and mid-epoch resume.

The order of every epoch is a pure function of ``(seed, epoch)``. A DataModule records in its
checkpointed ``state_dict`` how many micro-batches of the current epoch the trainer has *processed*
(read from the fit loop's progress counters, so batches prefetched but not yet trained on are not
counted). On resume, the first epoch skips exactly that many batches: no example is seen twice and
none is skipped.

With several ranks the sampler shards the epoch's order itself, in blocks of one micro-batch: rank ``r``
takes rows ``[r*B, (r+1)*B)`` of every ``world*B`` rows, so each optimizer step trains on the same rows,
in the same micro-batches, as one process with ``world`` times the gradient accumulation. It subclasses
``DistributedSampler`` only so that Lightning uses it as it is instead of wrapping it in its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DistributedSampler


class ResumableShuffleSampler(DistributedSampler):
    """Shuffles ``range(n)`` with ``torch.Generator(seed + epoch)``; can start ``skip`` items in; gives rank
    ``rank`` of ``world`` its blocks of ``block`` indices (see the module doc)."""

    def __init__(self, n: int, seed: int, shuffle: bool = True, rank: int = 0, world: int = 1, block: int = 1):
        # DistributedSampler.__init__ is not called: it needs a dataset and an initialised process group
        self.n, self.seed, self.shuffle = n, seed, shuffle
        self.rank, self.num_replicas, self.block = rank, world, block
        self.epoch = 0
        self._resume: tuple[int, int] | None = None  # (epoch, items of the global order to skip)

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of every epoch."""
        self.epoch = epoch

    def resume_at(self, epoch: int, items: int) -> None:
        """Skip the first ``items`` indices of the global order (all ranks together) the next time epoch
        ``epoch`` is iterated."""
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
        return iter(self._shard(order))

    def _shard(self, order: list[int]) -> list[int]:
        """This rank's blocks; an incomplete last round (fewer than ``world*block`` rows) is dropped."""
        if self.num_replicas == 1:
            return order
        size = self.num_replicas * self.block
        lo = self.rank * self.block
        return [order[s + i] for s in range(0, len(order) - size + 1, size) for i in range(lo, lo + self.block)]

    def __len__(self) -> int:
        return self.n if self.num_replicas == 1 else (self.n // (self.num_replicas * self.block)) * self.block


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

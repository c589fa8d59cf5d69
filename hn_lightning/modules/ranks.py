"""The process group as the modules see it: rank, world size, barrier, gathering Python objects.

A thin layer over ``torch.distributed`` so that the reference precompute and the step metrics read the
same with one process (every call is then a no-op) and with N (DDP or FSDP, any backend). Nothing here
decides *what* is sharded; callers do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    """This process's place in the job."""

    rank: int = 0
    """Global rank (0-based)."""
    world: int = 1
    """Number of processes."""
    lockstep: bool = False
    """Every rank must run the same number of forward passes (FSDP: each forward all-gathers weights)."""

    @classmethod
    def of(cls, trainer) -> Ranks:
        """The trainer's ranks (a single process when there is no trainer)."""
        if trainer is None:
            return cls()
        lockstep = "fsdp" in type(trainer.strategy).__name__.lower()
        return cls(int(trainer.global_rank), int(trainer.world_size), lockstep)

    @property
    def active(self) -> bool:
        return self.world > 1 and dist.is_available() and dist.is_initialized()

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def gather(self, obj: Any) -> list[Any]:
        """``[obj of rank 0, ..., obj of rank N-1]`` on every rank (``[obj]`` in one process)."""
        if not self.active:
            return [obj]
        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

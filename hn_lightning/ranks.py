"""Work spread over ranks (processes, one per device or node slot) that coordinate through files only.

``mine`` and ``eval`` cut their work into shards that do not depend on how many ranks there are (mining:
problem batches; evaluation: fixed runs of items), and rank ``k`` of ``N`` takes the shards whose index is
``k`` modulo ``N``. Every rank writes its own shards atomically; the rank that finishes last (and finds
every shard written) merges. No collective operation is ever called, so a rank that dies cannot hang
the others, and it can be rerun alone with ``--rank k --world_size N``; the merge then completes.

Who am I (:func:`rank_from_env`): ``--rank``/``--world_size`` when given, else torchrun's ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, else SLURM's ``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_LOCALID``, else a
single process. :func:`launch_local` starts ``--devices N`` ranks on this machine (what torchrun would do,
without a rendezvous: ranks never talk to each other).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hn_lightning.errors import UserError

__all__ = ["RankSpec", "add_rank_arguments", "launch_local", "rank_from_env", "setup_rank_device", "without_flag"]


@dataclass(frozen=True)
class RankSpec:
    """One process's place among ``world_size`` ranks."""

    rank: int = 0
    """Global rank, ``0 <= rank < world_size``."""
    world_size: int = 1
    """Number of ranks sharing the work."""
    local_rank: int = 0
    """Rank on this machine (picks the GPU)."""

    def __post_init__(self) -> None:
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise UserError(f"rank {self.rank} is not in 0..{self.world_size - 1} (world_size {self.world_size})")

    @property
    def distributed(self) -> bool:
        """True with more than one rank."""
        return self.world_size > 1

    def owns(self, index: int) -> bool:
        """Shard ``index`` belongs to this rank (round robin: ``index % world_size == rank``)."""
        return index % self.world_size == self.rank

    def mine(self, indices: Sequence[int]) -> list[int]:
        """The indices of ``indices`` this rank owns, in order."""
        return [i for i in indices if self.owns(i)]

    def label(self) -> str:
        return f"rank {self.rank}/{self.world_size}"


def rank_from_env(rank: int | None = None, world_size: int | None = None,
                  environ: Mapping[str, str] | None = None) -> RankSpec:
    """The rank of this process: explicit values, else torchrun's, else SLURM's environment, else 0 of 1."""
    env = os.environ if environ is None else environ
    if (rank is None) != (world_size is None):
        raise UserError("--rank and --world_size go together (or neither: RANK/WORLD_SIZE from torchrun or SLURM)")
    if rank is not None:
        return RankSpec(rank, world_size, int(env.get("LOCAL_RANK", 0)))
    for r, w, lr in (("RANK", "WORLD_SIZE", "LOCAL_RANK"), ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID")):
        if r in env and w in env:
            try:
                return RankSpec(int(env[r]), int(env[w]), int(env.get(lr, 0)))
            except ValueError as exc:
                raise UserError(f"environment {r}={env[r]!r} {w}={env[w]!r}: not integers") from exc
    return RankSpec()


def add_rank_arguments(parser: Any) -> None:
    """``--devices``, ``--rank`` and ``--world_size`` on an argparse or jsonargparse parser."""
    from typing import Optional

    maybe_int = Optional[int] if type(parser).__module__.startswith("jsonargparse") else int  # noqa: UP045
    parser.add_argument("--devices", type=int, default=1,
                        help="start this many ranks on this machine (one per GPU; on a CPU they share the cores)")
    parser.add_argument("--rank", type=maybe_int, default=None,
                        help="run as rank K of --world_size N (rerun one rank alone); default: torchrun's RANK / "
                             "SLURM_PROCID, else a single process")
    parser.add_argument("--world_size", type=maybe_int, default=None, help="number of ranks, with --rank")


def without_flag(argv: list[str], flag: str) -> list[str]:
    """``argv`` without ``flag VALUE`` / ``flag=VALUE``."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == flag:
            skip = True
        elif not a.startswith(flag + "="):
            out.append(a)
    return out


def setup_rank_device(spec: RankSpec) -> None:
    """Point this rank at its GPU (``cuda:local_rank``) when there are several; on a CPU, share the cores."""
    if not spec.distributed:
        return
    import torch

    if torch.cuda.is_available():
        torch.cuda.set_device(spec.local_rank % torch.cuda.device_count())
    elif "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // min(spec.world_size, os.cpu_count() or 1)))


def launch_local(command: str, argv: list[str], devices: int) -> int:
    """Run ``cli.py <command> <argv>`` as ``devices`` ranks on this machine and wait for all of them.

    Each child gets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` as torchrun sets them (and, on a GPU machine,
    one visible GPU). Ranks are independent: one failing leaves the others running to the end, and the
    return code names the failed ranks with the command that reruns one alone.
    """
    if devices < 1:
        raise UserError(f"--devices must be >= 1, got {devices}")
    visible = _visible_gpus()
    procs = []
    for k in range(devices):
        env = dict(os.environ, RANK=str(k), WORLD_SIZE=str(devices), LOCAL_RANK=str(k), LOCAL_WORLD_SIZE=str(devices))
        if visible:
            env["CUDA_VISIBLE_DEVICES"] = visible[k % len(visible)]
            env["LOCAL_RANK"] = "0"
        elif "OMP_NUM_THREADS" not in os.environ:
            env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // devices))
        code = "import sys; from hn_lightning.cli import main; sys.exit(main(sys.argv[1:]))"
        procs.append(subprocess.Popen([sys.executable, "-c", code, command, *argv], env=env))
    codes = [p.wait() for p in procs]
    failed = [k for k, c in enumerate(codes) if c != 0]
    if not failed:
        return 0
    rerun = " ".join(["python cli.py", command, *(shlex.quote(a) for a in argv)])
    for k in failed:
        print(f"error: rank {k} of {devices} {_ended(codes[k])}; the other ranks' shards are kept: rerun it alone with "
              f"{rerun} --rank {k} --world_size {devices}", file=sys.stderr)
    return max(exit_status(codes[k]) for k in failed)


def exit_status(code: int) -> int:
    """A child's return code as a process exit status: a signal ``-N`` (Popen) becomes ``128 + N``, as a
    shell reports it (``sys.exit(-9)`` would exit 247)."""
    return 128 - code if code < 0 else code


def _ended(code: int) -> str:
    """How a child ended, in words (``was killed by SIGKILL``, ``exited with code 2``)."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name} (exit status {exit_status(code)})"
    return f"exited with code {code}"


def _visible_gpus() -> list[str]:
    """The GPU ids a child may be given (``CUDA_VISIBLE_DEVICES`` order), or none without CUDA."""
    try:
        import torch

        if not torch.cuda.is_available():
            return []
        n = torch.cuda.device_count()
    except Exception:  # noqa: BLE001 - no usable CUDA: CPU ranks
        return []
    given = [d for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return given[:n] if given else [str(i) for i in range(n)]

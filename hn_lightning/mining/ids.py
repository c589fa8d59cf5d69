"""Deterministic ids and seeds.

* sample id: ``<problem id>#s<k>`` (``gsm8k-train-17#s3``), the k-th sample of a problem; ingested
  samples keep their pool id when it is unique;
* pair id: ``<rejected sample id>-vs-<chosen sample id or "ref">``;
* seeds: :func:`derive_seed` hashes the run seed with a purpose string, so every stream of random
  numbers (a sampling batch, the random arm, the shuffled weights) is fixed by the config alone and
  independent of the others, of the batch order and of where a run was resumed.
"""

from __future__ import annotations

import hashlib

__all__ = ["sample_id", "pair_id", "derive_seed"]


def sample_id(problem_id: str, k: int) -> str:
    return f"{problem_id}#s{k}"


def pair_id(rejected_id: str, chosen_id: str | None) -> str:
    return f"{rejected_id}-vs-{chosen_id if chosen_id is not None else 'ref'}"


def derive_seed(seed: int, *purpose: object) -> int:
    """A 31-bit seed from the run seed and a purpose (``derive_seed(0, "sample", "gsm8k-train-17")``)."""
    text = "\x1f".join([str(seed), *map(str, purpose)])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big") & 0x7FFFFFFF

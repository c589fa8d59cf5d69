"""Evaluation cut into shards that do not depend on the number of ranks, and the merge of the ranks' files.

Items (in task order, after ``--limit`` / ``--subset_seed``) are cut into shards of ``shard_size``;
shard ``j`` is generated in one engine call with seed ``seed + SHARD_SEED_STRIDE * j``, so its batches,
padding and sampling seeds are the same whichever rank generates it, and the records of ``N`` ranks are
the records of one process. Rank ``k`` of ``N`` takes the shards ``j`` with ``j % N == k``
(:class:`~hn_lightning.ranks.RankSpec`).

Files under a task's output folder::

    samples.jsonl                     one process: appended as items finish; several ranks: the merge,
                                      written atomically, in item order, once every item is there
    ranks/samples-rank00001.jsonl     rank 1's records (appended + fsynced one by one: per-record resume)
    .merge.lock                       held while a rank checks for completion and merges

Records are read from every file (first record of an id wins), so a rerun with another number of ranks,
or a single process, resumes from what any rank wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from hn_lightning.io.atomic import atomic_writer
from hn_lightning.io.jsonl import JsonlError

__all__ = ["DEFAULT_SHARD_SIZE", "SHARD_SEED_STRIDE", "combine_rank_correctness", "item_shards", "known_records",
           "rank_correctness", "rank_file", "shard_seed", "write_merged"]

T = TypeVar("T")

DEFAULT_SHARD_SIZE = 32
"""Items per shard: the unit spread over ranks and generated in one engine call."""
SHARD_SEED_STRIDE = 100_003
"""Shard ``j`` samples with ``seed + SHARD_SEED_STRIDE * j`` (and its batches with the following seeds)."""


def item_shards(items: list[T], shard_size: int) -> list[list[T]]:
    """Shard ``j`` = ``items[j * shard_size: (j + 1) * shard_size]`` (a fixed function of the order)."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    return [items[i: i + shard_size] for i in range(0, len(items), shard_size)]


def shard_seed(seed: int, index: int) -> int:
    """The generation seed of shard ``index`` (``seed`` itself for shard 0)."""
    return seed + SHARD_SEED_STRIDE * index


def rank_file(out_dir: Path, rank: int) -> Path:
    """Where rank ``rank`` appends its records."""
    return Path(out_dir) / "ranks" / f"samples-rank{rank:05d}.jsonl"


def _finished_lines(path: Path) -> list[dict[str, Any]]:
    """The complete (newline-terminated) records of a file another rank may be appending to; never modifies it."""
    if not path.is_file():
        return []
    data = path.read_bytes()
    records = []
    for lineno, raw in enumerate(data.split(b"\n")[:-1], start=1):  # the part after the last newline is unfinished
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise JsonlError(path, lineno, f"invalid record ({exc})") from None
        if not isinstance(record, dict) or "id" not in record:
            raise JsonlError(path, lineno, "sample record without an 'id'")
        records.append(record)
    return records


def known_records(out_dir: Path) -> dict[str, dict[str, Any]]:
    """Every finished record under ``out_dir``: ``samples.jsonl``, then each rank's file (first id wins)."""
    out_dir = Path(out_dir)
    paths = [out_dir / "samples.jsonl", *sorted((out_dir / "ranks").glob("samples-rank*.jsonl"))]
    records: dict[str, dict[str, Any]] = {}
    for path in paths:
        for record in _finished_lines(path):
            records.setdefault(str(record["id"]), record)
    return records


def write_merged(out_dir: Path, records: list[dict[str, Any]]) -> Path:
    """Write ``samples.jsonl`` atomically with ``records`` (item order)."""
    path = Path(out_dir) / "samples.jsonl"
    with atomic_writer(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def rank_correctness(ids: list[str], verdicts: dict[str, bool]):
    """This rank's verdicts as a vector over every item: ``[N]`` int32 (gloo and NCCL gather it), 1 right, 0 wrong,
    -1 not evaluated here."""
    import torch

    return torch.tensor([int(verdicts[i]) if i in verdicts else -1 for i in ids], dtype=torch.int32)


def combine_rank_correctness(gathered):
    """``[W, N]`` (or ``[N]`` for one rank) per-rank vectors of :func:`rank_correctness` -> ``[N]`` bool, each item
    taken from the rank that evaluated it. An item no rank evaluated is an error (the split lost it)."""
    stacked = gathered if gathered.dim() == 2 else gathered.unsqueeze(0)
    combined = stacked.max(dim=0).values
    if bool((combined < 0).any()):
        raise RuntimeError(f"{int((combined < 0).sum())} evaluation item(s) were evaluated by no rank")
    return combined > 0

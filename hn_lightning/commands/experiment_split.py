"""Held-out pairs for an experiment whose arms train on pair *files* (no ``mine``): with ``val_split`` the
problems of the arms' files are split once, seeded, into training problems and held-out problems. Every
file arm then trains on ``<out>/split/<arm>/pairs.jsonl`` (its pairs minus the held-out problems) and every
cell is validated on ``<out>/split/val.jsonl`` (the first file arm's pairs of the held-out problems), so
reward accuracy, margins, drift and the sampled KL are measured on problems no cell trained on.

A problem is a record's ``meta.problem_id`` when it has one, else its prompt (the text, or the messages
as JSON): two pairs of one problem never land on both sides. The split is written atomically with its
settings and the sha256 of the input files (``split.json``); an identical split is not rewritten, and a
changed one changes every cell's settings fingerprint (finished cells are then refused, as for re-mining).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from hn_lightning.errors import UserError
from hn_lightning.experiments.config import ArmSpec, ExperimentConfig

__all__ = ["file_split_dir", "file_heldout_file", "problem_key", "split_files"]


def file_split_dir(root: Path, arm: str) -> Path:
    """A file arm's training pairs after the split."""
    return root / "split" / arm


def file_heldout_file(root: Path) -> Path:
    """The held-out pairs of every cell."""
    return root / "split" / "val.jsonl"


def problem_key(record: dict[str, Any]) -> str:
    """The problem a pair belongs to: ``meta.problem_id``, else the prompt."""
    meta = record.get("meta")
    if isinstance(meta, dict) and meta.get("problem_id") is not None:
        return f"id:{meta['problem_id']}"
    prompt = record.get("prompt")
    return "prompt:" + (prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, ensure_ascii=False))


def _read(arm: ArmSpec) -> tuple[list[dict[str, Any]], list[Path]]:
    from hn_lightning.catalog import expand_paths
    from hn_lightning.io.jsonl import iter_jsonl

    paths = expand_paths(arm.train_files)
    return [rec for p in paths for _, rec in iter_jsonl(p)], paths


def split_files(cfg: ExperimentConfig, root: Path, seed: int = 0) -> dict[str, Any]:
    """Split the file arms' pairs (see the module docstring); returns ``{"fingerprint", "pairs": {arm: n},
    "heldout_pairs": n, "heldout_problems": [...]}``."""
    from hn_lightning.io.atomic import atomic_write_json, atomic_writer

    arms = [a for a in cfg.grid.arms if a.train_files]
    if not arms:
        raise UserError("val_split without 'mine' splits the arms' train_files, but no arm has train_files")
    records, digests = {}, hashlib.sha256()
    for arm in arms:
        records[arm.name], paths = _read(arm)
        for path in paths:
            digests.update(path.read_bytes())
    settings = {"fraction": cfg.val_split, "seed": seed, "inputs": digests.hexdigest()[:16]}
    marker = root / "split" / "split.json"
    if marker.is_file():
        old = json.loads(marker.read_text(encoding="utf-8"))
        if old.get("settings") == settings and all((file_split_dir(root, a.name) / "pairs.jsonl").is_file() for a in arms):
            return old
    first = records[arms[0].name]
    problems = sorted({problem_key(r) for r in first})
    if len(problems) < 2:
        raise UserError(f"val_split: arm {arms[0].name!r} has {len(problems)} problem(s); at least 2 are needed to hold some out")
    n_val = min(len(problems) - 1, max(1, round(cfg.val_split * len(problems))))
    held = set(random.Random(seed).sample(problems, n_val))
    counts = {}
    for arm in arms:
        keep = [r for r in records[arm.name] if problem_key(r) not in held]
        if not keep:
            raise UserError(f"val_split: every pair of arm {arm.name!r} belongs to a held-out problem")
        file_split_dir(root, arm.name).mkdir(parents=True, exist_ok=True)
        with atomic_writer(file_split_dir(root, arm.name) / "pairs.jsonl") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in keep)
        counts[arm.name] = len(keep)
    val = [r for r in first if problem_key(r) in held]
    with atomic_writer(file_heldout_file(root)) as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in val)
    result = {"settings": settings, "fingerprint": f"files-{settings['inputs']}-split{cfg.val_split:g}-seed{seed}",
              "pairs": counts, "heldout_pairs": len(val), "heldout_problems": len(held)}
    atomic_write_json(marker, result)
    return result

"""Held-out pairs of an experiment (``val_split``): which problems are held out, and the two splits.

Both splits choose the held-out problems with :func:`choose_heldout` (seeded, from the sorted problems),
write every arm's training pairs without them and the held-out pairs atomically into a split folder
(:class:`~hn_lightning.experiments.layout.SplitDir`), and record their settings in ``split.json``: an
identical split is not rewritten, and a changed one changes the settings fingerprint of the cells it
affects (finished cells are then refused, as for re-mining).

- **Mined pairs** (:func:`split_mined`, with ``mine``): the problems with hard-negative pairs
  (``meta.problem_id``), seeded by ``mine.seed``, into ``<out>/mining/split/``; the held-out problems'
  hard-negative pairs are every cell's held-out pairs.
- **Pair files** (:func:`split_files`, without ``mine``): the problems of the first file arm, seed 0, into
  ``<out>/split/``. Every file arm then trains on ``<out>/split/<arm>/pairs.jsonl`` and every cell is
  validated on ``<out>/split/val.jsonl`` (the first file arm's pairs of the held-out problems), so reward
  accuracy, margins, drift and the sampled KL are measured on problems no cell trained on. A problem is a
  record's ``meta.problem_id`` when it has one, else its prompt (the text, or the messages as JSON): two
  pairs of one problem never land on both sides, and a pair of another arm is held out when its problem
  id or its prompt is a held-out problem's. Test files are refused as in training (the base config's
  ``allow_test_data``); ``split.json`` also records the sha256 of the input files.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any

from hn_lightning.errors import UserError
from hn_lightning.experiments.config import MINED_ARMS, ArmSpec, ExperimentConfig, read_base_config
from hn_lightning.experiments.layout import Layout, SplitDir

__all__ = ["choose_heldout", "problem_key", "split_files", "split_mined"]


def choose_heldout(problems: Iterable[Hashable], fraction: float, seed: int, keep: int = 0) -> set:
    """The held-out problems: ``round(fraction * n)`` of the ``n`` distinct ``problems``, at least one and
    at most ``n - keep`` (``keep``: problems that must stay for training), drawn by ``random.Random(seed)``
    from the sorted problems, so the same problems and seed hold out the same ones. Empty for no problems."""
    pool = sorted(set(problems))
    if not pool:
        return set()
    n_val = min(len(pool) - keep, max(1, round(fraction * len(pool))))
    return set(random.Random(seed).sample(pool, n_val))


def _write_arms(split: SplitDir, records: dict[str, list[dict[str, Any]]], is_held: Callable[[dict[str, Any]], bool],
                refuse_empty: bool = False) -> dict[str, int]:
    """Write each arm's pairs that are not held out to ``<split>/<arm>/pairs.jsonl``; ``{arm: pairs kept}``."""
    from hn_lightning.io.atomic import atomic_write_jsonl

    counts = {}
    for arm, recs in records.items():
        keep = [r for r in recs if not is_held(r)]
        if refuse_empty and not keep:
            raise UserError(f"val_split: every pair of arm {arm!r} belongs to a held-out problem")
        split.arm(arm).mkdir(parents=True, exist_ok=True)
        atomic_write_jsonl(split.arm(arm) / "pairs.jsonl", keep)
        counts[arm] = len(keep)
    return counts


def split_mined(root: Path, fraction: float, seed: int, fingerprint: str) -> dict[str, Any]:
    """Hold out ``fraction`` of the problems with hard-negative pairs (seeded): write every mined arm without
    them to ``mining/split/<arm>/pairs.jsonl`` and their hard-negative pairs to ``mining/split/val.jsonl``;
    returns the content of ``split.json`` (``settings``, ``heldout_problems``, ``heldout_pairs``,
    ``train_pairs``: ``{arm: n}``)."""
    from hn_lightning.catalog import expand_paths
    from hn_lightning.io.atomic import atomic_write_json, atomic_write_jsonl
    from hn_lightning.io.jsonl import iter_jsonl

    layout = Layout(root)
    split = layout.mining_split
    settings = {"fraction": fraction, "seed": seed, "mining": fingerprint}
    if split.marker.is_file() and json.loads(split.marker.read_text()).get("settings") == settings:
        return json.loads(split.marker.read_text())
    pairs = {arm: [rec for p in expand_paths([layout.mined_pairs(arm)]) for _, rec in iter_jsonl(p)]
             for arm in MINED_ARMS if layout.mined_pairs(arm).is_dir()}
    held = choose_heldout((rec["meta"]["problem_id"] for rec in pairs.get("hardneg", [])), fraction, seed)
    counts = _write_arms(split, pairs, lambda r: r["meta"]["problem_id"] in held)
    val = [r for r in pairs.get("hardneg", []) if r["meta"]["problem_id"] in held]
    atomic_write_jsonl(split.heldout, val)
    result = {"settings": settings, "heldout_problems": sorted(held), "heldout_pairs": len(val), "train_pairs": counts}
    atomic_write_json(split.marker, result)
    return result


def problem_key(record: dict[str, Any]) -> str:
    """The problem a pair belongs to: ``meta.problem_id``, else the prompt."""
    meta = record.get("meta")
    if isinstance(meta, dict) and meta.get("problem_id") is not None:
        return f"id:{meta['problem_id']}"
    return _prompt_key(record)


def _prompt_key(record: dict[str, Any]) -> str:
    prompt = record.get("prompt")
    text = prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, ensure_ascii=False)
    return "prompt:" + " ".join(str(text).split())


def _read(arm: ArmSpec, allow_test_data: bool) -> tuple[list[dict[str, Any]], str]:
    """The arm's pairs (test files refused as in training) and a digest of its files."""
    from hn_lightning.catalog import expand_paths, refuse_test_files
    from hn_lightning.io.jsonl import iter_jsonl

    paths = expand_paths(arm.train_files)
    refuse_test_files(paths, allow_test_data, f"DPO training (arm {arm.name!r})")
    digest = hashlib.sha256()
    for path in paths:
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return [rec for p in paths for _, rec in iter_jsonl(p)], digest.hexdigest()[:16]


def _allow_test_data(cfg: ExperimentConfig) -> bool:
    """The base config's ``data.init_args.allow_test_data`` (what its training would accept)."""
    base = read_base_config(cfg)
    return bool(((base.get("data") or {}).get("init_args") or {}).get("allow_test_data", False))


def split_files(cfg: ExperimentConfig, root: Path, seed: int = 0) -> dict[str, Any]:
    """Split the file arms' pairs (see the module docstring); returns ``{"fingerprint": {arm: fingerprint},
    "pairs": {arm: n}, "heldout_pairs": n, "heldout_problems": n}``. An arm's fingerprint covers the split
    settings, the first arm's files (they decide the held-out problems) and its own files, so editing or
    adding another arm leaves its finished cells valid."""
    from hn_lightning.io.atomic import atomic_write_json, atomic_write_jsonl

    arms = [a for a in cfg.grid.arms if a.train_files]
    if not arms:
        raise UserError("val_split without 'mine' splits the arms' train_files, but no arm has train_files")
    allow = _allow_test_data(cfg)
    records, digests = {}, {}
    for arm in arms:
        records[arm.name], digests[arm.name] = _read(arm, allow)
    first = arms[0].name
    fingerprints = {a.name: f"files-{digests[first]}-{digests[a.name]}-split{cfg.val_split:g}-seed{seed}" for a in arms}
    settings = {"fraction": cfg.val_split, "seed": seed, "fingerprints": fingerprints}
    split = Layout(root).file_split
    if split.marker.is_file():
        old = json.loads(split.marker.read_text(encoding="utf-8"))
        if old.get("settings") == settings and all((split.arm(a.name) / "pairs.jsonl").is_file() for a in arms):
            return old
    problems = {problem_key(r) for r in records[first]}
    if len(problems) < 2:
        raise UserError(f"val_split: arm {first!r} has {len(problems)} problem(s); at least 2 are needed to hold some out")
    held = choose_heldout(problems, cfg.val_split, seed, keep=1)
    val = [r for r in records[first] if problem_key(r) in held]
    # another arm may name its problems differently (ids in one, bare prompts in another): a pair is held
    # out when its problem id or its prompt is one of the held-out problems'
    held_prompts = {_prompt_key(r) for r in val}
    counts = _write_arms(split, records, lambda r: problem_key(r) in held or _prompt_key(r) in held_prompts,
                         refuse_empty=True)
    atomic_write_jsonl(split.heldout, val)
    result = {"settings": settings, "fingerprint": fingerprints, "pairs": counts, "heldout_pairs": len(val),
              "heldout_problems": len(held)}
    atomic_write_json(split.marker, result)
    return result

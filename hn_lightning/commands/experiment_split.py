"""Held-out pairs for an experiment whose arms train on pair *files* (no ``mine``): with ``val_split`` the
problems of the arms' files are split once, seeded, into training problems and held-out problems. Every
file arm then trains on ``<out>/split/<arm>/pairs.jsonl`` (its pairs minus the held-out problems) and every
cell is validated on ``<out>/split/val.jsonl`` (the first file arm's pairs of the held-out problems), so
reward accuracy, margins, drift and the sampled KL are measured on problems no cell trained on.

A problem is a record's ``meta.problem_id`` when it has one, else its prompt (the text, or the messages
as JSON): two pairs of one problem never land on both sides, and a pair of another arm is held out when
its problem id or its prompt is a held-out problem's. Test files are refused as in training (the base
config's ``allow_test_data``). The split is written atomically with its settings and the sha256 of the
input files (``split.json``); an identical split is not rewritten, and a changed one changes the settings
fingerprint of the cells it affects (finished cells are then refused, as for re-mining).
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
    import yaml

    from hn_lightning.commands.experiment_cells import resolve_config_path

    base = yaml.safe_load(resolve_config_path(cfg.base_config).read_text(encoding="utf-8")) or {}
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
    marker = root / "split" / "split.json"
    if marker.is_file():
        old = json.loads(marker.read_text(encoding="utf-8"))
        if old.get("settings") == settings and all((file_split_dir(root, a.name) / "pairs.jsonl").is_file() for a in arms):
            return old
    problems = sorted({problem_key(r) for r in records[first]})
    if len(problems) < 2:
        raise UserError(f"val_split: arm {first!r} has {len(problems)} problem(s); at least 2 are needed to hold some out")
    n_val = min(len(problems) - 1, max(1, round(cfg.val_split * len(problems))))
    held = set(random.Random(seed).sample(problems, n_val))
    val = [r for r in records[first] if problem_key(r) in held]
    # another arm may name its problems differently (ids in one, bare prompts in another): a pair is held
    # out when its problem id or its prompt is one of the held-out problems'
    held_prompts = {_prompt_key(r) for r in val}

    def is_held(record: dict[str, Any]) -> bool:
        return problem_key(record) in held or _prompt_key(record) in held_prompts

    counts = {}
    for arm in arms:
        keep = [r for r in records[arm.name] if not is_held(r)]
        if not keep:
            raise UserError(f"val_split: every pair of arm {arm.name!r} belongs to a held-out problem")
        file_split_dir(root, arm.name).mkdir(parents=True, exist_ok=True)
        atomic_write_jsonl(file_split_dir(root, arm.name) / "pairs.jsonl", keep)
        counts[arm.name] = len(keep)
    atomic_write_jsonl(file_heldout_file(root), val)
    result = {"settings": settings, "fingerprint": fingerprints, "pairs": counts, "heldout_pairs": len(val),
              "heldout_problems": len(held)}
    atomic_write_json(marker, result)
    return result

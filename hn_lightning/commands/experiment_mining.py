"""The mining stage of ``cli.py experiment``: the training pairs mined once into ``<out>/mining/`` with the
experiment's starting policy (the same :class:`~hn_lightning.mining.pipeline.MiningPipeline` as ``cli.py
mine``), shared by every cell. Resumable: a stage completed with the current settings is skipped, an
interrupted one resumes shard by shard; changed sampling or scoring settings are refused (delete
``<out>/mining`` or restore them)."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from hn_lightning.errors import UserError
from hn_lightning.experiments.config import ExperimentConfig
from hn_lightning.mining.shards import count_pairs

log = logging.getLogger(__name__)

__all__ = ["MINED_ARMS", "mining_config", "mine_once", "mined_pairs_dir", "heldout_pairs_file", "split_mined",
           "starting_policy"]

MINED_ARMS = ("hardneg", "random", "shuffled")


def starting_policy(cfg: ExperimentConfig) -> str:
    """The policy every cell starts from: ``policy``, else the base config's model."""
    if cfg.policy:
        return cfg.policy
    import yaml

    from hn_lightning.commands.experiment_cells import resolve_config_path

    base = yaml.safe_load(resolve_config_path(cfg.base_config).read_text(encoding="utf-8"))
    try:
        return str(base["model"]["init_args"]["model"]["name_or_path"])
    except (KeyError, TypeError) as exc:
        raise UserError(f"{cfg.base_config}: no model.init_args.model.name_or_path; set the experiment's policy") from exc


def mining_config(cfg: ExperimentConfig, root: Path):
    """The experiment's :class:`MineConfig` retargeted to ``<root>/mining`` and to the starting policy."""
    if cfg.mine is None:
        raise UserError("arms with 'mined' need the experiment's 'mine' settings")
    policy = dataclasses.replace(cfg.mine.policy, name_or_path=starting_policy(cfg))
    return dataclasses.replace(cfg.mine, out=str(root / "mining"), policy=policy)


def mined_pairs_dir(root: Path, arm: str, split: bool = False) -> Path:
    """Where a mined arm's training pairs are: ``mining/pairs/<arm>``, or ``mining/split/<arm>`` (held-out
    problems removed) when the experiment has a ``val_split``."""
    return root / "mining" / ("split" if split else "pairs") / arm


def heldout_pairs_file(root: Path) -> Path:
    return root / "mining" / "split" / "val.jsonl"


def split_mined(root: Path, fraction: float, seed: int, fingerprint: str) -> dict[str, Any]:
    """Hold out ``fraction`` of the problems with hard-negative pairs (seeded): write every arm without
    them to ``mining/split/<arm>/pairs.jsonl`` and their hard-negative pairs to ``mining/split/val.jsonl``
    (atomically; ``split.json`` records the settings, an identical split is not rewritten)."""
    import random

    from hn_lightning.catalog import expand_paths
    from hn_lightning.io.atomic import atomic_write_json, atomic_write_jsonl
    from hn_lightning.io.jsonl import iter_jsonl

    split_dir = root / "mining" / "split"
    settings = {"fraction": fraction, "seed": seed, "mining": fingerprint}
    marker = split_dir / "split.json"
    if marker.is_file() and json.loads(marker.read_text()).get("settings") == settings:
        return json.loads(marker.read_text())
    pairs = {arm: [rec for p in expand_paths([mined_pairs_dir(root, arm)]) for _, rec in iter_jsonl(p)]
             for arm in MINED_ARMS if mined_pairs_dir(root, arm).is_dir()}
    problems = sorted({rec["meta"]["problem_id"] for rec in pairs.get("hardneg", [])})
    n_val = max(1, round(fraction * len(problems))) if problems else 0
    held = set(random.Random(seed).sample(problems, n_val))
    counts = {}
    for arm, records in pairs.items():
        keep = [r for r in records if r["meta"]["problem_id"] not in held]
        (split_dir / arm).mkdir(parents=True, exist_ok=True)
        atomic_write_jsonl(split_dir / arm / "pairs.jsonl", keep)
        counts[arm] = len(keep)
    val = [r for r in pairs.get("hardneg", []) if r["meta"]["problem_id"] in held]
    atomic_write_jsonl(heldout_pairs_file(root), val)
    result = {"settings": settings, "heldout_problems": sorted(held), "heldout_pairs": len(val), "train_pairs": counts}
    atomic_write_json(marker, result)
    return result


def mine_once(cfg: ExperimentConfig, root: Path) -> dict[str, Any]:
    """Run every mining stage not yet complete with the current settings; return ``{"fingerprint": the pair
    stage's settings fingerprint (and the ``val_split``), "pairs": {arm: number of training pairs}}`` (the
    fingerprint enters every mined cell's settings, so re-mining or re-splitting refuses finished cells)."""
    from hn_lightning.mining.pipeline import STAGES, MiningPipeline

    mcfg = mining_config(cfg, root)
    pipeline = MiningPipeline(mcfg)
    fingerprints = pipeline.fingerprints()
    todo = [s for s in STAGES if not pipeline.manifest.is_complete(s, fingerprints[s])]
    if todo:
        print(f"experiment: mining ({', '.join(todo)}) into {pipeline.out}", flush=True)
        pipeline.run(tuple(todo))
    else:
        log.info("mining: every stage finished earlier, skipping")
    counts = {arm: count_pairs(mined_pairs_dir(root, arm)) for arm in MINED_ARMS}
    result = {"fingerprint": fingerprints["pair"], "pairs": counts}
    if cfg.val_split:
        split = split_mined(root, cfg.val_split, mcfg.seed, fingerprints["pair"])
        result.update(pairs=split["train_pairs"], heldout_pairs=split["heldout_pairs"],
                      fingerprint=f"{fingerprints['pair']}-split{cfg.val_split:g}")
    return result


def read_funnel(root: Path) -> dict[str, Any] | None:
    path = root / "mining" / "funnel.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

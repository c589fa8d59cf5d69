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

from hn_lightning.experiments.config import ExperimentConfig

log = logging.getLogger(__name__)

__all__ = ["MINED_ARMS", "mining_config", "mine_once", "mined_pairs_dir", "starting_policy", "count_pairs"]

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
        raise ValueError(f"{cfg.base_config}: no model.init_args.model.name_or_path; set the experiment's policy") from exc


def mining_config(cfg: ExperimentConfig, root: Path):
    """The experiment's :class:`MineConfig` retargeted to ``<root>/mining`` and to the starting policy."""
    if cfg.mine is None:
        raise ValueError("arms with 'mined' need the experiment's 'mine' settings")
    policy = dataclasses.replace(cfg.mine.policy, name_or_path=starting_policy(cfg))
    return dataclasses.replace(cfg.mine, out=str(root / "mining"), policy=policy)


def mined_pairs_dir(root: Path, arm: str) -> Path:
    return root / "mining" / "pairs" / arm


def mine_once(cfg: ExperimentConfig, root: Path) -> dict[str, Any]:
    """Run every mining stage not yet complete with the current settings; return ``{"fingerprint": the pair
    stage's settings fingerprint, "pairs": {arm: number of pairs}}`` (the fingerprint enters every mined
    cell's settings, so re-mining with other settings refuses finished cells)."""
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
    return {"fingerprint": fingerprints["pair"], "pairs": counts}


def count_pairs(folder: Path) -> int:
    """Lines in the ``*.jsonl`` shards of a pair folder (0 when absent)."""
    from hn_lightning.io.jsonl import count_lines

    return sum(count_lines(p) for p in sorted(folder.glob("*.jsonl"))) if folder.is_dir() else 0


def read_funnel(root: Path) -> dict[str, Any] | None:
    path = root / "mining" / "funnel.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

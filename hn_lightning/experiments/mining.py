"""The mining stage of ``cli.py experiment``: the training pairs mined once into ``<out>/mining/`` with the
experiment's starting policy (the same :class:`~hn_lightning.mining.pipeline.MiningPipeline` as ``cli.py
mine``), shared by every cell, and split with ``val_split`` (:func:`~hn_lightning.experiments.split.split_mined`).
Resumable: a stage completed with the current settings is skipped, an interrupted one resumes shard by
shard; changed sampling or scoring settings are refused (delete ``<out>/mining`` or restore them)."""

from __future__ import annotations

import dataclasses
import functools
import logging
from pathlib import Path
from typing import Any

from hn_lightning.errors import UserError
from hn_lightning.experiments.config import MINED_ARMS, ExperimentConfig
from hn_lightning.experiments.inputs import Inputs, discard, reconcile
from hn_lightning.experiments.layout import Layout
from hn_lightning.experiments.policy import starting_policy
from hn_lightning.experiments.split import split_mined
from hn_lightning.io.atomic import atomic_write_json
from hn_lightning.mining.shards import count_pairs

log = logging.getLogger(__name__)

__all__ = ["mining_config", "mine_once"]


def mining_config(cfg: ExperimentConfig, root: Path):
    """The experiment's :class:`MineConfig` retargeted to ``<root>/mining`` and to the starting policy."""
    if cfg.mine is None:
        raise UserError("arms with 'mined' need the experiment's 'mine' settings")
    policy = dataclasses.replace(cfg.mine.policy, name_or_path=starting_policy(cfg))
    return dataclasses.replace(cfg.mine, out=str(Layout(root).mining), policy=policy)


def mine_once(cfg: ExperimentConfig, root: Path, inputs: Inputs | None = None) -> dict[str, Any]:
    """Run every mining stage not yet complete with the current settings; return ``{"fingerprint": the pair
    stage's settings fingerprint (and the ``val_split``), "pairs": {arm: number of training pairs}}`` (the
    fingerprint enters every mined cell's settings, so re-mining or re-splitting refuses finished cells).
    The mining run's settings name the policy and the problem files; their content (``mining/inputs.json``)
    changed since mining started is refused, or the mining is rerun (``on_change``)."""
    from hn_lightning.mining.pipeline import STAGES, MiningPipeline

    mcfg = mining_config(cfg, root)
    layout, inputs = Layout(root), inputs or Inputs()
    problems = [s for s in (mcfg.problems.gsm8k, mcfg.problems.math, *(c.path for c in mcfg.problems.custom)) if s]
    current = functools.cache(lambda: {"pairs": {"policy": inputs.policy(mcfg.policy.name_or_path),
                                                 **inputs.files("problems file", problems)}})
    if reconcile("mining", layout.mining_inputs, layout.mining_inputs, None, current, cfg,
                 in_progress=layout.mining_manifest.is_file()):
        discard(layout.mining)
    layout.mining.mkdir(parents=True, exist_ok=True)
    atomic_write_json(layout.mining_inputs, {"inputs": current()})
    pipeline = MiningPipeline(mcfg)
    fingerprints = pipeline.fingerprints()
    todo = [s for s in STAGES if not pipeline.manifest.is_complete(s, fingerprints[s])]
    if todo:
        print(f"experiment: mining ({', '.join(todo)}) into {pipeline.out}", flush=True)
        pipeline.run(tuple(todo))
    else:
        log.info("mining: every stage finished earlier, skipping")
    counts = {arm: count_pairs(Layout(root).mined_pairs(arm)) for arm in MINED_ARMS}
    result = {"fingerprint": fingerprints["pair"], "pairs": counts}
    if cfg.val_split:
        split = split_mined(root, cfg.val_split, mcfg.seed, fingerprints["pair"])
        result.update(pairs=split["train_pairs"], heldout_pairs=split["heldout_pairs"],
                      fingerprint=f"{fingerprints['pair']}-split{cfg.val_split:g}")
    return result

"""Iterative rounds of ``cli.py experiment`` (``rounds:``): round k+1 is the whole experiment again with
the trained policy of round k's followed cell as starting policy (it samples and is mined with, it is the
DPO reference), in ``<out>/rounds/round<k>/``; ``<out>/rounds.csv`` and a section of ``<out>/report.md``
give the accuracy of every condition per round. Resumable like the rest: each round is an experiment."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hn_lightning.errors import UserError
from hn_lightning.experiments.config import ExperimentConfig
from hn_lightning.experiments.layout import Layout

__all__ = ["run_rounds", "round_config"]


def round_config(cfg: ExperimentConfig, k: int, previous_out: Path) -> ExperimentConfig:
    """Round ``k`` (>= 1): the experiment under ``<out>/rounds/round<k>`` from round k-1's followed policy."""
    rounds = cfg.rounds
    follow = Layout(previous_out).cell(f"{rounds.follow}-s{rounds.seed}").model
    return dataclasses.replace(cfg, out=str(Layout(cfg.out).round(k).root), policy=str(follow), rounds=None, sft=None)


def run_rounds(cfg: ExperimentConfig, first: list[dict[str, Any]], report_only: bool,
               run_round: Callable[[ExperimentConfig, bool], list[dict[str, Any]] | None]) -> int:
    """Run rounds 1..count after round 0 (``first``) with ``run_round`` (a whole experiment:
    :func:`hn_lightning.experiments.runner.run_round`, passed in so that imports run one way); write
    ``rounds.csv`` and append to the report."""
    from hn_lightning.experiments.report import rounds_section

    per_round = [first]
    previous = Path(cfg.out)
    for k in range(1, cfg.rounds.count + 1):
        sub = round_config(cfg, k, previous)
        if not report_only and not Path(sub.policy, "config.json").is_file():
            raise UserError(f"round {k}: the followed policy {sub.policy} does not exist")
        print(f"experiment: round {k}/{cfg.rounds.count} from {sub.policy}", flush=True)
        results = run_round(sub, report_only)
        if results is None:
            break
        per_round.append(results)
        previous = Path(sub.out)
    rounds_section(cfg, per_round, Path(cfg.out))
    return 0

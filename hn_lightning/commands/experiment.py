"""``python cli.py experiment --config configs/experiments/NAME.yaml``: a grid of DPO runs compared on
the same problems.

Cells = arm x loss x weighting x lambda x seed (see ``--print_config`` for every key). Each cell trains
from the same policy for the same number of steps on a derived copy of ``base_config`` and is evaluated
on the same problems; everything of a cell lives in ``<out>/cells/<cell>/`` (run_config.yaml, metrics,
checkpoints, hf_model, eval samples, cell.json). Then ``<out>/report.md``, ``cells.csv``,
``conditions.csv``, ``comparisons.csv`` (exact McNemar test, paired bootstrap interval, pooled over
seeds) and ``plots/*.png``.

With ``sft`` set, the starting policy is first fine-tuned into ``<out>/sft/hf_model`` (``configs/sft_demo.yaml``
and its steps); that SFT model then samples for mining, starts every cell and is their reference. With
``baseline: true`` the starting policy itself is evaluated on the same problems (``<out>/baseline/``) and
is a row of every table, paired with every condition.

With ``mine`` set, the training pairs are first mined once into ``<out>/mining/`` with the starting
policy (the ``cli.py mine`` stages) and arms with ``mined: hardneg|random|shuffled`` train on them.

Resumable: the mining stages and finished cells are skipped, an interrupted cell resumes (its fit from the last checkpoint, its
evaluation from the samples written), and a cell added to the YAML runs alone. Changing the settings of a
finished cell, or of any input it was trained or evaluated on (pair files by content, the policy, the
eval set), is refused with one line, or rerun with ``--on_change rerun``.

Examples:

  python cli.py experiment --config configs/experiments/demo.yaml        # = python cli.py demo
  python cli.py experiment --config configs/experiments/loss_variants.yaml
  python cli.py experiment --config configs/experiments/loss_variants.yaml --print_config
  python cli.py experiment --config configs/experiments/loss_variants.yaml --report_only true
"""
# This module is the command line only (parse, dispatch); the stages live in hn_lightning.experiments
# (runner.py runs them in order).

from __future__ import annotations

import sys

__all__ = ["main", "build_parser", "config_from_args"]


def build_parser():
    from hn_lightning.config_tools import dataclass_parser
    from hn_lightning.experiments.config import ExperimentConfig

    return dataclass_parser(ExperimentConfig, "cli.py experiment", __doc__, "YAML config (configs/experiments/*.yaml)",
                            "report_only", "Rewrite the report from the finished cells; train and evaluate nothing.")


def config_from_args(argv: list[str]):
    """``(ExperimentConfig, report_only)`` from a command line."""
    from hn_lightning.config_tools import parse_dataclass
    from hn_lightning.experiments.config import ExperimentConfig

    cfg, ns = parse_dataclass(build_parser(), ExperimentConfig, argv)
    return cfg, bool(ns.report_only)


def main(argv: list[str] | None = None) -> int:
    from hn_lightning.experiments.runner import run_experiment

    cfg, report_only = config_from_args(sys.argv[1:] if argv is None else argv)
    return run_experiment(cfg, report_only)


if __name__ == "__main__":
    sys.exit(main())

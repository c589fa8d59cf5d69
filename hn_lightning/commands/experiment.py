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
finished cell is refused (delete its folder to rerun it).

Examples:

  python cli.py experiment --config configs/experiments/demo.yaml        # = python cli.py demo
  python cli.py experiment --config configs/experiments/loss_variants.yaml
  python cli.py experiment --config configs/experiments/loss_variants.yaml --print_config
  python cli.py experiment --config configs/experiments/loss_variants.yaml --report_only true
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from hn_lightning.io.atomic import atomic_write_json

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


def run_round(cfg, report_only: bool) -> list[dict] | None:
    """Mine (when asked), train and evaluate every cell of ``cfg`` under ``cfg.out`` and write its report;
    the finished cells' results, or ``None`` when there is nothing to report."""
    import json

    from hn_lightning.commands.experiment_cells import run_cell
    from hn_lightning.commands.experiment_policy import baseline_name, run_baseline, run_sft, with_sft_policy
    from hn_lightning.experiments.config import check
    from hn_lightning.experiments.report import write_report

    root = Path(cfg.out)
    grid = check(cfg)
    t0 = time.time()
    stages: dict[str, float] = {}
    had_sft = cfg.sft is not None
    if had_sft:
        if report_only:
            cfg = with_sft_policy(cfg, root / "sft" / "hf_model")
        else:
            export, seconds = run_sft(cfg, root)
            cfg = with_sft_policy(cfg, export)
            if seconds is not None:
                stages["sft"] = seconds
    mining = None
    if cfg.val_split and cfg.mine is None and not report_only:  # held-out problems of the arms' pair files
        from hn_lightning.commands.experiment_split import split_files

        mining = split_files(cfg, root)
        print(f"experiment: {mining['heldout_pairs']} held-out pairs of {mining['heldout_problems']} problems "
              f"in {root / 'split' / 'val.jsonl'}; training pairs per arm: {mining['pairs']}", flush=True)
    elif (any(a.mined for a in cfg.grid.arms) or cfg.val_split) and not report_only:
        from hn_lightning.commands.experiment_mining import mine_once

        t_mine = time.time()
        mining = mine_once(cfg, root)
        stages["mine"] = time.time() - t_mine
        empty = [a.name for a in cfg.grid.arms if a.mined and not mining["pairs"][a.mined]]
        if empty:
            print(f"experiment: mining wrote no pairs for arm(s) {', '.join(empty)} (see {root / 'mining' / 'report.md'}); "
                  "mine more problems or loosen the selection", file=sys.stderr, flush=True)
            return None
    results = []
    if cfg.baseline:
        t_base = time.time()
        base = run_baseline(cfg, root, baseline_name(cfg, had_sft), report_only)
        if base is not None:
            results.append(base)
            stages[f"eval_{base['cell']}"] = time.time() - t_base
    for i, cell in enumerate(grid, 1):
        done = root / "cells" / cell.id / "cell.json"
        if report_only:
            if done.is_file():
                results.append(json.loads(done.read_text()))
            continue
        print(f"experiment: cell {i}/{len(grid)} {cell.id}", flush=True)
        t_cell = time.time()
        fingerprint = mining["fingerprint"] if mining else None
        if isinstance(fingerprint, dict):  # a file split: one fingerprint per arm
            fingerprint = fingerprint.get(cell.arm)
        results.append(run_cell(cfg, cell, root, fingerprint))
        stages[f"cell {cell.id}"] = time.time() - t_cell
    if not [r for r in results if not r.get("baseline")]:
        print(f"experiment: no finished cell under {root}/cells", flush=True)
        return None
    report = write_report(cfg, results, root)
    if not report_only:
        stages["total"] = time.time() - t0
        atomic_write_json(root / "stages.json", stages)
    headline = f"experiment: {len(results)}/{len(grid) + int(cfg.baseline)} cells in {time.time() - t0:.0f}s. Report: {report}"
    print(final_summary(root, headline, stages if not report_only else {}), flush=True)
    return results


def final_summary(root: Path, headline: str, stages: dict[str, float]) -> str:
    """What the run ends with: the accuracy table (``conditions.csv``), the paired comparisons in words,
    the wall time of every stage run now, and where the report, tables and plots are."""
    import csv

    lines = [""]
    conditions = root / "conditions.csv"
    if conditions.is_file():
        lines += ["| condition | seeds | correct / n | accuracy | 95% interval |", "| --- | ---: | ---: | ---: | --- |"]
        for r in csv.DictReader(open(conditions, encoding="utf-8")):
            lines.append(f"| {r['condition']} | {r['seeds']} | {r['correct']}/{r['n']} | {100 * float(r['accuracy']):.1f}% "
                         f"| {100 * float(r['ci_low']):.1f}-{100 * float(r['ci_high']):.1f}% |")
        comparisons = root / "comparisons.csv"
        if comparisons.is_file():
            lines.append("")
            for r in csv.DictReader(open(comparisons, encoding="utf-8")):
                lines.append(f"{r['b']} - {r['a']}: {100 * (0.0 - float(r['difference'])):+.1f} points (95% interval "
                             f"{100 * (0.0 - float(r['ci_high'])):+.1f} to {100 * (0.0 - float(r['ci_low'])):+.1f}), exact McNemar p = "
                             f"{float(r['p_value']):.3g} ({'distinguishable' if r['distinguishable'] == 'True' else 'not distinguishable'} "
                             "from noise at this size)")
    if stages:
        lines += ["", "Wall time (s): " + ", ".join(f"{k} {v:.0f}" for k, v in stages.items())]
    plots = sorted(p.name for p in (root / "plots").glob("*.png"))
    lines += ["", headline, f"experiment: tables {root}/*.csv; plots {root}/plots/ "
              f"({', '.join(plots)}; curves/, weights/)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    cfg, report_only = config_from_args(sys.argv[1:] if argv is None else argv)
    results = run_round(cfg, report_only)
    if results is None:
        return 2
    if cfg.rounds is not None:
        from hn_lightning.commands.experiment_rounds import run_rounds

        return run_rounds(cfg, results, report_only, run_round)
    return 0


if __name__ == "__main__":
    sys.exit(main())

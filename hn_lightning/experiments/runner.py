"""One experiment from its config: the stages in order, each skipped when finished and resumed when
interrupted (``python cli.py experiment``, :mod:`hn_lightning.commands.experiment`, parses the command
line and calls :func:`run_experiment`).

SFT (``sft:``, :mod:`~hn_lightning.experiments.policy`) -> the training pairs: mined
(:mod:`~hn_lightning.experiments.mining`, then split with ``val_split``) or the arms' files split with
``val_split`` (:mod:`~hn_lightning.experiments.split`) -> the baseline row (``baseline: true``) -> every
cell (:mod:`~hn_lightning.experiments.cells`; before the first, the design's planned minimum detectable
effect, :mod:`~hn_lightning.experiments.design`) -> ``stages.json`` and the report
(:mod:`~hn_lightning.experiments.report`) -> the rounds (``rounds:``, :mod:`~hn_lightning.experiments.rounds`),
each a whole experiment of its own.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from hn_lightning.errors import UserError
from hn_lightning.experiments.config import ExperimentConfig, check
from hn_lightning.experiments.layout import Layout
from hn_lightning.io.atomic import atomic_write_json
from hn_lightning.reports.words import design_line

__all__ = ["run_experiment", "run_round"]


def run_round(cfg: ExperimentConfig, report_only: bool) -> list[dict[str, Any]] | None:
    """Mine (when asked), train and evaluate every cell of ``cfg`` under ``cfg.out`` and write its report;
    the finished cells' results, or ``None`` when there is nothing to report."""
    from hn_lightning.experiments.cells import check_cells, pairs_fingerprint, run_cell
    from hn_lightning.experiments.policy import (
        baseline_name,
        run_baseline,
        run_sft,
        sft_start_model,
        with_sft_policy,
    )
    from hn_lightning.experiments.report import final_summary, write_report

    layout = Layout(cfg.out)
    root = layout.root
    try:
        grid = check(cfg)
    except ValueError as exc:  # a setting at fault: one line, like every other bad input
        raise UserError(str(exc)) from None
    inputs = None
    if not report_only:  # every input checked (and hashed once) before the first stage
        from hn_lightning.experiments.inputs import Inputs
        from hn_lightning.experiments.preflight import preflight

        inputs = Inputs()
        preflight(cfg, layout, inputs)
    t0 = time.time()
    stages: dict[str, float] = {}
    had_sft = cfg.sft is not None
    base_model = sft_start_model(cfg, root) if had_sft and cfg.base_row else None
    if had_sft:
        if report_only:
            cfg = with_sft_policy(cfg, layout.sft.model)
        else:
            export, seconds = run_sft(cfg, root, inputs)
            cfg = with_sft_policy(cfg, export)
            if seconds is not None:
                stages["sft"] = seconds
    mining = None
    if cfg.val_split and cfg.mine is None and not report_only:  # held-out problems of the arms' pair files
        from hn_lightning.experiments.split import split_files

        mining = split_files(cfg, root)
        print(f"experiment: {mining['heldout_pairs']} held-out pairs of {mining['heldout_problems']} problems "
              f"in {layout.file_split.heldout}; training pairs per arm: {mining['pairs']}", flush=True)
    elif (any(a.mined for a in cfg.grid.arms) or cfg.val_split) and not report_only:
        from hn_lightning.experiments.mining import mine_once

        t_mine = time.time()
        mining = mine_once(cfg, root, inputs)
        stages["mine"] = time.time() - t_mine
        empty = [a.name for a in cfg.grid.arms if a.mined and not mining["pairs"][a.mined]]
        if empty:
            print(f"experiment: mining wrote no pairs for arm(s) {', '.join(empty)} (see {layout.mining_report}); "
                  "mine more problems or loosen the selection", file=sys.stderr, flush=True)
            return None
    if inputs is not None:
        check_cells(cfg, grid, root, mining, inputs)
    results = []
    rows = [(baseline_name(cfg, had_sft), None, None)] if cfg.baseline else []
    if base_model is not None:
        rows.append(("base", base_model, layout.baseline_base))
    for name, model, folder in rows:
        t_base = time.time()
        base = run_baseline(cfg, root, name, report_only, inputs, policy=model, folder=folder)
        if base is not None:
            results.append(base)
            stages[f"eval_{name}"] = time.time() - t_base
    if cfg.eval is not None and not report_only:
        print(design_line(planned_design(cfg, results, root)), flush=True)
    for i, cell in enumerate(grid, 1):
        done = layout.cell(cell.id).result
        if report_only:
            if done.is_file():
                results.append(json.loads(done.read_text()))
            continue
        print(f"experiment: cell {i}/{len(grid)} {cell.id}", flush=True)
        t_cell = time.time()
        results.append(run_cell(cfg, cell, root, pairs_fingerprint(mining, cell.arm), inputs))
        stages[f"cell {cell.id}"] = time.time() - t_cell
    if not [r for r in results if not r.get("baseline")]:
        print(f"experiment: no finished cell under {root}/cells", flush=True)
        return None
    if not report_only:  # before the report, which tabulates it
        stages["total"] = time.time() - t0
        atomic_write_json(layout.stages, stages)
    report = write_report(cfg, results, root)
    headline = f"experiment: {len(results)}/{len(grid) + len(rows)} cells in {time.time() - t0:.0f}s. Report: {report}"
    print(final_summary(root, headline, stages if not report_only else {}), flush=True)
    return results


def planned_design(cfg: ExperimentConfig, results: list[dict[str, Any]], root) -> dict[str, Any]:
    """The planned design (before any cell; the baseline's outcomes count the problems when there are some),
    written to ``design.json``; the report rewrites it with the measured discordance."""
    from hn_lightning.experiments.design import design, eval_problems, write_design

    value = design(cfg, eval_problems(cfg, results), baselines=[r["condition"] for r in results if r.get("baseline")])
    write_design(root, value)
    return value


def run_experiment(cfg: ExperimentConfig, report_only: bool = False) -> int:
    """The whole experiment (its rounds included); the exit status: 2 when there is nothing to report."""
    results = run_round(cfg, report_only)
    if results is None:
        return 2
    if cfg.rounds is not None:
        from hn_lightning.experiments.rounds import run_rounds

        return run_rounds(cfg, results, report_only, run_round)
    return 0

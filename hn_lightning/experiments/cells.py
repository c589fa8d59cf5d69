"""One cell of ``cli.py experiment``: a ``fit`` on a derived copy of the base config, then the evaluation
of its exported model; every output in ``<out>/cells/<cell>/`` (:class:`~hn_lightning.experiments.layout.CellDir`).
Resumable: a cell with ``cell.json`` whose settings and inputs match is skipped; a cell without it resumes
its fit from ``checkpoints/last.ckpt`` (or skips the fit once ``hf_model/`` exists) and its evaluation from
the samples already written. A cell finished, or started, with other settings or inputs (pair files by
content, the policy, the eval set: :func:`cell_inputs`) is refused, or rerun with ``on_change: rerun``."""

from __future__ import annotations

import functools
import json
import logging
import time
from pathlib import Path
from typing import Any

from hn_lightning.experiments.config import ArmSpec, Cell, ExperimentConfig, resolve_config_path
from hn_lightning.experiments.inputs import Inputs, digest, discard, reconcile
from hn_lightning.experiments.layout import CellDir, Layout
from hn_lightning.experiments.stages import (
    eval_settings,
    evaluate_all,
    fit,
    merge_metrics,
    settings_hash,
    summarize_metrics,
)
from hn_lightning.io.atomic import atomic_write_json

log = logging.getLogger(__name__)

__all__ = ["cell_run_config", "training_files", "heldout_files", "cell_inputs", "pairs_fingerprint", "check_cells",
           "run_cell", "footing"]


def training_files(cfg: ExperimentConfig, arm: ArmSpec, layout: Layout) -> list[str]:
    """An arm's training pairs: its mined pair set (``mining/pairs/<mined>``, or ``mining/split/<mined>``
    with ``val_split``), its files minus the held-out problems (``split/<arm>``: ``val_split`` without
    ``mine``), else its ``train_files``."""
    if arm.mined:
        return [str(layout.mining_split.arm(arm.mined) if cfg.val_split else layout.mined_pairs(arm.mined))]
    if cfg.val_split and cfg.mine is None:
        return [str(layout.file_split.arm(arm.name))]
    return list(arm.train_files)


def heldout_files(cfg: ExperimentConfig, root: Path) -> list[str]:
    """The held-out pairs of every cell: the split's (``val_split``: of the mined pairs, or of the arms'
    files without ``mine``) and ``val_files``."""
    layout = Layout(root)
    split = layout.mining_split if cfg.mine is not None else layout.file_split
    return ([str(split.heldout)] if cfg.val_split else []) + list(cfg.val_files or [])


def cell_run_config(cfg: ExperimentConfig, cell: Cell, cell_dir: Path) -> dict[str, Any]:
    """The ``fit`` config of one cell: the base config retargeted to ``cell_dir`` with the cell's settings
    (``cell_dir`` being ``<out>/cells/<cell>``: the arm's pairs are found from ``<out>``)."""
    from hn_lightning.config_tools import retarget

    arm = next(a for a in cfg.grid.arms if a.name == cell.arm)
    loss = next(s for s in cfg.grid.losses if s.name == cell.loss)
    model = {**cfg.model, **({"name_or_path": cfg.policy} if cfg.policy else {})}
    root = cell_dir.parent.parent
    data: dict[str, Any] = {"train_files": training_files(cfg, arm, Layout(root)), "weighting": cell.weighting, "seed": cell.seed}
    if cell.lam is not None:
        data["dataset_weight_lambda"] = cell.lam
    trainer: dict[str, Any] = {"max_steps": cfg.max_steps}
    val_files = heldout_files(cfg, root)
    if val_files:
        data["val_files"] = val_files
    run = retarget(resolve_config_path(cfg.base_config), cell_dir, model, data, trainer)
    if val_files:  # validate once, after the last optimizer step (val_check_interval counts micro-batches)
        accumulate = int(run["trainer"].get("accumulate_grad_batches") or 1)
        run["trainer"].update({"limit_val_batches": 1.0, "num_sanity_val_steps": 0, "check_val_every_n_epoch": None,
                               "val_check_interval": cfg.max_steps * accumulate})
    run["seed_everything"] = cell.seed
    run["model"]["init_args"]["loss"] = {"class_path": loss.loss_class, "init_args": dict(loss.args)}
    callbacks = run["trainer"].get("callbacks") or []
    callbacks.append({"class_path": "hn_lightning.callbacks.pair_log.PairLog", "init_args": {"path": str(CellDir(cell_dir).pair_log)}})
    names = {c.get("class_path", "").rsplit(".", 1)[-1] for c in callbacks if isinstance(c, dict)}
    if "MemoryMonitor" not in names:
        callbacks.append({"class_path": "hn_lightning.callbacks.MemoryMonitor", "init_args": {"every_n_steps": 1}})
    callbacks.append({"class_path": "hn_lightning.callbacks.StepTimer"})
    run["trainer"]["callbacks"] = callbacks
    return run


def cell_inputs(cfg: ExperimentConfig, cell: Cell, root: Path, run: dict[str, Any], mining: str | None,
                inputs: Inputs) -> dict[str, dict[str, str]]:
    """What decides the cell's result, by group (:mod:`~hn_lightning.experiments.inputs`): ``train`` (the
    run settings, the starting policy, the arm's files, the pairs it trains on, the held-out pairs),
    ``kl`` (its settings), ``eval`` and ``eval_<name>`` (the task file and the settings)."""
    arm = next(a for a in cfg.grid.arms if a.name == cell.arm)
    train = {"settings": settings_hash(run, None, mining),
             "policy": inputs.policy(run["model"]["init_args"]["model"]["name_or_path"]),
             **inputs.files("train file", arm.train_files)}
    trains_on = run["data"]["init_args"]["train_files"]
    if trains_on != list(arm.train_files):  # mined or split pairs
        train.update(inputs.files("training pairs", trains_on))
    train.update(inputs.files("held-out file", run["data"]["init_args"].get("val_files") or []))
    groups = {"train": train}
    if cfg.kl is not None and heldout_files(cfg, root):
        groups["kl"] = {"settings": digest(vars(cfg.kl))}
    if cfg.eval is not None:
        groups["eval"] = inputs.eval_task(cfg.eval)
    for name, spec in cfg.extra_evals.items():
        groups[f"eval_{name}"] = inputs.eval_task(spec)
    return groups


def _discard_stale(out: CellDir, stale: set[str]) -> None:
    """Delete what ``stale`` groups invalidate: the whole cell for its training, else only the
    evaluations or the KL estimate that changed (the trained model is kept), and ``cell.json``."""
    if not stale:
        return
    if stale & {"*", "train"}:
        discard(out.path)
        return
    for group in stale:
        discard(out.kl if group == "kl" else out.eval(None if group == "eval" else group.removeprefix("eval_")))
    discard(out.result)


def pairs_fingerprint(mining: dict[str, Any] | None, arm: str) -> str | None:
    """The settings fingerprint of an arm's pairs from the pairs stage's result (mined pairs, or a file
    split: one per arm), for :func:`run_cell`."""
    fingerprint = mining["fingerprint"] if mining else None
    return fingerprint.get(arm) if isinstance(fingerprint, dict) else fingerprint


def _prepare(cfg: ExperimentConfig, cell: Cell, root: Path, mining: str | None, inputs: Inputs | None):
    """The cell's folder, run config, settings digest and input record (computed when first asked), after
    judging what it holds (refused, or the stale part deleted, as ``on_change`` says)."""
    out = Layout(root).cell(cell.id)
    run = cell_run_config(cfg, cell, out.path)
    mined = next(a for a in cfg.grid.arms if a.name == cell.arm).mined
    mining = mining if mined or cfg.val_split else None
    settings = settings_hash(run, eval_settings(cfg), mining)
    current = functools.cache(lambda: cell_inputs(cfg, cell, root, run, mining, inputs or Inputs()))
    stale = reconcile(f"cell {cell.id}", out.result, out.started, settings, current, cfg)
    _discard_stale(out, stale)
    if stale and out.path.is_dir():  # what is left (the trained model) matches today's record
        atomic_write_json(out.started, {"settings": settings, "inputs": current()})
    return out, run, settings, current


def check_cells(cfg: ExperimentConfig, grid: list[Cell], root: Path, mining: dict[str, Any] | None, inputs: Inputs) -> None:
    """Judge every finished or started cell before any cell trains, so that a changed input is refused
    (or its cells cleared for a rerun) at once, not after hours of other cells."""
    for cell in grid:
        _prepare(cfg, cell, root, pairs_fingerprint(mining, cell.arm), inputs)


def run_cell(cfg: ExperimentConfig, cell: Cell, root: Path, mining: str | None = None,
             inputs: Inputs | None = None) -> dict[str, Any]:
    """Train and evaluate one cell (or reuse its finished outputs); returns the content of ``cell.json``.
    ``mining``: the settings fingerprint of the pairs (cells of mined arms, or of any arm with ``val_split``);
    ``inputs``: the run's file fingerprints (a fresh set when not given). A cell finished or started with
    other settings or inputs is refused or rerun (``on_change``)."""
    from hn_lightning.config_tools import write_config

    out, run, settings, current = _prepare(cfg, cell, root, mining, inputs)
    if out.result.is_file():
        log.info("cell %s: finished earlier, skipping", cell.id)
        return json.loads(out.result.read_text())
    out.path.mkdir(parents=True, exist_ok=True)
    record = current()
    atomic_write_json(out.started, {"settings": settings, "inputs": record})
    write_config(run, out.run_config)
    if not out.exported:
        if out.last_checkpoint.is_file():
            log.info("resuming %s from %s", out.path.name, out.last_checkpoint)
        atomic_write_json(out.train_time, {"train_seconds": fit(out)})
    result: dict[str, Any] = {
        "cell": cell.id, "condition": cell.condition, "arm": cell.arm, "loss": cell.loss, "weighting": cell.weighting,
        "lambda": cell.lam, "seed": cell.seed, "settings": settings, "inputs": record, **footing(run),
        "train_seconds": json.loads(out.train_time.read_text())["train_seconds"] if out.train_time.is_file() else None,
        "metrics": summarize_metrics(merge_metrics(out)),
    }
    if cfg.kl is not None and heldout_files(cfg, root):
        from hn_lightning.experiments.kl import cell_kl

        result["kl"] = cell_kl(cfg, out, result["policy"], heldout_files(cfg, root))
    t0 = time.time()
    result.update(evaluate_all(cfg, out.model, out.path))
    result["eval_seconds"] = time.time() - t0
    atomic_write_json(out.result, result)
    return result


def footing(run: dict[str, Any]) -> dict[str, Any]:
    """What must be equal across cells: the starting policy, the pairs available, the pairs per step."""
    from hn_lightning.catalog import expand_paths
    from hn_lightning.io.jsonl import count_lines

    data = run["data"]["init_args"]
    accumulate = int(run["trainer"].get("accumulate_grad_batches") or 1)
    return {"policy": str(run["model"]["init_args"]["model"]["name_or_path"]),
            "pairs_available": count_lines(expand_paths(data["train_files"])),
            "pairs_per_step": int(data.get("micro_batch_size") or 1) * accumulate}

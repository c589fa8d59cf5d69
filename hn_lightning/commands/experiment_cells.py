"""Run one cell of ``cli.py experiment``: a ``fit`` on a derived copy of the base config, then ``eval`` of
its exported model; every output in ``<out>/cells/<cell>/``. Resumable: a cell with ``cell.json`` whose
settings match is skipped; a cell without it resumes its fit from ``checkpoints/last.ckpt`` (or skips the
fit once ``hf_model/`` exists) and its evaluation from the samples already written."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import statistics
import time
from pathlib import Path
from typing import Any

from hn_lightning.commands.experiment_mining import mined_pairs_dir
from hn_lightning.commands.experiment_split import file_heldout_file, file_split_dir
from hn_lightning.errors import UserError
from hn_lightning.experiments.config import Cell, ExperimentConfig
from hn_lightning.io.atomic import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

#: metrics.csv columns summarized per cell (last value seen, or the maximum for memory)
LAST_KEYS = ("train/loss", "train/loss_unweighted", "train/rewards/accuracy", "train/rewards/margins",
             "train/logps/chosen_drift_per_token", "train/logps/rejected_drift_per_token", "weights/ess_fraction",
             "val/loss_unweighted", "val/rewards/accuracy", "val/rewards/margins",
             "val/logps/chosen_drift_per_token", "val/logps/rejected_drift_per_token")


def resolve_config_path(path: str) -> Path:
    """``path`` as given when it exists, else relative to the repository (shipped configs)."""
    from hn_lightning.paths import REPO_ROOT

    p = Path(path)
    if p.is_file():
        return p
    if (REPO_ROOT / path).is_file():
        return REPO_ROOT / path
    raise FileNotFoundError(f"base_config {path}: no such file (relative paths are tried from here and from {REPO_ROOT})")


def cell_run_config(cfg: ExperimentConfig, cell: Cell, cell_dir: Path) -> dict[str, Any]:
    """The ``fit`` config of one cell: the base config retargeted to ``cell_dir`` with the cell's settings
    (a mined arm trains on ``<out>/mining/pairs/<mined>``, ``cell_dir`` being ``<out>/cells/<cell>``)."""
    from hn_lightning.config_tools import retarget

    arm = next(a for a in cfg.grid.arms if a.name == cell.arm)
    loss = next(s for s in cfg.grid.losses if s.name == cell.loss)
    model = {**cfg.model, **({"name_or_path": cfg.policy} if cfg.policy else {})}
    root = cell_dir.parent.parent
    if arm.mined:
        files = [str(mined_pairs_dir(root, arm.mined, bool(cfg.val_split)))]
    elif cfg.val_split and cfg.mine is None:  # the arm's files minus the held-out problems (experiment_split)
        files = [str(file_split_dir(root, arm.name))]
    else:
        files = list(arm.train_files)
    data: dict[str, Any] = {"train_files": files, "weighting": cell.weighting, "seed": cell.seed}
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
    callbacks.append({"class_path": "hn_lightning.callbacks.pair_log.PairLog", "init_args": {"path": str(cell_dir / "pair_log.csv")}})
    names = {c.get("class_path", "").rsplit(".", 1)[-1] for c in callbacks if isinstance(c, dict)}
    if "MemoryMonitor" not in names:
        callbacks.append({"class_path": "hn_lightning.callbacks.MemoryMonitor", "init_args": {"every_n_steps": 1}})
    callbacks.append({"class_path": "hn_lightning.callbacks.StepTimer"})
    run["trainer"]["callbacks"] = callbacks
    return run


def heldout_files(cfg: ExperimentConfig, root: Path) -> list[str]:
    """The held-out pairs of every cell: the split's (``val_split``: of the mined pairs, or of the arms'
    files without ``mine``) and ``val_files``."""
    from hn_lightning.commands.experiment_mining import heldout_pairs_file

    split = heldout_pairs_file(root) if cfg.mine is not None else file_heldout_file(root)
    return ([str(split)] if cfg.val_split else []) + list(cfg.val_files or [])


def settings_hash(run_config: dict[str, Any], eval_settings: dict[str, Any] | None, mining: str | None = None) -> str:
    """``mining``: the mining run's settings fingerprint, for cells that train on mined pairs."""
    extra = {"mining": mining} if mining else {}
    text = json.dumps({"run": run_config, "eval": eval_settings, **extra}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def merge_metrics(cell_dir: Path) -> Path | None:
    """Concatenate the ``csv/version_*/metrics.csv`` of every (resumed) fit of a cell into
    ``<cell>/metrics.csv`` (union of columns, versions in order). ``None`` when there is none."""
    files = sorted(cell_dir.glob("csv/version_*/metrics.csv"), key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))
    if not files:
        return None
    rows: list[dict[str, str]] = []
    columns: list[str] = []
    for f in files:
        with open(f, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns += [c for c in reader.fieldnames or [] if c not in columns]
            rows += list(reader)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(cell_dir / "metrics.csv", buffer.getvalue())
    return cell_dir / "metrics.csv"


def summarize_metrics(path: Path | None) -> dict[str, float]:
    """Last logged value of each of :data:`LAST_KEYS`, the last step, the peak memory and the median and
    mean of ``time/step_seconds`` (training batches only, :class:`~hn_lightning.callbacks.StepTimer`)."""
    if path is None:
        return {}
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    out: dict[str, float] = {}
    times = [float(r["time/step_seconds"]) for r in rows if r.get("time/step_seconds")]
    if times:
        out["time/step_seconds_median"] = statistics.median(times)
        out["time/step_seconds_mean"] = statistics.fmean(times)
    for row in rows:
        for key in LAST_KEYS:
            if row.get(key):
                out[key] = float(row[key])
        if row.get("memory/peak_gib"):
            out["memory/peak_gib"] = max(out.get("memory/peak_gib", 0.0), float(row["memory/peak_gib"]))
        if row.get("step") and row.get("train/loss"):
            out["steps"] = float(row["step"]) + 1
    return out


def read_outcomes(eval_dir: Path) -> dict[str, Any]:
    """``{"summary": ..., "outcomes": {id: 0/1}}`` from the single task folder under ``eval_dir``."""
    from hn_lightning.io.jsonl import iter_jsonl

    samples = sorted(eval_dir.glob("*/samples.jsonl"))
    if len(samples) != 1:
        raise RuntimeError(f"{eval_dir}: expected one task folder with samples.jsonl, found {len(samples)}")
    summary = json.loads((samples[0].parent / "summary.json").read_text())
    outcomes = {str(rec["id"]): int(bool(rec["correct"])) for _, rec in iter_jsonl(samples[0])}
    return {"summary": {k: summary.get(k) for k in ("task", "n", "correct", "accuracy", "ci95")}, "outcomes": outcomes}


def run_cell(cfg: ExperimentConfig, cell: Cell, root: Path, mining: str | None = None) -> dict[str, Any]:
    """Train and evaluate one cell (or reuse its finished outputs); returns the content of ``cell.json``.
    ``mining``: the settings fingerprint of the mined pairs (cells of mined arms)."""
    from hn_lightning.config_tools import write_config

    cell_dir = root / "cells" / cell.id
    run = cell_run_config(cfg, cell, cell_dir)
    eval_settings = vars(cfg.eval) if cfg.eval is not None else None
    if cfg.extra_evals:
        eval_settings = {"eval": eval_settings, "extra": {k: vars(v) for k, v in cfg.extra_evals.items()}}
    mined = next(a for a in cfg.grid.arms if a.name == cell.arm).mined
    digest = settings_hash(run, eval_settings, mining if mined or cfg.val_split else None)
    done = cell_dir / "cell.json"
    if done.is_file():
        result = json.loads(done.read_text())
        if result.get("settings") == digest:
            log.info("cell %s: finished earlier, skipping", cell.id)
            return result
        raise UserError(f"cell {cell.id}: {done} was made with other settings; delete {cell_dir} to rerun it")
    cell_dir.mkdir(parents=True, exist_ok=True)
    started = cell_dir / "settings.json"  # an interrupted cell resumes only with the settings it started with
    if started.is_file() and json.loads(started.read_text()).get("settings") != digest:
        raise UserError(f"cell {cell.id}: {cell_dir} was started with other settings (pairs, split or run config); "
                        f"delete {cell_dir} to rerun it")
    atomic_write_json(started, {"settings": digest})
    write_config(run, cell_dir / "run_config.yaml")
    train_file = cell_dir / "train.json"
    if not (cell_dir / "hf_model" / "config.json").is_file():
        train_seconds = _fit(cell_dir)
        atomic_write_json(train_file, {"train_seconds": train_seconds})
    result: dict[str, Any] = {
        "cell": cell.id, "condition": cell.condition, "arm": cell.arm, "loss": cell.loss, "weighting": cell.weighting,
        "lambda": cell.lam, "seed": cell.seed, "settings": digest, **footing(run),
        "train_seconds": json.loads(train_file.read_text())["train_seconds"] if train_file.is_file() else None,
        "metrics": summarize_metrics(merge_metrics(cell_dir)),
    }
    if cfg.kl is not None and heldout_files(cfg, root):
        result["kl"] = _kl(cfg, cell_dir, result["policy"], heldout_files(cfg, root))
    t0 = time.time()
    if cfg.eval is not None:
        evaluate(cfg.eval, cell_dir / "hf_model", cell_dir / "eval")
        result.update(read_outcomes(cell_dir / "eval"))
    for name, spec in cfg.extra_evals.items():
        evaluate(spec, cell_dir / "hf_model", cell_dir / f"eval_{name}")
        result.setdefault("extra_evals", {})[name] = read_outcomes(cell_dir / f"eval_{name}")
    result["eval_seconds"] = time.time() - t0
    atomic_write_json(done, result)
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


def _fit(cell_dir: Path) -> float:
    from hn_lightning.cli import lightning_main

    args = ["fit", "--config", str(cell_dir / "run_config.yaml")]
    last = cell_dir / "checkpoints" / "last.ckpt"
    if last.is_file():
        log.info("resuming %s from %s", cell_dir.name, last)
        args += ["--ckpt_path", str(last)]
    t0 = time.time()
    lightning_main(args)
    return time.time() - t0


def _kl(cfg: ExperimentConfig, cell_dir: Path, reference: str, val_files: list[str]) -> dict[str, Any]:
    """The cell's sampled KL estimate (``kl.json``, computed once)."""
    from hn_lightning.commands.experiment_kl import estimate_kl, heldout_prompts

    path = cell_dir / "kl.json"
    if not path.is_file():
        spec = cfg.kl
        prompts = heldout_prompts(val_files, spec.prompts)
        kl = estimate_kl(cell_dir / "hf_model", reference, prompts, spec.max_new_tokens, spec.seed,
                         dtype=str(cfg.model.get("dtype", "auto")))
        atomic_write_json(path, kl)
    return json.loads(path.read_text())


def evaluate(spec, model: str | Path, out: Path) -> None:
    """``cli.py eval`` of ``model`` with the settings of ``spec`` (an :class:`EvalSpec`) into ``out`` (resumes
    from the samples already written)."""
    from hn_lightning.commands.eval import main as eval_main

    argv = ["--model", str(model), "--task", spec.task, "--out", str(out),
            "--max_new_tokens", str(spec.max_new_tokens), "--batch_size", str(spec.batch_size), "--no_progress"]
    if spec.limit is not None:
        argv += ["--limit", str(spec.limit)]
    rc = eval_main(argv)
    if rc:
        raise RuntimeError(f"evaluation of {model} failed (exit {rc}); rerun the experiment to resume")

"""The starting policy of ``cli.py experiment``: which model it is, the optional SFT stage (``sft:``) that
makes it, and its evaluation as the baseline row (``baseline: true``).

- SFT: a ``fit`` of ``sft.config`` retargeted to ``<out>/sft/`` (``run_config.yaml``, ``csv/``,
  ``checkpoints/``, ``hf_model/``). Finished (``sft.json`` with the same settings and inputs): skipped;
  interrupted: resumed from ``checkpoints/last.ckpt``; finished or started with other settings or inputs
  (its data files by content, the model it starts from): refused, or rerun (``on_change: rerun``).
- Baseline: the Step-DPO evaluation of the starting policy on the experiment's ``eval`` problems into
  ``<out>/baseline/eval/``, summarized in ``<out>/baseline/baseline.json`` like a cell's ``cell.json``
  (``baseline: true``, no seed: the report pairs it with every seed of every condition).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import time
from pathlib import Path
from typing import Any

from hn_lightning.errors import UserError
from hn_lightning.experiments.config import ExperimentConfig, read_base_config, resolve_config_path
from hn_lightning.experiments.inputs import Inputs, discard, reconcile
from hn_lightning.experiments.layout import Layout
from hn_lightning.experiments.stages import eval_settings, evaluate_all, fit, merge_metrics, settings_hash
from hn_lightning.io.atomic import atomic_write_json

log = logging.getLogger(__name__)

__all__ = ["starting_policy", "run_sft", "sft_run_config", "with_sft_policy", "run_baseline", "baseline_name",
           "sft_start_model"]


def starting_policy(cfg: ExperimentConfig) -> str:
    """The policy every cell starts from: ``policy``, else the base config's model."""
    if cfg.policy:
        return cfg.policy
    base = read_base_config(cfg)
    try:
        return str(base["model"]["init_args"]["model"]["name_or_path"])
    except (KeyError, TypeError) as exc:
        raise UserError(f"{cfg.base_config}: no model.init_args.model.name_or_path; set the experiment's policy") from exc


def sft_run_config(cfg: ExperimentConfig, root: Path) -> dict[str, Any]:
    """The SFT ``fit`` config: ``sft.config`` retargeted to ``<root>/sft`` with the experiment's model
    overrides (``policy`` as the base model when set) and ``sft.max_steps``."""
    from hn_lightning.config_tools import retarget

    model = {**cfg.model, **({"name_or_path": cfg.policy} if cfg.policy else {})}
    return retarget(resolve_config_path(cfg.sft.config), Layout(root).sft.path, model, None, {"max_steps": cfg.sft.max_steps})


def run_sft(cfg: ExperimentConfig, root: Path, inputs: Inputs | None = None) -> tuple[Path, float | None]:
    """Run (or skip, or resume) the SFT stage; ``(exported model directory, seconds spent now or None)``.
    Its inputs: the settings, the model it starts from and its data files (by content); changed since
    it finished or started, it is refused or rerun (``on_change``; every later stage depends on it, and
    sees the new model by the content of its weights)."""
    from hn_lightning.config_tools import write_config

    layout = Layout(root)
    sft, marker = layout.sft, layout.sft_marker
    run = sft_run_config(cfg, root)
    settings = settings_hash(run, None, None)
    inputs = inputs or Inputs()
    data = run.get("data", {}).get("init_args", {})

    @functools.cache
    def current() -> dict[str, dict[str, str]]:
        return {"train": {"settings": settings, "policy": inputs.policy(run["model"]["init_args"]["model"]["name_or_path"]),
                          **inputs.files("SFT data file", [*(data.get("train_files") or []), *(data.get("val_files") or [])])}}

    if reconcile("SFT", marker, layout.sft_started, settings, current, cfg, in_progress=sft.last_checkpoint.is_file()):
        discard(sft.path)
    if marker.is_file() and sft.exported:
        log.info("SFT: finished earlier (%s), skipping", sft.model)
        return sft.model, None
    t0 = time.time()
    if not sft.exported:
        sft.path.mkdir(parents=True, exist_ok=True)
        atomic_write_json(layout.sft_started, {"settings": settings, "inputs": current()})
        write_config(run, sft.run_config)
        if sft.last_checkpoint.is_file():
            print(f"experiment: resuming SFT from {sft.last_checkpoint}", flush=True)
        else:
            print(f"experiment: SFT ({cfg.sft.max_steps} steps of {cfg.sft.config}) into {sft.path}", flush=True)
        fit(sft)
    merge_metrics(sft)  # <out>/sft/metrics.csv: the report's SFT curves
    seconds = time.time() - t0
    atomic_write_json(marker, {"settings": settings, "inputs": current(), "model": str(sft.model), "train_seconds": seconds})
    return sft.model, seconds


def with_sft_policy(cfg: ExperimentConfig, export: Path) -> ExperimentConfig:
    """``cfg`` with the SFT model as the starting policy (and no SFT stage left)."""
    return dataclasses.replace(cfg, policy=str(export), sft=None)


def baseline_name(cfg: ExperimentConfig, had_sft: bool) -> str:
    return "sft" if had_sft else "policy"


def sft_start_model(cfg: ExperimentConfig, root: Path) -> str:
    """The model the SFT stage starts from (``policy``, else the SFT config's): the ``base`` row."""
    return str(sft_run_config(cfg, root)["model"]["init_args"]["model"]["name_or_path"])


def run_baseline(cfg: ExperimentConfig, root: Path, name: str, report_only: bool = False,
                 inputs: Inputs | None = None, policy: str | None = None, folder: Path | None = None
                 ) -> dict[str, Any] | None:
    """Evaluate ``policy`` (default: the starting policy, ``cfg.policy`` after :func:`with_sft_policy`, else
    the base config's) on ``cfg.eval`` and every ``cfg.extra_evals`` task into ``folder`` (default
    ``<out>/baseline``); returns the content of its ``baseline.json`` (None under ``report_only`` when not
    done). Its inputs (the policy by content, the task files) changed since: refused or rerun (``on_change``)."""
    policy = policy or starting_policy(cfg)
    settings = settings_hash({"policy": policy, "model": cfg.model}, eval_settings(cfg), None)
    folder = folder or Layout(root).baseline
    marker, started = folder / "baseline.json", folder / "settings.json"
    if report_only:
        done = json.loads(marker.read_text()) if marker.is_file() else None
        return done if done and done.get("settings") == settings else None
    inputs = inputs or Inputs()

    @functools.cache
    def current() -> dict[str, dict[str, str]]:
        groups = {"eval": {**inputs.eval_task(cfg.eval), "policy": inputs.policy(policy)}}
        for extra, spec in cfg.extra_evals.items():
            groups[f"eval_{extra}"] = inputs.eval_task(spec)
        return groups

    if reconcile(folder.name, marker, started, settings, current, cfg, in_progress=(folder / "eval").exists()):
        discard(folder)
    if marker.is_file():
        return json.loads(marker.read_text())
    print(f"experiment: evaluating {name} ({policy})", flush=True)
    t0 = time.time()
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(started, {"settings": settings, "inputs": current()})
    result = {"cell": name, "condition": name, "arm": name, "loss": "", "weighting": "", "lambda": None, "seed": None,
              "baseline": True, "settings": settings, "inputs": current(), "policy": policy,
              **evaluate_all(cfg, policy, folder)}
    result["eval_seconds"] = time.time() - t0
    atomic_write_json(marker, result)
    return result

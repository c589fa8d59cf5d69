"""What every stage of an experiment is made of: a resumable ``fit`` of a run config, a resumable
evaluation, the settings fingerprint that refuses changed stages, and the metrics summary of a fit.

Training runs through :func:`hn_lightning.cli.lightning_main` (LightningCLI with the package's callbacks)
and evaluation through ``cli.py eval`` (:func:`hn_lightning.commands.eval.main`: the same settings
record, resume and output as the command), which puts this package in the top layer with ``cli`` and
``commands`` (tests/test_import_layers.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import statistics
import time
from pathlib import Path
from typing import Any

from hn_lightning.experiments.layout import FitDir
from hn_lightning.io.atomic import atomic_write_text

__all__ = ["LAST_KEYS", "settings_hash", "fit", "evaluate", "read_outcomes", "merge_metrics", "summarize_metrics"]

#: metrics.csv columns summarized per cell (last value seen, or the maximum for memory)
LAST_KEYS = ("train/loss", "train/loss_unweighted", "train/rewards/accuracy", "train/rewards/margins",
             "train/logps/chosen_drift_per_token", "train/logps/rejected_drift_per_token", "weights/ess_fraction",
             "val/loss_unweighted", "val/rewards/accuracy", "val/rewards/margins",
             "val/logps/chosen_drift_per_token", "val/logps/rejected_drift_per_token")


def settings_hash(run_config: dict[str, Any], eval_settings: dict[str, Any] | None, mining: str | None = None) -> str:
    """``mining``: the mining run's settings fingerprint, for cells that train on mined pairs."""
    extra = {"mining": mining} if mining else {}
    text = json.dumps({"run": run_config, "eval": eval_settings, **extra}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fit(run: FitDir) -> float:
    """``fit`` of ``run.run_config``, resumed from ``run.last_checkpoint`` when there is one; seconds spent."""
    from hn_lightning.cli import lightning_main

    args = ["fit", "--config", str(run.run_config)]
    if run.last_checkpoint.is_file():
        args += ["--ckpt_path", str(run.last_checkpoint)]
    t0 = time.time()
    lightning_main(args)
    return time.time() - t0


def eval_settings(cfg) -> dict[str, Any] | None:
    """The evaluation settings that enter a stage's fingerprint (``cfg``: an ``ExperimentConfig``): the main
    ``eval``'s, with the ``extra_evals``' beside them only when there are some (folders evaluated before
    extra tasks existed keep their fingerprint)."""
    settings = cfg.eval.settings() if cfg.eval is not None else None
    if cfg.extra_evals:
        settings = {"eval": settings, "extra": {k: v.settings() for k, v in cfg.extra_evals.items()}}
    return settings


def evaluate_all(cfg, model: str | Path, folder: Path) -> dict[str, Any]:
    """Evaluate ``model`` on ``cfg.eval`` into ``<folder>/eval`` and on every ``cfg.extra_evals`` task into
    ``<folder>/eval_<name>``; the outcomes (:func:`read_outcomes`, the extra ones under ``extra_evals``)."""
    result: dict[str, Any] = {}
    if cfg.eval is not None:
        evaluate(cfg.eval, model, folder / "eval")
        result.update(read_outcomes(folder / "eval"))
    for name, spec in cfg.extra_evals.items():
        evaluate(spec, model, folder / f"eval_{name}")
        result.setdefault("extra_evals", {})[name] = read_outcomes(folder / f"eval_{name}")
    return result


def evaluate(spec, model: str | Path, out: Path) -> None:
    """``cli.py eval`` of ``model`` with the settings of ``spec`` (an :class:`EvalSpec`) into ``out`` (resumes
    from the samples already written)."""
    from hn_lightning.commands.eval import main as eval_main

    argv = ["--model", str(model), "--task", spec.task, "--out", str(out),
            "--max_new_tokens", str(spec.max_new_tokens), "--batch_size", str(spec.batch_size), "--no_progress",
            "--prompt", spec.prompt, *(["--calculator"] if spec.calculator else [])]
    if spec.limit is not None:
        argv += ["--limit", str(spec.limit)]
    rc = eval_main(argv)
    if rc:
        raise RuntimeError(f"evaluation of {model} failed (exit {rc}); rerun the experiment to resume")


def read_outcomes(eval_dir: Path) -> dict[str, Any]:
    """``{"summary": ..., "outcomes": {id: 0/1}}`` from the single task folder under ``eval_dir``."""
    from hn_lightning.io.jsonl import iter_jsonl

    samples = sorted(eval_dir.glob("*/samples.jsonl"))
    if len(samples) != 1:
        raise RuntimeError(f"{eval_dir}: expected one task folder with samples.jsonl, found {len(samples)}")
    summary = json.loads((samples[0].parent / "summary.json").read_text())
    outcomes = {str(rec["id"]): int(bool(rec["correct"])) for _, rec in iter_jsonl(samples[0])}
    return {"summary": {k: summary.get(k) for k in ("task", "n", "correct", "accuracy", "ci95")}, "outcomes": outcomes}


def merge_metrics(run: FitDir) -> Path | None:
    """Concatenate the ``csv/version_*/metrics.csv`` of every (resumed) fit into ``run.metrics`` (union of
    columns, versions in order). ``None`` when there is none."""
    files = run.logged_metrics()
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
    atomic_write_text(run.metrics, buffer.getvalue())
    return run.metrics


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

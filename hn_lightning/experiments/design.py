"""The design of an experiment's evaluation: problems, seeds and cells, and the smallest accuracy difference
it can detect (:func:`~hn_lightning.experiments.stats.mcnemar_mde`, 80% power, the experiment's ``alpha``):
*planned* from ``design_discordance`` before the first cell trains, *measured* from the discordance of the
comparisons between trained conditions once they are evaluated.

One dict (:func:`design`) is written to ``<out>/design.json``; ``report.md`` and ``report.html`` render its
Design section from it with the same words (:func:`hn_lightning.reports.words.design_sentences`), and the
runner prints :func:`hn_lightning.reports.words.design_line`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hn_lightning.experiments.config import ExperimentConfig, cells
from hn_lightning.experiments.layout import Layout
from hn_lightning.experiments.stats import DESIGN_POWER, mcnemar_mde
from hn_lightning.io.atomic import atomic_write_json

__all__ = ["eval_problems", "design", "write_design"]


def eval_problems(cfg: ExperimentConfig, results: Sequence[dict[str, Any]] = ()) -> int | None:
    """Problems of the main evaluation: those of an evaluated result (the baseline's, before any cell), else
    the task's (``cfg.eval.task`` up to ``limit``, read from its file); ``None`` without ``eval``."""
    for r in results:
        if "outcomes" in r:
            return len(r["outcomes"])
    if cfg.eval is None:
        return None
    from hn_lightning.evaluation.tasks import load_task

    return len(load_task(cfg.eval.task, cfg.eval.limit))


def design(cfg: ExperimentConfig, problems: int, comparisons: Sequence[dict[str, Any]] = (),
           baselines: Sequence[str] = ()) -> dict[str, Any]:
    """The design as a dict (the content of ``design.json``).

    Args:
        cfg: the experiment (seeds, cells, ``alpha``, ``design_discordance``).
        problems: evaluation problems (:func:`eval_problems`).
        comparisons: the main evaluation's comparison rows (``PairedComparison.as_row()``); those between two
            trained conditions (no baseline row) give the measured discordance, pooled: the sum of their
            discordant outcomes over the sum of their paired outcomes.
        baselines: the baseline rows' condition names (``sft`` or ``policy``, ``base``).

    Keys: ``problems``, ``seeds``, ``paired_outcomes`` (problems x seeds: a comparison's ``n``), ``cells``
    (trained cells of the grid), ``baselines``, ``alpha``, ``power``, ``assumed_discordance``,
    ``planned_mde`` (``None`` without an assumed discordance, or with under 4 paired outcomes) and ``measured`` (``None`` before two trained
    conditions are compared, else ``comparisons``, ``discordant``, ``outcomes``, ``discordance``, ``mde``).
    """
    seeds = len(cfg.grid.seeds)
    n = problems * seeds
    assumed = cfg.design_discordance
    measured = None
    between = [c for c in comparisons if c["a"] not in baselines and c["b"] not in baselines]
    if between:
        discordant = sum(int(c["a_only"]) + int(c["b_only"]) for c in between)
        outcomes = sum(int(c["n"]) for c in between)
        rate = discordant / outcomes
        measured = {"comparisons": len(between), "discordant": discordant, "outcomes": outcomes, "discordance": rate,
                    "mde": _mde(n, rate, cfg.alpha)}
    return {"problems": problems, "seeds": seeds, "paired_outcomes": n, "cells": len(cells(cfg.grid)),
            "baselines": list(baselines), "alpha": cfg.alpha, "power": DESIGN_POWER, "assumed_discordance": assumed,
            "planned_mde": _mde(n, assumed, cfg.alpha), "measured": measured}


def _mde(n: int, discordance: float | None, alpha: float) -> float | None:
    """:func:`mcnemar_mde`, ``None`` where it is undefined (no discordance, too few outcomes)."""
    if not discordance or n < 1:
        return None
    value = mcnemar_mde(n, discordance, alpha)
    return value if math.isfinite(value) else None


def write_design(root: str | Path, value: dict[str, Any]) -> Path:
    """Write ``<root>/design.json`` atomically; returns its path."""
    path = Layout(root).design
    atomic_write_json(path, value)
    return path

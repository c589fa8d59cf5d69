"""The HTML report of an experiment (``<out>/report.html``), from its output folder.

Reads what ``report.md`` is made from: ``design.json``, ``cells.csv``, ``conditions*.csv``,
``comparisons*.csv``, ``rounds.csv``, ``stages.csv``, ``baseline/baseline.json`` and
``cells/<cell>/cell.json``; the plots
are the PNGs the experiment drew under ``plots/`` (from those CSVs), inlined; when the experiment mined
its pairs, ``mining/`` adds the funnel and the pair tables of :mod:`hn_lightning.reports.mining`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hn_lightning.reports.items import read_json
from hn_lightning.reports.mining import DEFAULT_MAX_PAIRS, MiningSummary, is_mining_run, mining_summary
from hn_lightning.reports.render import png_data_uri, write_html
from hn_lightning.reports.words import (
    BASELINE_ROWS,
    FOOTING,
    comparison_sentence,
    design_sentences,
    footing_checks,
)

__all__ = ["FOOTING", "comparison_sentence", "footing_checks", "is_experiment", "write_experiment_report"]

CELL_COLUMNS = ("cell", "steps", "seconds_per_step", "peak_memory_gib", "train_loss", "reward_accuracy", "reward_margin",
                "val_reward_accuracy", "val_reward_margin", "kl_sampled", "weight_mean", "weight_std", "weight_min", "weight_max",
                "weight_clipped", "n", "accuracy", "ci_low", "ci_high")
"""The ``cells.csv`` columns of the cells table (every column is in the CSV; empty ones are left out)."""


BASELINE_FOLDERS = {"sft": "baseline", "policy": "baseline", "base": "baseline_base"}
"""Each baseline row's folder under an experiment's output (as :class:`hn_lightning.experiments.layout.Layout`
writes it): ``baseline.json``, ``eval/``."""

@dataclass
class Plot:
    title: str
    uri: str
    path: str


@dataclass
class Task:
    """The accuracy tables of one evaluation task (``suffix``: ``""`` or ``_<name>`` of extra evaluations)."""

    name: str
    suffix: str
    conditions: list[dict[str, Any]]
    comparisons: list[dict[str, Any]]
    sentences: list[str]
    plots: list[Plot]


@dataclass
class CellCard:
    name: str
    folder: str
    """Relative link to the cell's folder."""
    baseline: bool
    facts: dict[str, Any]
    plots: list[Plot]
    files: list[str] = field(default_factory=list)


def _value(text: str) -> Any:
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text)


def read_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV the experiment wrote, numbers as numbers (empty: ``None``); ``[]`` when missing."""
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return [{k: _value(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def is_experiment(folder: Path) -> bool:
    return (folder / "cells.csv").is_file()


class _Plots:
    """The PNGs under ``plots/``; each one handed out once, the rest shown at the end."""

    def __init__(self, root: Path):
        self.root = root
        self.left = {p.relative_to(root).as_posix(): p for p in sorted((root / "plots").rglob("*.png"))}

    def take(self, rel: str, title: str) -> list[Plot]:
        path = self.left.pop(rel, None)
        return [Plot(title, png_data_uri(path), rel)] if path is not None else []

    def rest(self) -> list[Plot]:
        return [Plot(rel, png_data_uri(p), rel) for rel, p in self.left.items()]


def _tasks(root: Path, plots: _Plots) -> list[Task]:
    tasks = []
    for path in sorted(root.glob("conditions*.csv")):
        suffix = path.stem[len("conditions"):]
        comps = read_csv(root / f"comparisons{suffix}.csv")
        tasks.append(Task(suffix.lstrip("_") or "main evaluation", suffix, read_csv(path), comps,
                          [comparison_sentence(c) for c in comps],
                          plots.take(f"plots/accuracy{suffix}.png", "accuracy per cell (Wilson 95% interval)")
                          + plots.take(f"plots/forest{suffix}.png", "paired accuracy differences (bootstrap 95% interval)")))
    return tasks


def _cards(root: Path, rows: list[dict[str, Any]], baselines: list[str], plots: _Plots) -> list[CellCard]:
    cards = []
    for r in rows:
        name = str(r["cell"])
        is_base = name in baselines
        folder = BASELINE_FOLDERS[name] if is_base else f"cells/{name}"
        result = read_json(root / folder / ("baseline.json" if is_base else "cell.json"))
        facts = {"accuracy": r.get("accuracy"), "correct / n": f"{r.get('correct')}/{r.get('n')}" if r.get("n") else None,
                 "train seconds": r.get("train_seconds"), "eval seconds": result.get("eval_seconds"),
                 "steps": r.get("steps"), "train loss": r.get("train_loss"), "reward accuracy": r.get("reward_accuracy")}
        files = [f for f in ("cell.json", "baseline.json", "run_config.yaml", "metrics.csv", "pair_log.csv", "kl.json")
                 if (root / folder / f).is_file()]
        cards.append(CellCard(name, folder, is_base, {k: v for k, v in facts.items() if v is not None},
                              plots.take(f"plots/curves/{name}.png", f"training curves: {name}")
                              + plots.take(f"plots/weights/{name}.png", f"pair weights: {name}"), files))
    return cards


def write_experiment_report(root: str | Path, max_pairs: int = DEFAULT_MAX_PAIRS) -> Path:
    """Write ``<root>/report.html`` of the experiment output folder ``root``; returns its path."""
    root = Path(root)
    rows = read_csv(root / "cells.csv")
    if not rows:
        raise FileNotFoundError(f"{root}: no cells.csv with rows (has the experiment written its report?)")
    baselines = [name for name, folder in BASELINE_FOLDERS.items()
                 if read_json(root / folder / "baseline.json").get("cell") == name]
    trained = [r for r in rows if r["cell"] not in baselines]
    plots = _Plots(root)
    columns = [c for c in CELL_COLUMNS if any(r.get(c) is not None for r in rows)]
    sft = plots.take("plots/curves/sft.png", "SFT training curves")
    mined = is_mining_run(root / "mining") and (root / "mining" / "funnel.json").is_file()
    mining: MiningSummary | None = mining_summary(root / "mining", max_pairs) if mined else None
    funnel = plots.take("plots/funnel.png", "mining funnel")
    tasks = _tasks(root, plots)
    cards = _cards(root, rows, baselines, plots)
    rounds = read_csv(root / "rounds.csv")
    round_links = sorted(p.parent.relative_to(root).as_posix() for p in root.glob("rounds/round*/report.html"))
    stages = read_csv(root / "stages.csv")
    design = read_json(root / "design.json")
    policies = sorted({str(r["policy"]) for r in rows if r.get("policy")})
    return write_html(root / "report.html", "experiment.html.j2", title=f"Experiment report: {root}", source=str(root),
                      design=design_sentences(design) if design else [],
                      design_comparisons=read_csv(root / "comparisons.csv") if design else [], rows=rows, columns=columns, trained=trained, baselines=[(b, BASELINE_ROWS[b]) for b in baselines], footing=footing_checks(trained),
                      tasks=tasks, cards=cards, sft=sft, funnel=funnel, mining=mining, rounds=rounds,
                      round_links=round_links, stages=stages, policies=policies, other_plots=plots.rest())

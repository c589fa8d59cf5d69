"""PNG plots of an experiment, drawn with matplotlib (Agg, no display, no pyplot global state) from the
CSV files the experiment writes, so every number on a plot can be traced to a CSV row:

- :func:`plot_training_curves`: one panel per metric against the optimizer step (Lightning's
  ``CSVLogger`` ``metrics.csv`` of one cell; sparse rows are fine).
- :func:`plot_weight_histogram`: histogram of the normalized per-pair weights (a ``weight`` column).
- :func:`plot_accuracy`: accuracy per cell with its 95% interval (``cell, accuracy, ci_low, ci_high``).
- :func:`plot_funnel`: samples left after each mining stage (``funnel.csv`` from ``funnel.json``).
- :func:`plot_forest`: paired differences between cells with their bootstrap intervals
  (``a, b, difference, ci_low, ci_high, p_value``), a line at 0.

Each function writes the PNG atomically and returns the :class:`matplotlib.figure.Figure` (tests read the
plotted data back from its artists).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hn_lightning.io.atomic import atomic_writer

DEFAULT_CURVES = ("train/loss", "train/rewards/margins", "train/rewards/accuracy", "weights/std")


def read_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a CSV file with a header; ``ValueError`` naming the file when it has none."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path}: no data rows")
    return rows


def number(path: str | os.PathLike, line: int, row: dict[str, str], key: str) -> float:
    """``float(row[key])`` or a ``ValueError`` naming file, line and column."""
    value = row.get(key)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{path}:{line}: column {key!r} is {value!r}, not a number") from None


def column(path: str | os.PathLike, rows: list[dict[str, str]], key: str) -> list[float]:
    if key not in rows[0]:
        raise ValueError(f"{path}: no column {key!r} (columns: {', '.join(rows[0])})")
    return [number(path, i + 2, r, key) for i, r in enumerate(rows)]  # line 1 is the header


def _save(fig: Figure, out: str | os.PathLike) -> Figure:
    FigureCanvasAgg(fig)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(out, "wb", encoding=None) as handle:
        fig.savefig(handle, format="png", dpi=110)
    return fig


def plot_training_curves(metrics_csv: str | os.PathLike, out: str | os.PathLike, keys: Sequence[str] = DEFAULT_CURVES,
                         title: str | None = None) -> Figure:
    """One panel per metric of ``keys`` present in ``metrics_csv`` (x: its ``step`` column; rows where the
    metric is empty are skipped, as Lightning writes one sparse row per logging call)."""
    rows = read_rows(metrics_csv)
    present = [k for k in keys if k in rows[0]]
    if not present:
        raise ValueError(f"{metrics_csv}: none of the columns {list(keys)}")
    fig = Figure(figsize=(4.2 * len(present), 3.2), layout="constrained")
    for ax, key in zip(fig.subplots(1, len(present), squeeze=False)[0], present):
        points = [(number(metrics_csv, i + 2, r, "step"), number(metrics_csv, i + 2, r, key))
                  for i, r in enumerate(rows) if r.get(key, "") != ""]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3)
        ax.set_title(key, fontsize=10)
        ax.set_xlabel("optimizer step")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return _save(fig, out)


def plot_weight_histogram(weights_csv: str | os.PathLike, out: str | os.PathLike, column_name: str = "weight",
                          bins: int = 30, title: str | None = None) -> Figure:
    """Histogram of the per-pair weights in ``weights_csv`` (mean marked by a dashed line)."""
    rows = read_rows(weights_csv)
    values = column(weights_csv, rows, column_name)
    fig = Figure(figsize=(5, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.hist(values, bins=bins, color="tab:blue", alpha=0.8)
    mean = math.fsum(values) / len(values)
    ax.axvline(mean, color="black", linestyle="--", linewidth=1, label=f"mean {mean:.3f}")
    ax.set_xlabel(column_name)
    ax.set_ylabel("pairs")
    ax.legend()
    ax.set_title(title or f"{column_name} ({len(values)} pairs)", fontsize=10)
    return _save(fig, out)


def _interval_rows(path, rows, label_keys: Sequence[str], value: str) -> tuple[list[str], list[float], list[float], list[float]]:
    for key in (*label_keys, value, "ci_low", "ci_high"):
        if key not in rows[0]:
            raise ValueError(f"{path}: no column {key!r} (columns: {', '.join(rows[0])})")
    labels = [" vs ".join(r[k] for k in label_keys) for r in rows]
    return labels, column(path, rows, value), column(path, rows, "ci_low"), column(path, rows, "ci_high")


def _interval_plot(labels, centers, lows, highs, xlabel: str, title: str, zero_line: bool) -> Figure:
    fig = Figure(figsize=(6.5, 0.9 + 0.4 * len(labels)), layout="constrained")
    ax = fig.subplots()
    ys = list(range(len(labels)))[::-1]  # first row on top
    err = [[c - lo for c, lo in zip(centers, lows)], [hi - c for c, hi in zip(centers, highs)]]
    ax.errorbar(centers, ys, xerr=err, fmt="o", capsize=4, color="tab:blue")
    if zero_line:
        ax.axvline(0.0, color="gray", linestyle="--", linewidth=1)
    ax.set_yticks(ys, labels)
    ax.set_xlabel(xlabel)
    fig.suptitle(title, fontsize=10)  # over the whole figure: long row labels do not push it out
    ax.grid(axis="x", alpha=0.3)
    return fig


def plot_accuracy(cells_csv: str | os.PathLike, out: str | os.PathLike, title: str = "accuracy per cell (Wilson 95% interval)") -> Figure:
    """Accuracy per cell with its interval; columns ``cell, accuracy, ci_low, ci_high`` (fractions)."""
    rows = read_rows(cells_csv)
    labels, acc, lo, hi = _interval_rows(cells_csv, rows, ("cell",), "accuracy")
    return _save(_interval_plot(labels, acc, lo, hi, "accuracy", title, zero_line=False), out)


def plot_forest(comparisons_csv: str | os.PathLike, out: str | os.PathLike,
                title: str = "paired accuracy difference A - B (bootstrap 95% interval)") -> Figure:
    """Forest plot of paired differences; columns ``a, b, difference, ci_low, ci_high`` (fractions)."""
    rows = read_rows(comparisons_csv)
    labels, diff, lo, hi = _interval_rows(comparisons_csv, rows, ("a", "b"), "difference")
    return _save(_interval_plot(labels, diff, lo, hi, "accuracy difference", title, zero_line=True), out)


#: the mining funnel's stages in order (``funnel.json`` keys; nested ones as ``key.subkey``)
FUNNEL_STAGES = (("candidates", "input"), ("not degenerate", "after_degenerate"),
                 ("not trivially correct", "after_trivially_correct"), ("not trivially wrong", "after_trivially_wrong"),
                 ("hard negatives", "hard_negatives"), ("paired", "paired"))


def funnel_rows(funnel: dict) -> list[dict[str, object]]:
    """``[{stage, samples, fraction}]`` from a mining ``funnel.json`` (fraction of the candidates)."""
    total = funnel.get("input") or 0
    return [{"stage": label, "samples": int(funnel[key]), "fraction": round(funnel[key] / total, 4) if total else None}
            for label, key in FUNNEL_STAGES if key in funnel]


def plot_funnel(funnel_csv: str | os.PathLike, out: str | os.PathLike, title: str = "mining funnel") -> Figure:
    """Horizontal bars: samples left after each mining stage (``stage, samples`` columns, in order)."""
    rows = read_rows(funnel_csv)
    labels = [r["stage"] for r in rows]
    values = [number(funnel_csv, i + 2, r, "samples") for i, r in enumerate(rows)]
    fig = Figure(figsize=(6, 0.45 * len(rows) + 1.2), layout="constrained")
    ax = fig.subplots()
    y = list(range(len(rows)))[::-1]
    ax.barh(y, values, color="tab:green", alpha=0.8)
    for yi, v in zip(y, values):
        ax.text(v, yi, f" {v:g}", va="center", fontsize=9)
    ax.set_yticks(y, labels)
    ax.set_xlabel("samples")
    ax.set_title(title, fontsize=10)
    return _save(fig, out)

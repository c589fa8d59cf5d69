"""The plots are written as PNGs and show exactly the numbers of their CSV files (read back from the
matplotlib artists)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from hn_lightning.experiments.plots import (
    plot_accuracy,
    plot_forest,
    plot_training_curves,
    plot_weight_histogram,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 1000


def test_training_curves_plot_the_csv_points(tmp_path):
    # Lightning's CSVLogger layout: sparse rows, one metric group per logging call
    metrics = write_csv(tmp_path / "metrics.csv", ["epoch", "step", "train/loss", "train/rewards/margins", "weights/std", "val/loss"], [
        [0, 0, 0.6931, 0.0, 0.21, ""],
        [0, 1, 0.6512, 0.11, 0.19, ""],
        [0, 1, "", "", "", 0.70],
        [0, 2, 0.6020, 0.25, 0.22, ""],
    ])
    fig = plot_training_curves(metrics, tmp_path / "curves.png")
    assert is_png(tmp_path / "curves.png")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["train/loss", "train/rewards/margins", "weights/std"]  # rewards/accuracy absent: skipped
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xydata(), [[0, 0.6931], [1, 0.6512], [2, 0.6020]])
    np.testing.assert_array_equal(fig.axes[2].lines[0].get_xydata(), [[0, 0.21], [1, 0.19], [2, 0.22]])


def test_weight_histogram_counts_every_pair(tmp_path):
    weights = [0.775, 0.85, 0.925, 1.45, 1.0, 1.0, 0.5, 2.0]
    path = write_csv(tmp_path / "weights.csv", ["id", "weight"], [[f"p{i}", w] for i, w in enumerate(weights)])
    fig = plot_weight_histogram(path, tmp_path / "weights.png", bins=6)
    assert is_png(tmp_path / "weights.png")
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    counts, edges = np.histogram(weights, bins=6)
    assert heights == counts.tolist() and sum(heights) == len(weights)
    assert ax.patches[0].get_x() == pytest.approx(edges[0])
    assert ax.lines[0].get_xdata()[0] == pytest.approx(np.mean(weights))  # the dashed mean line


def interval_artists(ax):
    centers = ax.lines[0].get_xydata()
    segments = ax.collections[0].get_segments()  # one horizontal error bar per row: [[low, y], [high, y]]
    return centers, [(s[0][0], s[1][0]) for s in segments]


def test_accuracy_plot_shows_each_cell_and_its_interval(tmp_path):
    path = write_csv(tmp_path / "cells.csv", ["cell", "accuracy", "ci_low", "ci_high", "n"], [
        ["hn_weighted-sigmoid-s0", 0.40, 0.2188, 0.6134, 20],
        ["random_uniform-sigmoid-s0", 0.35, 0.1812, 0.5671, 20],
    ])
    fig = plot_accuracy(path, tmp_path / "accuracy.png")
    assert is_png(tmp_path / "accuracy.png")
    ax = fig.axes[0]
    centers, bars = interval_artists(ax)
    np.testing.assert_allclose(centers[:, 0], [0.40, 0.35])
    np.testing.assert_allclose(bars, [(0.2188, 0.6134), (0.1812, 0.5671)])
    label_at = {float(y): t.get_text() for y, t in zip(ax.get_yticks(), ax.get_yticklabels())}
    assert [label_at[float(y)] for y in centers[:, 1]] == ["hn_weighted-sigmoid-s0", "random_uniform-sigmoid-s0"]
    assert centers[0, 1] > centers[1, 1]  # the first CSV row on top


def test_forest_plot_shows_the_paired_differences(tmp_path):
    path = write_csv(tmp_path / "comparisons.csv", ["a", "b", "difference", "ci_low", "ci_high", "p_value"], [
        ["hn", "random", 0.05, -0.10, 0.20, 0.75],
        ["hn", "shuffled", -0.16, -0.28, -0.04, 0.0386],
    ])
    fig = plot_forest(path, tmp_path / "forest.png")
    assert is_png(tmp_path / "forest.png")
    ax = fig.axes[0]
    centers, bars = interval_artists(ax)
    np.testing.assert_allclose(centers[:, 0], [0.05, -0.16])
    np.testing.assert_allclose(bars, [(-0.10, 0.20), (-0.28, -0.04)])
    assert any(list(line.get_xdata()) == [0.0, 0.0] for line in ax.lines)  # the zero line


def test_bad_csv_names_file_line_and_column(tmp_path):
    path = write_csv(tmp_path / "cells.csv", ["cell", "accuracy", "ci_low", "ci_high"], [["a", 0.4, 0.2, 0.6], ["b", "n/a", 0.1, 0.5]])
    with pytest.raises(ValueError, match=r"cells.csv:3: column 'accuracy' is 'n/a'"):
        plot_accuracy(path, tmp_path / "x.png")
    with pytest.raises(ValueError, match="no column 'weight'"):
        plot_weight_histogram(path, tmp_path / "y.png")
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "y.png").exists()


def test_funnel_rows_and_plot_follow_funnel_json(tmp_path):
    from hn_lightning.experiments.plots import funnel_rows, plot_funnel
    from hn_lightning.experiments.report import write_csv

    funnel = {"input": 80, "after_degenerate": 60, "after_trivially_correct": 30, "after_trivially_wrong": 24,
              "hard_negatives": 10, "paired": 8}
    rows = funnel_rows(funnel)
    assert [r["samples"] for r in rows] == [80, 60, 30, 24, 10, 8] and rows[-1]["fraction"] == 0.1
    write_csv(tmp_path / "funnel.csv", ("stage", "samples", "fraction"), rows)
    fig = plot_funnel(tmp_path / "funnel.csv", tmp_path / "funnel.png")
    bars = fig.axes[0].patches
    assert sorted(b.get_width() for b in bars) == [8, 10, 24, 30, 60, 80] and (tmp_path / "funnel.png").is_file()
    assert max(bars, key=lambda b: b.get_y()).get_width() == 80  # the first stage is on top

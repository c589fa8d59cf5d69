"""The rows of a report's sortable, filterable table (a pair, or one scored solution) and what opens
when a row is clicked."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hn_lightning.io.jsonl import iter_jsonl
from hn_lightning.reports.solutions import SolutionView, gold_answer

__all__ = ["Item", "Problem", "Table", "bucket_order", "counted", "histogram_bars", "histogram_bins", "iter_records", "position_bucket", "read_json", "read_problems", "shard_files"]


@dataclass
class Problem:
    id: str
    question: str
    gold: str
    """The gold answer (:func:`~hn_lightning.reports.solutions.gold_answer`)."""
    reference: str = ""


@dataclass
class Item:
    """One row and its detail view."""

    key: str
    """The DOM id of its detail (unique in the page)."""
    id: str
    problem: Problem
    kind: str
    """First-error kind of the (rejected) solution; ``none`` when no step is found wrong."""
    position: int | None
    """1-based first wrong step."""
    n_steps: int | None
    weight: float | None
    views: list[SolutionView]
    """Side by side: rejected then chosen for a pair, the solution alone for a scored record."""
    weight_parts: list[tuple[str, float | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cells: dict[str, Any] = field(default_factory=dict)
    """Further columns of the table, by header."""

    @property
    def bucket(self) -> str:
        return position_bucket(self.position)


@dataclass
class Table:
    """A table of items with its filters (one per arm, or one for a scored file)."""

    key: str
    title: str
    items: list[Item]
    total: int
    """Rows in the files (``len(items)`` unless capped)."""
    unit: str = "pairs"
    weight_label: str = "w_raw"
    columns: list[str] = field(default_factory=list)
    """Headers of :attr:`Item.cells`."""
    note: str = ""

    @property
    def kinds(self) -> list[str]:
        return sorted({i.kind for i in self.items}, key=lambda k: (k == "none", k))

    @property
    def buckets(self) -> list[str]:
        return sorted({i.bucket for i in self.items}, key=bucket_order)


def position_bucket(position: int | None) -> str:
    """The first-error filter's value: ``1`` .. ``9``, ``10+``, ``none``."""
    if position is None:
        return "none"
    return str(position) if position < 10 else "10+"


def bucket_order(bucket: str) -> tuple[bool, bool, int]:
    """Sort key of :func:`position_bucket` values: 1 .. 9, 10+, none."""
    return bucket == "none", bucket == "10+", int(bucket) if bucket.isdigit() else 0


def shard_files(folder: Path) -> list[Path]:
    """``shard-*.jsonl`` of a stage folder, in order."""
    return sorted(folder.glob("shard-*.jsonl"))


def iter_records(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        for _, record in iter_jsonl(path):
            yield record


def read_problems(path: Path) -> dict[str, Problem]:
    """``problems.jsonl`` of a mining run by id (empty when the file is missing)."""
    if not path.is_file():
        return {}
    return {str(r["id"]): Problem(str(r["id"]), str(r.get("question", "")), gold_answer(r.get("gold")), str(r.get("reference") or ""))
            for _, r in iter_jsonl(path)}


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def histogram_bins(values: list[float], bins: int = 10) -> list[tuple[float, float, int]]:
    """``[(low, high, count)]`` of ``values`` in ``bins`` equal bins (the last one closed)."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    if math.isclose(lo, hi):
        hi = lo + 1e-9
    step = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / step))] += 1
    return [(lo + i * step, lo + (i + 1) * step, c) for i, c in enumerate(counts)]


def histogram_bars(values: list[float], bins: int = 10) -> list[tuple[str, float]]:
    """``[(bin range, count)]`` of :func:`histogram_bins`, for a bar chart (one bar when all values are equal)."""
    if values and math.isclose(min(values), max(values)):
        return [(f"{values[0]:.3f}", float(len(values)))]
    return [(f"{a:.3f}-{b:.3f}", float(c)) for a, b, c in histogram_bins(values, bins)]


def counted(values: list[str], order=None) -> list[tuple[str, float]]:
    """``[(value, count)]``, most frequent first (or in ``order``)."""
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    keys = sorted(counts, key=order) if order else sorted(counts, key=lambda k: -counts[k])
    return [(k, float(counts[k])) for k in keys]

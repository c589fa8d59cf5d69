r"""``truth.json`` of a mining run folder: in a run whose problems carry the testbed generator's ground truth (``truth``, docs/testbed.md),
every sampled answer checked exactly against it, and each mined pair's verifier first error beside the
generator's first wrong line. Runs on other data write nothing.

Every scored sample is classified (:func:`hn_lightning.testbed.classify`: ``correct``, ``structured`` with
its trap kind, ``arithmetic``, ``other``) and counted; so are the rejected sides of the hard-negative pairs
(``pairs/hardneg``) and, for comparison, of the random-uniform arm. For each such rejected sample the verifier's
``first_error_step`` (0-based over its steps) is put on the generator's 1-based annotation lines and compared
with the ground-truth line (:mod:`hn_lightning.testbed.truth_report` says how)::

    {"problems": 300, "problems_with_truth": 300, "samples_classified": 1200, "checker_disagreements": 0,
     "groups": {"candidates": {"n", "by_category", "by_trap"}, "hardneg": {...}, "random": {...}},
     "agreement": {"hardneg": {"truth_line": {"compared", "exact", "within_1", ..., "offsets"},
                               "trap_line": {...}, "by_category": {"structured": {...}, ...}}, "random": {...}},
     "pairs": {"hardneg": ["<rejected sample id of each pair>", ...], "random": [...]},
     "samples": {"<sample id>": {"category", "trap", "trap_line", "first_wrong_line", "truth_line", "lines",
                                 "verifier_step", "verifier_kind", "verifier_line", "offset", "label"}}}

``samples`` holds the rejected sides of the pairs only (the HTML report shows each pair's row). Written by the
report stage (:meth:`~hn_lightning.mining.pipeline.MiningPipeline.write_report`, after pairing) and by
``python cli.py report <run>``; read by ``report.md`` (:func:`hn_lightning.mining.truth.truth_section`) and
``report.html`` (:mod:`hn_lightning.reports.mining`).

It reads the run's files (``problems.jsonl``, ``scored/shard-*.jsonl``, ``pairs/<arm>/shard-*.jsonl``) and
imports nothing of the mining package, whose import loads the model stack: ``cli.py report`` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hn_lightning.io.atomic import atomic_write_json
from hn_lightning.io.jsonl import iter_jsonl
from hn_lightning.testbed.grading import CATEGORIES, classify
from hn_lightning.testbed.truth_report import agreement, category_counts, sample_row
from hn_lightning.verifier.steps import split_steps

__all__ = ["INDEXING", "TRUTH_ARMS", "compute_truth", "write_truth"]

TRUTH_ARMS = ("hardneg", "random")
"""The arms whose rejected sides are compared (``shuffled`` holds the hard-negative pairs again)."""

INDEXING = ("verifier_step = first_error_step + 1 (the verifier's steps: lines, and sentences within a line); "
            "verifier_line = 1 + annotations before that step (first_error_span); truth_line = classify's "
            "first_wrong_line, else trap_line (1-based annotation lines)")


def _records(folder: Path) -> Iterator[dict[str, Any]]:
    """The records of a stage folder's ``shard-*.jsonl``, in shard order."""
    for path in sorted(folder.glob("shard-*.jsonl")):
        for _, record in iter_jsonl(path):
            yield record


def _error_char(completion: str, scores: dict[str, Any]) -> int | None:
    """Where the verifier's first wrong step starts: its stored span, else the default split's step."""
    step, span = scores.get("first_error_step"), scores.get("first_error_span")
    if step is None:
        return None
    if span:
        return int(span[0])
    steps = split_steps(completion)
    return steps[step].start if 0 <= step < len(steps) else None


def _rejected_ids(out: Path) -> dict[str, list[str]]:
    """The rejected sample id of every pair of each arm in :data:`TRUTH_ARMS` (in pair order)."""
    return {arm: [str((p.get("meta") or {}).get("rejected_id")) for p in _records(out / "pairs" / arm)]
            for arm in TRUTH_ARMS if (out / "pairs" / arm).is_dir()}


def compute_truth(out: str | Path) -> dict[str, Any] | None:
    """The content of ``truth.json`` for the run in ``out`` (module doc); ``None`` when no problem has a truth."""
    out = Path(out)
    problems = [r for _, r in iter_jsonl(out / "problems.jsonl")] if (out / "problems.jsonl").is_file() else []
    truths = {str(p["id"]): p["truth"] for p in problems if isinstance(p.get("truth"), dict)}
    if not truths:
        return None
    arms = _rejected_ids(out)
    wanted = {i for ids in arms.values() for i in ids}
    classes: list[dict[str, Any]] = []
    rows: dict[str, dict[str, Any]] = {}
    disagree = 0
    for rec in _records(out / "scored"):
        truth = truths.get(str(rec.get("problem_id")))
        if truth is None:
            continue
        c = classify(rec["completion"], truth)
        classes.append(c)
        disagree += int(bool((rec.get("scores") or {}).get("answer_correct")) != (c["category"] == "correct"))
        if rec["id"] in wanted:
            scores = rec.get("scores") or {}
            rows[rec["id"]] = sample_row(c, rec["completion"], scores, _error_char(rec["completion"], scores))
    groups = {"candidates": category_counts(classes)}
    agree = {}
    for arm, ids in arms.items():
        arm_rows = [rows[i] for i in ids if i in rows]
        groups[arm] = category_counts(arm_rows)
        agree[arm] = {"truth_line": agreement(arm_rows),
                      "trap_line": agreement([r for r in arm_rows if r["category"] == "structured"], against="trap_line"),
                      "by_category": {k: agreement([r for r in arm_rows if r["category"] == k]) for k in CATEGORIES}}
    return {"problems": len(problems), "problems_with_truth": len(truths), "samples_classified": len(classes),
            "checker_disagreements": disagree, "indexing": INDEXING, "groups": groups, "agreement": agree,
            "pairs": {arm: [i for i in ids if i in rows] for arm, ids in arms.items()},
            "samples": {i: rows[i] for ids in arms.values() for i in ids if i in rows}}


def write_truth(out: str | Path) -> dict[str, Any] | None:
    """Write ``<out>/truth.json`` (atomically) and return its content; ``None`` (and a stale file removed)
    when the run's problems carry no truth."""
    path = Path(out) / "truth.json"
    truth = compute_truth(out)
    if truth is None:
        path.unlink(missing_ok=True)
        return None
    atomic_write_json(path, truth, indent=1)
    return truth

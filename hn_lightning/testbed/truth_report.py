r"""The generator's ground truth next to the verifier's verdicts: what the mined samples really are.

Pure functions over already-read records (the mining run's files are read by
:mod:`hn_lightning.mining.truth`):

* :func:`category_counts`: samples by :func:`~hn_lightning.testbed.grading.classify` category (``correct``,
  ``structured``, ``arithmetic``, ``other``) and structured ones by trap kind;
* :func:`sample_row`: one sample's ground truth beside the verifier's first wrong step;
* :func:`agreement`: how often the two name the same solution line (exactly, within one line), and the
  offsets.

**Indexing.** The verifier's ``first_error_step`` is a 0-based index into *its* steps
(:func:`hn_lightning.verifier.steps.split_steps`: every line, and sentences within a line), and
``first_error_span`` is that step's character span in the completion. The generator's lines are 1-based
calculator-annotation lines: ``first_wrong_line`` is the completion's first ``<<e=r>>`` whose value is not the
reference's at that position, ``trap_line`` the reference line where the matched trapped plan first differs.
The verifier's step is put on the annotation scale by :func:`annotation_line`: ``1 +`` the number of
annotations that start before the step, i.e. the number of the step's own annotation, or for a step
without one (a sentence of prose, the final-answer line) the number of the next line. On an SFT-format
testbed completion (one annotated line per step, then the answer line) step ``k`` (1-based) is line ``k``.

**The ground-truth line** of a sample (:func:`truth_line`) is its ``first_wrong_line``, else (every value it
wrote is the reference's, but it stopped early or skipped the last step) the structured trap's
``trap_line``; ``None`` when neither exists (a right plan whose answer line alone is wrong, say).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from hn_lightning.testbed.grading import ANNOTATION, CATEGORIES

__all__ = ["OFFSETS", "agreement", "annotation_line", "category_counts", "sample_row", "truth_label", "truth_line"]

OFFSETS = ("<= -2", "-1", "0", "+1", ">= +2")
"""Buckets of ``verifier_line - truth_line``: negative = the verifier flags an earlier line."""


def annotation_line(completion: str, char: int) -> int:
    """The 1-based annotation line of character ``char`` of ``completion``: ``1 +`` the annotations that
    start before it."""
    return 1 + sum(1 for m in ANNOTATION.finditer(completion) if m.start() < char)


def truth_line(c: dict[str, Any]) -> int | None:
    """The ground-truth line of a :func:`~hn_lightning.testbed.grading.classify` result (module doc)."""
    if c.get("first_wrong_line") is not None:
        return int(c["first_wrong_line"])
    return None if c.get("trap_line") is None else int(c["trap_line"])


def truth_label(row: dict[str, Any]) -> str:
    """``structured/percent @ line 3``, ``arithmetic @ line 2``, ``correct``: a row's ground truth in a few words."""
    label = row["category"] + (f"/{row['trap']}" if row.get("trap") else "")
    return label + (f" @ line {row['truth_line']}" if row.get("truth_line") is not None else "")


def category_counts(classifications: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """``{"n", "by_category": {category: count} (every category), "by_trap": {trap kind: count}}``."""
    cats: Counter = Counter()
    traps: Counter = Counter()
    for c in classifications:
        cats[c["category"]] += 1
        if c["category"] == "structured":
            traps[str(c["trap"])] += 1
    return {"n": sum(cats.values()), "by_category": {k: cats[k] for k in CATEGORIES},
            "by_trap": dict(sorted(traps.items(), key=lambda kv: (-kv[1], kv[0])))}


def sample_row(c: dict[str, Any], completion: str, scores: dict[str, Any], error_char: int | None) -> dict[str, Any]:
    """One sample's ground truth (``c`` from ``classify``) beside the verifier's first wrong step.

    ``scores``: the verifier's record (``first_error_step`` 0-based, ``first_error_kind``); ``error_char``:
    where that step starts in ``completion`` (``first_error_span[0]``), ``None`` when no step was found wrong.
    ``verifier_step`` is 1-based; ``offset`` = ``verifier_line - truth_line`` when both exist; ``label``:
    :func:`truth_label`."""
    step = scores.get("first_error_step")
    v_line = None if step is None or error_char is None else annotation_line(completion, error_char)
    row = {"category": c["category"], "trap": c.get("trap"), "trap_line": c.get("trap_line"),
           "first_wrong_line": c.get("first_wrong_line"), "truth_line": truth_line(c),
           "lines": len(ANNOTATION.findall(completion)),
           "verifier_step": None if step is None else int(step) + 1, "verifier_kind": scores.get("first_error_kind"),
           "verifier_line": v_line}
    row["offset"] = None if v_line is None or row["truth_line"] is None else v_line - row["truth_line"]
    return {**row, "label": truth_label(row)}


def _bucket(offset: int) -> str:
    return "<= -2" if offset <= -2 else ">= +2" if offset >= 2 else f"{offset:+d}" if offset else "0"


def agreement(rows: list[dict[str, Any]], against: str = "truth_line") -> dict[str, Any]:
    """How often the verifier's line (:func:`sample_row`'s ``verifier_line``) equals the ground truth's
    (``against``: ``truth_line``, or ``trap_line`` for the plan's own error line).

    ``n``: rows; ``compared``: rows where both lines exist; ``exact`` / ``within_1``: of those, equal /
    at most one line apart, with their rates; ``no_verifier_error``: the verifier found no wrong step;
    ``no_truth_line``: the ground truth has none; ``offsets``: ``verifier - truth`` in :data:`OFFSETS` buckets."""
    pairs = [(r["verifier_line"], r[against]) for r in rows]
    both = [(v, t) for v, t in pairs if v is not None and t is not None]
    exact = sum(v == t for v, t in both)
    near = sum(abs(v - t) <= 1 for v, t in both)
    offsets = Counter(_bucket(v - t) for v, t in both)
    return {"n": len(rows), "compared": len(both), "exact": exact, "within_1": near,
            "exact_rate": exact / len(both) if both else None, "within_1_rate": near / len(both) if both else None,
            "no_verifier_error": sum(v is None for v, _ in pairs), "no_truth_line": sum(t is None for _, t in pairs),
            "offsets": {k: offsets[k] for k in OFFSETS}}

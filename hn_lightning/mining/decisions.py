"""Stage 3: one decision per scored sample -> ``filtered/shard-XXXXX.jsonl``.

The removals (:mod:`~hn_lightning.mining.filters`) and the selection criteria
(:mod:`~hn_lightning.mining.selection`) are all evaluated on every sample, so the funnel can report
both how many samples each rule removes *in sequence* (they add up) and how many fail it *alone*.
The sample's fate is the first stage that removes it::

    {"id": "...#s3", "problem_id": "...", "correct": false, "degenerate": null,
     "removed_at": "degenerate" | "trivially_correct" | "trivially_wrong" | "selection" | null,
     "reason": "<rule or criterion>" | null, "hard_negative": true,
     "first_error_step": 2, "first_error_kind": "wrong_operation", "hardness": 0.5, "weight_factor": 1.0,
     "checks": {"degenerate": {...}, "trivially_correct": false, "trivially_wrong": false, "selection": {...}}}
"""

from __future__ import annotations

from typing import Any

from hn_lightning.mining.config import FilterConfig, SelectionConfig
from hn_lightning.mining.filters import (
    DEGENERATE_RULES,
    degenerate_checks,
    trivially_correct,
    trivially_wrong,
)
from hn_lightning.mining.selection import first_failed, hardness, selection_checks

__all__ = ["REMOVAL_STAGES", "decide"]

REMOVAL_STAGES = ("degenerate", "trivially_correct", "trivially_wrong", "selection")


def decide(record: dict[str, Any], golds: list[str], fcfg: FilterConfig, scfg: SelectionConfig) -> dict[str, Any]:
    """The decision for one scored record (see the module doc)."""
    scores = record["scores"]
    deg = degenerate_checks(record, fcfg)
    tc, tw = trivially_correct(scores, fcfg), trivially_wrong(scores, fcfg)
    sel = selection_checks(scores, golds, scfg)
    deg_rule = next((r for r in DEGENERATE_RULES if deg[r]), None)
    if deg_rule is not None:
        removed_at, reason = "degenerate", deg_rule
    elif tc:
        removed_at, reason = "trivially_correct", "trivially_correct"
    elif tw:
        removed_at, reason = "trivially_wrong", "trivially_wrong"
    elif (failed := first_failed(sel)) is not None:
        removed_at, reason = "selection", failed
    else:
        removed_at, reason = None, None
    h = hardness(scores)
    return {
        "id": record["id"],
        "problem_id": record["problem_id"],
        "correct": bool(scores.get("answer_correct")),
        "degenerate": deg_rule,
        "removed_at": removed_at,
        "reason": reason,
        "hard_negative": removed_at is None,
        "first_error_step": scores.get("first_error_step"),
        "first_error_kind": scores.get("first_error_kind"),
        "hardness": h,
        "weight_factor": 1.0 + scfg.progress_weight * (h or 0.0),
        "checks": {"degenerate": deg, "trivially_correct": tc, "trivially_wrong": tw, "selection": sel},
    }

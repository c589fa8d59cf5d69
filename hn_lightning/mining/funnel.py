"""The funnel: counts at every stage, per rule, and the identities they must satisfy.

::

    input = degenerate.removed        + after_degenerate
    after_degenerate = trivially_correct.removed + after_trivially_correct
    after_trivially_correct = trivially_wrong.removed + after_trivially_wrong
    after_trivially_wrong = selection.removed + hard_negatives
    hard_negatives = paired + no_chosen + over_cap

``removed_by`` counts each sample under the first rule that removes it (these add up to ``removed``);
``fails_alone`` counts every sample of that stage's input that fails the rule, whatever else it
fails (the fraction a threshold would remove on its own).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hn_lightning.mining.filters import DEGENERATE_RULES
from hn_lightning.mining.selection import CRITERIA

__all__ = ["compute_funnel", "funnel_identities"]


def _stage(inputs: list[dict[str, Any]], removed: list[dict[str, Any]], rules: tuple[str, ...],
           fails) -> dict[str, Any]:
    by = Counter(d["reason"] for d in removed)
    return {
        "input": len(inputs),
        "removed": len(removed),
        "removed_by": {r: by.get(r, 0) for r in rules},
        "fails_alone": {r: sum(1 for d in inputs if fails(d, r)) for r in rules},
    }


def compute_funnel(decisions: list[dict[str, Any]], pairing: dict[str, Any] | None = None,
                   arms: dict[str, Any] | None = None) -> dict[str, Any]:
    """Counts from the per-sample decisions (and pairing/arm statistics when given)."""
    total = len(decisions)
    at = lambda stage: [d for d in decisions if d["removed_at"] == stage]  # noqa: E731
    deg = at("degenerate")
    after_deg = [d for d in decisions if d["removed_at"] != "degenerate"]
    tc = at("trivially_correct")
    after_tc = [d for d in after_deg if d["removed_at"] != "trivially_correct"]
    tw = at("trivially_wrong")
    after_tw = [d for d in after_tc if d["removed_at"] != "trivially_wrong"]
    sel = at("selection")
    hard = [d for d in decisions if d["hard_negative"]]
    funnel: dict[str, Any] = {
        "input": total,
        "input_correct": sum(d["correct"] for d in decisions),
        "degenerate": _stage(decisions, deg, DEGENERATE_RULES, lambda d, r: d["checks"]["degenerate"][r]),
        "after_degenerate": len(after_deg),
        "trivially_correct": _stage(after_deg, tc, ("trivially_correct",), lambda d, r: d["checks"]["trivially_correct"]),
        "after_trivially_correct": len(after_tc),
        "trivially_wrong": _stage(after_tc, tw, ("trivially_wrong",), lambda d, r: d["checks"]["trivially_wrong"]),
        "after_trivially_wrong": len(after_tw),
        "selection": _stage(after_tw, sel, CRITERIA, lambda d, r: not d["checks"]["selection"][r]),
        "hard_negatives": len(hard),
        "problems": len({d["problem_id"] for d in decisions}),
        "problems_with_hard_negatives": len({d["problem_id"] for d in hard}),
    }
    if pairing is not None:
        funnel["pairing"] = pairing
        funnel["paired"] = pairing["paired"]
    if arms is not None:
        funnel["arms"] = arms
    funnel["identities"] = funnel_identities(funnel)
    return funnel


def funnel_identities(f: dict[str, Any]) -> dict[str, bool]:
    """Each identity of the module doc, checked (all must be True)."""
    checks = {
        "input = degenerate + after_degenerate": f["input"] == f["degenerate"]["removed"] + f["after_degenerate"],
        "after_degenerate = trivially_correct + after_trivially_correct":
            f["after_degenerate"] == f["trivially_correct"]["removed"] + f["after_trivially_correct"],
        "after_trivially_correct = trivially_wrong + after_trivially_wrong":
            f["after_trivially_correct"] == f["trivially_wrong"]["removed"] + f["after_trivially_wrong"],
        "after_trivially_wrong = selection + hard_negatives":
            f["after_trivially_wrong"] == f["selection"]["removed"] + f["hard_negatives"],
    }
    for name in ("degenerate", "trivially_correct", "trivially_wrong", "selection"):
        st = f[name]
        checks[f"{name}: removed_by adds up"] = sum(st["removed_by"].values()) == st["removed"]
    if "pairing" in f:
        p = f["pairing"]
        checks["hard_negatives = paired + no_chosen + over_cap"] = \
            f["hard_negatives"] == p["paired"] + p["no_chosen"] + p["over_cap"]
    return checks

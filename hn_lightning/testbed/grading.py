r"""Classify a testbed completion by the generator's ground truth: correct, structured error of kind X,
arithmetic slip, or other.

For a completion and its problem's ``truth`` (:mod:`~hn_lightning.testbed.generator`):

1. ``correct``: the final answer (the last ``\boxed{}``, else ``#### N``) equals the gold;
2. ``structured``: it equals the final answer of one of the problem's trapped plans; ``trap`` is that plan's
   kind (``percent``, ``times_vs_more``, ..., ``skip``) and ``trap_line`` the reference line where the plan
   first goes wrong (the earliest such trap when several give the same answer);
3. ``arithmetic``: an annotation ``<<e=r>>`` whose ``r`` is not the value of ``e``, a result copied wrongly
   right after ``>>``, or a final answer that is not the last annotation's result while that result was the
   gold or a trap's answer (a slip in copying, not in the plan);
4. ``other``: anything else (a plan that is neither the reference nor a listed trap, no final answer).

``first_wrong_line``: the first annotation (1-based, in the completion's order) whose value differs from
the reference's value at that position (``None`` when the completion's values start with all the
reference's), for comparison with the verifier's ``first_error_step``. Numbers match within a relative
1e-3 (a trapped plan's non-integer values pass through the calculator's 4 decimals).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from fractions import Fraction
from typing import Any

from hn_lightning.testbed.arith import CalcError, calc_eval, parse_number

__all__ = ["CATEGORIES", "classify", "final_answer", "summarize_errors"]

CATEGORIES = ("correct", "structured", "arithmetic", "other")
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_HASHES = re.compile(r"####\s*([^\n]+)")
_ANNOTATION = re.compile(r"<<([^<>=]*)=([^<>]*)>>\s*(-?[\d,]*\.?\d*)")
_TOL = Fraction(1, 1000)


def _same(a: Fraction | None, b: Fraction | None) -> bool:
    return a is not None and b is not None and abs(a - b) <= _TOL * max(1, abs(b))


def final_answer(completion: str) -> Fraction | None:
    r"""The completion's final answer as a number: the last ``\boxed{}``, else the last ``#### N``."""
    found = _BOXED.findall(completion) or _HASHES.findall(completion)
    return parse_number(found[-1]) if found else None


def _annotations(completion: str) -> list[tuple[Fraction | None, Fraction | None, Fraction | None]]:
    """(value of the expression, stated result, number written right after ``>>``) of each annotation."""
    out = []
    for expr, stated, copied in _ANNOTATION.findall(completion):
        try:
            value = calc_eval(expr)
        except CalcError:
            value = None
        out.append((value, parse_number(stated), parse_number(copied) if copied else None))
    return out


def classify(completion: str, truth: dict[str, Any]) -> dict[str, Any]:
    """``{"category", "trap", "trap_line", "first_wrong_line", "answer"}`` of ``completion`` (see the module docstring)."""
    answer = final_answer(completion)
    gold = Fraction(truth["answer"])
    annotations = _annotations(completion)
    reference = [Fraction(s["value"]) for s in truth["steps"]]
    first_wrong = next((i + 1 for i, (_, stated, _) in enumerate(annotations)
                        if i >= len(reference) or not _same(stated, reference[i])), None)
    out: dict[str, Any] = {"category": "other", "trap": None, "trap_line": None, "first_wrong_line": first_wrong,
                           "answer": None if answer is None else str(answer)}
    traps = [t for t in truth["traps"] if _same(answer, Fraction(t["answer"]))]
    if _same(answer, gold):
        out["category"] = "correct"
    elif traps:
        first = min(traps, key=lambda t: t["line"])
        out.update(category="structured", trap=first["kind"], trap_line=first["line"])
    else:
        miscomputed = any(value is not None and not _same(stated, value) for value, stated, _ in annotations)
        miscopied = any(copied is not None and not _same(copied, stated) for _, stated, copied in annotations)
        last = annotations[-1][1] if annotations else None
        planned = [gold, *(Fraction(t["answer"]) for t in truth["traps"])]
        lost_copy = answer is not None and not _same(answer, last) and any(_same(last, p) for p in planned)
        if miscomputed or miscopied or lost_copy:
            out["category"] = "arithmetic"
    return out


def summarize_errors(rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """Counts of ``(classification, record)`` pairs (``record`` with ``level``): by category, by trap kind,
    by level, and the share of structured errors among the wrong answers."""
    by_cat = Counter(c["category"] for c, _ in rows)
    by_trap = Counter(c["trap"] for c, _ in rows if c["category"] == "structured")
    levels: dict[int, Counter] = defaultdict(Counter)
    for c, rec in rows:
        levels[int(rec.get("level") or 0)][c["category"]] += 1
    wrong = len(rows) - by_cat["correct"]
    return {
        "n": len(rows),
        "accuracy": by_cat["correct"] / len(rows) if rows else None,
        "by_category": {k: by_cat[k] for k in CATEGORIES},
        "structured_share_of_wrong": by_cat["structured"] / wrong if wrong else None,
        "by_trap": dict(by_trap.most_common()),
        "by_level": {lvl: {"n": sum(c.values()), "accuracy": c["correct"] / sum(c.values()), **{k: c[k] for k in CATEGORIES}}
                     for lvl, c in sorted(levels.items())},
    }

r"""Classify a testbed completion by the generator's ground truth: correct, structured error of kind X,
arithmetic slip, or other.

For a completion and its problem's ``truth`` (:mod:`~hn_lightning.testbed.generator`):

1. ``correct``: the final answer (the last ``\boxed{}``, else ``#### N``) equals the gold;
2. ``structured``: it, or the result of the last annotation (a trapped plan that leaves the integers ends in
   a decimal the model may round when it copies it), equals the final answer of one of the problem's trapped
   plans (``structured_by: answer``); or else the completion's first wrong line writes what a trapped plan
   writes at that line (``structured_by: first_error``: it fell into the trap first and went wrong again
   later). ``trap`` is that plan's kind (``percent``, ``times_vs_more``, ..., ``skip``) and ``trap_line`` the
   reference line where the plan first goes wrong (the earliest such trap when several match);
3. ``arithmetic``: the plan was right and a number went wrong: an annotation ``<<e=r>>`` whose ``r`` is not
   the value of ``e`` (the probe's ``81*3=36``; impossible under the calculator), the reference's operations
   line for line with a wrong number in them (a result copied wrongly into the next line), or a last
   annotation that gives the gold followed by another final answer;
4. ``other``: anything else: a plan that is neither the reference nor a listed trap (another operation, an
   extra or a missing line that is not a listed skip), no final answer.

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
ANNOTATION = re.compile(r"<<([^<>=]*)=([^<>]*)>>")
"""A calculator annotation ``<<expr=result>>``: what numbers a solution's lines (here and in
:mod:`hn_lightning.testbed.truth_report`)."""
_TOL = Fraction(1, 1000)


def _same(a: Fraction | None, b: Fraction | None) -> bool:
    return a is not None and b is not None and abs(a - b) <= _TOL * max(1, abs(b))


def final_answer(completion: str) -> Fraction | None:
    r"""The completion's final answer as a number: the last ``\boxed{}``, else the last ``#### N``."""
    found = _BOXED.findall(completion) or _HASHES.findall(completion)
    return parse_number(found[-1]) if found else None


def _annotations(completion: str) -> list[tuple[Fraction | None, Fraction | None, str]]:
    """(value of the expression, stated result, expression) of each annotation."""
    out = []
    for expr, stated in ANNOTATION.findall(completion):
        try:
            value = calc_eval(expr)
        except CalcError:
            value = None
        out.append((value, parse_number(stated), expr))
    return out


def _plan(expr: str) -> str:
    """An expression with its numbers replaced by ``#``: the operations a line applies."""
    return re.sub(r"\d+(?:\.\d+)?", "#", expr.replace(" ", ""))


def classify(completion: str, truth: dict[str, Any]) -> dict[str, Any]:
    """``{"category", "trap", "trap_line", "structured_by", "first_wrong_line", "answer"}`` of ``completion`` (see
    the module docstring)."""
    answer = final_answer(completion)
    gold = Fraction(truth["answer"])
    annotations = _annotations(completion)
    reference = [Fraction(s["value"]) for s in truth["steps"]]
    first_wrong = next((i + 1 for i, (_, stated, _) in enumerate(annotations)
                        if i >= len(reference) or not _same(stated, reference[i])), None)
    out: dict[str, Any] = {"category": "other", "trap": None, "trap_line": None, "structured_by": None,
                           "first_wrong_line": first_wrong, "answer": None if answer is None else str(answer)}
    last = annotations[-1][1] if annotations else None
    traps, by = [t for t in truth["traps"] if _same(answer, Fraction(t["answer"])) or _same(last, Fraction(t["answer"]))], "answer"
    if not traps and first_wrong is not None and first_wrong <= len(annotations):
        wrote = annotations[first_wrong - 1][1]
        traps = [t for t in truth["traps"] if t["line"] == first_wrong and t["value"] and _same(wrote, Fraction(t["value"]))]
        by = "first_error"
    if _same(answer, gold):
        out["category"] = "correct"
    elif traps:
        first = min(traps, key=lambda t: t["line"])
        out.update(category="structured", trap=first["kind"], trap_line=first["line"], structured_by=by)
    else:
        miscomputed = any(value is not None and not _same(stated, value) for value, stated, _ in annotations)
        same_plan = [_plan(e) for *_, e in annotations] == [_plan(s["expr"]) for s in truth["steps"]]
        lost_copy = answer is not None and _same(last, gold)
        if miscomputed or same_plan or lost_copy:
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

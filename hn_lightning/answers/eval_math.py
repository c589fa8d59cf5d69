r"""Step-DPO's list-covering check (``eval_math`` and ``is_correct`` of ``evaluation/eval/eval_script.py``).

* Duplicates are removed from the golds and from the predictions, keeping order; then only the
  **last ``len(gold)`` predictions** are kept (a guard against boxed intermediate results).
* List against list: correct iff every kept prediction matches *some* gold and every gold is
  matched by *some* prediction (a covering check, not a one-to-one matching).
* String against string: if both contain ``\cup`` both are split on it and compared as lists
  (interval unions in any order); otherwise equal if both parse as floats (commas removed) within
  1e-3, or the strings are equal, or :func:`~hn_lightning.answers.math_equal.math_equal` holds.

An empty prediction list is wrong (Step-DPO's driver scores it so before calling ``eval_math``).
"""

from __future__ import annotations

from collections.abc import Sequence

from hn_lightning.answers.guard import Guard
from hn_lightning.answers.math_equal import math_equal

__all__ = ["dedupe", "eval_math", "is_correct_pair", "is_correct_lists"]


def dedupe(items: Sequence[str]) -> list[str]:
    """Remove repeated strings, keeping the first occurrence and the order."""
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _float_close(a: str, b: str, prec: float) -> bool:
    try:
        return abs(float(a.replace(",", "")) - float(b.replace(",", ""))) < prec
    except (ValueError, OverflowError):
        return False


def is_correct_pair(pred: str, gold: str, guard: Guard | None = None, prec: float = 1e-3) -> bool:
    r"""One prediction against one gold (the string branch of Step-DPO ``is_correct``)."""
    guard = guard if guard is not None else Guard()
    if "\\cup" in pred and "\\cup" in gold:
        return is_correct_lists(pred.split("\\cup"), gold.split("\\cup"), guard, prec)
    if _float_close(pred, gold, prec):
        return True
    if gold and pred == gold:
        return True
    return math_equal(pred, gold, guard)


def is_correct_lists(
    preds: Sequence[str], golds: Sequence[str], guard: Guard | None = None, prec: float = 1e-3
) -> bool:
    """The covering check: every prediction matches some gold and every gold some prediction.

    Like the original, every (prediction, gold) pair is compared, with no short-cut, so that the
    timeout/parse-error counts do not depend on the order of the lists.
    """
    guard = guard if guard is not None else Guard()
    pred_matched: set[int] = set()
    gold_matched: set[int] = set()
    for i, pred in enumerate(preds):
        for j, gold in enumerate(golds):
            if is_correct_pair(pred, gold, guard, prec):
                pred_matched.add(i)
                gold_matched.add(j)
    return len(pred_matched) == len(preds) and len(gold_matched) == len(golds)


def eval_math(
    preds: Sequence[str], golds: Sequence[str], guard: Guard | None = None, prec: float = 1e-3
) -> bool:
    """Step-DPO ``eval_math`` for a list of extracted answers and a list of golds (see module doc)."""
    if not preds or not golds:
        return False
    golds = dedupe(golds)
    kept = dedupe(preds)[-len(golds) :]
    return is_correct_lists(kept, golds, guard, prec)

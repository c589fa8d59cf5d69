"""An experiment's checks and comparisons in words: one wording for ``report.md`` (written by
:mod:`hn_lightning.experiments.report`) and ``report.html`` (:mod:`hn_lightning.reports.experiment`), both
from the rows of ``cells.csv`` and ``comparisons.csv``. Imports nothing, so either side may use it."""

from __future__ import annotations

from typing import Any

__all__ = ["FOOTING", "comparison_sentence", "footing_checks"]

FOOTING = (("policy", "starting policy"), ("pairs_available", "training pairs available"),
           ("pairs_per_step", "pairs per optimizer step"), ("steps", "optimizer steps"), ("n", "evaluation problems"))
"""``(cells.csv column, what it is)``: what every trained cell must share for the comparisons to be fair."""


def comparison_sentence(r: dict[str, Any]) -> str:
    """One comparison (a row of ``comparisons.csv``, or ``PairedComparison.as_row()``) in words."""
    alpha = float(r.get("alpha") or 0.05)
    distinguishable = r.get("distinguishable")
    if distinguishable is None:
        distinguishable = float(r["p_value"]) < alpha
    verdict = (f"distinguishable from noise (p = {r['p_value']:.3g} < {alpha:g})" if distinguishable
               else f"not distinguishable from noise at this size (p = {r['p_value']:.3g})")
    return (f"{r['a']} vs {r['b']}: {100 * r['accuracy_a']:.1f}% vs {100 * r['accuracy_b']:.1f}%, difference "
            f"{100 * r['difference']:+.1f} points, {100 * (1 - alpha):g}% paired bootstrap interval "
            f"[{100 * r['ci_low']:+.1f}, {100 * r['ci_high']:+.1f}] over {r['n']} paired outcomes "
            f"({r['a_only']} only {r['a']} right, {r['b_only']} only {r['b']} right), exact McNemar: {verdict}.")


def footing_checks(rows: list[dict[str, Any]]) -> list[tuple[str, bool, str]]:
    """``(what, same in every cell, detail)`` for each :data:`FOOTING` column present in the trained cells' rows."""
    checks = []
    for key, what in FOOTING:
        values = sorted({str(r.get(key)) for r in rows if r.get(key) is not None})
        if len(values) == 1:
            checks.append((what, True, f"{values[0]} in every cell"))
        elif values:
            checks.append((what, False, ", ".join(f"{r['cell']}={r.get(key)}" for r in rows)))
    return checks

"""An experiment's checks and comparisons in words: one wording for ``report.md`` (written by
:mod:`hn_lightning.experiments.report`) and ``report.html`` (:mod:`hn_lightning.reports.experiment`), both
from the rows of ``cells.csv`` and ``comparisons.csv`` and from ``design.json``. Imports nothing, so either side may use it."""

from __future__ import annotations

from typing import Any

__all__ = ["FOOTING", "comparison_sentence", "design_line", "design_sentences", "footing_checks"]

FOOTING = (("policy", "starting policy"), ("pairs_available", "training pairs available"),
           ("pairs_per_step", "pairs per optimizer step"), ("steps", "optimizer steps"), ("n", "evaluation problems"))
"""``(cells.csv column, what it is)``: what every trained cell must share for the comparisons to be fair."""


BASELINE_ROWS = {"sft": "the starting policy, made by the SFT stage (folder sft/)",
                 "policy": "the starting policy itself",
                 "base": "the model the SFT stage started from (before SFT)"}
"""What each baseline row of an experiment is (rows evaluated, never trained)."""

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


def _points(mde: float) -> str:
    return f"{100 * mde:.1f} points"


def _planned(d: dict[str, Any]) -> str:
    """The planned minimum detectable effect, or why there is none."""
    if d.get("planned_mde") is None:
        if d.get("assumed_discordance") is None:
            return "no planned minimum detectable effect (set design_discordance to a quick run's measured discordance)"
        return "no planned minimum detectable effect (too few paired outcomes)"
    text = (f"MDE {_points(d['planned_mde'])} at {100 * d['power']:.0f}% power, alpha {d['alpha']:g} "
            f"(assumed discordance {d['assumed_discordance']:g})")
    if d["planned_mde"] > d["assumed_discordance"]:
        text += "; larger than that discordance allows: no difference is detectable, evaluate more problems or seeds"
    return text


def design_line(d: dict[str, Any]) -> str:
    """The runner's line before the first cell trains (``d``: the content of ``design.json``)."""
    return f"design: {d['problems']} problems x {d['seeds']} seeds: {_planned(d)}"


def design_sentences(d: dict[str, Any]) -> list[str]:
    """The Design section of ``report.md`` and ``report.html`` (``d``: the content of ``design.json``)."""
    seeds = "seed" if d["seeds"] == 1 else "seeds"
    names = d.get("baselines") or ([d["baseline"]] if d.get("baseline") else [])  # design.json before base rows
    base = f" and the baseline row{'s' if len(names) > 1 else ''} {', '.join(names)} (paired with every seed)" if names else ""
    lines = [f"{d['problems']} evaluation problems x {d['seeds']} {seeds} = {d['paired_outcomes']} paired outcomes per "
             f"comparison of two conditions (seeds pooled); {d['cells']} trained cells{base}.",
             "Minimum detectable effect (MDE): the smallest true accuracy difference McNemar's test finds with "
             f"{100 * d['power']:.0f}% power at two-sided alpha {d['alpha']:g}, from the discordance (the fraction of "
             "paired outcomes where exactly one condition is right; normal approximation, Connor 1987).",
             f"Planned: {_planned(d)}."]
    m = d.get("measured")
    if m is None:
        lines.append("Measured: no two trained conditions compared yet.")
    else:
        mde = (f"MDE {_points(m['mde'])} at this design" if m.get("mde") is not None
               else "no MDE (no discordant outcome, or too few)")
        lines.append(f"Measured: discordance {m['discordance']:.3f} pooled over the {m['comparisons']} comparison{'' if m['comparisons'] == 1 else 's'} "
                     f"between trained conditions ({m['discordant']} of {m['outcomes']} paired outcomes): {mde}; "
                     "each comparison's own MDE is in its mde column.")
    return lines

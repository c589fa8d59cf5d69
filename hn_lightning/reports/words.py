"""Checks and comparisons in words: one wording for ``report.md`` (written by
:mod:`hn_lightning.experiments.report`) and ``report.html`` (:mod:`hn_lightning.reports.experiment`), both
from the rows of ``cells.csv`` and ``comparisons.csv`` and from ``design.json``. Imports nothing, so either side may use it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["FOOTING", "arm_overlap", "comparison_sentence", "design_line", "design_sentences", "footing_checks", "overlap_sentence"]

FOOTING = (("policy", "starting policy"), ("pairs_available", "training pairs available"),
           ("pairs_per_step", "pairs per optimizer step"), ("steps", "optimizer steps"), ("n", "evaluation problems"))
"""``(cells.csv column, what it is)``: what every trained cell must share for the comparisons to be fair."""


BASELINE_ROWS = {"sft": "the starting policy, made by the SFT stage (folder sft/)",
                 "policy": "the starting policy itself",
                 "base": "the model the SFT stage started from (before SFT)"}
"""What each baseline row of an experiment is (rows evaluated, never trained)."""

def _sides(pair: dict[str, Any]) -> tuple[str, str]:
    """``(rejected sample id, chosen sample id or "ref")`` of a pair record (``meta``, else its ``id``
    ``<rejected>-vs-<chosen>``)."""
    meta = pair.get("meta") or {}
    if meta.get("rejected_id"):
        return str(meta["rejected_id"]), str(meta.get("chosen_id") or "ref")
    rejected, _, chosen = str(pair["id"]).partition("-vs-")
    return rejected, chosen or "ref"


def arm_overlap(hardneg: Iterable[dict[str, Any]], random: Iterable[dict[str, Any]]) -> dict[str, int]:
    """How much of the random arm the hard-negative arm also trains on.

    Returns ``random`` (the random arm's pairs), ``identical`` (random pairs with the same rejected and
    chosen sample as a hard-negative pair) and ``shared_rejected`` (random pairs whose rejected sample is
    one of the hard negatives, whatever its chosen side). When nearly every wrong sample passes the
    hard-negative filter the two arms are nearly the same pairs, and comparing them says little about selection.
    """
    hard = [_sides(p) for p in hardneg]
    rnd = [_sides(p) for p in random]
    pairs, rejected = set(hard), {r for r, _ in hard}
    return {"random": len(rnd), "identical": sum(s in pairs for s in rnd),
            "shared_rejected": sum(r in rejected for r, _ in rnd)}


def overlap_sentence(o: dict[str, int]) -> str:
    """:func:`arm_overlap` in words."""
    n, same = o["random"], o["identical"]
    if not n:
        return "The random arm is empty."
    text = (f"The random arm shares {same} of its {n} pairs ({100 * same / n:.0f}%) with the hard-negative arm "
            f"(same rejected and chosen sample); {o['shared_rejected']} of them reject a sample the hard-negative arm also rejects")
    if same / n >= 0.5:
        text += "; the two arms differ in too few pairs for a comparison between them to say much about selection"
    return text + "."


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

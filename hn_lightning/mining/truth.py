"""The ground-truth section of ``report.md`` (testbed problems): the content of ``truth.json``
(:mod:`hn_lightning.testbed.truth_run`, which writes it) as Markdown tables."""

from __future__ import annotations

from typing import Any

from hn_lightning.testbed.truth_report import OFFSETS
from hn_lightning.testbed.truth_run import TRUTH_ARMS

__all__ = ["agreement_rows", "truth_section"]


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:.1f}%" if d else "-"


def _rate(a: dict[str, Any], key: str) -> str:
    return f"{a[key]}/{a['compared']} ({_pct(a[key], a['compared'])})"


def agreement_rows(agree: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(label suffix, agreement)`` rows of one arm: all its samples, the structured ones against their trap
    line, and each wrong-answer category (rows without samples left out, except the first)."""
    rows = [("", agree["truth_line"]), (" (structured, vs trap_line)", agree["trap_line"]),
            *[(f" ({k})", v) for k, v in agree["by_category"].items() if k != "correct"]]
    return rows[:1] + [r for r in rows[1:] if r[1]["n"]]


def truth_section(truth: dict[str, Any], max_rows: int = 20) -> list[str]:
    """The ``report.md`` section of ``truth.json``'s content: categories and trap kinds of all samples
    and of the pairs' rejected sides, and the verifier's first error against the ground-truth line."""
    g = truth["groups"]
    arms = [a for a in TRUTH_ARMS if a in g]
    names = {"candidates": "all samples", "hardneg": "hard-negative pairs", "random": "random-arm pairs"}
    cols = ["candidates", *arms]
    out = ["## Ground truth (testbed)", "",
           f"{truth['problems_with_truth']} of {truth['problems']} problems carry the generator's ground truth; "
           f"{truth['samples_classified']} samples' final answers checked exactly (`hn_lightning.testbed.classify`); "
           f"the answer checker and the ground truth disagree on {truth['checker_disagreements']}. "
           "*structured*: the answer of a trapped plan (the near-misses the method is about); *arithmetic*: the "
           "right plan with a wrong number; *other*: neither. Per pair: `truth.json`.", "",
           "| category | " + " | ".join(names[c] for c in cols) + " |", "| --- |" + " ---: |" * len(cols)]
    for k in ("correct", "structured", "arithmetic", "other"):
        out.append(f"| {k} | " + " | ".join(f"{g[c]['by_category'][k]} ({_pct(g[c]['by_category'][k], g[c]['n'])})"
                                            for c in cols) + " |")
    traps = sorted({t for c in cols for t in g[c]["by_trap"]}, key=lambda t: -g["candidates"]["by_trap"].get(t, 0))
    if traps:
        out += ["", "| trap kind (structured) | " + " | ".join(names[c] for c in cols) + " |", "| --- |" + " ---: |" * len(cols)]
        out += [f"| {t} | " + " | ".join(str(g[c]["by_trap"].get(t, 0)) for c in cols) + " |" for t in traps]
    agree = truth["agreement"]
    if agree:
        out += ["", "### The verifier's first error against the ground truth", "",
                f"Lines: {truth['indexing']}. *exact* / *±1*: of the samples where both lines exist.", "",
                "| pairs | samples | compared | exact | within ±1 | verifier found no error | no ground-truth line |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for arm in arms:
            for label, a in agreement_rows(agree[arm]):
                out.append(f"| {names[arm]}{label} | {a['n']} | {a['compared']} | {_rate(a, 'exact')} | "
                           f"{_rate(a, 'within_1')} | {a['no_verifier_error']} | {a['no_truth_line']} |")
        out += ["", "| verifier line - truth line | " + " | ".join(names[a] for a in arms) + " |",
                "| --- |" + " ---: |" * len(arms)]
        out += [f"| {o} | " + " | ".join(str(agree[a]["truth_line"]["offsets"][o]) for a in arms) + " |" for o in OFFSETS]
    shown = truth["pairs"].get("hardneg") or []
    if shown and max_rows:
        out += ["", f"The first {min(max_rows, len(shown))} of {len(shown)} hard-negative pairs' rejected samples:", "",
                "| sample | ground truth | verifier: step (kind) -> line | lines written |", "| --- | --- | --- | ---: |"]
        for sid in shown[:max_rows]:
            r = truth["samples"][sid]
            v = "none" if r["verifier_step"] is None else f"{r['verifier_step']} ({r['verifier_kind']}) -> {r['verifier_line']}"
            out.append(f"| `{sid}` | {r['label']} | {v} | {r['lines']} |")
    return out + [""]

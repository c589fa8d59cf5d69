r"""What each rule of :mod:`hn_lightning.verifier.rules` finds, on a
:class:`~hn_lightning.verifier.solution_view.SolutionView`. A ``find``/``fallback`` check returns the steps it
flags (:class:`~hn_lightning.verifier.rules.Finding`); a relocation check returns the step to move the first
error to, or ``None``. Route helpers live in :mod:`hn_lightning.verifier.routes`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hn_lightning.verifier.reading import COMMON_CONSTANTS
from hn_lightning.verifier.routes import (
    blame,
    blame_other_route,
    dead_end_side,
    missing_reference_value,
    operand_step,
    recomputed_off_route,
    restates_problem,
)
from hn_lightning.verifier.routes import (
    recomputed_given as _recomputed_given,
)
from hn_lightning.verifier.trace import ValueSet

if TYPE_CHECKING:
    from hn_lightning.verifier.solution_view import SolutionView


@dataclass(frozen=True)
class Finding:
    """A step a rule says is wrong, with the kind of error (``rule``: which rule said so)."""

    step: int
    kind: str
    rule: str = ""


def _finding(step: int, kind: str) -> Finding:
    return Finding(step, kind)


# ---- exact checks -----------------------------------------------------------------------------------
def arithmetic_slips(v: SolutionView) -> list[Finding]:
    return [_finding(tr.index, "arithmetic_slip") for tr in v.traces if tr.slips]


def symbolic(check: str) -> Callable[[SolutionView], list[Finding]]:
    """The steps one check of :func:`~hn_lightning.verifier.algebra.symbolic_checks` flags."""
    def find(v: SolutionView) -> list[Finding]:
        return [_finding(i, "arithmetic_slip") for i in sorted(v.symbolic[check])]
    find.__name__ = f"symbolic_{check}"
    return find


def inconsistent_reuse(v: SolutionView) -> list[Finding]:
    out = []
    for i in sorted(set(v.ev.inconsistent)):
        tr = v.traces[i]
        if v.with_ref and v.on("stale_on_route") and all(v.ref.contains(x) for x in [*tr.computed, *tr.new]):
            continue  # every value of the step is the reference's: no stale value that mattered
        out.append(_finding(i, "inconsistent_reuse"))
    return out


def contradictions(v: SolutionView) -> list[Finding]:
    return [_finding(i, "contradiction") for i, p in sorted(v.ev.contradictions.items())
            if p >= v.ev.contradiction_threshold and i < v.n]


# ---- the reference's route ----------------------------------------------------------------------------
def _strong_off(v: SolutionView):
    """Steps with counted off-route values that are not weak evidence."""
    return [(i, v.traces[i], v.route[i]) for i in range(v.n) if v.route[i].off and not v.route[i].weak]


def off_route(v: SolutionView) -> list[Finding]:
    out = []
    for i, tr, rs in _strong_off(v):
        if v.nowhere(i):
            kind = "unsupported_number"
        elif i == v.n - 1 and not tr.computations:
            kind = "wrong_final_answer"
        elif missing_reference_value(tr, v.traces, v.ref_traces, v.reached_before[i]):
            if v.on("dead_end_side") and dead_end_side(rs.off, tr, i, v.traces):
                continue
            kind = "missing_step"
        else:
            kind = "wrong_operation"
        out.append(_finding(i, kind))
    return out


def _blamed(v: SolutionView, i: int) -> int | None:
    tr, rs = v.traces[i], v.route[i]
    return blame(rs.off, tr, v.first_written, v.problem, v.ref, rs.regrouped)


def blame_operand_writer(v: SolutionView) -> list[Finding]:
    return [_finding(j, "wrong_operation") for i, _, _ in _strong_off(v) if (j := _blamed(v, i)) is not None]


def another_route(v: SolutionView) -> list[Finding]:
    out = []
    for i, tr, rs in _strong_off(v):
        if v.on("blame_operand_writer") and _blamed(v, i) is not None:
            continue
        k = blame_other_route(rs.off, tr, v.traces, v.ref_traces, v.results, v.problem, v.gold)
        if k is not None:
            out.append(_finding(k, "wrong_operation"))
    return out


def recomputed_given(v: SolutionView) -> list[Finding]:
    return [_finding(i, "wrong_operation") for i, tr in enumerate(v.traces)
            if not v.route[i].raw_off and _recomputed_given(tr, v.problem, v.results, v.computed_before[i])]


# ---- reference-free -----------------------------------------------------------------------------------
def unsupported_free(v: SolutionView) -> list[Finding]:
    return [_finding(i, "unsupported_number") for i in range(v.n) if v.nowhere(i)]


_COMMON = ValueSet(COMMON_CONSTANTS)


def recomputed_given_free(v: SolutionView) -> list[Finding]:
    return [_finding(i, "wrong_operation") for i, tr in enumerate(v.traces)
            if _recomputed_given(tr, v.problem, _COMMON, v.computed_before[i])]


# ---- fallbacks ----------------------------------------------------------------------------------------
def weak_off_route(v: SolutionView) -> list[Finding]:
    weak = [i for i in range(v.n) if v.route[i].weak]
    if not weak:
        return []
    first = weak[0]
    src = operand_step(v.traces[first], v.first_written, v.problem) if v.on("operand_brought_in") else None
    return [_finding(first if src is None else src, "wrong_operation")]


def stop_short(v: SolutionView) -> list[Finding]:
    final = v.final_value
    if final is None or not v.ref.contains(final) or v.gold.contains(final) or v.problem.contains(final, forms=False):
        return []
    stop = v.first_written[final]
    again = recomputed_off_route(final, v.traces, v.ref_traces) if not v.latex_ref and v.on("reached_again") else None
    if again is not None and again > stop:
        return [_finding(again, "wrong_operation")]
    return [_finding(stop, "missing_step")]


def final_answer(v: SolutionView) -> list[Finding]:
    first = min(v.n - 1, max((k for k, ok in enumerate(v.verified) if ok), default=-1) + 1)
    final = v.final_value
    if (v.latex_ref and v.on("answer_first_written") and final is not None
            and not v.problem.contains(final, forms=False) and final in v.first_written):
        first = v.first_written[final]
    return [_finding(first, "wrong_final_answer")]


# ---- relocation ---------------------------------------------------------------------------------------
_PLAN_KINDS = ("missing_step", "wrong_operation")
_MORE_PLAN_KINDS = ("wrong_final_answer", "inconsistent_reuse")


def plan_paragraph(v: SolutionView, first: int, kind: str, flagged: set[int]) -> int | None:
    """The first step of the paragraph just before the one holding the first error, when that paragraph
    is a *plan*: not the opening one, and none of its steps computes, is verified or flagged (``Let x be
    ...; 51 = 3x``). Beside a LaTeX reference, where such paragraphs are mostly right restatements, only
    before a missing step."""
    paragraphs = v.ev.paragraphs
    kinds = ("missing_step",) if v.latex_ref else _PLAN_KINDS + (_MORE_PLAN_KINDS if v.on("plan_more_kinds") else ())
    if paragraphs is None or kind not in kinds or paragraphs[first] <= 1:
        return None
    prev = [k for k in range(first) if paragraphs[k] == paragraphs[first] - 1]
    if not prev or any(k in flagged or v.verified[k] or v.traces[k].computations for k in prev):
        return None
    if v.on("plan_not_on_route") and v.with_ref and not v.latex_ref and any(
            v.results.contains(x, forms=False) and not v.problem.contains(x, forms=False) for k in prev for x in v.traces[k].values):
        return None
    if v.on("plan_not_restatement") and restates_problem(" ".join(v.ev.steps[k] for k in prev), v.ev.question):
        return None
    return prev[0]

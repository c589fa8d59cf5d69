r"""What each rule of :mod:`hn_lightning.verifier.rules` finds, on a
:class:`~hn_lightning.verifier.solution_view.SolutionView`. A ``find``/``fallback`` check returns the steps it
flags (:class:`~hn_lightning.verifier.rules.Finding`); a relocation check returns the step to move the first
error to, or ``None``. Route helpers live in :mod:`hn_lightning.verifier.routes`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hn_lightning.verifier.routes import blame, missing_reference_value, operand_step
from hn_lightning.verifier.routes import recomputed_given as _recomputed_given

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


# ---- the reference's route ----------------------------------------------------------------------------
def _strong_off(v: SolutionView):
    """Steps with counted off-route values that are not weak evidence."""
    return [(i, v.traces[i], v.route[i]) for i in range(v.n) if v.route[i].off and not v.route[i].weak]


def off_route(v: SolutionView) -> list[Finding]:
    out = []
    for i, tr, _ in _strong_off(v):
        if v.nowhere(i):
            kind = "unsupported_number"
        elif i == v.n - 1 and not tr.computations:
            kind = "wrong_final_answer"
        elif missing_reference_value(tr, v.traces, v.ref_traces, v.reached_before[i]):
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


def recomputed_given(v: SolutionView) -> list[Finding]:
    return [_finding(i, "wrong_operation") for i, tr in enumerate(v.traces)
            if not v.route[i].raw_off and _recomputed_given(tr, v.problem, v.results, v.computed_before[i])]


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
    return [_finding(v.first_written[final], "missing_step")]


def final_answer(v: SolutionView) -> list[Finding]:
    first = min(v.n - 1, max((k for k, ok in enumerate(v.verified) if ok), default=-1) + 1)
    final = v.final_value
    if (v.latex_ref and v.on("answer_first_written") and final is not None
            and not v.problem.contains(final, forms=False) and final in v.first_written):
        first = v.first_written[final]
    return [_finding(first, "wrong_final_answer")]


def step_judge(v: SolutionView) -> list[Finding]:
    scores = v.ev.judge or []
    return [_finding(i, "step_judge") for i, p in enumerate(scores[:v.n]) if p >= v.ev.judge_threshold][:1]


# ---- relocation ---------------------------------------------------------------------------------------
_PLAN_KINDS = ("missing_step", "wrong_operation")


def plan_paragraph(v: SolutionView, first: int, kind: str, flagged: set[int]) -> int | None:
    """The first step of the paragraph just before the one holding the first error, when that paragraph
    is a *plan*: not the opening one, and none of its steps computes, is verified or flagged (``Let x be
    ...; 51 = 3x``). Beside a LaTeX reference, where such paragraphs are mostly right restatements, only
    before a missing step."""
    paragraphs = v.ev.paragraphs
    kinds = ("missing_step",) if v.latex_ref else _PLAN_KINDS
    if paragraphs is None or kind not in kinds or paragraphs[first] <= 1:
        return None
    prev = [k for k in range(first) if paragraphs[k] == paragraphs[first] - 1]
    if not prev or any(k in flagged or v.verified[k] or v.traces[k].computations for k in prev):
        return None
    return prev[0]

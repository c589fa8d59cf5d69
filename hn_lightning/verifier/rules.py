r"""The first-error rule table: every rule the first-error stage runs, as a named object.

A :class:`Rule` says where it applies (:class:`When`: with or without a reference, a plain (word-problem)
or LaTeX (competition) reference, the final answer right or wrong), what it finds, the kind of error it
reports, its priority and, in one line, why. Stages:

* ``find``: per step; the earliest finding is the first error, the higher priority breaking a tie on
  one step;
* ``fallback``: tried in priority order only when no ``find`` rule fired; the first that finds a step wins;
* ``relocate``: moves the first error found so far (in priority order);
* ``refine``: changes how the others read the route (:class:`~hn_lightning.verifier.solution_view.SolutionView`);
  it finds nothing itself.

Every rule can be switched off by name (:func:`~hn_lightning.verifier.first_error.locate`'s
``disabled``), which is how ``benchmarks/processbench.py --ablate`` measures what each is worth across
folds. What each rule was measured to do is in ``docs/verifier-rules.md``, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from hn_lightning.verifier import rule_checks as chk
from hn_lightning.verifier.rule_checks import Finding
from hn_lightning.verifier.solution_view import SolutionView

__all__ = ["RULES", "Finding", "Rule", "When", "rule_names"]


@dataclass(frozen=True)
class When:
    """Where a rule applies."""

    reference: Literal["with", "without", "any"] = "any"
    style: Literal["plain", "latex", "any"] = "any"
    """``latex``: a LaTeX (competition-style) reference; ``plain``: any other (a word-problem reference, or none)."""
    answer: Literal["right", "wrong", "not_right", "any"] = "any"
    """``not_right``: wrong or unknown (reference-free: no gold)."""

    def holds(self, v: SolutionView) -> bool:
        if self.reference != "any" and (self.reference == "with") != v.with_ref:
            return False
        if self.style != "any" and (self.style == "latex") != v.latex_ref:
            return False
        answer = v.ev.answer_correct
        return {"any": True, "right": answer is True, "wrong": answer is False, "not_right": answer is not True}[self.answer]


@dataclass(frozen=True)
class Rule:
    """One rule of the table (see the module doc)."""

    name: str
    stage: Literal["find", "fallback", "relocate", "refine"]
    kind: str | None
    """The kind it reports (``None``: the kind of the error it moves, or several)."""
    priority: int
    when: When
    find: Callable[..., Any] | None
    """``find``/``fallback``: ``view -> [Finding]``, the steps it flags; ``relocate``: ``(view, first step, its
    kind, flagged steps) -> step | None``; ``None`` for ``refine``."""
    reason: str


ANY, WITH = When(), When(reference="with")
NOT_TRUSTED = When(answer="not_right")  # a right final answer with a reference is trusted

RULES: tuple[Rule, ...] = (
    # ---- exact checks: whatever the answer ------------------------------------------------------------
    Rule("arithmetic_slip", "find", "arithmetic_slip", 100, ANY, chk.arithmetic_slips,
         "a written computation whose stated result does not follow (exact, rounding to the written decimals allowed)"),
    Rule("chain_link", "find", "arithmetic_slip", 99, ANY, chk.symbolic("chain_link"),
         "a later link of an equality chain A = B = C that is no identity"),
    Rule("equation_roots", "find", "arithmetic_slip", 99, ANY, chk.symbolic("equation_roots"),
         "an equation in one unknown rewritten into one with other roots"),
    Rule("term_change", "find", "arithmetic_slip", 99, ANY, chk.symbolic("term_change"),
         "an equation in 2-3 unknowns rewritten with exactly one term changed (a copying slip)"),
    # ---- the reference's route (not when a right answer is trusted) ----------------------------------------
    Rule("off_route", "find", None, 80, When("with", answer="not_right"), chk.off_route,
         "the step's value leaves every path to the gold (kind: from nowhere, a skipped step, or a wrong operation)"),
    Rule("regrouped_sum", "refine", None, 0, WITH, None,
         "a checked partial sum (product) of a reference sum (product) is the reference's step regrouped"),
    Rule("side_remark", "refine", None, 0, When("with", "latex"), None,
         "beside a LaTeX reference, an off-route value of a step (not the last) that no later step writes is a remark"),
    Rule("weak_latex_route", "refine", None, 0, When("with", "latex"), None,
         "beside a LaTeX reference, a checked computation off its route is another route: weak evidence (fallback)"),
    Rule("recomputed_given", "find", "wrong_operation", 79, When("with", answer="wrong"), chk.recomputed_given,
         "a checked computation that states a given number the reference never computes, from a computed operand"),
    Rule("blame_operand_writer", "find", "wrong_operation", 70, When("with", answer="not_right"), chk.blame_operand_writer,
         "an earlier step that wrote an off-route result's operand, itself on no route, is where it started"),
    # ---- fallbacks: nothing flagged, the answer wrong (or unknown: the judge) ----------------------------
    Rule("weak_off_route", "fallback", "wrong_operation", 30, When("with", "latex", "wrong"), chk.weak_off_route,
         "the first checked computation off a LaTeX reference's route"),
    Rule("operand_brought_in", "refine", None, 0, When("with", "latex", "wrong"), None,
         "with right arithmetic off the route, the step that brought in its operand is blamed instead"),
    Rule("stop_short", "fallback", "missing_step", 20, When("with", answer="wrong"), chk.stop_short,
         "the wrong answer is a reference intermediate: the solution stopped where it first wrote it"),
    Rule("final_answer", "fallback", "wrong_final_answer", 10, When("with", answer="wrong"), chk.final_answer,
         "a wrong answer with nothing flagged: the step after the last verified one"),
    Rule("answer_first_written", "refine", None, 0, When("with", "latex", "wrong"), None,
         "beside a LaTeX reference the wrong-answer fallback is the step that first wrote the final value"),
    Rule("step_judge", "fallback", "step_judge", 5, NOT_TRUSTED, chk.step_judge,
         "the first step the configured step judge finds likely wrong, where no other rule found a step"),
    # ---- relocation -------------------------------------------------------------------------------------
    Rule("plan_paragraph", "relocate", None, 50, NOT_TRUSTED, chk.plan_paragraph,
         "a paragraph that only sets up the relation the off-route step carries out is where it went wrong"),
)
"""The table, in the order a reader meets the rules."""


def rule_names(stage: str | None = None) -> list[str]:
    """Names of the rules (of one stage)."""
    return [r.name for r in RULES if stage is None or r.stage == stage]

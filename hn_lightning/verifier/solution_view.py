r"""One solution as the first-error rules see it: the quantity traces of its steps and, with a reference,
where each step stands against the reference's route (:class:`SolutionView`, built once per solution and
shared by every rule of :mod:`hn_lightning.verifier.rules`).

*Off the route* (with a reference): a value a step introduces that is not a reference value (a computed
result: not one the reference computes, nor its ``x100``, ``/100`` or sign form; a value stated without a
computation: not one the reference writes) and that no step *rejoins* the reference with
(:func:`~hn_lightning.verifier.routes.rejoins`). How the route is read can be refined by rules of the table
(stage ``refine``: a regrouped reference sum, a wrong answer that is no rejoin, a side remark beside a
LaTeX reference, another route beside one); a refinement switched off reads the route without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property, lru_cache

from hn_lightning.verifier.algebra import symbolic_checks
from hn_lightning.verifier.evidence import Evidence
from hn_lightning.verifier.routes import derived_correctly, regrouped_sum, rejoins, used_later
from hn_lightning.verifier.steps import is_latex_style
from hn_lightning.verifier.trace import (
    StepTrace,
    ValueSet,
    join_spaced_thousands,
    problem_values,
    reference_results,
    reference_values,
    trace_solution,
)

__all__ = ["RouteStep", "SolutionView", "latex_reference"]

_ANSWER_LINE = re.compile(r"^[ \t]*The final answer is \$\\boxed\{[^{}\n]*\}\$\.?[ \t]*$", re.MULTILINE)
"""The project's answer line (:func:`hn_lightning.data.records.gsm8k_solution`, the testbed's ``solution``)."""


def latex_reference(reference: str) -> bool:
    """A LaTeX (competition-style) reference: LaTeX outside the project's answer line. Mining ends every
    word-problem reference (GSM8K, the testbed) in ``The final answer is $\\boxed{N}$.``; that line says
    nothing of the style of the solution above it, whose plain arithmetic gets the word-problem rules (a
    ``\\boxed`` of the solution's own text, as in MATH, still counts)."""
    return is_latex_style(_ANSWER_LINE.sub("", reference))


@dataclass
class RouteStep:
    """Where one step stands against the reference's route."""

    raw_off: list[Fraction] = field(default_factory=list)
    """Values of the step off the route (before the side-remark refinement)."""
    off: list[Fraction] = field(default_factory=list)
    """Values of the step off the route that count."""
    weak: bool = False
    """Every counted off-route value comes from a computation that checks out with sourced operands
    (beside a LaTeX reference: another route, weak evidence)."""
    regrouped: ValueSet = field(default_factory=ValueSet)
    """Checked-out partial sums/products of a reference computation, up to and including this step."""


@lru_cache(maxsize=2048)
def _symbolic(steps: tuple[str, ...]) -> dict[str, dict[int, str]]:
    """:func:`~hn_lightning.verifier.algebra.symbolic_checks`, memoized (a replay runs the table many times)."""
    return symbolic_checks(list(steps))


@lru_cache(maxsize=2048)
def _traces(steps: tuple[str, ...], question: str) -> list[StepTrace]:
    """:func:`~hn_lightning.verifier.trace.trace_solution`, memoized (the traces are only read)."""
    return trace_solution(list(steps), question)


class SolutionView:
    """The shared reading of one solution (see the module doc); ``enabled`` names the rules that are on."""

    def __init__(self, ev: Evidence, enabled: frozenset[str]):
        self.ev, self.enabled = ev, enabled
        self.n = len(ev.steps)
        self.traces: list[StepTrace] = _traces(tuple(ev.steps), ev.question)
        self.problem = problem_values(ev.question)
        self.with_ref = ev.with_reference
        ref_text = join_spaced_thousands(ev.reference) if self.with_ref else ""
        self.latex_ref = self.with_ref and latex_reference(ref_text)
        self.gold = ValueSet(ev.gold)
        self.ref = reference_values(ref_text, list(ev.gold)) if self.with_ref else None
        self.results = reference_results(ref_text, list(ev.gold)) if self.with_ref else None
        self.ref_traces = _traces((ref_text,), ev.question) if self.with_ref else []
        self.answer_wrong = ev.answer_correct is False
        self.trust_answer = ev.answer_correct is True and self.with_ref
        self.first_written: dict[Fraction, int] = {}
        self.reached_before: list[ValueSet] = []  # problem values and values of the steps before
        self.computed_before: list[ValueSet] = []
        reached, computed = ValueSet(self.problem), ValueSet()
        for tr in self.traces:
            self.reached_before.append(ValueSet(reached))
            self.computed_before.append(ValueSet(computed))
            reached.add_all(tr.values)
            computed.add_all(tr.computed)
            for v in tr.values:
                self.first_written.setdefault(v, tr.index)

    def on(self, rule: str) -> bool:
        return rule in self.enabled

    @cached_property
    def symbolic(self) -> dict[str, dict[int, str]]:
        """Symbolic slips by check (:func:`~hn_lightning.verifier.algebra.symbolic_checks`)."""
        return _symbolic(tuple(self.ev.steps))

    @cached_property
    def final_value(self) -> Fraction | None:
        """The last value the last step writes."""
        return self.traces[-1].values[-1] if self.n and self.traces[-1].values else None

    @cached_property
    def verified(self) -> list[bool]:
        """Per step: it writes a computation that checks out or (with a reference) a value on the route."""
        out = []
        for tr in self.traces:
            good = any(c.matches() is True for c in tr.computations)
            on_path = self.with_ref and any(self.ref.contains(v) or self.results.contains(v) for v in [*tr.new, *tr.computed])
            out.append(good or on_path)
        return out

    @cached_property
    def route(self) -> list[RouteStep]:
        """Per step, its place against the reference's route (empty lists reference-free)."""
        if not self.with_ref:
            return [RouteStep() for _ in self.traces]
        regrouped, out = ValueSet(), []
        for i, tr in enumerate(self.traces):
            reached = self.reached_before[i]
            part = [v for v in tr.computed if not self.results.contains(v) and self.on("regrouped_sum")
                    and regrouped_sum(v, tr, self.ref_traces)]
            regrouped.add_all(part)
            off = [v for v in tr.computed if not self.results.contains(v) and v not in part
                   and not rejoins(v, i, self.traces, self.ref, reached)]
            off += [v for v in tr.new if v not in tr.computed and not self.ref.contains(v, forms=False)
                    and not rejoins(v, i, self.traces, self.ref, reached)]
            step = RouteStep(raw_off=list(off), off=off, regrouped=ValueSet(regrouped))
            if off and self.latex_ref and i < self.n - 1 and self.on("side_remark"):
                step.off = [v for v in off if used_later(v, i, self.traces)]
            step.weak = bool(step.off) and self.latex_ref and self.on("weak_latex_route") and all(
                derived_correctly(v, tr) for v in step.off)
            out.append(step)
        return out

    def nowhere(self, i: int) -> bool:
        """A computation of step ``i`` uses an operand that comes from nowhere."""
        return any(src == "nowhere" for s in self.traces[i].operand_sources for src in s.values())

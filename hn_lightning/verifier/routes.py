r"""How a prediction's quantity trace relates to the reference's route (helpers of the rules of
:mod:`hn_lightning.verifier.rules`; what each rule was measured to do is in ``docs/verifier-rules.md``).

Values are exact fractions in :class:`~hn_lightning.verifier.trace.ValueSet` s (tolerant membership);
a *trace* is a list of :class:`~hn_lightning.verifier.trace.StepTrace`, one per step; the reference's
trace is the reference solution traced as one step.
"""

from __future__ import annotations

import re
from fractions import Fraction

from hn_lightning.verifier.reading import COMMON_CONSTANTS, EXACT, same
from hn_lightning.verifier.trace import StepTrace, ValueSet

__all__ = [
    "blame", "derived_correctly", "missing_reference_value", "operand_step", "recomputed_given", "regrouped_sum", "rejoins",
    "single_operator", "used_later",
]


def used_later(v: Fraction, i: int, traces: list[StepTrace]) -> bool:
    """Does a step after step ``i`` write ``v``?"""
    probe = ValueSet([v])
    return any(probe.contains(x, forms=False) for t in traces[i + 1:] for x in t.values)


def rejoins(v: Fraction, i: int, traces: list[StepTrace], ref: ValueSet, reached: ValueSet) -> bool:
    """Does a computation of this or a later step turn ``v`` into a reference value not reached before
    step ``i``, or does a later step state ``v`` next to such a value (an alternative route that
    rejoins the reference; undoing the step, ``4500 + 600 = 5100`` then ``5100 - 600 = 4500``, is not)?"""
    probe = ValueSet([v])

    def fresh(x: Fraction) -> bool:
        return ref.contains(x) and not reached.contains(x, forms=False)

    for tr in traces[i:]:
        for c in tr.computations:
            if c.stated is not None and any(probe.contains(o, forms=False) for o in c.operands) and fresh(c.stated):
                return True
        if tr.index > i and any(probe.contains(x, forms=False) for x in tr.values) and any(fresh(n) for n in tr.new):
            return True
    return False


def derived_correctly(v: Fraction, tr: StepTrace) -> bool:
    """``v`` is the checked-out result of a computation of the step whose operands all have a source."""
    probe = ValueSet([v])
    return any(c.stated is not None and probe.contains(c.stated, forms=False) and c.matches() is True
               and all(x != "nowhere" for x in src.values())
               for c, src in zip(tr.computations, tr.operand_sources, strict=True))


def single_operator(expr: str) -> str | None:
    """``"+"`` or ``"*"`` when ``expr`` chains its numbers with that operator only (a sum or product
    whose terms can be regrouped), else ``None``."""
    ops = set(re.sub(r"[\d.\s()]", "", expr))
    return next(iter(ops)) if len(ops) == 1 and ops <= {"+", "*"} else None


def regrouped_sum(v: Fraction, tr: StepTrace, ref_traces: list[StepTrace]) -> bool:
    """``v`` is a checked-out partial sum (or product) of a reference sum (product): its operands
    are some of the terms of one reference computation with the same single operator
    (``90 + 180 = 270`` beside the reference's ``900 + 90 + 180``): the reference's step regrouped,
    not a step off its route."""
    probe = ValueSet([v])
    for c in tr.computations:
        if c.stated is None or not probe.contains(c.stated, forms=False) or c.matches() is not True:
            continue
        op = single_operator(c.expr)
        if op is None or len(c.operands) < 2:
            continue
        for rt in ref_traces:
            for rc in rt.computations:
                if len(rc.operands) <= len(c.operands) or single_operator(rc.expr) != op:
                    continue
                terms = list(rc.operands)
                for o in c.operands:
                    k = next((j for j, t in enumerate(terms) if same(t, o, EXACT)), None)
                    if k is None:
                        break
                    terms.pop(k)
                else:
                    return True
    return False


def blame(off: list[Fraction], tr: StepTrace, first_written: dict[Fraction, int], problem: ValueSet, ref: ValueSet,
           regrouped: ValueSet) -> int | None:
    """An earlier step that wrote an operand of an off-path result, itself in neither the problem nor
    the reference nor a regrouped reference sum (the error started there: a misread quantity, a
    wrong count)."""
    probe = ValueSet(off)
    for c in tr.computations:
        if c.stated is None or not probe.contains(c.stated, forms=False):
            continue
        for o in c.operands:
            j = first_written.get(o)
            if j is not None and j < tr.index and not problem.contains(o) and not ref.contains(o) and not regrouped.contains(o, forms=False):
                return j
    return None


def missing_reference_value(tr: StepTrace, traces: list[StepTrace], ref_traces: list[StepTrace], reached: ValueSet) -> bool:
    """A reference value computed from values the prediction already had is never reached, and this
    step does not combine that computation's operands (then it did the step, wrongly: a wrong
    operation, e.g. a flipped relation)."""
    later = ValueSet(v for t in traces[tr.index:] for v in t.values)
    for rt in ref_traces:
        for c in rt.computations:
            if c.stated is None or reached.contains(c.stated) or c.stated in COMMON_CONSTANTS:
                continue
            if not all(reached.contains(o, forms=False) for o in c.operands) or later.contains(c.stated):
                continue
            ops = ValueSet(c.operands)
            if not any(sum(ops.contains(o, forms=False) for o in mine.operands) >= len(set(c.operands))
                       for mine in tr.computations):
                return True
    return False


def recomputed_given(tr: StepTrace, problem: ValueSet, results: ValueSet, computed_before: ValueSet) -> bool:
    """A computation of the step that checks out and states a problem value the reference never
    computes, from an operand an earlier step computed (not itself a problem value): a given number
    reached again with another meaning (``12 + 6 = 18`` *pink* flamingos, where 18 is the problem's
    first count; ``18 * 2 = 36`` hot dogs, where 36 is the number of guests)."""
    return any(c.stated is not None and c.matches() is True and problem.contains(c.stated, forms=False)
               and not results.contains(c.stated, forms=False)
               and any(computed_before.contains(o, forms=False) and not problem.contains(o, forms=False) for o in c.operands)
               for c in tr.computations)


def operand_step(tr: StepTrace, first_written: dict[Fraction, int], problem: ValueSet) -> int | None:
    """The last earlier step that first wrote an operand (not a problem value) of a computation of
    step ``tr`` that checks out: with right arithmetic, the value brought in is where the route
    went wrong (``2 \\cdot \\frac{1}{2} \\cdot 1.5 \\cdot 1.5 = 2.25`` on legs of 1.5 claimed
    in an earlier step). ``None`` when every operand is the problem's or written in this step."""
    steps = [j for c in tr.computations if c.stated is not None and c.matches() is True
             for o in c.operands if (j := first_written.get(o)) is not None and j < tr.index and not problem.contains(o, forms=False)]
    return max(steps, default=None)

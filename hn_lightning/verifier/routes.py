r"""How a prediction's quantity trace relates to the reference's route (used by
:mod:`hn_lightning.verifier.first_error`, whose module doc says what each rule does and what it was
measured to do on the ProcessBench dev half).

Values are exact fractions in :class:`~hn_lightning.verifier.trace.ValueSet` s (tolerant membership);
a *trace* is a list of :class:`~hn_lightning.verifier.trace.StepTrace`, one per step; the reference's
trace is the reference solution traced as one step.
"""

from __future__ import annotations

import re
from fractions import Fraction

from hn_lightning.verifier.trace import FREE_VALUES, StepTrace, ValueSet

__all__ = [
    "blame", "blame_other_route", "dead_end_side", "derived_correctly", "missing_reference_value", "operand_step", "plan_paragraph_before",
    "recomputed_given", "recomputed_off_route", "regrouped_sum", "rejoins", "restates_problem", "single_operator", "used_later",
]


def used_later(v: Fraction, i: int, traces: list[StepTrace]) -> bool:
    """Does a step after step ``i`` write ``v``?"""
    probe = ValueSet([v])
    return any(probe.contains(x, forms=False) for t in traces[i + 1:] for x in t.values)


def dead_end_side(off: list[Fraction], tr: StepTrace, i: int, traces: list[StepTrace]) -> bool:
    """Every off-path value of step ``i`` (not the last step) comes from a computation that checks out
    with sourced operands and no later step uses it: a side quantity (``$3.5 * 4000 = $14,000`` total
    cost when the refund is asked), not where a skipped reference step went missing."""
    return i < len(traces) - 1 and all(derived_correctly(v, tr) and not used_later(v, i, traces) for v in off)


def recomputed_off_route(v: Fraction, traces: list[StepTrace], ref_traces: list[StepTrace]) -> int | None:
    """The step of the last computation that states ``v``, when that computation does not hold the
    operands of any reference computation of ``v`` among its operands and partial results
    (``78 - 39 = 39`` where the reference computes ``23 + 16 = 39``; ``(3 * 7) + 12 = 33`` beside
    ``21 + 12 = 33`` is the reference's); ``None`` when it does or no step computes ``v``."""
    probe = ValueSet([v])
    refs = [c.operands for rt in ref_traces for c in rt.computations if c.stated is not None and probe.contains(c.stated, forms=False)]
    for tr in reversed(traces):
        for c in reversed(tr.computations):
            if c.stated is not None and c.operands and probe.contains(c.stated, forms=False):
                have = ValueSet([*c.operands, *c.subvalues])
                return None if any(all(have.contains(o, forms=False) for o in r) for r in refs) else tr.index
    return None


def rejoins(v: Fraction, i: int, traces: list[StepTrace], ref: ValueSet, reached: ValueSet,
             not_rejoining: ValueSet | None = None) -> bool:
    """Does a computation of this or a later step turn ``v`` into a reference value not reached before
    step ``i``, or does a later step state ``v`` next to such a value (an alternative route that
    rejoins the reference; undoing the step, ``4500 + 600 = 5100`` then ``5100 - 600 = 4500``, is not)?
    Values in ``not_rejoining`` (a wrong final answer) are not a rejoin."""
    probe = ValueSet([v])

    def fresh(x: Fraction) -> bool:
        return (ref.contains(x) and not reached.contains(x, forms=False)
                and not (not_rejoining is not None and not_rejoining.contains(x, forms=False)))

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
                    k = next((j for j, t in enumerate(terms) if abs(float(t) - float(o)) <= 1e-9 * max(1, abs(float(o)))), None)
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
            if c.stated is None or reached.contains(c.stated) or c.stated in FREE_VALUES:
                continue
            if not all(reached.contains(o, forms=False) for o in c.operands) or later.contains(c.stated):
                continue
            ops = ValueSet(c.operands)
            if not any(sum(ops.contains(o, forms=False) for o in mine.operands) >= len(set(c.operands))
                       for mine in tr.computations):
                return True
    return False


def plan_paragraph_before(first: int, kind: str | None, latex_ref: bool, scores: list[float], verified: list[bool],
                           traces: list[StepTrace], paragraphs: list[int], results: ValueSet | None = None,
                           problem: ValueSet | None = None, step_texts: list[str] | None = None,
                           question: str = "") -> int | None:
    """The first step of the paragraph just before the one holding an off-path first error, when
    that paragraph is a *plan*: none of its steps computes, writes a value on the reference's route,
    checks out or is flagged, and it is not the opening paragraph; the wrong relation or equation
    the flagged step carries out was set up there (``Let x be ...; 51 = 3x``). With a plain
    (word-problem) reference for a missing step, a wrong operation or a wrong final answer (third pass:
    GSM8K dev +1 record, MATH unchanged); with a LaTeX reference, where
    such paragraphs are mostly right restatements, only for a missing step. Third pass, not with a LaTeX
    reference: also for an inconsistent reuse (the stale value was chosen in the plan; dev GSM8K +1
    record with and without reference), and not when the paragraph writes a value the reference
    computes (``results``; a problem value aside): ``This gives us: x = 10`` reached the route
    (GSM8K +1 net; with LaTeX references -0.8, so not there); never a paragraph that restates the
    problem (:func:`restates_problem`, with ``step_texts`` and ``question``; GSM8K +3 records, none
    lost, MATH unchanged). ``None``: no such paragraph."""
    kinds = ("missing_step",) if latex_ref else ("missing_step", "wrong_operation", "wrong_final_answer", "inconsistent_reuse")
    if kind not in kinds or paragraphs[first] <= 1:
        return None
    prev = [k for k in range(first) if paragraphs[k] == paragraphs[first] - 1]
    if not prev or any(scores[k] > 0.0 or verified[k] or traces[k].computations for k in prev):
        return None
    if not latex_ref and results is not None and problem is not None and any(
            results.contains(v, forms=False) and not problem.contains(v, forms=False) for k in prev for v in traces[k].values):
        return None
    if step_texts is not None and restates_problem(" ".join(step_texts[k] for k in prev), question):
        return None
    return prev[0]


_STOP = frozenset(
    "the and for that this with from then have has had will would are was were its his her their they them into than "
    "what when where which who how many much each per lets let's first second third fourth fifth next now find out "
    "need determine calculate use given know problem states".split())


def _content_words(text: str) -> set[str]:
    """Lower-case words of 3+ letters, without a plural ``s``, less function words and step words
    (``first``, ``calculate``, ...)."""
    return {w.rstrip("s") for w in re.findall(r"[a-z]{3,}", text.lower()) if w not in _STOP}


def restates_problem(text: str, question: str, share: float = 0.8) -> bool:
    """At least ``share`` of the content words of ``text`` are the problem's: it restates the problem
    (``Rick killed 10 wolves. Rick killed 15 cougars.``; ``The computer costs $1,100.``). Dev (plan
    paragraphs, GSM8K): 0.8 moves 3 first errors right and none wrong; 0.7: 3 right, 1 wrong; 0.9: 1 right."""
    words = _content_words(text)
    return bool(words) and len(words & _content_words(question)) >= share * len(words)


def blame_other_route(off: list[Fraction], tr: StepTrace, traces: list[StepTrace], ref_traces: list[StepTrace],
                      results: ValueSet, problem: ValueSet, gold: ValueSet) -> int | None:
    """An earlier step that reached an operand of an off-path result, a value the reference computes
    (not a problem value, not the gold), by *another* computation: one that shares no operand with
    any reference computation of that value and does not multiply or divide by 1 (``4 * 3 = 12``
    running speed where the reference's 12 is ``2 * 6`` miles; ``10 + 30 + 60 = 100`` new shoes where
    the reference's 100 is ``2 * 50``): the reference's number with another meaning, where the error
    started. ``None`` when there is no such step."""
    probe = ValueSet(off)
    for c in tr.computations:
        if c.stated is None or not probe.contains(c.stated, forms=False):
            continue
        for o in c.operands:
            if not results.contains(o, forms=False) or problem.contains(o, forms=False) or gold.contains(o):
                continue
            k = recomputed_off_route(o, traces[:tr.index], ref_traces)
            if k is None:
                continue
            po = ValueSet([o])
            refs = [rc for rt in ref_traces for rc in rt.computations if rc.stated is not None and po.contains(rc.stated, forms=False)]
            mine = [mc for mc in traces[k].computations if mc.stated is not None and po.contains(mc.stated, forms=False)]
            if not refs or not mine or any(1 in mc.operands for mc in mine):
                continue
            if not any(ValueSet(rc.operands).contains(x, forms=False) for rc in refs for mc in mine for x in mc.operands if x != 1):
                return k
    return None


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

r"""The first wrong step of a solution: its index, kind and a per-step score vector.

Input: the steps of a prediction, the problem, optionally the reference solution and gold answer
values, whether the final answer is right, and the symbolic findings of
:mod:`hn_lightning.verifier.symbolic`. Every step gets a score in [0, 1] (higher = more likely
wrong) from the findings below; the **first error** is the earliest step whose score reaches
:data:`ERROR_THRESHOLD`. Error kinds (:data:`ERROR_KINDS`) and the rules that find them, in the order
they are tried on each step:

* ``arithmetic_slip`` (0.95): a written computation whose stated result does not follow
  (exact evaluation, rounding allowed; :meth:`~hn_lightning.verifier.arithmetic.Computation.matches`),
  or a *symbolic slip* in the LaTeX math (:func:`~hn_lightning.verifier.algebra.algebra_slips`, fourth
  pass: a later link of an equality chain that is no identity, a link between numbers that does not
  hold, an equation rewritten into one with other roots; with and without a reference; dev: MATH
  F1 43.4 -> 48.8 with reference, 12.5 -> 27.3 reference-free, no false alarm, GSM8K unchanged).
* ``inconsistent_reuse`` (0.9): the step computes with a value an earlier step had replaced (the
  paper's Table-2 case; the symbolic ``inconsistent_use`` finding).
* with a reference (:mod:`hn_lightning.verifier.trace`): a step introduces a value that *leaves every
  path to the gold*: it is not a reference value (a computed result: not a value the reference
  computes, nor its ``x100``, ``/100`` or sign form; a value stated without computation: not a value
  the reference writes, exactly), and no
  step *rejoins* the reference with it (a computation of this or a later step using it whose result
  is a reference value not reached before, or a later step that states it next to such a value).
  Its kind is

  - ``unsupported_number`` (0.8) when a computation producing it uses an operand that comes from
    nowhere (not the problem, an earlier step or a common constant);
  - ``missing_step`` (0.8) when a reference value that the reference computes from values the
    prediction already had is never reached by the prediction, and the step does not combine that
    computation's operands (the step skipped it; combining them wrongly is a wrong operation);
  - ``wrong_operation`` (0.8) otherwise: right arithmetic on the wrong formula, operand or relation.

  With a LaTeX (competition-style) reference, a step whose off-path values all come from computations
  that check out, with sourced operands, is only *weak* evidence (another route than the reference's;
  measured on the ProcessBench dev half: treating it as an error flags such steps too early): it is
  the first error only when the answer is wrong and no step is flagged. With a plain (word-problem)
  reference the reference's values are the route, and the same step is an error. *Operand brought
  in* (sixth pass): the arithmetic of that weak step checks out, so when an operand of its checked
  computations was first written by an earlier step (not a problem value), the last such step is
  where the route went wrong (``2 \cdot \frac{1}{2} \cdot 1.5 \cdot 1.5 = 2.25`` on legs of 1.5
  that an earlier step claimed; :func:`~hn_lightning.verifier.routes.operand_step`; dev: MATH with
  reference +6 / -2 records; the earliest such step instead: +2 / -3; only operands on the
  reference's route: +5 / -2).
* ``contradiction`` (0.85): the step contradicts a condition of the problem: the fine channel's
  step-vs-condition NLI (the ``conditions`` head, :mod:`hn_lightning.verifier.logic`) passed in through
  ``extra`` (``{step: ("contradiction", p)}``; the verifier passes only
  ``p >= first_error_contradiction_threshold``); not used when a right final answer is trusted.
* ``wrong_final_answer`` (0.6): the final answer is wrong and no step was flagged: the first step
  after the last verified one (the last step when every step verifies), or a last step that only
  states an off-path answer. When that wrong answer is a reference value (an intermediate of the
  reference other than the gold value itself), the solution stopped short or skipped what follows:
  the step that first wrote it is the first error, as a ``missing_step`` (a last value equal to the
  gold's, judged wrong for its sign or form, is not a stop short; dev: GSM8K F1 +0.9).

* *regrouped sum*: a checked-out partial sum (product) of a reference sum (product), i.e. some of
  the terms of one reference computation with the same single operator (``90 + 180 = 270`` beside
  the reference's ``900 + 90 + 180``), is the reference's step regrouped: it is not off the route,
  and it is not blamed for a later off-path result that uses it (dev, benchmarks/processbench.py: GSM8K F1 +1.8).
* *plan paragraph* (moves a flagged ``missing_step`` / ``wrong_operation`` back; needs the
  steps' ``paragraphs``, blocks separated by a blank line, which the verifier passes): when the
  paragraph just before the one holding the first off-path step (not the opening paragraph) has no
  step that computes, writes a value on the reference's route, checks out or is flagged, the wrong
  relation or equation was set up there ("Let x be ...; 51 = 3x"); the first error is its first
  step. With a LaTeX reference only for a missing step (there such paragraphs are mostly right
  restatements). Dev, through ``benchmarks/processbench.py``: GSM8K F1 67.9 -> 68.7, MATH 39.1 -> 39.9.
  (The same rule on single steps moved errors into the previous paragraph: sentences are too fine.)
  Third pass, not with a LaTeX reference: also before a wrong final statement (GSM8K +1 record) or
  an inconsistent reuse, and never a paragraph that writes a value the reference computes (together
  GSM8K 72.6 -> 74.1, reference-free 12.6 -> 14.3; :func:`~hn_lightning.verifier.routes.plan_paragraph_before`);
  never a paragraph that restates the problem (80 % of its content words are the problem's; GSM8K
  +3 records, none lost).
* *dead-end side computation* (third pass): a step (not the last) whose off-path values all come from
  computations that check out with sourced operands and that no later step uses (``3.5 * 4000 =
  14,000`` total cost when the refund is asked) is not marked a ``missing_step``; a skipped reference
  step is blamed where a value that is built on goes off the route (dev: GSM8K F1 +0.8).
* *side remark beside a LaTeX reference* (third pass): with a LaTeX reference, off-path values of a
  step (not the last) that no later step writes are dropped before the step is judged (``6! = 720``
  said in passing; dev: MATH F1 39.9 -> 40.7, with churn: 13 records right that were wrong, 11 the
  other way).
* *reached again* (third pass, plain references only): a wrong answer equal to a reference
  intermediate is not a stop short when the last computation stating it does not hold the operands of
  any reference computation of it among its operands and partial results (``78 - 39 = 39`` where the
  reference computes ``23 + 16 = 39``): that computation's step is the first error, a
  ``wrong_operation`` (dev: GSM8K F1 +0.8; with LaTeX references -0.4, so not used there).
* *stale value on the route* (third pass): with a reference, an ``inconsistent_reuse`` finding counts
  only on a step that writes a value the reference does not (the Table-2 ``20 - 12 = 8``); a step
  whose values are all the reference's used no stale value that mattered (dev: MATH 2 false alarms
  fewer, F1 40.9 -> 41.0; GSM8K unchanged). Reference-free it counts as before.
* *answer first written* (third pass): the ``wrong_final_answer`` fallback, beside a LaTeX
  reference, is the step that first wrote the final value (not a problem value), not the step after
  the last verified one (in competition solutions few steps verify, so that was mostly step 0); and
  a final value that is a problem value is never a stop short (dev: MATH F1 41.0 -> 43.4, 7 records
  right that were wrong, 1 the other way; GSM8K unchanged).
* *another route to a reference number* (third pass, plain references only): when no step is blamed
  for an off-path result's operand, an earlier step that reached an operand the reference computes
  by a computation sharing no operand with the reference's (:func:`~hn_lightning.verifier.routes.blame_other_route`)
  is the first error: the reference's number with another meaning (dev: GSM8K +2 records, none lost).
* *recomputed given* (third pass): when the answer is wrong, a step with no off-route value whose
  checked computation states a problem value the reference never computes, from an operand an
  earlier step computed (``12 + 6 = 18`` *pink* flamingos where 18 is the problem's first count),
  is a ``wrong_operation`` (:func:`~hn_lightning.verifier.routes.recomputed_given`; dev: GSM8K +3
  records, none lost; MATH unchanged). Reference-free (answer unknown), the same computation counts
  when the problem value is not one of the small common numbers (:data:`FREE_VALUES`, often reached
  again by chance): GSM8K 14.3 -> 19.1 (+3 records, 3 false alarms on correct ones), MATH 12.5 =
  (1 false alarm more).
* *spaced amounts* (third pass): the reference's currency amounts grouped by spaces (``$400 000``)
  are read as one number (:func:`~hn_lightning.verifier.trace.join_spaced_thousands`; dev: GSM8K +1 record).
* *no rejoin at a wrong answer* (third pass, plain references only): a wrong final answer that
  equals a reference value does not make an off-path value *rejoin* the reference (``60 + 10 = 70``
  then ``70 - 30 = 40``, the answer, where the reference's 40 means something else) (dev: GSM8K
  F1 +0.8; with LaTeX references -0.4, so not used there).

A right final answer (when the gold is known) is trusted: only arithmetic slips and inconsistent
reuse are reported then. Reference-free mode (no reference, no gold) reports slips, inconsistent
reuse, unsupported numbers, recomputed givens and contradictions only. A step is *verified* (``FirstError.verified``)
when it is not flagged and writes a computation that checks out or a value on the reference's route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from hn_lightning.verifier.algebra import algebra_slips
from hn_lightning.verifier.routes import (
    blame,
    blame_other_route,
    dead_end_side,
    derived_correctly,
    missing_reference_value,
    operand_step,
    plan_paragraph_before,
    recomputed_given,
    recomputed_off_route,
    regrouped_sum,
    rejoins,
    used_later,
)
from hn_lightning.verifier.steps import is_latex_style
from hn_lightning.verifier.trace import (
    FREE_VALUES,
    ValueSet,
    join_spaced_thousands,
    problem_values,
    reference_results,
    reference_values,
    step_values,
    trace_solution,
)

__all__ = ["ERROR_KINDS", "ERROR_THRESHOLD", "FirstError", "gold_values", "locate_first_error"]

ERROR_KINDS = (
    "arithmetic_slip", "wrong_operation", "inconsistent_reuse", "missing_step", "contradiction",
    "unsupported_number", "wrong_final_answer",
)
"""Kinds of first errors, as stored in :attr:`VerifierResult.first_error_kind`."""

ERROR_THRESHOLD = 0.5
"""A step whose score reaches this is wrong."""

_SCORES = {
    "arithmetic_slip": 0.95, "inconsistent_reuse": 0.9, "contradiction": 0.85, "unsupported_number": 0.8,
    "missing_step": 0.8, "wrong_operation": 0.8, "wrong_final_answer": 0.6,
}


@dataclass
class FirstError:
    """Where a solution first goes wrong (``index`` ``None``: no wrong step found)."""

    index: int | None
    kind: str | None
    step_scores: list[float] = field(default_factory=list)
    kinds: list[str | None] = field(default_factory=list)
    """Per step: the kind of the strongest finding (``None``: nothing found)."""
    reason: str = ""
    verified: list[bool] = field(default_factory=list)
    """Per step: positively verified (not only "nothing found"): it writes a value on a path to the gold
    (with a reference) or a computation that checks out, and is not flagged."""

    @property
    def verified_before(self) -> int:
        """Verified steps before the first error (before the end when there is none)."""
        end = len(self.verified) if self.index is None else self.index
        return sum(self.verified[:end])


def gold_values(gold: str | list[str]) -> list[Fraction]:
    """The numeric values of the gold answer(s) (``#### 1,200`` -> 1200; ``\\frac{3}{4}`` -> 3/4):
    the last value each gold answer writes."""
    out: list[Fraction] = []
    for g in [gold] if isinstance(gold, str) else gold:
        vals = step_values(str(g).split("####")[-1].replace(",", ""))
        if vals:
            out.append(vals[-1])
    return out


def locate_first_error(
    step_texts: list[str],
    question: str,
    reference: str | None = None,
    gold_values: list[Fraction] | None = None,
    answer_correct: bool | None = None,
    inconsistent_steps: set[int] | None = None,
    extra: dict[int, tuple[str, float]] | None = None,
    paragraphs: list[int] | None = None,
) -> FirstError:
    """Score every step and find the first wrong one (the rules are in the module doc)."""
    n = len(step_texts)
    scores = [0.0] * n
    kinds: list[str | None] = [None] * n
    if n == 0:
        return FirstError(None, None, [], [], "no steps", [])
    traces = trace_solution(step_texts, question)
    symbolic = algebra_slips(step_texts)
    with_ref = reference is not None and bool(reference.strip())
    reference = join_spaced_thousands(reference) if with_ref else reference
    ref = reference_values(reference or "", list(gold_values or [])) if with_ref else None
    res = reference_results(reference or "", list(gold_values or [])) if with_ref else None
    ref_traces = trace_solution([reference], question) if with_ref else []
    reached = ValueSet(problem_values(question))
    trust_answer = answer_correct is True and with_ref

    verified: list[bool] = []
    weak: list[int] = []
    latex_ref = with_ref and is_latex_style(reference or "")
    first_written: dict[Fraction, int] = {}
    problem = problem_values(question)
    # with a plain reference, a wrong final answer that equals a reference value is no rejoin
    # (``60 + 10 = 70`` then ``70 - 30 = 40``, the answer, where 40 is a reference intermediate)
    wrong_end = (ValueSet(traces[-1].values[-1:]) if with_ref and not latex_ref and answer_correct is False else None)
    computed_before = ValueSet()  # values computed by earlier steps
    regrouped = ValueSet()  # checked-out partial sums / products of a reference computation

    def mark(i: int, kind: str) -> None:
        if _SCORES[kind] > scores[i]:
            scores[i], kinds[i] = _SCORES[kind], kind

    for tr in traces:
        i = tr.index
        if tr.slips or i in symbolic:
            mark(i, "arithmetic_slip")
        if inconsistent_steps and i in inconsistent_steps and (
                ref is None or any(not ref.contains(v) for v in [*tr.computed, *tr.new])):
            mark(i, "inconsistent_reuse")
        if extra and i in extra and not trust_answer:
            mark(i, extra[i][0])
        if not trust_answer:
            nowhere = any(src == "nowhere" for s in tr.operand_sources for src in s.values())
            if ref is not None:
                part = [v for v in tr.computed if not res.contains(v) and regrouped_sum(v, tr, ref_traces)]
                regrouped.add_all(part)
                off = [v for v in tr.computed if not res.contains(v) and v not in part and not rejoins(v, i, traces, ref, reached, wrong_end)]
                off += [v for v in tr.new if v not in tr.computed and not ref.contains(v, forms=False) and not rejoins(v, i, traces, ref, reached, wrong_end)]
                if not off and answer_correct is False and recomputed_given(tr, problem, res, computed_before):
                    mark(i, "wrong_operation")  # a given number reached again with another meaning
                if off and latex_ref and i < n - 1:  # a side value no later step uses is a remark, not the route
                    off = [v for v in off if used_later(v, i, traces)]
                if off and latex_ref and all(derived_correctly(v, tr) for v in off):
                    weak.append(i)  # competition math: a checked computation off the reference's route
                elif off:
                    if nowhere:
                        mark(i, "unsupported_number")
                    elif i == n - 1 and not tr.computations:
                        mark(i, "wrong_final_answer")
                    elif missing_reference_value(tr, traces, ref_traces, reached):
                        if not dead_end_side(off, tr, i, traces):
                            mark(i, "missing_step")
                    else:
                        mark(i, "wrong_operation")
                    j = blame(off, tr, first_written, problem, ref, regrouped)
                    if j is None and not latex_ref:
                        j = blame_other_route(off, tr, traces, ref_traces, res, problem, ValueSet(gold_values or []))
                    if j is not None:
                        mark(j, "wrong_operation")
            elif nowhere:
                mark(i, "unsupported_number")
            elif recomputed_given(tr, problem, ValueSet(FREE_VALUES), computed_before):
                mark(i, "wrong_operation")  # reference-free: a given number (not a small common one) reached again
        good_calc = any(c.matches() is True for c in tr.computations)
        on_path = ref is not None and any(ref.contains(v) or (res.contains(v)) for v in [*tr.new, *tr.computed])
        verified.append(good_calc or on_path)
        reached.add_all(tr.values)
        for v in tr.values:
            first_written.setdefault(v, i)
        computed_before.add_all(tr.computed)
    first = next((i for i, s in enumerate(scores) if s >= ERROR_THRESHOLD), None)
    if first is None and answer_correct is False and weak:
        first = weak[0]
        src = operand_step(traces[first], first_written, problem)
        first = first if src is None else src  # right arithmetic on a value that an earlier step brought in
        mark(first, "wrong_operation")
    if first is None and answer_correct is False:
        final = traces[-1].values[-1] if traces[-1].values else None
        stop = first_written.get(final) if (final is not None and ref is not None and ref.contains(final)
                                            and not ValueSet(gold_values or []).contains(final)
                                            and not problem.contains(final, forms=False)) else None
        again = recomputed_off_route(final, traces, ref_traces) if stop is not None and not latex_ref else None
        if again is not None and again > stop:
            first = again  # the reference intermediate was reached again by another computation: that one is wrong
            mark(first, "wrong_operation")
        elif stop is not None:
            first = stop  # the answer is a reference intermediate: the solution stopped short there
            mark(first, "missing_step")
        else:  # the first step after the last verified one; beside a LaTeX reference the step that first wrote the answer
            first = min(n - 1, max((k for k, v in enumerate(verified) if v), default=-1) + 1)
            if latex_ref and final is not None and not problem.contains(final, forms=False) and final in first_written:
                first = first_written[final]
            mark(first, "wrong_final_answer")
    if first is not None and not trust_answer and paragraphs is not None:
        k = plan_paragraph_before(first, kinds[first], latex_ref, scores, verified, traces, paragraphs, res, problem, step_texts, question)
        if k is not None:
            mark(k, kinds[first])
            first = k
    verified = [v and s < ERROR_THRESHOLD for v, s in zip(verified, scores, strict=True)]
    if first is None:
        return FirstError(None, None, scores, kinds, "no step flagged", verified)
    return FirstError(first, kinds[first], scores, kinds, f"step {first + 1}: {kinds[first]}", verified)

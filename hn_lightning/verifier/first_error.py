r"""The first wrong step of a solution: run the rule table, take the earliest finding, relocate it.

The rules are the named objects of :mod:`hn_lightning.verifier.rules` (where each applies, what it finds,
its kind, priority and reason); what each was measured to do across folds of the ProcessBench dev half
is in ``docs/verifier-rules.md``. The input is an :class:`~hn_lightning.verifier.evidence.Evidence`
(steps, problem, optionally reference, gold values and the answer check, NLI contradictions, paragraphs,
a step judge's scores); the output a :class:`FirstError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from hn_lightning.verifier.evidence import Evidence
from hn_lightning.verifier.rules import RULES, Finding, Rule
from hn_lightning.verifier.solution_view import SolutionView
from hn_lightning.verifier.trace import step_values

__all__ = ["ERROR_KINDS", "ERROR_THRESHOLD", "KIND_SCORES", "FirstError", "gold_values", "locate", "locate_first_error"]

KIND_SCORES = {
    "arithmetic_slip": 0.95, "unsupported_number": 0.8, "missing_step": 0.8, "wrong_operation": 0.8, "step_judge": 0.7,
    "wrong_final_answer": 0.6,
}
"""Per kind, the step score it gives (:attr:`FirstError.step_scores`: how directly the kind is checked)."""
ERROR_KINDS = tuple(KIND_SCORES)
"""Kinds of first errors, as stored in :attr:`VerifierResult.first_error_kind`."""
ERROR_THRESHOLD = 0.5
"""Every flagged step scores at least this; the first error is the earliest flagged step."""


@dataclass
class FirstError:
    """Where a solution first goes wrong (``index`` ``None``: no wrong step found)."""

    index: int | None
    kind: str | None
    step_scores: list[float] = field(default_factory=list)
    kinds: list[str | None] = field(default_factory=list)
    """Per step: the kind of its highest-priority finding (``None``: nothing found)."""
    reason: str = ""
    verified: list[bool] = field(default_factory=list)
    """Per step: positively verified (not only "nothing found"): it writes a value on a path to the gold
    (with a reference) or a computation that checks out, and is not flagged."""
    rule: str | None = None
    """The rule that placed the first error (the last relocation, if any)."""

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


def locate(ev: Evidence, disabled: frozenset[str] = frozenset(), rules: tuple[Rule, ...] = RULES) -> FirstError:
    """The first wrong step of ``ev`` by the rules of ``rules`` less those named in ``disabled``."""
    if not ev.steps:
        return FirstError(None, None, [], [], "no steps", [])
    view = SolutionView(ev, frozenset(r.name for r in rules) - disabled)
    active = sorted((r for r in rules if r.name in view.enabled and r.when.holds(view)), key=lambda r: -r.priority)
    rank = {r.name: r.priority for r in active}
    found = [Finding(f.step, f.kind, r.name) for r in active if r.stage == "find" for f in r.find(view)]
    first = min(found, key=lambda f: (f.step, -rank[f.rule]), default=None)
    if first is None:  # fallbacks in priority order: the first that finds a step
        first = next((Finding(f.step, f.kind, r.name) for r in active if r.stage == "fallback" for f in r.find(view)[:1]), None)
        found += [first] if first else []
    for r in (r for r in active if r.stage == "relocate" and first is not None):
        k = r.find(view, first.step, first.kind, {f.step for f in found})
        if k is not None:
            first = Finding(k, first.kind, r.name)
            found.append(first)
    top = {}  # step -> its highest-priority finding (a relocated first error ranks as its rule)
    for f in sorted(found, key=lambda f: -rank[f.rule]):
        top.setdefault(f.step, f)
    kinds = [top[i].kind if i in top else None for i in range(view.n)]
    scores = [max((KIND_SCORES[f.kind] for f in found if f.step == i), default=0.0) for i in range(view.n)]
    verified = [ok and i not in top for i, ok in enumerate(view.verified)]
    if first is None:
        return FirstError(None, None, scores, kinds, "no step flagged", verified)
    return FirstError(first.step, first.kind, scores, kinds, f"step {first.step + 1}: {first.kind} ({first.rule})", verified, first.rule)


def locate_first_error(step_texts: list[str], question: str, reference: str | None = None,
                       gold_values: list[Fraction] | None = None, answer_correct: bool | None = None,
                       paragraphs: list[int] | None = None, disabled: frozenset[str] = frozenset()) -> FirstError:
    """:func:`locate` on evidence given field by field."""
    ev = Evidence(steps=step_texts, question=question, reference=reference, gold=list(gold_values or []),
                  answer_correct=answer_correct, paragraphs=paragraphs)
    return locate(ev, disabled)

"""One solution as the verifier saw it: its steps, the first wrong step, the step scores, the dimensions.

The steps are re-split with the verifier's own rule (:func:`hn_lightning.verifier.steps.split_steps`),
the one that produced ``step_scores`` and ``first_error_step``. A scored record stores the first error's
character span (``first_error_span``), so the highlighted step is the one holding that span; a split
that does not give the verifier's number of steps (a run with other ``min_step_chars`` / ``max_steps``)
is said on the page rather than hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hn_lightning.verifier.steps import split_steps

__all__ = ["DIMENSIONS", "SolutionView", "StepView", "gold_answer", "solution_view", "weight_parts"]

DIMENSIONS = ("s_sem", "s_struct", "s_order", "s_logic", "s_sym", "s_ans")
"""The verifier's six dimensions (in [0, 1], higher = more wrong), in the order the pages show them."""


@dataclass
class StepView:
    number: int
    """1-based, as the page shows it."""
    text: str
    score: float | None
    kind: str | None
    first_error: bool = False


@dataclass
class SolutionView:
    title: str
    source: str
    """Where the text comes from (a sample id, ``reference solution``)."""
    text: str
    steps: list[StepView]
    scores: dict[str, Any] | None
    """The verifier's record of this text (``None``: not scored, e.g. a reference solution)."""
    first_error_step: int | None = None
    """0-based, as stored."""
    first_error_kind: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def dims(self) -> list[tuple[str, Any]]:
        s = self.scores or {}
        return [(d, s.get(d)) for d in DIMENSIONS]

    @property
    def scored(self) -> bool:
        return self.scores is not None


def _error_index(steps, scores: dict[str, Any]) -> int | None:
    """Index into ``steps`` of the first wrong step: the step that holds ``first_error_span`` (else the
    stored index when it is in range)."""
    index, span = scores.get("first_error_step"), scores.get("first_error_span")
    if index is None:
        return None
    if span:
        for i, st in enumerate(steps):
            if st.start <= span[0] < st.end:
                return i
    return index if 0 <= index < len(steps) else None


def solution_view(text: str, scores: dict[str, Any] | None, title: str, source: str) -> SolutionView:
    """The step view of ``text`` with its verifier scores (``None``: steps only)."""
    steps = split_steps(text)
    if not scores:
        return SolutionView(title, source, text, [StepView(i + 1, st.text, None, None) for i, st in enumerate(steps)], None)
    step_scores, step_kinds = scores.get("step_scores") or [], scores.get("step_kinds") or []
    wrong = _error_index(steps, scores)
    notes = []
    n_pred = scores.get("n_pred_steps")
    if n_pred is not None and n_pred != len(steps):
        notes.append(f"The verifier counted {n_pred} steps, the default split gives {len(steps)} (scored with other "
                     "step settings): step scores are shown by position.")
    if scores.get("first_error_step") is not None and wrong is None:
        notes.append(f"First error at step {scores['first_error_step'] + 1}, which this split does not have.")
    views = [StepView(i + 1, st.text, step_scores[i] if i < len(step_scores) else None,
                      step_kinds[i] if i < len(step_kinds) else None, first_error=i == wrong)
             for i, st in enumerate(steps)]
    return SolutionView(title, source, text, views, scores, scores.get("first_error_step"),
                        scores.get("first_error_kind"), notes)


def gold_answer(gold: Any) -> str:
    """The gold answer as a reader wants it: the ``#### N`` part of a GSM8K solution, a list joined."""
    if isinstance(gold, list):
        return " | ".join(str(g) for g in gold)
    text = str(gold or "")
    return text.rsplit("####", 1)[1].strip() if "####" in text else text.strip()


def weight_parts(scores: dict[str, Any] | None, pair_w_raw: float | None) -> list[tuple[str, float | None]]:
    """``w_raw = wrongness + (1 - confidence) + ppl / normalizer`` of a scored sample, as
    ``[(part, value)]``: the perplexity term is what remains of the stored ``w_raw`` (the normalizer is
    the verifier's setting); without log-probs the neutral terms show as one remainder. A pair weight
    that differs from the sample's ``w_raw`` (a progress factor) is the last part, as a factor."""
    if not scores or scores.get("w_raw") is None:
        return []
    w, wrongness, conf = float(scores["w_raw"]), float(scores.get("wrongness") or 0.0), scores.get("confidence")
    parts: list[tuple[str, float | None]] = [("wrongness", wrongness)]
    if conf is None:
        parts.append(("neutral confidence + perplexity terms (no log-probs)", w - wrongness))
    else:
        parts += [("1 - confidence", 1.0 - float(conf)), ("ppl / normalizer", w - wrongness - (1.0 - float(conf)))]
    parts.append(("w_raw (verifier)", w))
    if pair_w_raw is not None and w > 0 and abs(pair_w_raw - w) > 1e-9 * max(1.0, w):
        parts.append(("x progress factor (1 + progress_weight x hardness)", pair_w_raw / w))
    return parts

r"""The logic dimension ``s_logic`` (fine channel): contradictions, non-sequiturs, inconsistent use.

Paper method step (arXiv 2512.19728, section 3.2): NLI between successive steps and between steps
and the problem's conditions. Evidence, each in [0, 1]:

* ``L_contra``: the largest P(contradiction) among the NLI pairs that reach their threshold (else
  0). Pairs: (step i, step i+1) for consecutive predicted steps, threshold
  ``nli_contradiction_threshold``; and (condition, step i) for each step's
  ``nli_conditions_top_k`` most similar problem conditions
  (:func:`~hn_lightning.verifier.steps.split_conditions`; answer lines excluded), threshold
  ``nli_condition_threshold``. With the default backend each kind has its own trained head
  (``assets/nli/steps`` and ``assets/nli/conditions``; see :mod:`hn_lightning.verifier.nli.train`). The thresholds were set on held-out GSM8K *train* references (correct
  solutions), where they keep false contradiction flags rare (benchmarks/results/verifier.md).
  Only *prose* steps take part (:func:`is_prose`: at least 3 words outside LaTeX math); bare
  formulas are the symbolic checker's job, and the head cannot tell "x = 5" after "y = 6" (two
  different quantities) from a contradiction.
* ``L_nonseq = 1 - (1 - logic_non_sequitur_severity) ** count``: steps after the first whose best
  cosine to the question and to every earlier step is below ``non_sequitur_threshold``.
* ``L_incons = 1 - (1 - logic_inconsistent_severity) ** count``: inconsistent uses of a computed
  value found by the symbolic data-flow check (:mod:`hn_lightning.verifier.symbolic`; paper Table 2).

Combination (noisy-OR): ``s_logic = 1 - (1 - L_contra)(1 - L_nonseq)(1 - L_incons)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from hn_lightning.verifier.reading import math_spans
from hn_lightning.verifier.symbolic import SymbolicFinding

__all__ = ["LogicPlan", "plan_logic_pairs", "LogicResult", "logic_scores", "is_prose"]


@dataclass
class LogicPlan:
    """The NLI pairs of one sample: ``(premise, hypothesis)`` with a label for the flag text."""

    premises: list[str] = field(default_factory=list)
    hypotheses: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    """``"successive"`` or ``"condition"`` per pair (they have separate thresholds)."""
    steps: list[int] = field(default_factory=list)
    """The step index of each pair's hypothesis."""


_WORD = re.compile(r"[A-Za-z]{2,}")


def is_prose(step: str, min_words: int = 3) -> bool:
    """At least ``min_words`` words outside LaTeX math: NLI judges claims in words; bare formulas
    (``\\(10.00002 \\approx 10\\)``) are left to the symbolic checks."""
    text = step
    for start, end in reversed(math_spans(step)):
        text = text[:start] + " " + text[end:]
    return len(_WORD.findall(text)) >= min_words


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def plan_logic_pairs(
    steps: list[str], conditions: list[str], step_cond_sim: np.ndarray, top_k: int = 2, min_sim: float = 0.3
) -> LogicPlan:
    """Successive-step pairs and step-vs-condition pairs (``step_cond_sim``: steps x conditions cosines)."""
    plan = LogicPlan()
    prose = [is_prose(s) for s in steps]
    for i in range(len(steps) - 1):
        if not (prose[i] and prose[i + 1]):
            continue
        plan.premises.append(steps[i])
        plan.hypotheses.append(steps[i + 1])
        plan.labels.append(f"logic: contradiction between step {i + 1} and step {i + 2}")
        plan.kinds.append("successive")
        plan.steps.append(i + 1)
    if conditions and top_k > 0:
        for i, step in enumerate(steps):
            if step.startswith("The answer is") or not prose[i]:
                continue
            order = np.argsort(-step_cond_sim[i], kind="stable")[:top_k]
            for c in order:
                if step_cond_sim[i, c] < min_sim or conditions[c] == step:
                    continue
                plan.premises.append(conditions[c])
                plan.hypotheses.append(step)
                plan.labels.append(f"logic: step {i + 1} contradicts the problem (\"{_short(conditions[c])}\")")
                plan.kinds.append("condition")
                plan.steps.append(i)
    return plan


@dataclass
class LogicResult:
    s_logic: float
    max_contradiction: float
    max_contradiction_successive: float
    max_contradiction_condition: float
    n_contradictions: int
    n_non_sequiturs: int
    n_inconsistent: int
    flags: list[str] = field(default_factory=list)
    condition_contradictions: dict[int, float] = field(default_factory=dict)
    """Step index -> P(contradiction) for steps that contradict a problem condition (above threshold)."""


def logic_scores(
    plan: LogicPlan,
    probs: np.ndarray,
    pred: np.ndarray,
    q: np.ndarray,
    steps: list[str],
    symbolic_findings: list[SymbolicFinding],
    contradiction_threshold: float = 0.9,
    condition_threshold: float = 0.9,
    non_sequitur_threshold: float = 0.15,
    non_sequitur_severity: float = 0.3,
    inconsistent_severity: float = 0.7,
    max_flags: int = 3,
) -> LogicResult:
    """Combine NLI probabilities (rows of ``probs`` follow ``plan``), non-sequiturs and data-flow findings."""
    flags: list[str] = []
    p_c = probs[:, 2] if len(probs) else np.zeros(0)
    limits = [condition_threshold if k == "condition" else contradiction_threshold for k in plan.kinds]
    hits = [i for i in np.argsort(-p_c, kind="stable") if p_c[i] >= limits[i]]
    for i in hits[:max_flags]:
        flags.append(f"{plan.labels[i]} (p={p_c[i]:.2f})")
    l_contra = float(p_c[hits[0]]) if hits else 0.0

    non_seq = 0
    for i in range(1, len(steps)):
        if steps[i].startswith("The answer is"):
            continue
        best = max(float(pred[i] @ q), float((pred[:i] @ pred[i]).max()))
        if best < non_sequitur_threshold:
            non_seq += 1
            if len(flags) < 2 * max_flags:
                flags.append(f"logic: step {i + 1} is a non-sequitur (best cos {best:.2f} to the problem and earlier steps)")
    l_nonseq = 1.0 - (1.0 - non_sequitur_severity) ** non_seq

    incons = [f for f in symbolic_findings if f.logic]
    for f in incons[:max_flags]:
        detail = f.message.split("(", 1)[1].rstrip(")") if "(" in f.message else f.message
        flags.append(f"logic: inconsistent use of a computed value: {detail}")
    l_incons = 1.0 - (1.0 - inconsistent_severity) ** len(incons)

    s_logic = 1.0 - (1.0 - l_contra) * (1.0 - l_nonseq) * (1.0 - l_incons)
    def kind_max(kind: str) -> float:
        vals = [float(p) for p, k in zip(p_c, plan.kinds, strict=True) if k == kind]
        return max(vals) if vals else 0.0

    cond_hits: dict[int, float] = {}
    for i in hits:
        if plan.kinds[i] == "condition" and i < len(plan.steps):
            cond_hits[plan.steps[i]] = max(cond_hits.get(plan.steps[i], 0.0), float(p_c[i]))
    return LogicResult(float(s_logic), float(p_c.max()) if len(p_c) else 0.0, kind_max("successive"),
                       kind_max("condition"), len(hits), non_seq, len(incons), flags, cond_hits)

"""What goes into the verifier and what comes out.

:class:`VerifierInput` is one sampled solution to score; :class:`VerifierResult` its scores. All six
dimensions follow one convention: **in [0, 1], higher means more wrong** (``s_ans = 1``: the final
answer is wrong). A dimension of a channel that did not run is ``None``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["VerifierInput", "VerifierResult"]


@dataclass
class VerifierInput:
    """One sample.

    ``token_logprobs`` are the policy's log-probabilities of the generated tokens of ``prediction``
    and ``tokens`` the decoded text of each token (same length), so the final-answer span can be found
    by character offsets. When ``token_logprobs`` is absent, ``confidence`` and ``ppl`` are ``None``
    and ``w_raw`` uses :attr:`VerifierConfig.neutral_confidence` (0.5) and
    :attr:`VerifierConfig.neutral_ppl` (1.0), i.e. ``w_raw = wrongness + 0.5 + 1 / ppl_normalizer``.
    When ``tokens`` is absent but log-probs are given, ``ppl`` is computed and the answer span is
    the last :attr:`VerifierConfig.answer_span_fallback_tokens` tokens.
    """

    id: str
    question: str
    reference: str
    """The reference solution text (GSM8K answers with ``#### N`` are fine)."""
    gold: str | list[str]
    """Gold answer(s); a GSM8K ``#### N`` text works too."""
    prediction: str
    token_logprobs: list[float] | None = None
    tokens: list[str] | None = None

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field."""
        for name in ("id", "question", "reference", "prediction"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"field {name!r} must be a string, got {type(getattr(self, name)).__name__}")
        if not self.question.strip():
            raise ValueError("field 'question' is empty")
        if isinstance(self.gold, list):
            if not self.gold or not all(isinstance(g, (str, int, float)) for g in self.gold):
                raise ValueError("field 'gold' must be a non-empty string or list of strings")
            self.gold = [str(g) for g in self.gold]
        elif isinstance(self.gold, (int, float)) and not isinstance(self.gold, bool):
            self.gold = str(self.gold)
        elif not isinstance(self.gold, str) or not self.gold.strip():
            raise ValueError("field 'gold' must be a non-empty string or list of strings")
        if self.token_logprobs is not None:
            if not isinstance(self.token_logprobs, list) or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x <= 1e-6
                for x in self.token_logprobs
            ):
                raise ValueError("field 'token_logprobs' must be a list of finite log-probabilities (<= 0)")
        if self.tokens is not None:
            if not isinstance(self.tokens, list) or not all(isinstance(t, str) for t in self.tokens):
                raise ValueError("field 'tokens' must be a list of strings")
            if self.token_logprobs is None:
                raise ValueError("field 'tokens' given without 'token_logprobs'")
            if len(self.tokens) != len(self.token_logprobs):
                raise ValueError(f"'tokens' has {len(self.tokens)} entries but 'token_logprobs' has {len(self.token_logprobs)}")


@dataclass
class VerifierResult:
    """The scores of one sample (``to_dict()`` is JSON-serialisable)."""

    id: str
    s_sem: float | None
    """Semantic: drift from the question, uncovered reference steps, redundancy (fast channel)."""
    s_struct: float | None
    """Structure: 1 - F2 (recall-weighted) of the Needleman-Wunsch alignment to the reference steps (fine channel)."""
    s_order: float | None
    """Order: Spearman correlation and inversions of the matched step positions (fine channel)."""
    s_logic: float | None
    """Logic: NLI contradictions, non-sequiturs, inconsistent use of computed values (fine channel)."""
    s_sym: float | None
    """Symbolic: arithmetic slips, inconsistent use, unsupported numbers (fine channel)."""
    s_ans: float
    """Answer: 1 if the final answer is wrong, else 0 (always computed)."""
    wrongness: float
    absurdity: float
    confidence: float | None
    ppl: float | None
    w_raw: float
    answer_correct: bool
    extracted_answer: str | None
    hard_negative: bool
    """Wrong answer, ``wrongness >= hard_negative_min_wrongness`` and ``absurdity <= hard_negative_max_absurdity``."""
    flags: list[str] = field(default_factory=list)
    fine_channel_run: bool = False
    n_pred_steps: int = 0
    n_ref_steps: int = 0
    n_computations: int | None = None
    first_error_step: int | None = None
    """0-based index (into the predicted steps) of the earliest wrong step, ``None`` when no step is
    found wrong (:mod:`hn_lightning.verifier.first_error`)."""
    first_error_span: list[int] | None = None
    """``[start, end]`` character span of that step in ``prediction``."""
    first_error_kind: str | None = None
    """One of :data:`~hn_lightning.verifier.first_error.ERROR_KINDS` (``arithmetic_slip``,
    ``unsupported_number``, ``missing_step``, ``wrong_operation``, ``step_judge``, ``wrong_final_answer``),
    or ``None``."""
    step_scores: list[float] = field(default_factory=list)
    """Per predicted step, in [0, 1], higher = more likely wrong: the score of the kind of its strongest
    finding (:data:`~hn_lightning.verifier.first_error.KIND_SCORES`; every flagged step is at or above
    :data:`~hn_lightning.verifier.first_error.ERROR_THRESHOLD`), 0 when nothing was found."""
    step_kinds: list[str | None] = field(default_factory=list)
    """Per predicted step, the kind of its highest-priority finding (``None``: nothing found)."""
    verified_steps: int = 0
    """Steps before the first error (all steps when there is none) that are positively verified: they
    write a value on a path to the gold (reference mode) or a computation that checks out."""
    first_error_mode: str = "reference"
    """``reference`` (reference solution and gold used) or ``reference_free``."""
    components: dict[str, float] = field(default_factory=dict)
    """Sub-scores behind the dimensions (drift, coverage, redundancy, spearman, inversions, ...)."""
    timing_ms: dict[str, float] = field(default_factory=dict)
    """Milliseconds per stage; batch-level stages (embedding, NLI) are divided by the batch size."""

    def to_dict(self, timing: bool = True) -> dict[str, Any]:
        d = asdict(self)
        if not timing:
            d.pop("timing_ms")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VerifierResult:
        return cls(**d)

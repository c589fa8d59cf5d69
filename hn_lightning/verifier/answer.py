"""The answer dimension ``s_ans``: one call to the shared answer checker.

Answer equivalence is not re-implemented here: :class:`hn_lightning.answers.AnswerChecker` is the
single source of truth, used by evaluation as well (shared/docs/architecture.md). ``s_ans = 0`` when
the checker says correct, else 1 (including "no answer found" and a check that timed out).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["AnswerOutcome", "AnswerScorer"]


@dataclass
class AnswerOutcome:
    s_ans: float
    correct: bool
    extracted: list[str]
    gold: list[str]
    flags: list[str] = field(default_factory=list)
    error: str | None = None
    timed_out: bool = False

    @property
    def extracted_answer(self) -> str | None:
        """The last extracted answer (the one a reader takes as final), or ``None``."""
        return self.extracted[-1] if self.extracted else None


class AnswerScorer:
    """``AnswerChecker(mode, timeout_s)`` turned into ``s_ans`` plus a flag."""

    def __init__(self, mode: str = "stepdpo", timeout_s: float = 5.0):
        from hn_lightning.answers import AnswerChecker

        self.checker = AnswerChecker(mode=mode, timeout_s=timeout_s)

    def score(self, prediction: str, gold: str | list[str], question: str = "") -> AnswerOutcome:
        v = self.checker.check(prediction, gold, question)
        flags = []
        if v.correct:
            s_ans = 0.0
        else:
            s_ans = 1.0
            if v.timed_out:
                flags.append("answer: the answer check timed out (scored wrong)")
            elif not v.extracted:
                flags.append("answer: no final answer found")
            else:
                flags.append(f"answer: final answer {v.extracted[-1]} does not match the gold {', '.join(v.gold) or '?'}")
        return AnswerOutcome(s_ans, v.correct, list(v.extracted), list(v.gold), flags, v.error, v.timed_out)

"""What the first-error stage reads about one solution (:class:`Evidence`), gathered once by the
verifier and replayable: the benchmark records it per ProcessBench record and runs the rule table on it
again with rules switched off (``benchmarks/processbench.py --ablate``) without the encoder or NLI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from fractions import Fraction
from typing import Any

__all__ = ["Evidence"]


@dataclass
class Evidence:
    """The inputs of :func:`~hn_lightning.verifier.first_error.locate`; JSON round-trips through
    :meth:`to_dict` / :meth:`from_dict`."""

    steps: list[str]
    """The predicted steps' raw text (:attr:`~hn_lightning.verifier.steps.Step.text`)."""
    question: str
    reference: str | None = None
    """The reference solution as the rules read it (``None``: reference-free mode)."""
    gold: list[Fraction] = field(default_factory=list)
    """Numeric values of the gold answer(s) (empty reference-free)."""
    answer_correct: bool | None = None
    """The answer check's verdict (``None``: unknown, reference-free)."""
    paragraphs: list[int] | None = None
    """Per step: its paragraph (blank-line block) index."""
    starts: list[int] = field(default_factory=list)
    """Per step: its start offset in the prediction."""
    judge: list[float] | None = None
    """Per step: P(wrong) from the configured step judge (``None``: no judge)."""
    judge_threshold: float = 0.5
    """A judged step at least this likely wrong is a finding of the ``step_judge`` rule."""

    @property
    def with_reference(self) -> bool:
        return self.reference is not None and bool(self.reference.strip())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["gold"] = [str(g) for g in self.gold]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evidence:
        """The inverse of :meth:`to_dict` (keys of other versions are ignored)."""
        names = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in names}
        d["gold"] = [Fraction(g) for g in d.get("gold", [])]
        return cls(**d)

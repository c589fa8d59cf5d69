"""Step judges: models that score each step of a solution, plug-ins beside the first-error rules.

A judge returns, per step, the probability that the step is wrong (:meth:`StepJudge.score`). The verifier
runs the judge named by :attr:`~hn_lightning.verifier.config.VerifierConfig.step_judge` (a ``class_path``
and ``init_args``, as LightningCLI writes components) on every batch and hands the scores to the rule
table, where the ``step_judge`` rule (:mod:`hn_lightning.verifier.rules`) says where they count: the first
step at or above the judge's ``threshold``, where the rules found nothing. Two judges ship:

* :class:`~hn_lightning.verifier.judges.trained.TrainedStepJudge`: a linear head on hashed step features
  (the words of the step with its operators, where its operands come from, what its results look like),
  trained on errors injected into GSM8K/MATH *train* solutions (``benchmarks/train_step_judge.py``); CPU,
  microseconds a step, no reference needed;
* :class:`~hn_lightning.verifier.judges.hf_prm.HFProcessRewardJudge`: any Hugging Face process reward model
  by Hub id or local path (Qwen2.5-Math-PRM's two-class head at a separator token, or a Skywork-style value
  head at each step's end); a GPU model.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

__all__ = ["JudgeInput", "StepJudge", "build_judge"]


@dataclass(frozen=True)
class JudgeInput:
    """One solution to judge: the problem, its steps, and the reference solution when there is one."""

    question: str
    steps: list[str]
    reference: str | None = None


class StepJudge:
    """Scores every step of a solution (subclasses implement :meth:`score`)."""

    threshold: float = 0.5
    """A step at least this likely wrong is a finding of the ``step_judge`` rule."""

    def score(self, items: list[JudgeInput]) -> list[list[float]]:
        """Per item, per step: the probability that the step is wrong (same lengths as ``item.steps``)."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What this judge is (for logs and output headers)."""
        return {"class": type(self).__name__, "threshold": self.threshold}


def build_judge(spec: dict[str, Any] | StepJudge | None) -> StepJudge | None:
    """The judge of ``spec``: ``{"class_path": "pkg.module.Class", "init_args": {...}}`` (a short name of a
    judge of this package, ``TrainedStepJudge`` or ``HFProcessRewardJudge``, works too), a judge object, or
    ``None``."""
    if spec is None or isinstance(spec, StepJudge):
        return spec
    if not isinstance(spec, dict) or "class_path" not in spec:
        raise ValueError(f"step_judge must be {{class_path, init_args}}, got {spec!r}")
    unknown = set(spec) - {"class_path", "init_args"}
    if unknown:
        raise ValueError(f"step_judge has unknown keys {sorted(unknown)}; valid: class_path, init_args")
    path = str(spec["class_path"])
    short = {"TrainedStepJudge": "hn_lightning.verifier.judges.trained.TrainedStepJudge",
             "HFProcessRewardJudge": "hn_lightning.verifier.judges.hf_prm.HFProcessRewardJudge"}
    path = short.get(path, path)
    module, _, name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"step_judge class_path {spec['class_path']!r} cannot be imported: {exc}") from None
    judge = cls(**(spec.get("init_args") or {}))
    if not isinstance(judge, StepJudge):
        raise ValueError(f"step_judge class_path {path!r} is not a StepJudge")
    return judge

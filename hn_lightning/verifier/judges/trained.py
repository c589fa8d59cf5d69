"""The trained step judge: logistic regression on the hashed step features of
:mod:`~hn_lightning.verifier.judges.features`, ``P(wrong) = sigmoid(x . w + b)``, in numpy.

Files (``hn_lightning/assets/step_judge/`` for the packaged judge; ``benchmarks/train_step_judge.py``
writes them): ``head.npz`` with ``w [N_FEATURES]`` (float16) and ``b [1]``; ``head.json`` with the feature
version, the training data, the held-out metrics and the threshold chosen across folds of the ProcessBench
dev half. It reads no reference: the same judge serves both modes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from hn_lightning.verifier.judges import JudgeInput, StepJudge
from hn_lightning.verifier.judges.features import FEATURE_VERSION, N_FEATURES, hashed, step_features

__all__ = ["TrainedStepJudge", "default_judge_dir", "save_head"]


def default_judge_dir() -> Path:
    """The packaged judge: ``hn_lightning/assets/step_judge``."""
    return Path(__file__).resolve().parents[2] / "assets" / "step_judge"


def save_head(folder: Path, w: np.ndarray, b: float, meta: dict[str, Any]) -> None:
    """Write ``head.npz`` and ``head.json`` (``meta`` plus the feature recipe) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "head.npz", w=np.asarray(w, dtype=np.float16), b=np.asarray([b], dtype=np.float32))
    (folder / "head.json").write_text(json.dumps({**meta, "feature_version": FEATURE_VERSION, "n_features": N_FEATURES},
                                                 indent=1) + "\n", encoding="utf-8")


class TrainedStepJudge(StepJudge):
    """A step judge from a folder of :func:`save_head` (default: the packaged one).

    ``threshold``: a step at least this likely wrong is a finding (default: the one in ``head.json``,
    chosen across folds of the ProcessBench dev half)."""

    def __init__(self, head_dir: str | None = None, threshold: float | None = None):
        folder = Path(head_dir) if head_dir else default_judge_dir()
        if not (folder / "head.npz").is_file():
            raise FileNotFoundError(f"no step judge in {folder} (head.npz); train one with benchmarks/train_step_judge.py")
        self.meta = json.loads((folder / "head.json").read_text(encoding="utf-8"))
        if self.meta.get("feature_version") != FEATURE_VERSION or self.meta.get("n_features") != N_FEATURES:
            raise ValueError(f"{folder}: step judge built for features v{self.meta.get('feature_version')} "
                             f"({self.meta.get('n_features')}), this code reads v{FEATURE_VERSION} ({N_FEATURES}): retrain it")
        with np.load(folder / "head.npz") as z:
            self.w = z["w"].astype(np.float32)
            self.b = float(z["b"][0])
        self.threshold = float(threshold if threshold is not None else self.meta.get("threshold", 0.5))
        self.options = tuple(self.meta.get("options", ()))
        self.folder = folder

    def score(self, items: list[JudgeInput]) -> list[list[float]]:
        out = []
        for item in items:
            if not item.steps:
                out.append([])
                continue
            z = hashed(step_features(item.question, item.steps, self.options)) @ self.w + self.b
            out.append([float(p) for p in 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))])
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "head_dir": str(self.folder), "trained_on": self.meta.get("data")}

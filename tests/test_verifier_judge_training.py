"""The trained step judge's data and training (hn_lightning.verifier.judges.synthetic,
benchmarks/train_step_judge.py): injected errors with the later steps recomputed (every later computation
still checks out, the injected step is the first wrong one), and a reproducible training run on a few
problems."""

from __future__ import annotations

import importlib.util
import json
import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from hn_lightning.verifier.judges.synthetic import KINDS, gsm8k_steps, inject, number_text
from hn_lightning.verifier.trace import trace_solution

REPO = Path(__file__).resolve().parents[1]
Q = ("Julie is reading a 120-page book. Yesterday, she was able to read 12 pages and today, she read twice as many pages "
     "as yesterday. If she wants to read half of the remaining pages tomorrow, how many pages should she read?")
A = ("Maila read 12 x 2 = <<12*2=24>>24 pages today.\nSo she was able to read a total of 12 + 24 = <<12+24=36>>36 pages "
     "since yesterday.\nThere are 120 - 36 = <<120-36=84>>84 pages left to be read.\nSince she wants to read half of the "
     "remaining pages tomorrow, then she should read 84/2 = <<84/2=42>>42 pages.\n#### 42")


def test_gsm8k_steps_drop_annotations_and_state_the_answer():
    steps = gsm8k_steps(A)
    assert len(steps) == 4 and "<<" not in "".join(steps)
    assert steps[0] == "Maila read 12 x 2 = 24 pages today." and steps[-1].endswith("should read 84/2 = 42 pages. The answer is 42.")
    assert number_text(Fraction(1, 4)) == "0.25" and number_text(Fraction(10, 3)) == "3.33" and number_text(Fraction(7)) == "7"


@pytest.mark.parametrize("kind", KINDS)
def test_injected_error_is_the_first_wrong_step_and_the_rest_recomputed(kind):
    steps = gsm8k_steps(A)
    hits = 0
    for seed in range(12):
        ex = inject(Q, steps, kind, random.Random(seed))
        if ex is None:
            continue
        hits += 1
        k = ex.first_error
        assert ex.kind == kind and 0 <= k < len(ex.steps) and ex.steps != steps
        if kind == "skip":  # one step fewer; the first error is the step that used the skipped result
            assert len(ex.steps) == len(steps) - 1 and ex.steps[:k] == steps[:k]
        else:
            assert len(ex.steps) == len(steps) and ex.steps[:k] == steps[:k] and ex.steps[k] != steps[k]
        for tr in trace_solution(ex.steps, Q):  # the arithmetic stays right everywhere
            assert all(c.matches() is not False for c in tr.computations), (seed, ex.steps)
        final = [c.stated for tr in trace_solution(ex.steps, Q) for c in tr.computations][-1]
        assert final != 42 and ex.steps[-1].endswith(f"The answer is {number_text(final)}.")
    assert hits >= 6


def test_operation_flip_by_hand():
    """With the seed below, the first step's ``x`` becomes a ``/``: 12 / 2 = 6, then 12 + 6 = 18, 120 - 18 = 102,
    102 / 2 = 51."""
    ex = next(e for s in range(50) if (e := inject(Q, gsm8k_steps(A), "operation", random.Random(s))) and e.first_error == 0
              and "12 / 2" in e.steps[0])
    assert ex.steps == ["Maila read 12 / 2 = 6 pages today.", "So she was able to read a total of 12 + 6 = 18 pages since yesterday.",
                        "There are 120 - 18 = 102 pages left to be read.",
                        "Since she wants to read half of the remaining pages tomorrow, then she should read 102/2 = 51 pages. The answer is 51."]


def test_training_is_reproducible_and_loadable(tmp_path):
    spec = importlib.util.spec_from_file_location("train_step_judge", REPO / "benchmarks" / "train_step_judge.py")
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    src = tmp_path / "gsm8k.jsonl"
    rows = [{"question": Q.replace("120", str(120 + n)), "answer": A.replace("120 - 36", f"{120 + n} - 36").replace(
        "=84>>84", f"={84 + n}>>{84 + n}").replace("84/2", f"{84 + n}/2")} for n in range(0, 80, 2)]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    outs = []
    for name in ("a", "b"):
        assert train.main(["--gsm8k", str(src), "--math_problems", "0", "--heldout_every", "4", "--threshold", "0.3",
                           "--out", str(tmp_path / name)]) == 0
        outs.append(np.load(tmp_path / name / "head.npz")["w"])
    assert np.array_equal(*outs) and np.abs(outs[0]).sum() > 0
    from hn_lightning.verifier.judges import JudgeInput
    from hn_lightning.verifier.judges.trained import TrainedStepJudge

    judge = TrainedStepJudge(str(tmp_path / "a"))
    meta = json.loads((tmp_path / "a" / "head.json").read_text())
    assert judge.threshold == 0.3 and meta["examples"]["train"] > 0 and 0.0 <= meta["held_out"]["step_auc"] <= 1.0
    [scores] = judge.score([JudgeInput(Q, gsm8k_steps(A))])
    assert len(scores) == 4 and all(0.0 < p < 1.0 for p in scores)

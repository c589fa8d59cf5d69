"""``benchmarks/testbed_sizing.py``: the MDE table and the wall-time estimate of an experiment config from the
unit costs a finished run folder measured (a hand-built folder here; hand-computed golden minutes); and the
multiplicity helpers of ``benchmarks/testbed_summary.py`` (Holm's count, one-factor comparisons). Both scripts
run end to end on a tiny experiment in tests/test_testbed_experiment.py."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

from hn_lightning.commands.experiment import config_from_args
from tests.cli_utils import REPO


def sizing():
    spec = importlib.util.spec_from_file_location("testbed_sizing", REPO / "benchmarks" / "testbed_sizing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def summary(folder: Path, task: str, seconds: float, n: int) -> None:
    (folder / task).mkdir(parents=True)
    (folder / task / "summary.json").write_text(json.dumps({"task": task, "generation_seconds": seconds, "n": n}))


@pytest.fixture
def run(tmp_path) -> Path:
    """A finished run's timing files: SFT 300 s for 30 steps, mining 200 s for 100 samples, the sft row 100 s
    of generation for 50 problems + 10 s, three cells of 8 steps (20 +- 1 s per step) with 40 s of loading and
    export, 2.8 +- 0.2 s per test problem + 10 s, 50 s of KL (4 prompts x 32 tokens) and held-out pairs."""
    root = tmp_path / "run"
    (root / "sft").mkdir(parents=True)
    (root / "sft" / "run_config.yaml").write_text("trainer:\n  accelerator: cpu\n  max_steps: 30\n")
    (root / "mining").mkdir()
    (root / "mining" / "funnel.json").write_text(json.dumps({"input": 100}))
    summary(root / "baseline" / "eval", "testbed-test", 100.0, 50)
    cells = [("a-s0", 20.0, 140.0), ("b-s0", 21.0, 150.0), ("c-s0", 19.0, 130.0)]
    stages = [{"stage": "sft", "seconds": 300, "train_seconds": "", "eval_seconds": ""},
              {"stage": "mine", "seconds": 200, "train_seconds": "", "eval_seconds": ""},
              {"stage": "eval_sft", "seconds": 110, "train_seconds": "", "eval_seconds": 110}]
    for cell, step_s, gen_s in cells:
        train, evaluation = 8 * step_s + 40, gen_s + 10
        stages.append({"stage": f"cell {cell}", "seconds": train + evaluation + 50, "train_seconds": train,
                       "eval_seconds": evaluation})
        summary(root / "cells" / cell / "eval", "testbed-test", gen_s, 50)
        (root / "cells" / cell / "kl.json").write_text(json.dumps({"prompts": 4, "max_new_tokens": 32}))
    write_csv(root / "stages.csv", stages)
    write_csv(root / "cells.csv", [{"cell": "sft", "steps": "", "seconds_per_step_mean": ""}]
              + [{"cell": c, "steps": 8, "seconds_per_step_mean": s} for c, s, _ in cells])
    return root


def test_unit_costs_of_a_finished_run(run):
    costs = sizing().measured_costs(run)
    assert costs["sft_step"] == 10.0 and costs["mine_sample"] == 2.0
    assert costs["row_sft"] == {"per_problem": {"testbed-test": 2.0}, "load": 10.0}
    cell = costs["cell"]
    assert cell["dpo_step"] == 20.0 and cell["train_load"] == pytest.approx(40.0) and cell["eval_load"] == pytest.approx(10.0)
    assert cell["per_problem"] == {"testbed-test": pytest.approx(2.8)} and cell["rest"] == pytest.approx(50.0)
    assert (cell["kl_prompts"], cell["kl_tokens"], cell["cells"]) == (4, 32, 3)


def test_wall_time_of_a_config(run, tmp_path):
    config = tmp_path / "exp.yaml"
    config.write_text("""
out: runs/x
sft: {config: configs/sft_testbed.yaml, max_steps: 30}
baseline: true
max_steps: 6
mine:
  problems: {limit: 40}
  candidates: {sampling: {num_samples: 4}}
kl: {prompts: 8, max_new_tokens: 64}
eval: {task: "testbed:test", limit: 80}
grid:
  arms: [{name: hardneg, mined: hardneg}, {name: random, mined: random, weighting: none}]
  losses: [{name: sigmoid, loss_class: hn_lightning.losses.SigmoidDPO}]
  weightings: [normalized]
  lambdas: [1.0]
  seeds: [0]
""")
    cfg, _ = config_from_args(["--config", str(config)])
    minutes = sizing().estimate(cfg, sizing().measured_costs(run))
    # by hand: SFT 30 x 10 s; mining 40 x 4 x 2 s; the sft row 10 s + 80 x 2 s; a cell 40 s + 6 x 20 s + 10 s
    # + 80 x 2.8 s + 50 s x (4 prompts, the most the held-out file gave, x 64 tokens) / (4 x 32) = 494 s
    assert minutes["sft"] == pytest.approx(5.0) and minutes["mine"] == pytest.approx(320 / 60)
    assert minutes["eval_sft"] == pytest.approx(170 / 60) and minutes["per cell"] == pytest.approx(494 / 60)
    assert minutes["cells (2)"] == pytest.approx(988 / 60)
    assert minutes["total"] == pytest.approx((300 + 320 + 170 + 988) / 60)


def test_mde_table_marks_designs_that_detect_nothing():
    module = sizing()
    assert module.mde(0.08, 750) == pytest.approx(0.0289, abs=1e-4)  # the testbed's planned 2.9 points
    table = module.mde_table([(150, 1), (250, 3)], (0.05, 0.08))
    assert table[2] == "| 150 x 1 | > d | 6.4 |" and table[3] == "| 250 x 3 | 2.3 | 2.9 |"


def summary_module():
    spec = importlib.util.spec_from_file_location("testbed_summary", REPO / "benchmarks" / "testbed_summary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_holm_and_one_factor_comparisons():
    module = summary_module()
    # Holm at 0.05: sorted p 0.01 < 0.05/4 rejects, then 0.03 >= 0.05/3 stops
    assert module.holm([0.01, 0.04, 0.03, 0.5], 0.05) == 1
    assert module.holm([0.02, 0.001, 0.01], 0.05) == 3 and module.holm([0.06], 0.05) == 0
    assert module.one_factor("hardneg-sigmoid-w1", "hardneg-ipo-w1")
    assert module.one_factor("hardneg-sigmoid-w1", "hardneg-sigmoid-uniform")
    assert not module.one_factor("hardneg-sigmoid-w1", "hardneg-ipo-uniform") and not module.one_factor("a-b", "a-b-c")

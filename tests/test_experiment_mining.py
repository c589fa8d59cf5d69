"""``cli.py experiment`` with mining inside, on the tiny model: 6 training problems mined once (K=2, the
synthetic sampler: a correct and a near-miss solution per problem, scored by the real verifier) into
``<out>/mining``; arms hardneg, hardneg_uniform (same pairs, weight 1) and random train 2 steps each from
the same policy, minus the 30% of problems held out (val_split) whose hard-negative pairs are every
cell's held-out pairs; step time, peak memory, sampled KL and the funnel plot are reported; a rerun repeats
nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from tests.cli_utils import REPO, run_cli
from tests.conftest import write_jsonl

PROBLEMS = [
    {"question": "Tom has 3 boxes with 4 apples each. He eats 2 apples. How many apples are left?",
     "answer": "Tom has 3 * 4 = <<3*4=12>>12 apples.\nAfter eating he has 12 - 2 = <<12-2=10>>10 apples.\n#### 10"},
    {"question": "A pen costs 5 dollars and a book costs 7 dollars. Ann buys 2 pens and 3 books. How much does she pay?",
     "answer": "The pens cost 2 * 5 = <<2*5=10>>10 dollars.\nThe books cost 3 * 7 = <<3*7=21>>21 dollars.\n"
               "She pays 10 + 21 = <<10+21=31>>31 dollars.\n#### 31"},
    {"question": "Sam runs 6 km a day for 5 days, then 4 km more. How far does he run?",
     "answer": "In 5 days he runs 6 * 5 = <<6*5=30>>30 km.\nThen he runs 30 + 4 = <<30+4=34>>34 km in all.\n#### 34"},
    {"question": "A class has 4 rows of 6 desks. 5 desks are broken. How many desks can be used?",
     "answer": "There are 4 * 6 = <<4*6=24>>24 desks.\nThe usable ones are 24 - 5 = <<24-5=19>>19 desks.\n#### 19"},
    {"question": "Mia reads 9 pages a day for 3 days and then 8 pages. How many pages does she read?",
     "answer": "In 3 days she reads 9 * 3 = <<9*3=27>>27 pages.\nIn all she reads 27 + 8 = <<27+8=35>>35 pages.\n#### 35"},
    {"question": "A farm has 7 pens with 5 hens each. 6 hens are sold. How many hens are left?",
     "answer": "There are 7 * 5 = <<7*5=35>>35 hens.\nAfter the sale 35 - 6 = <<35-6=29>>29 hens are left.\n#### 29"},
]


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(open(path)))


def rows_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in open(path) if line.strip()]


def write_config(tmp_path: Path, **overrides) -> Path:
    write_jsonl(tmp_path / "train_problems.jsonl", PROBLEMS)
    write_jsonl(tmp_path / "eval.jsonl", [{"id": "e0", "question": "What is 2 + 3?", "answer": "5"},
                                           {"id": "e1", "question": "What is 10 - 4?", "answer": "6"}])
    mine = yaml.safe_load((REPO / "configs" / "mine_demo.yaml").read_text())
    mine["problems"].update(gsm8k=str(tmp_path / "train_problems.jsonl"), limit=None)
    mine["policy"] = {"name_or_path": "ignored: the experiment's policy is used", "dtype": "float32"}
    mine["candidates"]["sampling"].update(backend="synthetic", num_samples=2, problems_per_batch=2)
    mine["progress"] = False
    base = yaml.safe_load((REPO / "configs" / "dpo_demo.yaml").read_text())  # 1 pair per step: a few mined pairs suffice
    base["trainer"]["accumulate_grad_batches"] = 1
    base["data"]["init_args"]["micro_batch_size"] = 1
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    config = {
        "out": str(tmp_path / "exp"), "base_config": str(tmp_path / "base.yaml"), "policy": "tiny-qwen2",
        "model": {"dtype": "float32"}, "max_steps": 2, "mine": mine,
        "val_split": 0.3, "kl": {"prompts": 2, "max_new_tokens": 6, "seed": 0},
        "grid": {"arms": [{"name": "hardneg", "mined": "hardneg"},
                          {"name": "hardneg_uniform", "mined": "hardneg", "weighting": "none"},
                          {"name": "random", "mined": "random", "weighting": "none"}],
                 "losses": [{"name": "sigmoid", "loss_class": "hn_lightning.losses.SigmoidDPO", "args": {"beta": 0.1}}],
                 "weightings": ["normalized"], "lambdas": [0.3], "seeds": [0]},
        "eval": {"task": str(tmp_path / "eval.jsonl"), "limit": None, "max_new_tokens": 4, "batch_size": 2},
        "bootstrap": 200,
        **overrides,
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def experiment(tmp_path) -> Path:
    return write_config(tmp_path)


def test_experiment_mines_once_and_every_arm_trains_on_its_output(experiment, tmp_path):
    proc = run_cli(["experiment", "--config", str(experiment)], cwd=REPO)
    root = tmp_path / "exp"
    mining = root / "mining"
    manifest = json.loads((mining / "manifest.json").read_text())
    assert all(manifest["stages"][s]["complete"] for s in ("candidates", "score", "filter", "pair"))
    assert manifest["stages"]["candidates"]["counts"]["samples"] == 12  # 6 problems x K=2
    funnel = json.loads((mining / "funnel.json").read_text())
    assert funnel["arms"]["hardneg"] >= 2 and funnel["arms"]["random"] == funnel["arms"]["hardneg"]
    split = json.loads((mining / "split" / "split.json").read_text())
    held = set(split["heldout_problems"])
    n_problems = funnel["problems_with_hard_negatives"]
    assert len(held) == max(1, round(0.3 * n_problems))
    val = rows_jsonl(mining / "split" / "val.jsonl")
    assert val and {r["meta"]["problem_id"] for r in val} == held and all(r["meta"]["arm"] == "hardneg" for r in val)
    for arm in ("hardneg", "random", "shuffled"):  # held-out problems leave every arm, nothing else does
        full = rows_jsonl(next((mining / "pairs" / arm).glob("*.jsonl")))
        kept = rows_jsonl(mining / "split" / arm / "pairs.jsonl")
        assert kept == [r for r in full if r["meta"]["problem_id"] not in held]
    n_pairs = split["train_pairs"]["hardneg"]
    assert n_pairs == len(rows_jsonl(mining / "split" / "hardneg" / "pairs.jsonl")) > 0

    cells = {c["cell"]: c for c in rows(root / "cells.csv")}
    assert set(cells) == {"hardneg-sigmoid-w0.3-s0", "hardneg_uniform-sigmoid-uniform-s0", "random-sigmoid-uniform-s0"}
    for name, c in cells.items():
        run = yaml.safe_load((root / "cells" / name / "run_config.yaml").read_text())
        arm = name.split("-")[0]
        expected = mining / "split" / ("random" if arm == "random" else "hardneg")
        assert run["data"]["init_args"]["train_files"] == [str(expected)]
        assert run["data"]["init_args"]["val_files"] == [str(mining / "split" / "val.jsonl")]
        assert run["data"]["init_args"]["weighting"] == ("normalized" if arm == "hardneg" else "none")
        assert (c["policy"], c["pairs_per_step"], c["steps"]) == ("tiny-qwen2", "1", "2")
        assert c["pairs_available"] == str(split["train_pairs"]["random" if arm == "random" else "hardneg"])
        assert float(c["seconds_per_step"]) > 0 and float(c["peak_memory_gib"]) > 0
        # seconds_per_step is the median of the timed steps in the cell's metrics, not fit time / steps
        steps = sorted(float(r["time/step_seconds"]) for r in rows(root / "cells" / name / "metrics.csv") if r.get("time/step_seconds"))
        assert len(steps) == 2 and float(c["seconds_per_step"]) == pytest.approx(sum(steps) / 2)
        assert float(c["seconds_per_step"]) < float(c["train_seconds"])
        kl = json.loads((root / "cells" / name / "kl.json").read_text())
        assert kl["prompts"] == min(2, len({r["prompt"] for r in val})) and 0 < kl["tokens"] <= 12 and float(c["kl_sampled"]) == pytest.approx(kl["kl"])
        assert c["val_chosen_drift_per_token"] != "" and c["val_rejected_drift_per_token"] != ""
    # the uniform ablation trains on the same pairs with weight 1
    log = rows(root / "cells" / "hardneg_uniform-sigmoid-uniform-s0" / "pair_log.csv")
    assert log and all(float(r["weight"]) == 1.0 for r in log)
    report = (root / "report.md").read_text()
    assert "## Same footing" in report and "starting policy: tiny-qwen2 in every cell (checked)" in report
    if split["train_pairs"]["random"] == n_pairs:
        assert f"training pairs available: {n_pairs} in every cell (checked)" in report
    else:
        assert "**training pairs available differ between cells**" in report
    funnel_rows = rows(root / "funnel.csv")
    assert funnel_rows[0] == {"stage": "candidates", "samples": "12", "fraction": "1.0"}
    assert funnel_rows[-1]["stage"] == "paired" and int(funnel_rows[-1]["samples"]) == funnel["paired"]
    assert (root / "plots" / "funnel.png").is_file() and "plots/funnel.png" in report

    # a rerun repeats nothing: no mining stage, no cell
    stamps = {p: p.stat().st_mtime_ns for p in [*root.glob("cells/*/cell.json"), *mining.glob("pairs/*/*.jsonl"), mining / "manifest.json"]}
    proc = run_cli(["experiment", "--config", str(experiment)], cwd=REPO)
    assert "mining (" not in proc.stdout
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())


def test_rounds_remine_with_the_followed_policy_and_report_accuracy_per_round(tmp_path):
    arm = {"name": "hardneg", "mined": "hardneg"}
    grid = {"arms": [arm], "losses": [{"name": "sigmoid", "loss_class": "hn_lightning.losses.SigmoidDPO", "args": {"beta": 0.1}}],
            "weightings": ["normalized"], "lambdas": [0.3], "seeds": [0]}
    path = write_config(tmp_path, grid=grid, val_split=0.0, kl=None,
                        rounds={"count": 1, "follow": "hardneg-sigmoid-w0.3", "seed": 0})
    run_cli(["experiment", "--config", str(path)], cwd=REPO)
    root = tmp_path / "exp"
    round1 = root / "rounds" / "round1"
    followed = root / "cells" / "hardneg-sigmoid-w0.3-s0" / "hf_model"
    # round 1 mined with round 0's trained policy, and trained from it (it is also the reference)
    manifest = json.loads((round1 / "mining" / "manifest.json").read_text())
    assert manifest["stages"]["pair"]["complete"]
    run = yaml.safe_load((round1 / "cells" / "hardneg-sigmoid-w0.3-s0" / "run_config.yaml").read_text())
    assert run["model"]["init_args"]["model"]["name_or_path"] == str(followed)
    assert json.loads((round1 / "cells" / "hardneg-sigmoid-w0.3-s0" / "cell.json").read_text())["policy"] == str(followed)
    table = rows(root / "rounds.csv")
    assert [(r["round"], r["condition"]) for r in table] == [("0", "hardneg-sigmoid-w0.3"), ("1", "hardneg-sigmoid-w0.3")]
    for k, r in enumerate(table):
        cell_dir = (root if k == 0 else round1) / "cells" / "hardneg-sigmoid-w0.3-s0"
        outcomes = json.loads((cell_dir / "cell.json").read_text())["outcomes"]
        assert r["n"] == "2" and float(r["accuracy"]) == pytest.approx(sum(outcomes.values()) / 2)
    assert "## Rounds" in (root / "report.md").read_text() and (round1 / "report.md").is_file()

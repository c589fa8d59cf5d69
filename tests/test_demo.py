"""``python cli.py demo`` = the experiment ``configs/experiments/demo.yaml``, in its shape (SFT stage ->
baseline evaluation of the SFT model -> mining with it -> hard-negative and random cells from it ->
report), on the tiny model through the CLI with the demo's own overrides: 2 SFT steps, 6 training
problems mined with the synthetic sampler (real verifier), 2 DPO steps, 2 evaluation problems. The report
and plots agree with the CSVs, and a rerun (or a rerun after an interrupted SFT) repeats nothing else."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from hn_lightning.experiments import plots
from hn_lightning.experiments.config import ExperimentConfig, SFTSpec
from hn_lightning.experiments.policy import sft_run_config
from hn_lightning.experiments.stats import mcnemar_exact
from tests.cli_utils import REPO, run_cli
from tests.conftest import write_jsonl
from tests.test_experiment_mining import PROBLEMS


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(open(path)))


def demo_args(tmp_path: Path) -> list[str]:
    write_jsonl(tmp_path / "train_problems.jsonl", PROBLEMS)
    write_jsonl(tmp_path / "eval.jsonl", [{"id": "e0", "question": "What is 2 + 3?", "answer": "5"},
                                           {"id": "e1", "question": "What is 10 - 4?", "answer": "6"}])
    base = yaml.safe_load((REPO / "configs" / "dpo_demo.yaml").read_text())  # 1 pair per step: a few mined pairs suffice
    base["trainer"]["accumulate_grad_batches"] = 1
    base["data"]["init_args"]["micro_batch_size"] = 1
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    return ["demo", "--out", "demo", "--policy", "tiny-qwen2", "--model", "{dtype: float32}", "--sft.max_steps", "2",
            "--base_config", str(tmp_path / "base.yaml"), "--max_steps", "2",
            "--mine.problems.gsm8k", str(tmp_path / "train_problems.jsonl"), "--mine.problems.limit", "6",
            "--mine.candidates.sampling.backend", "synthetic", "--mine.candidates.sampling.num_samples", "2",
            "--mine.candidates.sampling.problems_per_batch", "2", "--mine.progress", "false", "--val_split", "0.3",
            "--kl.prompts", "2", "--kl.max_new_tokens", "4", "--eval.task", str(tmp_path / "eval.jsonl"),
            "--eval.max_new_tokens", "4", "--eval.batch_size", "2", "--bootstrap", "200"]


def test_demo_is_the_experiment_with_sft_and_baseline_end_to_end_and_resumes(tmp_path):
    args = demo_args(tmp_path)
    proc = run_cli(args, cwd=tmp_path)
    out = tmp_path / "demo"
    sft = out / "sft" / "hf_model"
    assert (sft / "config.json").is_file() and (out / "sft" / "metrics.csv").is_file()
    assert yaml.safe_load((out / "sft" / "run_config.yaml").read_text())["trainer"]["max_steps"] == 2
    # the SFT model is the policy of everything after it: mining, every cell (and its reference), the baseline
    assert json.loads((out / "baseline" / "baseline.json").read_text())["policy"] == "demo/sft/hf_model"
    cells = rows(out / "cells.csv")
    assert [c["cell"] for c in cells] == ["sft", "hardneg-sigmoid-w0.3-s0", "random-sigmoid-uniform-s0"]
    results = {c["cell"]: json.loads((out / "cells" / c["cell"] / "cell.json").read_text()) for c in cells[1:]}
    results["sft"] = json.loads((out / "baseline" / "baseline.json").read_text())
    for r in results.values():
        assert r["policy"] == "demo/sft/hf_model" and len(r["outcomes"]) == 2
    for c in cells:
        assert float(c["accuracy"]) == pytest.approx(sum(results[c["cell"]]["outcomes"].values()) / 2)
    assert cells[0]["steps"] == "" and {c["steps"] for c in cells[1:]} == {"2"}

    # sft vs each arm, paired: McNemar recomputed from the outcomes
    comps = {(r["a"], r["b"]): r for r in rows(out / "comparisons.csv")}
    assert set(comps) == {("sft", "hardneg-sigmoid-w0.3"), ("sft", "random-sigmoid-uniform"),
                          ("hardneg-sigmoid-w0.3", "random-sigmoid-uniform")}
    for (a, b), comp in comps.items():
        oa, ob = results[a if a == "sft" else f"{a}-s0"]["outcomes"], results[f"{b}-s0"]["outcomes"]
        a_only, b_only = sum(oa[k] and not ob[k] for k in oa), sum(ob[k] and not oa[k] for k in oa)
        assert (int(comp["a_only"]), int(comp["b_only"]), comp["n"]) == (a_only, b_only, "2")
        assert float(comp["p_value"]) == pytest.approx(mcnemar_exact(a_only, b_only))
    conditions = rows(out / "conditions.csv")
    assert [r["condition"] for r in conditions] == ["sft", "hardneg-sigmoid-w0.3", "random-sigmoid-uniform"]

    # the report and the plots say what the CSVs say
    report = (out / "report.md").read_text()
    assert "## SFT" in report and "## Paired comparisons" in report and "## Mining" in report
    for r in conditions:
        assert f"| {r['condition']} | " in report
    for name in ("accuracy", "forest", "funnel", "curves/sft", *(f"curves/{c['cell']}" for c in cells[1:])):
        assert (out / "plots" / f"{name}.png").is_file(), name
    plots.plot_accuracy(out / "cells.csv", tmp_path / "again.png")  # redrawn from the CSV: the same picture
    assert (tmp_path / "again.png").read_bytes() == (out / "plots" / "accuracy.png").read_bytes()
    # what the demo prints: the table and where everything is
    for r in conditions:
        assert f"| {r['condition']} | {r['seeds']} | {r['correct']}/{r['n']} |" in proc.stdout
    assert "cells in" in proc.stdout and "Report: demo/report.md" in proc.stdout
    assert "plots" in proc.stdout and "Demo finished" in proc.stdout
    assert proc.stdout.rstrip().endswith("Open the report in a browser: demo/report.html")
    assert (out / "report.html").is_file() and (out / "mining" / "report.html").is_file()
    stages = json.loads((out / "stages.json").read_text())
    assert {"sft", "mine", "eval_sft", "total"} <= set(stages)

    # a rerun repeats nothing
    markers = [out / "sft" / "sft.json", out / "baseline" / "baseline.json", *out.glob("cells/*/cell.json")]
    stamps = {p: p.stat().st_mtime_ns for p in markers}
    again = run_cli(args, cwd=tmp_path)
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    assert "SFT (" not in again.stdout and "sft" not in json.loads((out / "stages.json").read_text())
    assert rows(out / "comparisons.csv") == list(comps.values())

    # an SFT interrupted after its last checkpoint resumes from it instead of starting over
    (out / "sft" / "sft.json").unlink()
    for f in sft.iterdir():
        f.unlink()
    sft.rmdir()
    resumed = run_cli(args, cwd=tmp_path)
    assert "resuming SFT from" in resumed.stdout and (sft / "config.json").is_file()
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items() if "cells" in p.parts)


def test_sft_stage_config_and_demo_yaml():
    demo = yaml.safe_load((REPO / "configs" / "experiments" / "demo.yaml").read_text())
    assert demo["sft"] == {"config": "configs/sft_demo.yaml", "max_steps": 24} and demo["baseline"] is True
    assert demo["max_steps"] == 8 and demo["mine"]["problems"]["limit"] == 20 and demo["eval"]["limit"] == 20
    cfg = ExperimentConfig(grid=None, out="x", policy="tiny-qwen2", model={"dtype": "float32"}, sft=SFTSpec(max_steps=3))
    run = sft_run_config(cfg, Path("x"))
    assert run["trainer"]["max_steps"] == 3 and run["export"]["out_dir"] == str(Path("x") / "sft" / "hf_model")
    assert run["model"]["init_args"]["model"]["name_or_path"] == "tiny-qwen2"
    assert run["model"]["init_args"]["model"]["dtype"] == "float32"
    assert run["model"]["init_args"]["model"]["finetuning"] == "lora"  # the rest of configs/sft_demo.yaml stays

"""The shipped testbed experiments (``configs/experiments/testbed.yaml`` and ``testbed_losses.yaml``) end to
end through the CLI on the tiny model, in their own shape with sizes cut: SFT on ``testbed:train`` -> mining
of testbed problems (the synthetic sampler, the real verifier with the annotated reference) -> the ``base``
and ``sft`` rows -> every condition of the grid -> evaluation with the calculator and the SFT prompt on
``testbed:test`` and ``testbed:ood`` -> the report; then the loss grid on that run's pairs and SFT model."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.cli_utils import REPO, run_cli


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(open(path)))


def tiny(tmp_path: Path, name: str, **top) -> Path:
    """``configs/experiments/<name>.yaml`` with the tiny model and sizes cut (every other key as shipped)."""
    cfg = yaml.safe_load((REPO / "configs" / "experiments" / f"{name}.yaml").read_text())
    base = yaml.safe_load((REPO / cfg["base_config"]).read_text())  # 1 pair per step: a few mined pairs suffice
    base["trainer"]["accumulate_grad_batches"] = 1
    base["data"]["init_args"]["micro_batch_size"] = 1
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    cfg.update(base_config=str(tmp_path / "base.yaml"), model={"dtype": "float32"}, max_steps=1, bootstrap=200,
               kl={"prompts": 2, "max_new_tokens": 4, "seed": 0}, **top)
    cfg["grid"]["seeds"] = [0]
    cfg["eval"].update(limit=3, max_new_tokens=8, batch_size=3)
    for spec in cfg.get("extra_evals", {}).values():
        spec.update(limit=2, max_new_tokens=8, batch_size=2)
    if cfg.get("mine"):
        cfg["sft"]["max_steps"] = 1
        cfg["mine"]["problems"]["limit"] = 6
        cfg["mine"]["candidates"]["sampling"].update(backend="synthetic", calculator=False, num_samples=2, problems_per_batch=3)
        cfg["mine"]["progress"] = False
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_the_testbed_experiments_run_end_to_end(tmp_path):
    run_cli(["experiment", "--config", str(tiny(tmp_path, "testbed", out="tb", policy="tiny-qwen2"))], cwd=tmp_path)
    out = tmp_path / "tb"
    cells = rows(out / "cells.csv")
    conditions = ["hardneg-sigmoid-w0.3", "hardneg-sigmoid-w1", "hardneg_w1-sigmoid-uniform", "shuffled-sigmoid-w1",
                  "random-sigmoid-uniform"]
    assert [c["cell"] for c in cells] == ["sft", "base", *(f"{c}-s0" for c in conditions)]
    # the base row is the model SFT started from; the sft row and every cell start from the SFT model
    assert json.loads((out / "baseline_base" / "baseline.json").read_text())["policy"] == "tiny-qwen2"
    assert json.loads((out / "baseline" / "baseline.json").read_text())["policy"] == "tb/sft/hf_model"
    # every row evaluated on the same test and ood problems, with the SFT prompt and the calculator
    for folder in [out / "baseline", out / "baseline_base", *(out / "cells" / f"{c}-s0" for c in conditions)]:
        for sub, task, n in (("eval", "testbed-test", 3), ("eval_ood", "testbed-ood", 2)):
            config = json.loads((folder / sub / task / "config.json").read_text())
            assert config["calculator"] is True and config["prompt"] == "sft-system", (folder, sub)
            assert len((folder / sub / task / "samples.jsonl").read_text().splitlines()) == n
    assert [r["condition"] for r in rows(out / "conditions_ood.csv")] == ["sft", "base", *conditions]
    assert {(r["a"], r["b"]) for r in rows(out / "comparisons.csv")} >= {("sft", "base"), ("hardneg-sigmoid-w0.3", "random-sigmoid-uniform")}
    # lambda per arm: the shuffled control only at 1, hardneg at the grid's 0.3 and 1
    lams = {c["cell"]: c["lambda"] for c in cells}
    assert lams["shuffled-sigmoid-w1-s0"] == "1.0" and lams["hardneg-sigmoid-w0.3-s0"] == "0.3"
    report = (out / "report.md").read_text()
    assert (out / "report.html").is_file() and "## Paired comparisons" in report
    # the design (planned from the config's discordance), the generator's ground truth of the mined samples
    design = json.loads((out / "design.json").read_text())
    assert design["seeds"] == 1 and design["problems"] == 3 and design["assumed_discordance"] == 0.08
    assert sorted(design["baselines"]) == ["base", "sft"] and "## Design" in report
    truth = json.loads((out / "mining" / "truth.json").read_text())
    assert truth["problems_with_truth"] == truth["problems"] == 6 and "### Ground truth (testbed)" in report
    # the random arm's overlap with the hard-negative arm, and the summary RESULTS.md quotes
    assert "The random arm shares " in report
    summary = subprocess.run([sys.executable, str(REPO / "benchmarks" / "testbed_summary.py"), str(out)],
                             capture_output=True, text=True, check=True).stdout
    for cond in conditions:
        assert f"| {cond} | 1 | 3 |" in summary
    assert "Extra evaluation `ood`: sft " in summary and "| hardneg-sigmoid-w1 | random-sigmoid-uniform | 3 |" in summary
    assert "Design: 3 problems x 1 seeds" in summary and "| cells (5) |" in summary and "The random arm shares " in summary
    # --vs pairs as the runner does: against this run's own sft row it gives the runner's counts (a and b swapped)
    vs = subprocess.run([sys.executable, str(REPO / "benchmarks" / "testbed_summary.py"), "tb", "--vs", "sft2=tb/baseline"],
                        capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    for r in rows(out / "comparisons.csv"):
        if r["a"] == "sft" and r["b"] != "base":
            assert f"| {r['b']} | sft2 | {r['n']} | {0.0 - 100 * float(r['difference']):+.1f} |" in vs, r
            assert f"| {r['b_only']} / {r['a_only']} | {float(r['p_value']):.3g} |" in vs, r
    # the wall-time estimate from this run's own unit costs comes back near its measured time (in sample:
    # medians over cells stand in for each cell; a unit slip, seconds for minutes, would be 60x off)
    sizing = subprocess.run([sys.executable, str(REPO / "benchmarks" / "testbed_sizing.py"), "--costs", str(out),
                             str(tmp_path / "testbed.yaml")], capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    row = next(line for line in sizing.splitlines() if line.startswith("| testbed.yaml | 3 x 1 | 5 |"))
    hours, mins = row.rstrip(" |").rsplit("| ", 1)[1].split(":")
    measured = float(next(r["seconds"] for r in rows(out / "stages.csv") if r["stage"] == "total")) / 60
    assert abs(int(hours) * 60 + int(mins) - measured) <= max(1.0, 0.5 * measured), (row, measured)

    # the loss grid on that run's training pairs, held-out pairs and SFT model
    losses = tiny(tmp_path, "testbed_losses", out="tbl", policy="tb/sft/hf_model",
                  val_files=["tb/mining/split/val.jsonl"])
    cfg = yaml.safe_load(losses.read_text())
    cfg["grid"]["arms"][0]["train_files"] = ["tb/mining/split/hardneg/pairs.jsonl"]
    losses.write_text(yaml.safe_dump(cfg))
    run_cli(["experiment", "--config", str(losses)], cwd=tmp_path)
    names = {r["condition"] for r in rows(tmp_path / "tbl" / "conditions.csv")}
    assert names == {f"hardneg-{loss}-{w}" for loss in ("sigmoid", "robust", "ipo", "simpo", "orpo") for w in ("w1", "uniform")}
    # its summary: 45 comparisons cut to the 25 that change one thing (weighting within a loss, loss within a
    # weighting), and every condition against the first run's sft row, which this run does not have
    summary = subprocess.run([sys.executable, str(REPO / "benchmarks" / "testbed_summary.py"), "tbl", "--vs", "sft=tb/baseline"],
                             capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert "20 comparisons between conditions that differ in more than one part" in summary
    assert "Between trained conditions: 45 comparisons, " in summary
    assert "| hardneg-sigmoid-w1 | hardneg-sigmoid-uniform | 3 |" in summary and "| hardneg-sigmoid-w1 | hardneg-ipo-uniform |" not in summary
    assert all(f"| {name} | sft | 3 |" in summary for name in names)

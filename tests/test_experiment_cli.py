"""``python cli.py experiment`` end to end on the tiny model: 2 arms x 2 losses (one reference-free) x 2
seeds, 2 steps each, 4 held-out pairs, 3 evaluation problems; report, CSVs and plots agree; a rerun
repeats nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from hn_lightning.experiments.stats import mcnemar_exact, mcnemar_mde
from tests.cli_utils import REPO, run_cli
from tests.conftest import write_jsonl
from tests.test_dpo_module import pairs_file


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(open(path)))


@pytest.fixture
def experiment(tmp_path) -> Path:
    pairs = [json.loads(line) for line in open(pairs_file(tmp_path, 16))]  # shortened: a fast test
    write_jsonl(tmp_path / "hardneg.jsonl", pairs[:8])
    write_jsonl(tmp_path / "random.jsonl", pairs[8:])
    write_jsonl(tmp_path / "heldout.jsonl", [json.loads(line) for line in open(pairs_file(tmp_path, 20, name="all.jsonl"))][16:])
    write_jsonl(tmp_path / "problems.jsonl", [
        {"id": f"p{i}", "question": f"What is {a} + {b}?", "answer": str(a + b)} for i, (a, b) in enumerate([(2, 3), (10, 5), (7, 1)])
    ])
    config = {
        "out": str(tmp_path / "exp"),
        "base_config": "configs/dpo_demo.yaml",
        "policy": "tiny-qwen2",
        "model": {"dtype": "float32"},
        "max_steps": 2,
        "val_files": [str(tmp_path / "heldout.jsonl")],
        "grid": {
            "arms": [{"name": "hardneg", "train_files": [str(tmp_path / "hardneg.jsonl")]},
                     {"name": "random", "train_files": [str(tmp_path / "random.jsonl")]}],
            "losses": [{"name": "sigmoid", "loss_class": "hn_lightning.losses.SigmoidDPO", "args": {"beta": 0.1}},
                       {"name": "simpo", "loss_class": "hn_lightning.losses.SimPO", "args": {"beta": 2.0, "gamma": 0.5}}],
            "weightings": ["normalized"],
            "lambdas": [0.3],
            "seeds": [0, 1],
        },
        "eval": {"task": str(tmp_path / "problems.jsonl"), "limit": None, "max_new_tokens": 8, "batch_size": 4},
        "bootstrap": 500,
        "design_discordance": 0.4,
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_experiment_end_to_end_and_resume(experiment, tmp_path):
    proc = run_cli(["experiment", "--config", str(experiment)], cwd=REPO)
    root = tmp_path / "exp"
    assert "Report:" in proc.stdout
    cells = rows(root / "cells.csv")
    assert len(cells) == 8 and {c["seed"] for c in cells} == {"0", "1"}
    results = {c["cell"]: json.loads((root / "cells" / c["cell"] / "cell.json").read_text()) for c in cells}
    for c in cells:
        r = results[c["cell"]]
        assert c["steps"] == "2" and len(r["outcomes"]) == 3
        assert float(c["accuracy"]) == pytest.approx(sum(r["outcomes"].values()) / 3)
        assert float(c["ci_low"]) <= float(c["accuracy"]) <= float(c["ci_high"])
        assert (root / "plots" / "curves" / f"{c['cell']}.png").is_file()
        assert (root / "plots" / "weights" / f"{c['cell']}.png").is_file()
        # the weight histogram's source: 2 steps x 4 pairs, weights normalized per step (mean 1 before clipping)
        log = rows(root / "cells" / c["cell"] / "pair_log.csv")
        assert len(log) == 8 and {r["step"] for r in log} == {"0", "1"}
        for step in ("0", "1"):
            assert sum(float(r["weight"]) for r in log if r["step"] == step) == pytest.approx(4.0, abs=1e-5)
        assert 0.0 <= float(c["val_reward_accuracy"]) <= 1.0 and c["val_reward_margin"] != ""  # 4 held-out pairs
        if "simpo" in c["cell"]:
            assert c["chosen_drift_per_token"] == ""  # no reference, no drift
        else:
            assert c["chosen_drift_per_token"] != ""
    conditions = rows(root / "conditions.csv")
    assert len(conditions) == 4 and all(r["seeds"] == "2" and r["n"] == "6" for r in conditions)
    comps = rows(root / "comparisons.csv")
    assert len(comps) == 6
    for comp in comps:  # recompute the discordant counts and McNemar p from the cells' outcomes
        a_only = b_only = 0
        for seed in (0, 1):
            oa, ob = results[f"{comp['a']}-s{seed}"]["outcomes"], results[f"{comp['b']}-s{seed}"]["outcomes"]
            a_only += sum(oa[k] and not ob[k] for k in oa)
            b_only += sum(ob[k] and not oa[k] for k in oa)
        assert (int(comp["a_only"]), int(comp["b_only"])) == (a_only, b_only)
        assert float(comp["p_value"]) == pytest.approx(mcnemar_exact(a_only, b_only))
        assert float(comp["ci_low"]) <= float(comp["difference"]) + 1e-12 <= float(comp["ci_high"]) + 2e-12
    report = (root / "report.md").read_text()
    assert "## Paired comparisons" in report and all(c["cell"] in report for c in cells)
    # the design, before the first cell and with the report: 3 problems x 2 seeds, discordance pooled over the
    # 6 comparisons of trained conditions
    design = json.loads((root / "design.json").read_text())
    assert proc.stdout.index("design: 3 problems x 2 seeds: MDE ") < proc.stdout.index("experiment: cell 1/8")
    assert design["planned_mde"] == pytest.approx(mcnemar_mde(6, 0.4))
    discordant = sum(int(r["a_only"]) + int(r["b_only"]) for r in comps)
    assert (design["measured"]["discordant"], design["measured"]["outcomes"]) == (discordant, 36)
    assert "## Design" in report and "## Stage times" in report
    for c in cells:  # the weight spread of each cell is its pair log's
        weights = [float(r["weight"]) for r in rows(root / "cells" / c["cell"] / "pair_log.csv")]
        assert float(c["weight_max"]) == pytest.approx(max(weights)) and 0.0 <= float(c["weight_clipped"]) <= 1.0
    stage_times = {r["stage"]: r for r in rows(root / "stages.csv")}
    assert all(float(stage_times[f"cell {c['cell']}"]["train_seconds"]) > 0 for c in cells) and "total" in stage_times
    assert (root / "plots" / "accuracy.png").is_file() and (root / "plots" / "forest.png").is_file()

    # an interrupted cell (cell.json not written yet) is finished without repeating anything else
    victim = root / "cells" / cells[0]["cell"]
    (victim / "cell.json").unlink()
    stamps = {p: p.stat().st_mtime_ns for p in root.glob("cells/*/cell.json")}
    trained = (victim / "train.json").stat().st_mtime_ns
    proc = run_cli(["experiment", "--config", str(experiment)], cwd=REPO)
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())  # finished cells untouched
    assert (victim / "train.json").stat().st_mtime_ns == trained  # no retraining: the exported model is reused
    assert json.loads((victim / "cell.json").read_text())["outcomes"] == results[cells[0]["cell"]]["outcomes"]
    assert rows(root / "comparisons.csv") == comps

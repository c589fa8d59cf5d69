"""``val_split`` without mining: the problems of the arms' pair files are split once (seeded) into training
and held-out problems; no problem is on both sides, every file arm trains on its pairs of the training
problems, every cell validates on the first arm's held-out pairs, an identical split is not rewritten and a
changed input changes the fingerprint. End to end through the CLI on the tiny model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from hn_lightning.commands.experiment import config_from_args
from hn_lightning.errors import UserError
from hn_lightning.experiments.cells import cell_run_config, heldout_files, run_cell
from hn_lightning.experiments.config import ArmSpec, ExperimentConfig, GridSpec, cells, check
from hn_lightning.experiments.split import problem_key, split_files
from tests.cli_utils import REPO, run_cli
from tests.conftest import write_jsonl
from tests.test_dpo_module import pairs_file


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in open(path) if line.strip()]


def two_arms(tmp_path: Path) -> ExperimentConfig:
    pairs = read(pairs_file(tmp_path, 20))
    extra = dict(pairs[0], id="dup", chosen=pairs[0]["chosen"] + " Done.")  # a second pair of problem 0
    write_jsonl(tmp_path / "a.jsonl", pairs + [extra])
    write_jsonl(tmp_path / "b.jsonl", [dict(p, id=p["id"] + "-b") for p in pairs[:10]])
    grid = GridSpec(arms=[ArmSpec("a", [str(tmp_path / "a.jsonl")]), ArmSpec("b", [str(tmp_path / "b.jsonl")])])
    return ExperimentConfig(grid=grid, out=str(tmp_path / "exp"), val_split=0.25)


def test_split_holds_out_whole_problems_for_every_arm(tmp_path):
    cfg = two_arms(tmp_path)
    check(cfg)  # val_split without mine is allowed when arms have files
    root = Path(cfg.out)
    result = split_files(cfg, root)
    val = read(root / "split" / "val.jsonl")
    train_a, train_b = read(root / "split" / "a" / "pairs.jsonl"), read(root / "split" / "b" / "pairs.jsonl")
    held = {problem_key(r) for r in val}
    assert result["heldout_problems"] == len(held) == 5  # round(0.25 * 20 distinct problems)
    assert not held & {problem_key(r) for r in train_a + train_b}  # no problem on both sides
    assert len(val) + len(train_a) == 21 and all(r["id"].endswith("-b") for r in train_b)
    assert len(train_b) == 10 - len({problem_key(r) for r in read(tmp_path / "b.jsonl")} & held)
    assert result["pairs"] == {"a": len(train_a), "b": len(train_b)} and result["heldout_pairs"] == len(val)
    # the two pairs of problem 0 stay together
    p0 = problem_key(read(tmp_path / "a.jsonl")[0])
    assert sum(problem_key(r) == p0 for r in (val if p0 in held else train_a)) == 2

    # every cell trains on the split files and validates on the held-out pairs
    run = cell_run_config(cfg, cells(cfg.grid)[1], root / "cells" / "x")
    assert heldout_files(cfg, root) == [str(root / "split" / "val.jsonl")]
    assert run["data"]["init_args"]["val_files"] == [str(root / "split" / "val.jsonl")]
    assert run["data"]["init_args"]["train_files"] in ([str(root / "split" / "a")], [str(root / "split" / "b")])

    # an identical split is not rewritten; a changed arm changes its own fingerprint (its finished cells
    # are refused), not the other arm's; a changed first arm (it decides the held-out problems) changes both
    stamp = (root / "split" / "val.jsonl").stat().st_mtime_ns
    assert split_files(cfg, root) == result and (root / "split" / "val.jsonl").stat().st_mtime_ns == stamp
    write_jsonl(tmp_path / "b.jsonl", read(tmp_path / "b.jsonl")[:9])
    changed = split_files(cfg, root)["fingerprint"]
    assert changed["a"] == result["fingerprint"]["a"] and changed["b"] != result["fingerprint"]["b"]
    write_jsonl(tmp_path / "a.jsonl", read(tmp_path / "a.jsonl")[:20])
    again = split_files(cfg, root)["fingerprint"]
    assert again["a"] != changed["a"] and again["b"] != changed["b"]


def test_arms_naming_problems_differently_hold_out_the_same_problems(tmp_path):
    pairs = read(pairs_file(tmp_path, 20))
    with_ids = [dict(p, meta={"problem_id": f"gsm8k-{i}"}) for i, p in enumerate(pairs)]  # like mined pairs
    write_jsonl(tmp_path / "mined.jsonl", with_ids)
    write_jsonl(tmp_path / "plain.jsonl", [dict(p, id=p["id"] + "-plain", prompt="  " + p["prompt"]) for p in pairs])
    grid = GridSpec(arms=[ArmSpec("mined", [str(tmp_path / "mined.jsonl")]), ArmSpec("plain", [str(tmp_path / "plain.jsonl")])])
    cfg = ExperimentConfig(grid=grid, out=str(tmp_path / "exp"), val_split=0.25)
    result = split_files(cfg, Path(cfg.out))
    held = {" ".join(r["prompt"].split()) for r in read(Path(cfg.out) / "split" / "val.jsonl")}
    plain = read(Path(cfg.out) / "split" / "plain" / "pairs.jsonl")
    assert len(held) == 5 and result["pairs"] == {"mined": 15, "plain": 15}
    assert not held & {" ".join(r["prompt"].split()) for r in plain}


def test_test_files_are_refused_as_in_training(tmp_path):
    from hn_lightning.catalog import TestDataRefused

    (tmp_path / "test").mkdir()
    write_jsonl(tmp_path / "test" / "pairs.jsonl", read(pairs_file(tmp_path, 4)))
    cfg = ExperimentConfig(grid=GridSpec(arms=[ArmSpec("a", [str(tmp_path / "test" / "pairs.jsonl")])]),
                           out=str(tmp_path / "exp"), val_split=0.25)
    with pytest.raises(TestDataRefused, match="folder named 'test'"):
        split_files(cfg, Path(cfg.out))
    assert not (tmp_path / "exp" / "split").exists()


def test_an_interrupted_cell_started_with_other_settings_is_refused(tmp_path):
    cfg, _ = config_from_args(["--config", str(REPO / "configs" / "experiments" / "loss_variants.yaml"), "--out", str(tmp_path)])
    cell = cells(cfg.grid)[0]
    (tmp_path / "cells" / cell.id).mkdir(parents=True)
    (tmp_path / "cells" / cell.id / "settings.json").write_text(json.dumps({"settings": "0000"}))  # no cell.json yet
    with pytest.raises(UserError, match="started with other settings"):
        run_cell(cfg, cell, tmp_path, split_files(cfg, tmp_path)["fingerprint"]["hardneg"])


def test_split_errors(tmp_path):
    write_jsonl(tmp_path / "one.jsonl", read(pairs_file(tmp_path, 1)))
    cfg = ExperimentConfig(grid=GridSpec(arms=[ArmSpec("a", [str(tmp_path / "one.jsonl")])]), out=str(tmp_path / "e"), val_split=0.5)
    with pytest.raises(UserError, match="1 problem"):
        split_files(cfg, Path(cfg.out))


def test_loss_variants_hold_out_a_fifth_of_the_shipped_pairs(tmp_path):
    cfg, _ = config_from_args(["--config", str(REPO / "configs" / "experiments" / "loss_variants.yaml"), "--out", str(tmp_path)])
    result = split_files(cfg, tmp_path)
    assert (result["heldout_problems"], result["heldout_pairs"], result["pairs"]) == (19, 19, {"hardneg": 77})
    run = cell_run_config(cfg, cells(cfg.grid)[0], tmp_path / "cells" / "c")
    assert run["data"]["init_args"]["train_files"] == [str(tmp_path / "split" / "hardneg")]


def test_cli_experiment_with_a_file_split(tmp_path):
    write_jsonl(tmp_path / "pairs.jsonl", read(pairs_file(tmp_path, 12)))
    config = {
        "out": str(tmp_path / "exp"), "base_config": "configs/dpo_demo.yaml", "policy": "tiny-qwen2",
        "model": {"dtype": "float32"}, "max_steps": 1, "val_split": 0.25,
        "kl": {"prompts": 2, "max_new_tokens": 4, "seed": 0}, "eval": None,
        "grid": {"arms": [{"name": "hardneg", "train_files": [str(tmp_path / "pairs.jsonl")]}],
                 "losses": [{"name": "sigmoid", "loss_class": "hn_lightning.losses.SigmoidDPO", "args": {"beta": 0.1}}],
                 "weightings": ["normalized"], "lambdas": [0.3], "seeds": [0]},
    }
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(config))
    proc = run_cli(["experiment", "--config", str(tmp_path / "e.yaml")], cwd=REPO)
    assert "3 held-out pairs of 3 problems" in proc.stdout
    root = tmp_path / "exp"
    (cell,) = list(csv.DictReader(open(root / "cells.csv")))
    assert 0.0 <= float(cell["val_reward_accuracy"]) <= 1.0 and cell["val_reward_margin"] != ""
    result = json.loads((root / "cells" / cell["cell"] / "cell.json").read_text())
    assert result["kl"]["prompts"] == 2
    stamp = (root / "cells" / cell["cell"] / "cell.json").stat().st_mtime_ns
    run_cli(["experiment", "--config", str(tmp_path / "e.yaml")], cwd=REPO)  # nothing to redo
    assert (root / "cells" / cell["cell"] / "cell.json").stat().st_mtime_ns == stamp

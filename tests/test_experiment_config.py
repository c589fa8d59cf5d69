"""Experiment configs: the shipped ones parse and document every key; the grid's cells; refusing to reuse a
cell finished with other settings."""

from __future__ import annotations

import json

import pytest

from hn_lightning.commands.experiment import config_from_args
from hn_lightning.errors import UserError
from hn_lightning.experiments.cells import cell_run_config, run_cell
from hn_lightning.experiments.config import ArmSpec, GridSpec, LossSpec, cells, check
from tests.cli_utils import REPO, run_cli

SHIPPED = sorted((REPO / "configs" / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_experiment_configs_parse_and_print(path):
    cfg, _ = config_from_args(["--config", str(path)])
    assert cells(cfg.grid)
    proc = run_cli(["experiment", "--config", str(path), "--print_config"], cwd=REPO)
    for key in ("grid:", "arms:", "losses:", "loss_class:", "weightings:", "lambdas:", "seeds:", "base_config:",
                "max_steps:", "eval:", "bootstrap:", "alpha:"):
        assert key in proc.stdout
    assert proc.stdout.count("\n# ") >= 8 and "(type: " in proc.stdout  # commented


def test_loss_variants_grid_and_cell_config(tmp_path):
    cfg, _ = config_from_args(["--config", str(REPO / "configs" / "experiments" / "loss_variants.yaml")])
    grid = cells(cfg.grid)
    assert [c.id for c in grid][:2] == ["hardneg-sigmoid-w0.3-s0", "hardneg-sigmoid-uniform-s0"] and len(grid) == 8
    run = cell_run_config(cfg, grid[3], tmp_path / "cell")  # robust, uniform weights
    assert run["model"]["init_args"]["loss"] == {"class_path": "hn_lightning.losses.RobustDPO",
                                                 "init_args": {"beta": 0.1, "label_smoothing": 0.1}}
    assert run["data"]["init_args"]["weighting"] == "none" and run["trainer"]["max_steps"] == 8
    assert run["trainer"]["default_root_dir"] == str(tmp_path / "cell")
    classes = [c["class_path"] for c in run["trainer"]["callbacks"]]
    assert classes[-3:] == ["hn_lightning.callbacks.pair_log.PairLog", "hn_lightning.callbacks.MemoryMonitor",
                            "hn_lightning.callbacks.StepTimer"]


def test_grid_products_and_errors():
    grid = GridSpec(arms=[ArmSpec("a", ["x"]), ArmSpec("b", ["y"])], losses=[LossSpec("sigmoid")],
                    weightings=["normalized", "none"], lambdas=[0.3, 1.0], seeds=[0, 1])
    ids = [c.id for c in cells(grid)]
    # lambda varies only the normalized weighting: 2 arms x (2 lambdas + uniform) x 2 seeds
    assert len(ids) == 12 == len(set(ids)) and "a-sigmoid-uniform-s1" in ids and "b-sigmoid-w1-s0" in ids
    with pytest.raises(UserError, match="duplicate arm names"):
        cells(GridSpec(arms=[ArmSpec("a", ["x"]), ArmSpec("a", ["y"])]))
    with pytest.raises(UserError, match="arm name 'a/b'"):
        cells(GridSpec(arms=[ArmSpec("a/b", ["x"])]))


def test_finished_cell_with_other_settings_is_refused(tmp_path):
    cfg, _ = config_from_args(["--config", str(REPO / "configs" / "experiments" / "loss_variants.yaml"), "--out", str(tmp_path)])
    cell = cells(cfg.grid)[0]
    done = tmp_path / "cells" / cell.id / "cell.json"
    done.parent.mkdir(parents=True)
    done.write_text(json.dumps({"settings": "0000"}))
    with pytest.raises(UserError, match="made with other settings"):
        run_cell(cfg, cell, tmp_path)


def test_paper_table1_mines_once_and_crosses_four_arms_with_two_seeds(tmp_path):
    cfg, _ = config_from_args(["--config", str(REPO / "configs" / "experiments" / "paper_table1.yaml")])
    grid = check(cfg)
    assert len(grid) == 8 and {c.seed for c in grid} == {0, 1}
    assert {c.condition for c in grid} == {"hardneg-sigmoid-w0.3", "hardneg_uniform-sigmoid-uniform",
                                          "random-sigmoid-uniform", "shuffled-sigmoid-w0.3"}
    assert cfg.policy == "qwen2.5-coder-1.5b-instruct" and cfg.base_config == "configs/dpo.yaml"
    # partial mine settings merge with the mining defaults
    assert cfg.mine.problems.gsm8k == "gsm8k:train" and cfg.mine.problems.math == "math:train"
    assert cfg.mine.candidates.sampling.num_samples == 8 and cfg.mine.selection.rule == "first_error"
    assert (cfg.eval.task, cfg.eval.limit) == ("gsm8k", None)
    assert (cfg.extra_evals["math500"].task, cfg.extra_evals["math500"].limit) == ("math500", None)
    run = cell_run_config(cfg, grid[2], tmp_path / "exp" / "cells" / grid[2].id)  # hardneg_uniform, seed 0
    assert run["data"]["init_args"]["train_files"] == [str(tmp_path / "exp" / "mining" / "split" / "hardneg")]  # val_split
    assert run["data"]["init_args"]["val_files"] == [str(tmp_path / "exp" / "mining" / "split" / "val.jsonl")]
    assert run["data"]["init_args"]["weighting"] == "none" and run["trainer"]["accelerator"] == "gpu"


def test_demo_experiment_mines_gsm8k_train_and_compares_two_arms():
    from hn_lightning.experiments.mining import mining_config
    from hn_lightning.models.registry import DEFAULT_MODEL

    cfg, _ = config_from_args(["--config", str(REPO / "configs" / "experiments" / "demo.yaml")])
    assert [c.id for c in check(cfg)] == ["hardneg-sigmoid-w0.3-s0", "random-sigmoid-uniform-s0"]
    mine = mining_config(cfg, REPO / "runs" / "x")
    assert mine.out == str(REPO / "runs" / "x" / "mining") and mine.policy.name_or_path == DEFAULT_MODEL
    assert (mine.problems.gsm8k, mine.problems.math, mine.problems.limit) == ("gsm8k:train", None, 20)
    assert mine.candidates.sampling.backend == "hf" and not mine.problems.allow_test_data
    assert (cfg.eval.task, cfg.eval.limit) == ("gsm8k", 20) and cfg.val_split == 0.15


def test_arm_weighting_mined_and_check_errors():
    grid = GridSpec(arms=[ArmSpec("a", mined="hardneg"), ArmSpec("b", mined="hardneg", weighting="none")],
                    weightings=["normalized", "none"], lambdas=[0.3, 1.0])
    assert [c.id for c in cells(grid)] == ["a-sigmoid-w0.3-s0", "a-sigmoid-w1-s0", "a-sigmoid-uniform-s0", "b-sigmoid-uniform-s0"]
    with pytest.raises(ValueError, match="exactly one of train_files and mined"):
        cells(GridSpec(arms=[ArmSpec("a", train_files=["x.jsonl"], mined="random")]))
    with pytest.raises(ValueError, match="exactly one of train_files and mined"):
        cells(GridSpec(arms=[ArmSpec("a")]))
    from hn_lightning.experiments.config import ExperimentConfig

    with pytest.raises(ValueError, match="no 'mine' settings"):
        check(ExperimentConfig(grid=grid))
    with pytest.raises(ValueError, match="extra_evals name"):
        check(ExperimentConfig(grid=GridSpec(arms=[ArmSpec("a", train_files=["x"])]), extra_evals={"a b": None}))


def test_rounds_need_mining_and_a_followed_cell():
    from hn_lightning.experiments.config import ExperimentConfig, RoundsSpec
    from hn_lightning.mining.config import MineConfig

    grid = GridSpec(arms=[ArmSpec("hardneg", mined="hardneg")])
    with pytest.raises(ValueError, match="need the experiment's 'mine'"):
        check(ExperimentConfig(grid=GridSpec(arms=[ArmSpec("a", train_files=["x"])]), rounds=RoundsSpec()))
    with pytest.raises(ValueError, match="is no cell of the grid"):
        check(ExperimentConfig(grid=grid, mine=MineConfig(), rounds=RoundsSpec(follow="random-sigmoid-uniform")))
    assert len(check(ExperimentConfig(grid=grid, mine=MineConfig(), rounds=RoundsSpec()))) == 1

"""Experiment configs: the shipped ones parse and document every key; the grid's cells; refusing to reuse a
cell finished with other settings."""

from __future__ import annotations

import json

import pytest

from hn_lightning.commands.experiment import config_from_args
from hn_lightning.experiments.config import ArmSpec, GridSpec, LossSpec, cells
from hn_lightning.commands.experiment_cells import cell_run_config, run_cell
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
    assert run["trainer"]["callbacks"][-1]["class_path"] == "hn_lightning.callbacks.pair_log.PairLog"


def test_grid_products_and_errors():
    grid = GridSpec(arms=[ArmSpec("a", ["x"]), ArmSpec("b", ["y"])], losses=[LossSpec("sigmoid")],
                    weightings=["normalized", "none"], lambdas=[0.3, 1.0], seeds=[0, 1])
    ids = [c.id for c in cells(grid)]
    # lambda varies only the normalized weighting: 2 arms x (2 lambdas + uniform) x 2 seeds
    assert len(ids) == 12 == len(set(ids)) and "a-sigmoid-uniform-s1" in ids and "b-sigmoid-w1-s0" in ids
    with pytest.raises(ValueError, match="duplicate arm names"):
        cells(GridSpec(arms=[ArmSpec("a", ["x"]), ArmSpec("a", ["y"])]))
    with pytest.raises(ValueError, match="arm name 'a/b'"):
        cells(GridSpec(arms=[ArmSpec("a/b", ["x"])]))


def test_finished_cell_with_other_settings_is_refused(tmp_path):
    cfg, _ = config_from_args(["--config", str(REPO / "configs" / "experiments" / "loss_variants.yaml"), "--out", str(tmp_path)])
    cell = cells(cfg.grid)[0]
    done = tmp_path / "cells" / cell.id / "cell.json"
    done.parent.mkdir(parents=True)
    done.write_text(json.dumps({"settings": "0000"}))
    with pytest.raises(RuntimeError, match="made with other settings"):
        run_cell(cfg, cell, tmp_path)

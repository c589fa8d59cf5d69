"""`python cli.py fit --config configs/dpo_demo.yaml` as a user runs it (tiny model, shipped pairs)."""

from __future__ import annotations

import math

import yaml

from tests.cli_utils import REPO, metrics, retarget_config, run_cli


def test_cli_dpo_demo_tiny_model(tmp_path):
    config = retarget_config("dpo_demo.yaml", tmp_path, "dpo.yaml", {"name_or_path": "tiny-qwen2", "dtype": "float32"},
                             {"train_files": [str(REPO / "data" / "demo_pairs.jsonl")]})
    proc = run_cli(["fit", "--config", str(config), "--trainer.max_steps", "3"], cwd=tmp_path)
    run = tmp_path / "run"
    assert (run / "hf_model" / "model.safetensors").is_file() and "Run finished." in proc.stdout
    rows = metrics(run)
    keys = set().union(*rows)
    for key in ("train/loss", "train/rewards/accuracy", "train/rewards/accuracy_weighted", "train/rewards/margins",
                "train/logps/chosen_drift_per_token", "weights/ess", "weights/frac_clipped", "weights/std",
                "train/padding_fraction", "memory/peak_gib"):
        assert key in keys, f"{key} missing"
    first = next(r for r in rows if r.get("train/loss"))
    # step 0: policy == reference, so the loss is ln 2 x mean(w) (weights normalized to mean ~1)
    assert abs(float(first["train/loss"]) - math.log(2) * float(first["weights/mean"])) < 1e-4
    assert abs(float(first["train/loss_unweighted"]) - math.log(2)) < 1e-4


def test_cli_dpo_reference_free_simpo(tmp_path):
    """Selecting SimPO on the command line: two steps, no reference anywhere (no drift metrics, the log says so)."""
    config = retarget_config("dpo_demo.yaml", tmp_path, "dpo.yaml", {"name_or_path": "tiny-qwen2", "dtype": "float32"},
                             {"train_files": [str(REPO / "data" / "demo_pairs.jsonl")]})
    proc = run_cli(["fit", "--config", str(config), "--trainer.max_steps", "2",
                    "--model.init_args.loss.class_path", "hn_lightning.losses.SimPO",
                    "--model.init_args.loss.init_args.beta", "2.0", "--model.init_args.loss.init_args.gamma", "0.5"], cwd=tmp_path)
    assert "reference: none" in proc.stdout + proc.stderr
    rows = metrics(tmp_path / "run")
    keys = set().union(*rows)
    assert "train/rewards/margins" in keys and "train/loss" in keys
    assert not any("drift" in k for k in keys)  # drift needs reference log-probs: none were computed
    first = next(r for r in rows if r.get("train/loss"))
    # SimPO at step 0 is not ln 2: rewards are beta x average log-prob; margin = 2 x (a_c - a_r) != 0
    assert abs(float(first["train/loss_unweighted"]) - math.log(2)) > 1e-3
    saved = yaml.safe_load(open(next((tmp_path / "run").glob("csv/version_*/config.yaml"))))
    assert saved["model"]["init_args"]["loss"] == {"class_path": "hn_lightning.losses.SimPO", "init_args": {"beta": 2.0, "gamma": 0.5}}

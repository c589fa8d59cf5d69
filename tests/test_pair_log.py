"""``PairLog`` survives a crash: a DPO fit killed mid-step (``HN_FAULT=fit.step@3``, after the step-2
checkpoint) has already written the rows of steps 0-1 with that checkpoint, and the run resumed from it
ends with every step's rows exactly once, the pre-crash ones unchanged."""

from __future__ import annotations

import csv

import yaml

from tests.cli_utils import REPO, retarget_config, run_cli, run_cli_raw


def rows(path) -> list[dict]:
    return list(csv.DictReader(open(path)))


def test_pair_log_keeps_the_rows_trained_before_a_crash(tmp_path):
    model = {"name_or_path": "tiny-qwen2", "dtype": "float32", "finetuning": "lora"}
    path = retarget_config("dpo_demo.yaml", tmp_path, "cfg.yaml", model, {"train_files": [str(REPO / "data" / "demo_pairs.jsonl")]})
    cfg = yaml.safe_load(path.read_text())
    cfg["trainer"].update(max_steps=3, accumulate_grad_batches=1)
    cfg["data"]["init_args"]["micro_batch_size"] = 2
    for cb in cfg["trainer"]["callbacks"]:
        if "every_n_train_steps" in cb.get("init_args", {}):
            cb["init_args"]["every_n_train_steps"] = 1
    log = tmp_path / "run" / "pair_log.csv"
    cfg["trainer"]["callbacks"].append({"class_path": "hn_lightning.callbacks.pair_log.PairLog", "init_args": {"path": str(log)}})
    path.write_text(yaml.safe_dump(cfg))
    args = ["fit", "--config", str(path), "--export.out_dir=null"]

    killed = run_cli_raw(args, cwd=tmp_path, timeout=900, env={"HN_FAULT": "fit.step@3"})
    assert killed.returncode == 137, killed.stderr[-3000:]
    before = rows(log)  # written with the step-1 and step-2 checkpoints
    assert [r["step"] for r in before] == ["0", "0", "1", "1"]

    run_cli([*args, "--ckpt_path", str(tmp_path / "run" / "checkpoints" / "last.ckpt")], cwd=tmp_path, timeout=900)
    after = rows(log)
    assert [r["step"] for r in after] == ["0", "0", "1", "1", "2", "2"]
    assert after[:4] == before
    assert all(float(r["weight"]) > 0 and r["loss"] for r in after)

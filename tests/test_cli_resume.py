"""Resuming through the CLI: ``cli.py fit --config ... --ckpt_path <run>/checkpoints/last.ckpt`` after the
process was killed (``HN_FAULT``, see hn_lightning/faults.py) mid-step or mid-checkpoint, for SFT and DPO,
full fine-tuning and LoRA. The resumed run must reproduce the uninterrupted loss sequence step by step.

Before the fix LightningCLI re-parsed the checkpoint's hyper-parameters (saved without class paths) and
exited 2 with "Parsing of ckpt_path hyperparameters failed!".
"""

from __future__ import annotations

import json

import pytest

from tests.cli_utils import REPO, losses_by_step, retarget_config, run_cli, run_cli_raw

STEPS = 6


def _config(tmp_path, kind: str, finetuning: str, name: str):
    model = {"name_or_path": "tiny-qwen2", "dtype": "float32", "finetuning": finetuning}
    if kind == "dpo":
        data = {"train_files": [str(REPO / "data" / "demo_pairs.jsonl")]}
        cfg = retarget_config("dpo_demo.yaml", tmp_path / name, "cfg.yaml", model, data)
    else:
        sft = tmp_path / "sft.jsonl"
        if not sft.exists():  # question/solution records from the shipped pairs' prompts and chosen solutions
            rows = [json.loads(line) for line in open(REPO / "data" / "demo_pairs.jsonl")][:40]
            sft.write_text("".join(json.dumps({"question": r["prompt"], "solution": r["chosen"]}) + "\n" for r in rows))
        data = {"train_files": [str(sft)], "max_examples": None, "max_length": 96, "val_fraction": 0.0}
        cfg = retarget_config("sft_demo.yaml", tmp_path / name, "cfg.yaml", model, data)
    return cfg, tmp_path / name / "run"


def _overrides(kind: str) -> list[str]:
    ckpt = "--trainer.callbacks.init_args.every_n_train_steps=2"
    extra = ["--trainer.limit_val_batches=0", "--trainer.val_check_interval=null"] if kind == "sft" else []
    return ["--trainer.max_steps", str(STEPS), ckpt, "--export.out_dir=null", *extra]


@pytest.mark.parametrize("kind,finetuning,fault", [
    ("dpo", "lora", "fit.step@5"),          # killed after step 5's backward: last.ckpt is step 4
    ("dpo", "full", "fit.checkpoint@3"),    # killed while saving the step-4 checkpoint: last.ckpt is step 2
    ("sft", "lora", "fit.checkpoint@4"),    # killed between epoch=..step=4.ckpt and last.ckpt
    ("sft", "full", "fit.step@3"),
])
def test_resume_through_cli_reproduces_uninterrupted_losses(tmp_path, kind, finetuning, fault):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    cfg_a, run_a = _config(tmp_path, kind, finetuning, "a")
    run_cli(["fit", "--config", str(cfg_a), *_overrides(kind)], cwd=tmp_path / "a", timeout=900)
    reference = losses_by_step(run_a)
    assert len(reference) == STEPS, reference

    cfg_b, run_b = _config(tmp_path, kind, finetuning, "b")
    killed = run_cli_raw(["fit", "--config", str(cfg_b), *_overrides(kind)], cwd=tmp_path / "b", timeout=900,
                         env={"HN_FAULT": fault})
    assert killed.returncode == 137, killed.stderr[-3000:]
    last = run_b / "checkpoints" / "last.ckpt"
    assert last.is_file()
    resumed = run_cli(["fit", "--config", str(cfg_b), *_overrides(kind), "--ckpt_path", str(last)], cwd=tmp_path / "b", timeout=900)
    assert "Parsing of ckpt_path" not in resumed.stderr
    after = losses_by_step(run_b)
    assert sorted(after) == sorted(reference)
    for step, loss in reference.items():
        assert after[step] == pytest.approx(loss, rel=1e-5, abs=1e-6), (step, after[step], loss)

"""The command line as a user runs it: `python cli.py fit --config ...` on the tiny model, and once on
the embedded default."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_utils import REPO, metrics, retarget_config, run_cli


def demo_config(tmp_path: Path, name: str, **model_overrides) -> Path:
    return retarget_config("sft_demo.yaml", tmp_path, name, model_overrides)


def _metrics(run: Path) -> list[dict]:
    return metrics(run)


def test_print_config_is_commented():
    proc = run_cli(["fit", "--config", str(REPO / "configs" / "sft_demo.yaml"), "--print_config"], cwd=REPO)
    text = proc.stdout
    assert "class_path: hn_lightning.modules.SFTModule" in text
    assert "# A registered name" in text  # attribute docstrings became comments
    assert "# pack several examples per row" in text


def test_cli_fit_tiny_model_end_to_end(tmp_path):
    config = demo_config(tmp_path, "tiny.yaml", name_or_path="tiny-qwen2", dtype="float32")
    proc = run_cli(["fit", "--config", str(config), "--trainer.max_steps", "3", "--trainer.val_check_interval", "2",
                    "--data.init_args.max_examples", "40", "--data.init_args.max_length", "256"], cwd=tmp_path)
    run = tmp_path / "run"
    assert "Run finished." in proc.stdout and str(run / "hf_model") in proc.stdout
    assert (run / "hf_model" / "model.safetensors").is_file()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    rows = _metrics(run)
    keys = set().union(*rows)
    for key in ("train/loss", "val/loss", "train/padding_fraction", "memory/peak_gib", "lr-AdamW"):
        assert key in keys, f"{key} missing from {sorted(keys)}"
    assert any(r.get("train/loss") for r in rows)


@pytest.mark.embedded
def test_cli_fit_embedded_default_smoke(tmp_path):
    """Two LoRA steps of the README demo config on Qwen2.5-Coder-0.5B-Instruct on CPU; the config's
    ``dtype: auto`` gives a bf16 base on CPUs with native bf16 and float32 elsewhere (AVX2-only CPUs)."""
    config = demo_config(tmp_path, "demo.yaml")
    proc = run_cli(["fit", "--config", str(config), "--trainer.max_steps", "2", "--trainer.val_check_interval", "2",
                    "--trainer.limit_val_batches", "1", "--data.init_args.max_examples", "30", "--data.init_args.max_length", "256"],
                   cwd=tmp_path)
    run = tmp_path / "run"
    assert (run / "hf_model" / "config.json").is_file()
    losses = [float(r["train/loss"]) for r in _metrics(run) if r.get("train/loss")]
    assert losses and all(0.05 < x < 5.0 for x in losses), losses  # a real instruct model, not random
    assert "HF model:" in proc.stdout

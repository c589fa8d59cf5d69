"""Strategy overlays and the combinations that are refused with one line."""

from __future__ import annotations

import pytest
import yaml

from hn_lightning.modules.strategy_checks import UnsupportedStrategy, check_strategy
from tests.cli_utils import REPO, retarget_config, run_cli_raw


class FSDPStrategy:  # the check goes by the strategy's class name, so a stand-in is enough
    pass


class DDPStrategy:
    pass


class ModelParallelStrategy:
    pass


def test_refused_combinations():
    with pytest.raises(UnsupportedStrategy, match="qlora cannot run under FSDP"):
        check_strategy(FSDPStrategy(), "qlora")
    with pytest.raises(UnsupportedStrategy, match="reference.precompute cannot run under FSDP"):
        check_strategy(FSDPStrategy(), "full", reference_precompute=True)
    with pytest.raises(UnsupportedStrategy, match="ModelParallelStrategy is not supported"):
        check_strategy(ModelParallelStrategy(), "full")
    check_strategy(FSDPStrategy(), "full")
    check_strategy(FSDPStrategy(), "lora")
    for finetuning in ("full", "lora", "qlora"):
        check_strategy(DDPStrategy(), finetuning, reference_precompute=True)


def test_overlays_name_real_strategies_with_a_timeout():
    for name, cls in (("ddp", "DDPStrategy"), ("fsdp", "FSDPStrategy")):
        cfg = yaml.safe_load(open(REPO / "configs" / "strategy" / f"{name}.yaml"))
        strategy = cfg["trainer"]["strategy"]
        assert strategy["class_path"] == f"lightning.pytorch.strategies.{cls}"
        assert strategy["init_args"]["timeout"] == "0:10:00"


def test_qlora_under_the_fsdp_overlay_is_one_line(tmp_path):
    cfg = retarget_config("dpo_demo.yaml", tmp_path, "dpo.yaml", {"name_or_path": "tiny-qwen2", "dtype": "float32", "finetuning": "qlora"},
                          {"train_files": [str(REPO / "data" / "demo_pairs.jsonl")]})
    proc = run_cli_raw(["fit", "--config", str(cfg), "--config", str(REPO / "configs" / "strategy" / "fsdp.yaml"),
                        "--trainer.accelerator", "cpu", "--trainer.devices", "1", "--trainer.precision", "32-true"], cwd=tmp_path, timeout=600)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("error: model.finetuning qlora cannot run under FSDP")

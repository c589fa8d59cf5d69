"""MathEvalCallback inside a real ``fit`` of the tiny model (LoRA with dropout, so the loss depends on the
torch RNG): the per-step training losses are identical with and without the callback, the per-sample
files and the ``eval/*`` metrics are written, and a callback that does disturb the RNG is caught."""

from __future__ import annotations

import csv
import json

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import CSVLogger

from hn_lightning.callbacks.evaluation import MathEvalCallback
from hn_lightning.data import SFTDataModule
from hn_lightning.models import LoraSettings, ModelConfig
from hn_lightning.modules import SFTModule


class LossRecorder(Callback):
    def __init__(self):
        self.losses: list[float] = []
        self.training_flags: list[bool] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.losses.append(float(outputs["loss"]))

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.training_flags.append(all(m.training for m in pl_module.policy.modules()))


class RNGConsumer(Callback):
    """A badly behaved callback: draws from the global torch RNG once step 2 is reached."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step >= 2:
            torch.rand(3)


def _fit(tmp_path, sft_file, callbacks):
    L.seed_everything(0)
    rec = LossRecorder()
    module = SFTModule(
        ModelConfig(name_or_path="tiny-qwen2", dtype="float32", finetuning="lora", lora=LoraSettings(r=4, alpha=8, dropout=0.2)),
        optimizer=lambda p: torch.optim.AdamW(p, lr=1e-3),
    )
    data = SFTDataModule(train_files=[str(sft_file)], max_length=64, batch_size=1, seed=3)
    trainer = L.Trainer(
        accelerator="cpu", devices=1, max_steps=3, accumulate_grad_batches=2, logger=CSVLogger(tmp_path, name="csv"),
        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
        callbacks=[rec, *callbacks], default_root_dir=tmp_path, num_sanity_val_steps=0,
    )
    trainer.fit(module, data)
    return rec, trainer


@pytest.fixture(scope="module")
def plain_fit(tmp_path_factory):
    """The reference run without any evaluation (shared by the tests below)."""
    from conftest import write_jsonl

    tmp = tmp_path_factory.mktemp("plain")
    records = [
        {"question": f"What is {a} + {b}?", "solution": f"We add {a} and {b} to get {a + b}. The answer is $\\boxed{{{a + b}}}$."}
        for a, b in [(i, 2 * i + 1) for i in range(16)]
    ]
    sft_file = write_jsonl(tmp / "sft.jsonl", records)
    rec, _ = _fit(tmp, sft_file, [])
    return rec, sft_file


def test_callback_does_not_change_the_training_loss_sequence(tmp_path, plain_fit):
    plain, sft_file = plain_fit
    cb = MathEvalCallback(tasks=["gsm8k", "math"], every_n_steps=2, limit=2, seed=1, batch_size=2, max_new_tokens=6,
                          out_dir=str(tmp_path / "eval"))
    with_eval, trainer = _fit(tmp_path / "with", sft_file, [cb])

    assert len(plain.losses) == 6  # 3 optimizer steps x 2 micro-batches
    assert with_eval.losses == plain.losses  # bit for bit
    assert all(with_eval.training_flags)  # train mode restored after every evaluation

    steps = sorted(p.name for p in (tmp_path / "eval").iterdir())
    assert steps == ["step_000002", "step_000003"]  # every 2 steps (once, despite 2 micro-batches) + train end
    for step in steps:
        for task in ("gsm8k", "math"):
            records = [json.loads(x) for x in (tmp_path / "eval" / step / task / "samples.jsonl").read_text().splitlines()]
            assert len(records) == 2 and all(r["num_tokens"] == 6 for r in records)
    first = {json.loads(x)["id"] for x in (tmp_path / "eval" / "step_000002" / "math" / "samples.jsonl").read_text().splitlines()}
    last = {json.loads(x)["id"] for x in (tmp_path / "eval" / "step_000003" / "math" / "samples.jsonl").read_text().splitlines()}
    assert first == last  # the same fixed subset every time
    summary = json.loads((tmp_path / "eval" / "step_000003" / "math" / "summary.json").read_text())
    assert "by_level" in summary and summary["n"] == 2

    assert set(cb.last_metrics) == {f"eval/{t}_{m}" for t in ("gsm8k", "math") for m in ("acc", "tokens_per_sec", "seconds")}
    rows = list(csv.DictReader(open(next((tmp_path / "with" / "csv").glob("version_*/metrics.csv")))))
    logged = [(r["step"], r["eval/gsm8k_acc"]) for r in rows if r.get("eval/gsm8k_acc")]
    assert [s for s, _ in logged] == ["2", "3"] and all(r.get("eval/math_tokens_per_sec") for r in rows if r.get("eval/math_acc"))


def test_the_loss_comparison_detects_rng_disturbance(tmp_path, plain_fit):
    """Control: the same comparison fails for a callback that consumes RNG, so the test above means something."""
    plain, sft_file = plain_fit
    disturbed, _ = _fit(tmp_path / "bad", sft_file, [RNGConsumer()])
    assert disturbed.losses[:4] == plain.losses[:4] and disturbed.losses != plain.losses


def test_callback_is_configurable_from_yaml_with_documented_typed_args():
    """LightningCLI builds callbacks with jsonargparse: the typed, documented __init__ is the config schema."""
    from jsonargparse import ArgumentParser

    parser = ArgumentParser()
    parser.add_class_arguments(MathEvalCallback, "cb")
    cfg = parser.parse_args(["--cb.tasks=[gsm8k, math500]", "--cb.every_n_steps=50", "--cb.prompt=sft-system"])
    cb = MathEvalCallback(**cfg.cb)
    assert cb.tasks == ["gsm8k", "math500"] and cb.every_n_steps == 50 and cb.prompt == "sft-system"
    assert cb.generation.max_new_tokens == 2048 and cb.limit == 100
    help_text = parser.format_help()
    assert "evaluate after every N optimizer steps" in help_text and "qwen2-boxed" in help_text
    with pytest.raises(SystemExit):
        parser.parse_args(["--cb.prompt=alpaca"])

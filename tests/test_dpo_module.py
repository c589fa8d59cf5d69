"""Weighted DPO invariants on the tiny Qwen2 (CPU, fp32)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from hn_lightning.data import PreferenceDataModule
from hn_lightning.losses import SigmoidDPO
from hn_lightning.models import LoraSettings, ModelConfig
from hn_lightning.modules import DPOModule, ReferenceConfig
from tests.conftest import write_jsonl

REPO = Path(__file__).resolve().parent.parent


def pairs_file(tmp_path: Path, n: int = 8, w_raw=None, name="pairs.jsonl") -> Path:
    records = [json.loads(line) for line in open(REPO / "data" / "demo_pairs.jsonl")][:n]
    for i, rec in enumerate(records):
        if w_raw is not None:
            rec["w_raw"] = w_raw[i] if isinstance(w_raw, list) else w_raw
        # keep sequences short (fast tests) but past the first difference between the two
        first_diff = next(i for i, (a, b) in enumerate(zip(rec["chosen"], rec["rejected"])) if a != b)
        cut = max(120, first_diff + 20)
        rec["chosen"], rec["rejected"] = rec["chosen"][:cut], rec["rejected"][:cut]
    return write_jsonl(tmp_path / name, records)


class Outputs(Callback):
    """Records what training_step returned and the gradients of one step."""

    def __init__(self):
        self.outputs: list[dict] = []
        self.grads: dict[str, torch.Tensor] | None = None
        self.ids: list[str] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.outputs.append(outputs)
        self.ids.extend(batch["ids"])

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        if self.grads is None:
            self.grads = {n: p.grad.detach().clone() for n, p in pl_module.named_parameters() if p.grad is not None}


def module(finetuning="full", reference=None, loss=None, lr=1e-3):
    return DPOModule(
        ModelConfig(name_or_path="tiny-qwen2", dtype="float32", finetuning=finetuning, lora=LoraSettings(r=4, alpha=8, dropout=0.1)),
        loss=loss or SigmoidDPO(beta=0.1),
        reference=reference,
        optimizer=lambda p: torch.optim.SGD(p, lr=lr),
    )


def data(path, micro=1, **kw):
    return PreferenceDataModule(train_files=[str(path)], micro_batch_size=micro, max_length=256, shuffle=False, **kw)


def trainer(tmp_path, steps, accumulate, callbacks, **kw):
    return L.Trainer(accelerator="cpu", devices=1, max_steps=steps, accumulate_grad_batches=accumulate, logger=False,
                     enable_progress_bar=False, enable_model_summary=False, callbacks=callbacks, default_root_dir=tmp_path,
                     num_sanity_val_steps=0, enable_checkpointing=kw.pop("enable_checkpointing", False), **kw)


def step_losses(rec: Outputs, accumulate: int) -> list[float]:
    """Loss of each optimizer step: the sum of its micro-batch losses as Lightning reports them
    (already divided by ``accumulate_grad_batches``)."""
    vals = [float(o["loss"]) for o in rec.outputs]
    return [sum(vals[i : i + accumulate]) for i in range(0, len(vals), accumulate)]


@pytest.mark.parametrize("weighting", ["normalized", "precomputed"])
def test_step0_loss_is_ln2_times_mean_weight(tmp_path, weighting):
    w = [0.5, 3.0, 1.0, 2.5]
    path = pairs_file(tmp_path, 4, w_raw=w)
    if weighting == "precomputed":
        recs = [json.loads(line) for line in open(path)]
        for r, wi in zip(recs, w):
            r["weight"] = wi
        write_jsonl(path, recs)
    rec = Outputs()
    trainer(tmp_path, 1, 1, [rec]).fit(module(), data(path, micro=4, weighting=weighting))
    weights = rec.outputs[0]["weights"]
    if weighting == "precomputed":
        torch.testing.assert_close(weights, torch.tensor(w))
    else:  # normalized over the step: unit mean before clipping, none clipped here
        assert float(weights.mean()) == pytest.approx(1.0, abs=1e-6) and float(weights.std()) > 0.1
    torch.testing.assert_close(rec.outputs[0]["losses"], torch.full((4,), math.log(2)), rtol=0, atol=1e-6)
    assert float(rec.outputs[0]["loss"]) == pytest.approx(math.log(2) * float(weights.mean()), abs=1e-6)


def test_uniform_weights_equal_plain_dpo(tmp_path):
    """Equal raw weights under the paper's normalization give exactly the unweighted loss and gradients."""
    path = pairs_file(tmp_path, 4, w_raw=1.7)
    runs = {}
    for weighting in ("normalized", "none"):
        L.seed_everything(0)
        rec = Outputs()
        trainer(tmp_path, 2, 1, [rec]).fit(module(), data(path, micro=2, weighting=weighting))
        runs[weighting] = rec
    a, b = runs["normalized"], runs["none"]
    assert [float(o["loss"]) for o in a.outputs] == [float(o["loss"]) for o in b.outputs]
    assert all(torch.equal(a.grads[k], b.grads[k]) for k in a.grads)
    torch.testing.assert_close(a.outputs[1]["weights"], torch.ones(2))


def test_8x1_equals_1x8(tmp_path):
    """One optimizer step over 8 pairs: 8 micro-batches of 1 == 1 micro-batch of 8 (weights and grads)."""
    path = pairs_file(tmp_path, 8, w_raw=[0.2, 1.0, 4.0, 2.0, 0.5, 1.5, 3.0, 0.8])
    results = {}
    for micro, acc in ((1, 8), (8, 1)):
        L.seed_everything(0)
        rec = Outputs()
        trainer(tmp_path, 1, acc, [rec]).fit(module(), data(path, micro=micro))
        results[(micro, acc)] = rec
    small, big = results[(1, 8)], results[(8, 1)]
    torch.testing.assert_close(torch.cat([o["weights"] for o in small.outputs]), big.outputs[0]["weights"])
    assert float(big.outputs[0]["weights"].std()) > 0.1  # the weights are not flattened to 1
    assert step_losses(small, 8)[0] == pytest.approx(step_losses(big, 1)[0], abs=1e-6)
    for name, grad in big.grads.items():
        torch.testing.assert_close(small.grads[name], grad, rtol=1e-4, atol=1e-6)


def test_weights_are_normalized_per_step_not_per_micro_batch(tmp_path):
    raw = [1.0, 3.0, 2.0, 6.0]
    path = pairs_file(tmp_path, 4, w_raw=raw)
    rec = Outputs()
    trainer(tmp_path, 1, 4, [rec]).fit(module(), data(path, micro=1))
    got = torch.cat([o["weights"] for o in rec.outputs])
    unit = torch.tensor(raw) / 3.0
    torch.testing.assert_close(got, 1 + 0.3 * (unit - 1))  # per micro-batch, every weight would be 1


def test_precomputed_reference_matches_online(tmp_path):
    path = pairs_file(tmp_path, 4, w_raw=[1.0, 2.0, 3.0, 4.0])
    results = {}
    for precompute in (False, True):
        L.seed_everything(0)
        rec = Outputs()
        ref = ReferenceConfig(precompute=precompute, cache_dir=str(tmp_path / "refcache"))
        m = module(reference=ref)
        trainer(tmp_path, 2, 1, [rec]).fit(m, data(path, micro=2))
        results[precompute] = (rec, m)
    online, pre = results[False][0], results[True][0]
    for a, b in zip(online.outputs, pre.outputs):
        torch.testing.assert_close(a["ref_chosen_logps"], b["ref_chosen_logps"], rtol=1e-5, atol=1e-4)
        assert float(a["loss"]) == pytest.approx(float(b["loss"]), abs=1e-5)
    m = results[True][1]
    assert m.reference.model is None and len(m.ref_cache) == 8  # 4 pairs x 2 sides, no reference model in memory
    # a second run reuses the cache: all hits, nothing recomputed
    L.seed_everything(0)
    m2 = module(reference=ReferenceConfig(precompute=True, cache_dir=str(tmp_path / "refcache")))
    trainer(tmp_path, 2, 1, [Outputs()]).fit(m2, data(path, micro=2))
    assert m2.ref_cache.misses == 0 and m2.ref_cache.hits > 0


def test_lora_reference_is_the_base_with_adapters_off(tmp_path):
    from transformers import AutoModelForCausalLM

    path = pairs_file(tmp_path, 4, w_raw=1.0)
    rec = Outputs()
    m = module("lora", lr=0.5)
    trainer(tmp_path, 3, 1, [rec]).fit(m, data(path, micro=2))
    assert m.reference_mode == "adapters_off" and m.reference.model is None
    assert all(not mod.p for mod in m.policy.modules() if isinstance(mod, torch.nn.Dropout))  # LoRA dropout off
    # reference log-probs of step 3 (adapters trained by then) equal a freshly loaded base model's
    base = AutoModelForCausalLM.from_pretrained(str(m.model_dir), dtype=torch.float32).eval()
    dm = data(path, micro=2)
    dm.tokenizer = m.tokenizer
    dm.setup("fit")
    batches = list(iter(dm.train_dataloader()))
    with torch.no_grad():
        base_logps = m._sequence_logps(base, batches[0])
    torch.testing.assert_close(rec.outputs[2]["ref_chosen_logps"], base_logps[:2], rtol=1e-5, atol=1e-4)
    assert (rec.outputs[2]["policy_chosen_logps"] - rec.outputs[2]["ref_chosen_logps"]).abs().max() > 1e-3


def test_resume_mid_stream_sees_every_pair_once(tmp_path):
    path = pairs_file(tmp_path, 12, w_raw=[float(i + 1) for i in range(12)])
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=2, save_top_k=-1)
    first = Outputs()
    trainer(tmp_path, 2, 2, [first, ckpt], enable_checkpointing=True).fit(module(), data(path, micro=1, shuffle_buffer=4))
    second = Outputs()
    L.seed_everything(7)
    trainer(tmp_path, 6, 2, [second]).fit(module(), data(path, micro=1, shuffle_buffer=4), ckpt_path=str(tmp_path / "ckpt" / "epoch=0-step=2.ckpt"))
    straight = Outputs()
    trainer(tmp_path, 6, 2, [straight]).fit(module(), data(path, micro=1, shuffle_buffer=4))
    assert first.ids + second.ids == straight.ids
    assert sorted(straight.ids) == sorted(json.loads(line)["id"] for line in open(path))  # each once
    assert len(set(first.ids) & set(second.ids)) == 0


def test_training_step_returns_per_pair_tensors(tmp_path):
    path = pairs_file(tmp_path, 4, w_raw=1.0)
    rec = Outputs()
    trainer(tmp_path, 1, 1, [rec]).fit(module(), data(path, micro=4))
    out = rec.outputs[0]
    for key in ("losses", "weights", "chosen_rewards", "rejected_rewards", "policy_chosen_logps", "ref_rejected_logps"):
        assert out[key].shape == (4,) and not out[key].requires_grad
    assert len(out["ids"]) == 4


def test_qlora_reference_is_the_4bit_base_step0_is_ln2(tmp_path):
    """The reference of a QLoRA policy is the *quantized* base with adapters off, so step 0 is exactly ln 2."""
    path = pairs_file(tmp_path, 2, w_raw=[1.0, 3.0])
    rec = Outputs()
    m = module("qlora", lr=0.1)
    trainer(tmp_path, 2, 1, [rec]).fit(m, data(path, micro=2))
    assert m.reference_mode == "adapters_off"
    torch.testing.assert_close(rec.outputs[0]["losses"], torch.full((2,), math.log(2)), rtol=0, atol=1e-3)
    assert (rec.outputs[1]["policy_chosen_logps"] - rec.outputs[1]["ref_chosen_logps"]).abs().max() > 1e-4

"""SFTModule on the tiny Qwen2: loss falls, resume reproduces the loss sequence, export reloads."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from hn_lightning.callbacks import HFExport
from hn_lightning.data import SFTDataModule
from hn_lightning.models import LoraSettings, ModelConfig
from hn_lightning.modules import SFTModule


class LossRecorder(Callback):
    def __init__(self):
        self.losses: list[float] = []
        self.first_tokens: list[int] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.losses.append(float(outputs["loss"]))
        self.first_tokens.append(int(batch["input_ids"][0, :8].sum()))


def _module(finetuning="full", lr=1e-3):
    return SFTModule(
        ModelConfig(name_or_path="tiny-qwen2", dtype="float32", finetuning=finetuning, lora=LoraSettings(r=4, alpha=8)),
        optimizer=lambda p: torch.optim.AdamW(p, lr=lr),
    )


def _data(path, max_length=64, **kw):
    return SFTDataModule(train_files=[str(path)], max_length=max_length, batch_size=1, seed=3, **kw)


def _trainer(tmp_path, max_steps, callbacks, accumulate=2, **kw):
    return L.Trainer(
        accelerator="cpu", devices=1, max_steps=max_steps, accumulate_grad_batches=accumulate,
        logger=False, enable_progress_bar=False, enable_model_summary=False, callbacks=callbacks,
        default_root_dir=tmp_path, num_sanity_val_steps=0, **kw,
    )


def test_sft_loss_decreases(tmp_path, sft_file):
    L.seed_everything(0)
    rec = LossRecorder()
    _trainer(tmp_path, 12, [rec], accumulate=1, enable_checkpointing=False).fit(_module(lr=5e-3), _data(sft_file))
    first, last = sum(rec.losses[:3]) / 3, sum(rec.losses[-3:]) / 3
    assert first > 10.0  # random init over a 151k vocab: ~ln(151936) = 11.9
    assert last < first - 3.0, rec.losses


@pytest.mark.parametrize("finetuning", ["full", "lora"])
def test_resume_reproduces_the_loss_sequence(tmp_path, sft_file, finetuning):
    """5 optimizer steps straight == 2 steps, checkpoint, resume for 3 more (same losses, same batches).
    16 examples pack two per 128-token row: 8 rows per epoch, 2 micro-batches per step, so the checkpoint
    is mid-epoch and the resumed run crosses into the next (reshuffled) epoch."""
    L.seed_everything(0)
    straight = LossRecorder()
    _trainer(tmp_path / "a", 5, [straight], enable_checkpointing=False).fit(_module(finetuning), _data(sft_file, 128))

    L.seed_everything(0)
    first = LossRecorder()
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=2, save_top_k=-1)
    _trainer(tmp_path / "b", 2, [first, ckpt]).fit(_module(finetuning), _data(sft_file, 128))
    path = tmp_path / "ckpt" / "epoch=0-step=2.ckpt"
    assert path.is_file()
    state = torch.load(path, weights_only=True, map_location="cpu")
    if finetuning == "lora":  # lean checkpoints: only adapter weights, not the frozen base
        assert state["state_dict"] and all("lora_" in k for k in state["state_dict"])

    L.seed_everything(123)  # resuming must not depend on the seed of the new process
    second = LossRecorder()
    _trainer(tmp_path / "c", 5, [second]).fit(_module(finetuning), _data(sft_file, 128), ckpt_path=str(path))

    assert len(straight.losses) == 10 and len(first.losses) == 4 and len(second.losses) == 6
    assert first.first_tokens + second.first_tokens == straight.first_tokens  # same data position
    torch.testing.assert_close(torch.tensor(first.losses + second.losses), torch.tensor(straight.losses), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("finetuning", ["full", "lora"])
def test_exported_directory_reloads_with_identical_logits(tmp_path, sft_file, finetuning):
    from transformers import AutoModelForCausalLM

    L.seed_everything(0)
    module = _module(finetuning, lr=1e-2)
    export = HFExport(out_dir=str(tmp_path / "hf"))
    _trainer(tmp_path, 2, [export], accumulate=1, enable_checkpointing=False).fit(module, _data(sft_file))
    assert (tmp_path / "hf" / "model.safetensors").is_file() and (tmp_path / "hf" / "tokenizer.json").is_file()
    reloaded = AutoModelForCausalLM.from_pretrained(str(tmp_path / "hf"), dtype=torch.float32).eval()
    ids = torch.randint(0, 1000, (2, 12))
    module.policy.eval()
    with torch.no_grad():
        want = module.policy(input_ids=ids).logits
        got = reloaded(input_ids=ids).logits
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-4)
    # training changed the weights: the export is not just the base model
    base = AutoModelForCausalLM.from_pretrained(str(module.model_dir), dtype=torch.float32).eval()
    with torch.no_grad():
        assert (base(input_ids=ids).logits - got).abs().max() > 1e-3


def test_lora_never_targets_the_tied_head(tiny_model_dir):
    from hn_lightning.models import build_policy

    with pytest.raises(ValueError, match="tie"):
        build_policy(ModelConfig(name_or_path="tiny-qwen2", finetuning="lora", lora=LoraSettings(target_modules=["q_proj", "lm_head"])))
    model, _, _ = build_policy(ModelConfig(name_or_path="tiny-qwen2", finetuning="lora"))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    for proj in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"):
        assert any(proj in n for n in trainable)


def test_qlora_loads_a_4bit_base_with_trainable_adapters():
    import bitsandbytes as bnb

    from hn_lightning.models import build_policy

    model, _, _ = build_policy(ModelConfig(name_or_path="tiny-qwen2", finetuning="qlora", lora=LoraSettings(r=4)))
    q = model.get_base_model().model.layers[0].self_attn.q_proj
    assert isinstance(q.base_layer, bnb.nn.Linear4bit) and q.base_layer.weight.quant_type == "nf4"
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)


def test_qlora_quantization_is_the_papers():
    from hn_lightning.models.loader import _bnb_config

    cfg = _bnb_config()
    assert cfg.load_in_4bit and cfg.bnb_4bit_quant_type == "nf4" and cfg.bnb_4bit_use_double_quant
    assert cfg.bnb_4bit_compute_dtype == torch.bfloat16


@pytest.mark.parametrize("finetuning", ["full", "lora"])
def test_export_under_a_sharding_strategy_saves_the_gathered_weights(tmp_path, finetuning):
    """Under FSDP the module's own tensors are shards: HFExport asks the strategy for the full state dict
    (a collective, rank 0 gets it) and saves that, not ``module.policy``'s local tensors."""
    from types import SimpleNamespace

    from transformers import AutoModelForCausalLM

    module = _module(finetuning)
    module.configure_model()
    full = {k: v.clone() for k, v in module.state_dict().items()}
    # the "gathered" weights differ from the module's own in every trained tensor (all keys, tied ones too)
    for k in [k for k in full if k.startswith("policy.") and (finetuning == "full" or "lora_" in k)]:
        full[k] += 0.05

    class FSDPStrategy:  # what HFExport sees of Lightning's: the name and the gather
        calls = 0

        def lightning_module_state_dict(self):
            FSDPStrategy.calls += 1
            return full

    HFExport(out_dir=str(tmp_path / "hf"))._export(SimpleNamespace(strategy=FSDPStrategy()), module)
    assert FSDPStrategy.calls == 1
    module.load_state_dict(full)  # the model the export should hold
    reloaded = AutoModelForCausalLM.from_pretrained(str(tmp_path / "hf"), dtype=torch.float32).eval()
    ids = torch.randint(0, 1000, (2, 12))
    module.policy.eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(input_ids=ids).logits, module.policy(input_ids=ids).logits, rtol=1e-5, atol=1e-4)

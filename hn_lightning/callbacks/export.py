"""Export the trained policy as a Hugging Face directory that ``AutoModelForCausalLM.from_pretrained``
loads: merged weights, or the LoRA adapter plus a pointer to its base."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_only

from hn_lightning.io.atomic import atomic_directory

log = logging.getLogger(__name__)


def export_policy(module: LightningModule, out_dir: str | Path, merge_lora: bool = True,
                  state_dict: dict | None = None) -> Path:
    """Save ``module.policy`` and its tokenizer to ``out_dir`` atomically (temp dir, then rename).

    * full fine-tuning: the weights (safetensors) + config + tokenizer;
    * LoRA with ``merge_lora``: the adapters folded into a copy of the base, saved as a plain model;
    * LoRA without merging (always for QLoRA, whose 4-bit base cannot be merged losslessly): the adapter
      (``adapter_model.safetensors`` + ``adapter_config.json`` whose ``base_model_name_or_path`` is the
      base directory) and the tokenizer; transformers loads such a folder with peft installed.

    ``state_dict``: the LightningModule's full state dict when the module's own tensors are shards (FSDP:
    gathered on rank 0 by the strategy); its ``policy.*`` entries are what is saved.
    """
    out_dir = Path(out_dir)
    policy = module.policy
    policy_state = None
    if state_dict is not None:
        policy_state = {k[len("policy."):]: v for k, v in state_dict.items() if k.startswith("policy.")}
    is_peft = hasattr(policy, "peft_config")
    qlora = getattr(module.model_config, "finetuning", "") == "qlora"
    with atomic_directory(out_dir) as tmp:
        if is_peft and merge_lora and not qlora:
            _merged_copy(module, policy_state).save_pretrained(tmp, safe_serialization=True)
            kind = "merged"
        else:
            if is_peft:
                policy.peft_config["default"].base_model_name_or_path = str(Path(module.model_dir).resolve())
            policy.save_pretrained(tmp, safe_serialization=True, **({"state_dict": policy_state} if policy_state else {}))
            kind = "adapter" if is_peft else "full"
        module.tokenizer.save_pretrained(tmp)
        (tmp / "hn_lightning_export.json").write_text(json.dumps(
            {"kind": kind, "base": str(module.model_dir), "global_step": module.global_step}, indent=2))
    return out_dir


def _merged_copy(module: LightningModule, policy_state: dict | None = None):
    """A plain model with the LoRA adapters folded in, leaving the training model untouched
    (``policy_state``: the policy's gathered state dict, when its own tensors are shards)."""
    import torch
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(module.model_dir), dtype=next(module.policy.parameters()).dtype)
    from peft import PeftModel

    source = policy_state if policy_state is not None else module.policy.state_dict()
    adapter_state = {k: v.detach().cpu() for k, v in source.items() if "lora_" in k}
    peft_model = PeftModel(base, module.policy.peft_config["default"])
    missing = peft_model.load_state_dict(adapter_state, strict=False)
    unexpected = [k for k in missing.unexpected_keys if "lora_" in k]
    if unexpected:
        raise RuntimeError(f"adapter keys did not match the base: {unexpected[:3]}")
    with torch.no_grad():
        return peft_model.merge_and_unload()


class HFExport(Callback):
    """Saves the policy as a Hugging Face directory at the end of training (and optionally every N steps)."""

    def __init__(self, out_dir: str | None = None, merge_lora: bool = True, every_n_train_steps: int | None = None):
        """
        Args:
            out_dir: where to write; default ``<log_dir>/hf_model``.
            merge_lora: fold LoRA adapters into the base weights (not possible for QLoRA: the adapter is
                saved with a pointer to its base instead).
            every_n_train_steps: also export every N optimizer steps (overwriting); null: only at the end.
        """
        self.out_dir = out_dir
        self.merge_lora = merge_lora
        self.every_n_train_steps = every_n_train_steps
        self.last_export: Path | None = None
        self._exported_at_end = False  # set on every rank (``last_export`` is rank 0's alone)

    def _target(self, trainer: Trainer) -> Path:
        if self.out_dir:
            return Path(self.out_dir)
        return Path(trainer.log_dir or trainer.default_root_dir) / "hf_model"

    def _export(self, trainer: Trainer, module: LightningModule) -> None:
        # every rank resolves the target: under DDP ``trainer.log_dir`` is a broadcast, a collective
        target = self._target(trainer)
        state = None
        if "fsdp" in type(trainer.strategy).__name__.lower():
            # the weights are sharded over ranks: the strategy gathers the full state dict on rank 0
            # (``state_dict_type: full``; a collective, so every rank calls it)
            state = trainer.strategy.lightning_module_state_dict()
        self._write(target, module, state)

    @rank_zero_only
    def _write(self, target: Path, module: LightningModule, state: dict | None = None) -> None:
        self.last_export = export_policy(module, target, self.merge_lora, state)
        log.info("exported the policy to %s", self.last_export)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        n = self.every_n_train_steps
        if n and trainer.global_step > 0 and trainer.global_step % n == 0 and (batch_idx + 1) % trainer.accumulate_grad_batches == 0:
            self._export(trainer, pl_module)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._export(trainer, pl_module)
        self._exported_at_end = True

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """A fit resumed from a checkpoint of its last step trains nothing and Lightning skips the training
        loop with its ``on_train_end``: export the restored policy here instead (a run interrupted between
        its last checkpoint and the export otherwise never gets its ``hf_model``)."""
        if not self._exported_at_end:  # the same decision on every rank: the export may be a collective
            self._export(trainer, pl_module)
            self._exported_at_end = True

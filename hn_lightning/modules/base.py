"""What SFT and DPO modules share: building the policy, optimizers, lean checkpoints, FLOP counts."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable

from hn_lightning.errors import check_range
from hn_lightning.faults import fault_point
from hn_lightning.models import LoraSettings, ModelConfig, build_policy, load_tokenizer, resolve_model_dir
from hn_lightning.models.flops import training_flops
from hn_lightning.models.forward import count_matmul_params
from hn_lightning.modules.strategy_checks import check_strategy

log = logging.getLogger(__name__)

KEY = "model.init_args"
"""Where a module's settings live in a training config (named in range errors)."""


def check_model_settings(model: ModelConfig, logprob_chunk_size: int) -> None:
    """The documented ranges of the model settings, before anything is loaded."""
    check_range(f"{KEY}.logprob_chunk_size", logprob_chunk_size, 1)
    if model.finetuning in ("lora", "qlora"):
        lora = model.lora
        check_range(f"{KEY}.model.lora.r", lora.r, 1)
        check_range(f"{KEY}.model.lora.alpha", lora.alpha, 0, low_open=True, why="the adapter scale is alpha / r")
        check_range(f"{KEY}.model.lora.dropout", lora.dropout, 0, 1, high_open=True)


class CausalLMModule(L.LightningModule):
    """Base class: resolves the model and tokenizer at construction, loads weights in
    :meth:`configure_model`, and keeps only trainable weights in Lightning checkpoints."""

    def __init__(
        self,
        model: ModelConfig,
        optimizer: OptimizerCallable = torch.optim.AdamW,
        scheduler: LRSchedulerCallable | None = None,
        logprob_chunk_size: int = 1024,
    ):
        super().__init__()
        if isinstance(model, dict):  # from a checkpoint's hyper-parameters
            model = ModelConfig(**{**model, "lora": LoraSettings(**model.get("lora", {}))})
        check_model_settings(model, logprob_chunk_size)
        self.model_config = model
        # plain types only, so checkpoints load with torch.load(weights_only=True)
        self.save_hyperparameters({"model": dataclasses.asdict(model), "logprob_chunk_size": logprob_chunk_size})
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.logprob_chunk_size = logprob_chunk_size
        self.model_dir: Path = resolve_model_dir(model.name_or_path, model.trust_remote_code)
        self.tokenizer = load_tokenizer(self.model_dir, model.trust_remote_code)
        self.policy: torch.nn.Module | None = None
        self.flops_per_batch: int = 0
        self.strict_loading = False  # frozen base weights are not in our checkpoints; checked in on_load_checkpoint
        self._matmul_params = 0

    # -- model --------------------------------------------------------------------------------------
    def configure_model(self) -> None:
        if self.policy is not None:
            return
        self.policy, self.tokenizer, _ = build_policy(self.model_config, self.model_dir)
        self.policy.train()  # from_pretrained returns eval mode; Lightning expects train mode at fit start
        self._matmul_params = count_matmul_params(self.policy)

    def setup(self, stage: str) -> None:
        if self._trainer is not None:
            check_strategy(self.trainer.strategy, self.model_config.finetuning, self.needs_reference_precompute)

    @property
    def needs_reference_precompute(self) -> bool:
        """Whether a reference precompute pass runs before training (DPO with ``reference.precompute``)."""
        return False

    @property
    def is_peft(self) -> bool:
        return self.model_config.finetuning in ("lora", "qlora")

    # -- optimizer ----------------------------------------------------------------------------------
    def configure_optimizers(self) -> Any:
        params = [p for p in self.parameters() if p.requires_grad]
        optimizer = self.optimizer_factory(params)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        if hasattr(scheduler, "set_total_steps"):
            scheduler.set_total_steps(self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # -- checkpoints --------------------------------------------------------------------------------
    def _trainable_keys(self) -> set[str]:
        return {name for name, p in self.named_parameters() if p.requires_grad}

    def on_before_optimizer_step(self, optimizer) -> None:
        fault_point("fit.step")  # tests: die after backward, before the weights change

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep only trainable weights (LoRA: a few MB instead of the whole frozen base)."""
        fault_point("fit.checkpoint")  # tests: die while a checkpoint is being saved
        keep = self._trainable_keys()
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in keep}
        checkpoint["hn_lightning"] = {"model_dir": str(self.model_dir), "model": self.model_config.name_or_path}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        missing = self._trainable_keys() - set(checkpoint["state_dict"])
        if missing:
            raise KeyError(f"checkpoint lacks {len(missing)} trainable tensor(s), e.g. {sorted(missing)[:3]}")

    # -- throughput ---------------------------------------------------------------------------------
    def estimate_flops(self, num_tokens: int, sum_sq_len: int, backward: bool, extra_forward_tokens: int = 0) -> int:
        """Matmul FLOPs of one micro-batch (see :func:`hn_lightning.models.flops.training_flops`)."""
        cfg = self.policy.config if self.policy is not None else None
        return training_flops(
            matmul_params=self._matmul_params,
            tokens=num_tokens,
            sum_sq_len=sum_sq_len,
            n_layers=getattr(cfg, "num_hidden_layers", 0),
            d_model=getattr(cfg, "hidden_size", 0),
            backward=backward,
            weight_grads=not self.is_peft,
            extra_forward_tokens=extra_forward_tokens,
        )

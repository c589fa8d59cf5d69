"""Supervised fine-tuning on (packed) chain-of-thought data. Wires the model to the pure loss functions."""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable

from hn_lightning.losses.logprobs import chunked_token_logprobs, gather_targets
from hn_lightning.losses.sft import nll_loss
from hn_lightning.models import ModelConfig
from hn_lightning.models.forward import forward_hidden, output_head
from hn_lightning.modules.base import CausalLMModule


class SFTModule(CausalLMModule):
    """Causal-LM fine-tuning: ``loss = -mean log p(target tokens)``.

    Which tokens are targets is decided by the data (``data.completion_only``; the paper trains on all
    tokens). ``training_step`` returns the loss plus per-batch statistics for callbacks.
    """

    def __init__(
        self,
        model: ModelConfig,
        optimizer: OptimizerCallable = torch.optim.AdamW,
        scheduler: LRSchedulerCallable | None = None,
        logprob_chunk_size: int = 1024,
    ):
        """
        Args:
            model: which model to load and how (dtype, attention, LoRA/QLoRA, gradient checkpointing).
            optimizer: optimizer factory (``class_path`` + ``init_args``), e.g. ``torch.optim.AdamW`` or
                ``bitsandbytes.optim.PagedAdamW8bit`` on a GPU.
            scheduler: learning-rate schedule factory, e.g. ``hn_lightning.optim.WarmupCosineLR``; null for constant.
            logprob_chunk_size: target tokens per LM-head chunk (bounds logits memory to chunk x vocab).
        """
        super().__init__(model, optimizer, scheduler, logprob_chunk_size)

    def token_logprobs(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``[N]`` fp32 log-probs of every target token in the batch."""
        hidden = forward_hidden(self.policy, batch["input_ids"], position_ids=batch["position_ids"])
        h, targets, _ = gather_targets(hidden, batch["input_ids"], batch["loss_mask"])
        return chunked_token_logprobs(h, output_head(self.policy), targets, self.logprob_chunk_size)

    def _shared_step(self, batch: dict[str, torch.Tensor], stage: str) -> dict[str, Any]:
        token_logps = self.token_logprobs(batch)
        loss = nll_loss(token_logps)
        n_tok, width = int(batch["num_tokens"]), batch["input_ids"].numel()
        bs = batch["input_ids"].shape[0]
        # sync_dist: the mean over ranks (a no-op in one process)
        self.log(f"{stage}/loss", loss, prog_bar=True, batch_size=bs, on_step=stage == "train", on_epoch=stage != "train", sync_dist=True)
        if stage == "train":
            self.log("train/padding_fraction", 1.0 - n_tok / width, batch_size=bs)
            self.log("train/targets", float(batch["num_targets"]), batch_size=bs)
        return {"loss": loss, "token_logps": token_logps.detach(), "num_tokens": n_tok}

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict[str, Any]:
        self.flops_per_batch = self.estimate_flops(int(batch["num_tokens"]), int(batch["sum_sq_len"]), backward=True)
        return self._shared_step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict[str, Any]:
        return self._shared_step(batch, "val")

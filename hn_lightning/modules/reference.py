"""The frozen reference policy for DPO: a separate copy, the policy with its adapters disabled, or a
precomputed on-disk cache of reference log-probs (then no reference is kept in memory). Reference-free
losses (SimPO, ORPO) get mode ``none``: no reference at all."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

log = logging.getLogger(__name__)


@dataclass
class ReferenceConfig:
    """Where reference log-probs come from."""

    mode: Literal["auto", "copy", "adapters_off"] = "auto"
    """``copy``: a separate frozen copy of the starting model (eval mode, no grad, dropout off).
    ``adapters_off``: the LoRA/QLoRA policy with its adapters disabled, i.e. exactly the starting policy,
    4-bit quantization included, at no extra memory. ``auto``: adapters_off for LoRA/QLoRA, copy otherwise."""
    precompute: bool = False
    """Before the first step, compute reference log-probs for every pair of the training stream in one
    pass and keep them in an on-disk cache keyed by content hash and reference fingerprint (reused across
    runs). For full fine-tuning the pass uses the policy itself before it is updated, so no reference copy
    is ever loaded; during training no reference is kept in memory."""
    cache_dir: str | None = None
    """Cache folder; default ``$HN_LIGHTNING_CACHE/ref_logps``."""
    batch_size: int = 8
    """Pairs per forward pass in the precompute pass."""


def resolve_mode(config: ReferenceConfig, is_peft: bool, requires_reference: bool = True) -> str:
    """The concrete mode for this policy and loss: ``copy``, ``adapters_off`` or ``none`` (the loss needs no
    reference; any reference settings are then ignored, with a warning when they ask for something)."""
    if not requires_reference:
        if config.mode != "auto" or config.precompute:
            log.warning("the loss needs no reference model: ignoring reference.mode=%s, reference.precompute=%s",
                        config.mode, config.precompute)
        return "none"
    if config.mode == "auto":
        return "adapters_off" if is_peft else "copy"
    if config.mode == "adapters_off" and not is_peft:
        raise ValueError("reference.mode adapters_off needs a LoRA/QLoRA policy (model.finetuning: lora or qlora)")
    return config.mode


@contextlib.contextmanager
def adapters_disabled(policy: nn.Module):
    """Run ``policy`` as its frozen base (PEFT ``disable_adapter``), without gradients.

    The train/eval mode is left alone: the DPO module has already set every dropout to 0, so both modes
    compute the same function, and flipping to eval would make bitsandbytes (>= 0.48, CPU) repack 4-bit
    weights into an inference-only layout that breaks the next training step.
    """
    with torch.no_grad(), policy.disable_adapter():
        yield policy


def frozen_copy(model: nn.Module) -> nn.Module:
    """Freeze ``model`` in place as a reference: eval mode, no grad."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model

"""Typed, documented model settings. LightningCLI turns these docstrings into ``--help`` and comments
in ``--print_config``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
"""The paper's LoRA targets: every attention and MLP projection, never the (tied) lm_head."""


@dataclass
class LoraSettings:
    """LoRA adapter settings (used when ``finetuning`` is ``lora`` or ``qlora``)."""

    r: int = 16
    """Adapter rank."""
    alpha: int = 32
    """LoRA scaling numerator (scale = alpha / r)."""
    dropout: float = 0.0
    """Dropout on the adapter input. DPO forces 0 (dropout would make step 0 differ from ln 2)."""
    target_modules: list[str] = field(default_factory=lambda: list(LORA_TARGETS))
    """Module names that get adapters. ``lm_head``/``embed_tokens`` are refused when the head is tied."""


@dataclass
class ModelConfig:
    """Which causal LM to train and how to load it."""

    name_or_path: str = "qwen2.5-coder-0.5b-instruct"
    """A registered name (``qwen2.5-coder-0.5b-instruct`` [default, embedded], ``smollm2-135m-instruct``,
    ``qwen2.5-coder-1.5b-instruct``, ``tiny-qwen2``), a local Hugging Face directory, a ``.gguf`` file, or a
    Hugging Face Hub id ``org/name`` / ``org/name@revision`` (downloaded into the HF cache on first use;
    the cache alone with ``HF_HUB_OFFLINE=1``). An existing local path wins over a Hub id."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Weight dtype. ``auto``: bfloat16 on a GPU with bf16 and on a CPU with native bf16 matmuls
    (AVX512-BF16/AMX), float32 otherwise (logged once; ``HN_LIGHTNING_NO_BF16=1`` forces float32)."""
    attn_implementation: Literal["auto", "sdpa", "eager", "flash_attention_2", "flex_attention"] = "auto"
    """Attention kernel. ``auto``: flash_attention_2 when flash-attn is importable on a GPU, else sdpa."""
    finetuning: Literal["full", "lora", "qlora"] = "full"
    """``full`` trains every weight; ``lora`` adds adapters to a frozen base; ``qlora`` does the same on a
    4-bit NF4 (double-quantized, bf16 compute) base via bitsandbytes (CUDA only)."""
    lora: LoraSettings = field(default_factory=LoraSettings)
    """Adapter settings for ``lora``/``qlora``."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass (non-reentrant): far less memory, ~15-20% slower."""
    trust_remote_code: bool = False
    """Allow model code from the checkpoint directory to run. Off by default (safe loading)."""

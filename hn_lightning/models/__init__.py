"""Load policies and references: registered PyPI weight packages, GGUF files, HF directories; LoRA/QLoRA."""

from hn_lightning.models.config import LORA_TARGETS, LoraSettings, ModelConfig
from hn_lightning.models.loader import (
    apply_finetuning,
    build_policy,
    is_tied,
    load_causal_lm,
    load_for_inference,
    load_tokenizer,
)
from hn_lightning.models.registry import DEFAULT_MODEL, REGISTRY, TINY_QWEN2
from hn_lightning.models.source import known_names, resolve_model_dir

__all__ = [
    "DEFAULT_MODEL",
    "LORA_TARGETS",
    "REGISTRY",
    "TINY_QWEN2",
    "LoraSettings",
    "ModelConfig",
    "apply_finetuning",
    "build_policy",
    "is_tied",
    "known_names",
    "load_causal_lm",
    "load_for_inference",
    "load_tokenizer",
    "resolve_model_dir",
]

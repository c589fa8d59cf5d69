"""Load policies and references: registered PyPI weight packages, GGUF files, HF directories, Hub ids;
LoRA/QLoRA; ``dtype: auto``."""

from hn_lightning.models.config import LORA_TARGETS, LoraSettings, ModelConfig
from hn_lightning.models.dtype import auto_dtype, resolve_dtype, resolve_dtype_name
from hn_lightning.models.hub import HubId, parse_hub_id
from hn_lightning.models.loader import (
    apply_finetuning,
    build_policy,
    is_tied,
    load_causal_lm,
    load_for_inference,
    load_tokenizer,
)
from hn_lightning.models.registry import DEFAULT_MODEL, REGISTRY, TINY_QWEN2
from hn_lightning.models.source import UnresolvableModel, known_names, resolve_model_dir

__all__ = [
    "DEFAULT_MODEL",
    "HubId",
    "LORA_TARGETS",
    "REGISTRY",
    "TINY_QWEN2",
    "UnresolvableModel",
    "LoraSettings",
    "ModelConfig",
    "apply_finetuning",
    "auto_dtype",
    "build_policy",
    "is_tied",
    "known_names",
    "load_causal_lm",
    "load_for_inference",
    "load_tokenizer",
    "parse_hub_id",
    "resolve_dtype",
    "resolve_dtype_name",
    "resolve_model_dir",
]

from hn_lightning.data.tokenizer_source import register_tokenizer_loader  # noqa: E402

register_tokenizer_loader(load_tokenizer)  # data/ loads tokenizers by name without importing models/

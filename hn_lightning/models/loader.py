"""Build a policy (and tokenizer) from a :class:`ModelConfig`: dtype, attention kernel, gradient
checkpointing, LoRA / QLoRA / full fine-tuning."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import torch

from hn_lightning.models.config import ModelConfig
from hn_lightning.models.dtype import resolve_dtype
from hn_lightning.models.gguf import fix_special_tokens
from hn_lightning.models.source import resolve_model_dir

log = logging.getLogger(__name__)

__all__ = ["apply_finetuning", "build_policy", "is_tied", "load_causal_lm", "load_for_inference", "load_tokenizer",
           "resolve_attn_implementation", "resolve_dtype"]


def resolve_attn_implementation(name: str) -> str:
    """``auto`` → flash_attention_2 if flash-attn is importable and a GPU is present, else sdpa."""
    if name != "auto":
        return name
    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        choice = "flash_attention_2"
    else:
        choice = "sdpa"
    why = "flash-attn importable on a GPU" if choice == "flash_attention_2" else (
        "no CUDA GPU" if not torch.cuda.is_available() else "flash-attn not installed")
    log.info("attention implementation: %s (%s)", choice, why)
    return choice


def load_tokenizer(model_dir: str | Path, trust_remote_code: bool = False):
    """The tokenizer of ``model_dir`` with eos/pad fixed (ChatML eos ``<|im_end|>`` where it exists).

    ``model_dir`` is a local directory (a tokenizer-only one is fine) or anything
    :func:`resolve_model_dir` accepts (a registered name, a ``.gguf`` file, a Hub id ``org/name[@rev]``)."""
    from transformers import AutoTokenizer

    if not Path(model_dir).expanduser().is_dir():
        model_dir = resolve_model_dir(str(model_dir), trust_remote_code)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), trust_remote_code=trust_remote_code)
    fix_special_tokens(tokenizer)
    return tokenizer


def _bnb_config():
    """The paper's QLoRA quantization: 4-bit NF4, double quantization, bf16 compute."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )


def _check_qlora_available() -> None:
    if importlib.util.find_spec("bitsandbytes") is None:
        raise RuntimeError("finetuning: qlora needs bitsandbytes: pip install 'hn_lightning[qlora]'")
    if not torch.cuda.is_available():
        log.warning("QLoRA on CPU: bitsandbytes falls back to slow 4-bit kernels; use it for tests, not for training")


def load_causal_lm(config: ModelConfig, model_dir: str | Path | None = None):
    """Load the base causal LM described by ``config`` (no adapters yet). Returns the HF model."""
    from transformers import AutoModelForCausalLM

    model_dir = model_dir or resolve_model_dir(config.name_or_path, config.trust_remote_code)
    dtype = resolve_dtype(config.dtype)
    kwargs = dict(
        dtype=dtype,
        attn_implementation=resolve_attn_implementation(config.attn_implementation),
        trust_remote_code=config.trust_remote_code,
    )
    if config.finetuning == "qlora":
        _check_qlora_available()
        kwargs["quantization_config"] = _bnb_config()
        kwargs["dtype"] = torch.bfloat16
        kwargs["device_map"] = {"": torch.cuda.current_device() if torch.cuda.is_available() else "cpu"}
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), **kwargs)
    log.info("loaded %s from %s (%s, %.1fM params)", config.name_or_path, model_dir, dtype,
             sum(p.numel() for p in model.parameters()) / 1e6)
    return model


def is_tied(model) -> bool:
    """True if the output head shares its weight with the input embedding."""
    out, inp = model.get_output_embeddings(), model.get_input_embeddings()
    return out is not None and inp is not None and out.weight is inp.weight


def apply_finetuning(model, config: ModelConfig):
    """Freeze/wrap ``model`` for full, LoRA or QLoRA fine-tuning and set up gradient checkpointing."""
    if config.finetuning == "full":
        if config.gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        return model
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    targets = list(config.lora.target_modules)
    if is_tied(model) and any(t in ("lm_head", "embed_tokens") for t in targets):
        raise ValueError("LoRA on lm_head/embed_tokens is refused: this model ties them (the adapter would move the input embedding too)")
    if config.finetuning == "qlora":
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=config.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    elif config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    peft_config = LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, peft_config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("LoRA r=%d on %s: %.2fM trainable parameters", config.lora.r, ",".join(targets), trainable / 1e6)
    return model


def build_policy(config: ModelConfig, model_dir: str | Path | None = None):
    """Load and prepare the policy described by ``config``; returns ``(model, tokenizer, model_dir)``."""
    model_dir = Path(model_dir or resolve_model_dir(config.name_or_path, config.trust_remote_code))
    tokenizer = load_tokenizer(model_dir, config.trust_remote_code)
    model = load_causal_lm(config, model_dir)
    fix_special_tokens(tokenizer, model)
    model = apply_finetuning(model, config)
    return model, tokenizer, model_dir


def load_for_inference(config: ModelConfig, model_dir: str | Path | None = None, tokenizer=None,
                       device: str | torch.device | None = None):
    """The model of ``config`` in eval mode on ``device`` (default: CUDA when available, else CPU),
    with its generation stop tokens fixed; returns ``(model, tokenizer)`` (``tokenizer`` is loaded
    unless given)."""
    model_dir = Path(model_dir or resolve_model_dir(config.name_or_path, config.trust_remote_code))
    if tokenizer is None:
        tokenizer = load_tokenizer(model_dir, config.trust_remote_code)
    model = load_causal_lm(config, model_dir)
    fix_special_tokens(tokenizer, model)
    model.to(device or ("cuda" if torch.cuda.is_available() else "cpu")).eval()
    return model, tokenizer

"""One forward pass to the final hidden states, for plain and PEFT-wrapped causal LMs.

Losses never ask the model for logits: they take the hidden states and apply the LM head themselves,
only at the target positions (see :mod:`hn_lightning.losses.logprobs`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def base_causal_lm(model: nn.Module) -> nn.Module:
    """The underlying ``*ForCausalLM`` (LoRA layers, if any, are injected in place and stay active)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def output_head(model: nn.Module) -> nn.Module:
    """The LM head module (``[.., H] -> [.., V]``)."""
    return base_causal_lm(model).get_output_embeddings()


def forward_hidden(
    model: nn.Module,
    input_ids: Tensor,
    position_ids: Tensor | None = None,
    attention_mask: Tensor | None = None,
) -> Tensor:
    """Final hidden states ``[B, T, H]`` of the decoder.

    Packed rows are described by ``position_ids`` that restart at 0 for every sequence, with
    ``attention_mask=None``: transformers then builds a block-diagonal causal mask (SDPA/eager) or uses
    the varlen FlashAttention path, so no token attends across sequences. ``use_cache=False`` is
    required for that detection (a cache disables it).
    """
    decoder = base_causal_lm(model).get_decoder()
    out = decoder(input_ids=input_ids, position_ids=position_ids, attention_mask=attention_mask, use_cache=False)
    return out.last_hidden_state


def count_matmul_params(model: nn.Module) -> int:
    """Parameters that take part in matrix multiplies per token (all but the input embedding table,
    counting the head once even when tied). Used for FLOP and MFU estimates."""
    base = base_causal_lm(model)
    emb = base.get_input_embeddings()
    head = base.get_output_embeddings()
    total = sum(p.numel() for p in base.parameters())
    total -= emb.weight.numel()
    if head is not None and head.weight is emb.weight:
        total += emb.weight.numel()
    return int(total)


@torch.no_grad()
def disable_dropout(model: nn.Module) -> int:
    """Set every dropout probability to 0 (modules and attention configs). Returns how many changed."""
    changed = 0
    for module in model.modules():
        if isinstance(module, nn.Dropout) and module.p > 0:
            module.p = 0.0
            changed += 1
    config = getattr(base_causal_lm(model), "config", None)
    for key in ("attention_dropout", "hidden_dropout", "dropout", "resid_pdrop", "embd_pdrop", "attn_pdrop"):
        if config is not None and getattr(config, key, 0):
            setattr(config, key, 0.0)
            changed += 1
    return changed

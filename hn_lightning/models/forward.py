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
    base = base_causal_lm(model)
    decoder = base.get_decoder()
    batch, width = input_ids.shape
    if position_ids is not None and attention_mask is None and batch > 1 and packs_single_row_only(base):
        # FlashAttention's varlen path reads packed sequences from position_ids only when the batch is one
        # row (transformers' _is_packed_sequence); with several rows it would attend across sequences.
        # Every packed row starts a sequence at position 0, so the rows laid end to end are the same batch.
        out = decoder(input_ids=input_ids.reshape(1, batch * width), position_ids=position_ids.reshape(1, batch * width),
                      use_cache=False)
        return out.last_hidden_state.reshape(batch, width, -1)
    out = decoder(input_ids=input_ids, position_ids=position_ids, attention_mask=attention_mask, use_cache=False)
    return out.last_hidden_state


def packs_single_row_only(model: nn.Module) -> bool:
    """True for attention kernels that recognize packed rows only in a batch of one row (FlashAttention
    2/3 and kernels-hub flash variants); SDPA, eager and flex build a per-row block-diagonal mask instead."""
    impl = str(getattr(getattr(model, "config", None), "_attn_implementation", "") or "")
    return "flash" in impl


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

"""Collate preference pairs into one concatenated batch: rows ``[chosen_1..B, rejected_1..B]``.

One forward pass serves both sides. Rows are right-padded; the padding tail gets its own restarted
``position_ids`` segment (and ``attention_mask=None``), so it is never attended by real tokens, the same
convention as packed SFT rows. ``loss_mask`` marks completion tokens only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from hn_lightning.data.packing import round_up
from hn_lightning.data.pairs import TokenizedPair


def collate_pairs(pairs: Sequence[TokenizedPair], weights: torch.Tensor, pad_id: int, pad_to_multiple_of: int = 8) -> dict[str, Any]:
    """Batch ``B`` pairs with their (already normalized) weights ``[B]``.

    Returns ``input_ids``, ``position_ids``, ``loss_mask`` (``[2B, L]``), ``weights`` (a list of ``B``
    Python floats), ``chosen_tokens``/``rejected_tokens`` (``[B]`` int64), ``num_tokens``, ``sum_sq_len``
    and the lists ``ids``, ``chosen_keys``, ``rejected_keys``, ``meta``.

    No floating-point tensor is in the batch on purpose: Lightning's ``bf16-true``/``16-true`` precision
    casts every floating tensor of a batch to half precision before the step (``convert_input``), which
    would round the verifier weights (relative error up to 2^-9) and completion lengths above 256.
    ``DPOModule`` turns the weights into a float64 tensor, cast to the loss dtype at the product.
    """
    seqs, prompt_lens = pair_sequences(pairs)
    width = max(len(s) for s in seqs)
    width = round_up(width, pad_to_multiple_of)
    rows = len(seqs)
    input_ids = torch.full((rows, width), pad_id, dtype=torch.long)
    position_ids = torch.zeros((rows, width), dtype=torch.long)
    loss_mask = torch.zeros((rows, width), dtype=torch.bool)
    for r, (seq, plen) in enumerate(zip(seqs, prompt_lens)):
        n = len(seq)
        input_ids[r, :n] = torch.tensor(seq)
        position_ids[r, :n] = torch.arange(n)
        position_ids[r, n:] = torch.arange(width - n)
        loss_mask[r, plen:n] = True
    return {"input_ids": input_ids, "position_ids": position_ids, "loss_mask": loss_mask, **pair_fields(pairs, weights)}


def pair_sequences(pairs: Sequence[TokenizedPair]) -> tuple[list[list[int]], list[int]]:
    """The ``2B`` sequences of a micro-batch, ``[prompt+chosen_1..B, prompt+rejected_1..B]``, and the
    prompt length of each (sequence ``s < B`` is pair ``s``'s chosen side, ``B + i`` its rejected side)."""
    seqs = [p.prompt_ids + p.chosen_ids for p in pairs] + [p.prompt_ids + p.rejected_ids for p in pairs]
    return seqs, [len(p.prompt_ids) for p in pairs] * 2


def pair_fields(pairs: Sequence[TokenizedPair], weights: torch.Tensor) -> dict[str, Any]:
    """The layout-independent part of a pair batch (shared by the padded and the packed collate)."""
    lengths = [len(s) for s in pair_sequences(pairs)[0]]
    return {
        "weights": [float(w) for w in torch.as_tensor(weights, dtype=torch.float64).tolist()],
        "chosen_tokens": torch.tensor([len(p.chosen_ids) for p in pairs], dtype=torch.long),
        "rejected_tokens": torch.tensor([len(p.rejected_ids) for p in pairs], dtype=torch.long),
        "num_tokens": torch.tensor(sum(lengths)),
        "sum_sq_len": torch.tensor(sum(n * n for n in lengths)),
        "ids": [p.id for p in pairs],
        "chosen_keys": [p.key("chosen") for p in pairs],
        "rejected_keys": [p.key("rejected") for p in pairs],
        "meta": [p.meta for p in pairs],
    }

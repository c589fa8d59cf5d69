"""Pack tokenized examples into fixed-length rows without cross-sequence attention.

Each row holds whole examples back to back. ``position_ids`` restart at 0 at every example, which is
how transformers recognises packed rows (block-diagonal causal mask under SDPA/eager, varlen
FlashAttention on GPU). The first token of every example is never a target, so no token is trained
to predict across a boundary. Trailing padding forms its own segment and is never a target.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import torch

from hn_lightning.data.chat import Rendered


def round_up(n: int, multiple: int) -> int:
    """``n`` rounded up to a multiple of ``multiple`` (row widths padded for tensor-core friendly shapes)."""
    return -(-n // multiple) * multiple


def pack_examples(lengths: Sequence[int], max_length: int) -> list[list[int]]:
    """Best-fit-decreasing bin packing of example lengths into rows of at most ``max_length`` tokens.

    Deterministic: ties are broken by example index. Returns rows as lists of example indices (each row
    in ascending index order). Every length must already be ``<= max_length``.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    rows: list[list[int]] = []
    free: list[tuple[int, int]] = []  # sorted (free_space, row_index)
    for i in order:
        n = lengths[i]
        if n > max_length:
            raise ValueError(f"example {i} has {n} tokens > max_length {max_length}; truncate first")
        pos = bisect.bisect_left(free, (n, -1))
        if pos < len(free):
            space, row = free.pop(pos)
            rows[row].append(i)
            bisect.insort(free, (space - n, row))
        else:
            rows.append([i])
            bisect.insort(free, (max_length - n, len(rows) - 1))
    return [sorted(r) for r in rows]


def collate_rows(
    rows: Sequence[Sequence[Rendered]],
    pad_id: int,
    completion_only: bool,
    pad_to_multiple_of: int = 8,
) -> dict[str, torch.Tensor]:
    """Collate packed rows into a batch.

    Returns:
        ``input_ids [B, L]``, ``position_ids [B, L]`` (restart per example and for the padding tail),
        ``loss_mask [B, L]`` (True where the token is a training target), ``num_tokens`` (non-pad
        tokens), ``num_targets``, ``num_sequences``, ``sum_sq_len`` (sum of squared example lengths, for attention
        FLOPs), as 0-dim tensors.
    """
    lengths = [sum(len(ex.input_ids) for ex in row) for row in rows]
    width = max(lengths)
    width = round_up(width, pad_to_multiple_of)
    batch = len(rows)
    input_ids = torch.full((batch, width), pad_id, dtype=torch.long)
    position_ids = torch.zeros((batch, width), dtype=torch.long)
    loss_mask = torch.zeros((batch, width), dtype=torch.bool)
    for b, row in enumerate(rows):
        cursor = 0
        for ex in row:
            n = len(ex.input_ids)
            input_ids[b, cursor : cursor + n] = torch.tensor(ex.input_ids)
            position_ids[b, cursor : cursor + n] = torch.arange(n)
            first_target = ex.prompt_len if completion_only else 1
            loss_mask[b, cursor + max(first_target, 1) : cursor + n] = True
            cursor += n
        position_ids[b, cursor:] = torch.arange(width - cursor)
    return {
        "input_ids": input_ids,
        "position_ids": position_ids,
        "loss_mask": loss_mask,
        "num_tokens": torch.tensor(sum(lengths)),
        "num_targets": loss_mask.sum(),
        "num_sequences": torch.tensor(sum(len(r) for r in rows)),
        "sum_sq_len": torch.tensor(sum(len(ex.input_ids) ** 2 for row in rows for ex in row)),
    }

"""Padding-free (packed) preference batches: the ``2B`` sequences of a micro-batch back to back.

The padded collate (:mod:`hn_lightning.data.pair_collate`) gives every sequence its own row, padded to
the longest one: ``2B x W`` positions for ``sum_s T_s`` real tokens. Here the same sequences
(``prompt + chosen_i`` and ``prompt + rejected_i``) are laid end to end inside rows, with
``position_ids`` restarting at 0 for every sequence, the convention of packed SFT rows
(:mod:`hn_lightning.data.packing`): transformers turns restarts into a block-diagonal causal mask under
SDPA/eager/flex attention (and into varlen FlashAttention-2 for a single row), so no token attends
across sequences and each sequence's log-probs are those of the sequence alone.

Two layouts:

* ``rows``: best-fit-decreasing bins as wide as the padded batch would be (the longest sequence,
  rounded up to a multiple of 8), or ``row_length`` tokens. Every row is at most as wide as a padded
  row, so attention work per row never grows, and there are at most ``2B`` rows (usually about half).
* ``flat``: one row holding all sequences (batch size 1): no padding but the tail, the layout
  FlashAttention-2's varlen path requires (it only unpacks ``position_ids`` of a single row). Under
  SDPA/eager the mask is ``N x N`` over the whole row, so this wins only with a varlen kernel.

``sequence_ids [R, W]`` names the sequence of every position (``s < B``: pair ``s``'s chosen side,
``B + i``: pair ``i``'s rejected side, ``-1``: padding) so that per-sequence log-prob sums come out in the
same ``[chosen_1..B, rejected_1..B]`` order as the padded batch
(:func:`hn_lightning.losses.logprobs.gather_targets`). The weights, counts and cache keys are exactly those
of the padded batch (:func:`hn_lightning.data.pair_collate.pair_fields`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch

from hn_lightning.data.packing import pack_examples, round_up
from hn_lightning.data.pair_collate import collate_pairs, pair_fields, pair_sequences
from hn_lightning.data.pairs import TokenizedPair

Packing = Literal["none", "rows", "flat"]


def pack_layout(lengths: Sequence[int], mode: Packing, row_length: int | None = None, pad_to_multiple_of: int = 8) -> tuple[list[list[int]], int]:
    """Which sequences go in which row, and the row width.

    Args:
        lengths: token count of each sequence.
        mode: ``rows`` (bins of ``row_length`` or the padded width) or ``flat`` (one row).
        row_length: bin capacity for ``rows``; default the longest sequence rounded up to ``pad_to_multiple_of``.
        pad_to_multiple_of: the width of every row is a multiple of this.

    Returns:
        ``(rows, width)``: rows as lists of sequence indices (ascending), and the common row width.
    """
    if not lengths:
        raise ValueError("cannot pack an empty micro-batch")
    if mode == "flat":
        return [list(range(len(lengths)))], round_up(sum(lengths), pad_to_multiple_of)
    if mode != "rows":
        raise ValueError(f"unknown packing mode {mode!r} (rows, flat)")
    capacity = row_length or round_up(max(lengths), pad_to_multiple_of)
    if max(lengths) > capacity:
        raise ValueError(f"a sequence of {max(lengths)} tokens does not fit packing_length {capacity}; raise it to at least max_length")
    rows = pack_examples(lengths, capacity)
    return rows, round_up(max(sum(lengths[i] for i in r) for r in rows), pad_to_multiple_of)


def collate_pairs_packed(
    pairs: Sequence[TokenizedPair],
    weights: torch.Tensor,
    pad_id: int,
    mode: Packing = "rows",
    row_length: int | None = None,
    pad_to_multiple_of: int = 8,
) -> dict[str, Any]:
    """Batch ``B`` pairs without padding between sequences.

    Returns everything :func:`~hn_lightning.data.pair_collate.collate_pairs` returns (``input_ids``,
    ``position_ids``, ``loss_mask`` now ``[R, W]`` with ``R`` packed rows) plus ``sequence_ids [R, W]``
    (int64, ``-1`` on padding). ``loss_mask`` marks completion tokens; the first token of every sequence
    is a prompt token, so no target is predicted across a sequence boundary.
    """
    seqs, prompt_lens = pair_sequences(pairs)
    if min(prompt_lens) < 1:
        raise ValueError("packing needs at least one prompt token per pair (the first token of a sequence is never a target)")
    rows, width = pack_layout([len(s) for s in seqs], mode, row_length, pad_to_multiple_of)
    R = len(rows)
    input_ids = torch.full((R, width), pad_id, dtype=torch.long)
    position_ids = torch.zeros((R, width), dtype=torch.long)
    loss_mask = torch.zeros((R, width), dtype=torch.bool)
    sequence_ids = torch.full((R, width), -1, dtype=torch.long)
    for r, members in enumerate(rows):
        cursor = 0
        for s in members:
            n = len(seqs[s])
            input_ids[r, cursor : cursor + n] = torch.tensor(seqs[s])
            position_ids[r, cursor : cursor + n] = torch.arange(n)
            loss_mask[r, cursor + prompt_lens[s] : cursor + n] = True
            sequence_ids[r, cursor : cursor + n] = s
            cursor += n
        position_ids[r, cursor:] = torch.arange(width - cursor)  # the padding tail is a segment of its own
    return {"input_ids": input_ids, "position_ids": position_ids, "loss_mask": loss_mask, "sequence_ids": sequence_ids,
            **pair_fields(pairs, weights)}


def collate_preference_batch(pairs: Sequence[TokenizedPair], weights: torch.Tensor, pad_id: int, packing: Packing = "none",
                             packing_length: int | None = None) -> dict[str, Any]:
    """The padded batch (``packing="none"``) or a packed one (``rows``/``flat``)."""
    if packing == "none":
        return collate_pairs(pairs, weights, pad_id)
    return collate_pairs_packed(pairs, weights, pad_id, packing, packing_length)

"""Completion-only token log-probabilities without materializing ``[B, T, V]`` logits.

The LM head is applied to the hidden states of the *target* positions only, in chunks, with the
logsumexp in fp32; during training each chunk is checkpointed so the backward pass recomputes its
logits instead of storing them. Peak logits memory is ``chunk_size x V`` instead of ``B x T x V``
(0.6 GB per 1k tokens in fp32 at V = 151,936).

Imports torch only.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint


def gather_targets(
    hidden: Tensor, input_ids: Tensor, loss_mask: Tensor, sequence_ids: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Select the hidden states that predict each target token.

    Token ``t`` is predicted from the hidden state at ``t - 1`` (causal shift).

    Args:
        hidden: ``[B, T, H]`` final hidden states (after the last norm).
        input_ids: ``[B, T]`` token ids.
        loss_mask: ``[B, T]`` bool, True where token ``t`` is a target (must be False at ``t = 0``).
        sequence_ids: optional ``[B, T]`` int64 sequence index of every position, for packed rows holding
            several sequences (``-1`` on padding). A target and the position predicting it must belong to
            the same sequence (no prediction across a boundary); checked.

    Returns:
        ``(h [N, H], targets [N], seqs [N])``: the predicting hidden states, the target ids, and the
        sequence of each target for per-sequence sums: ``sequence_ids`` at the target, or the batch row
        when ``sequence_ids`` is None; in row-major order.
    """
    if loss_mask[:, 0].any():
        raise ValueError("loss_mask[:, 0] must be False: the first token has no predecessor")
    shifted = loss_mask[:, 1:]
    rows, cols = shifted.nonzero(as_tuple=True)
    seqs = rows
    if sequence_ids is not None:
        seqs, prev = sequence_ids[rows, cols + 1], sequence_ids[rows, cols]
        if bool((seqs < 0).any()) or not torch.equal(seqs, prev):
            raise ValueError("a target is padding or is predicted from another sequence: check loss_mask against sequence_ids")
    return hidden[rows, cols], input_ids[rows, cols + 1], seqs


def _chunk_logprobs(lm_head: Callable[[Tensor], Tensor], h: Tensor, targets: Tensor) -> Tensor:
    logits = lm_head(h).float()
    return logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def chunked_token_logprobs(
    hidden: Tensor,
    lm_head: Callable[[Tensor], Tensor],
    targets: Tensor,
    chunk_size: int = 1024,
) -> Tensor:
    """``log softmax(lm_head(hidden))[targets]`` computed chunk by chunk in fp32.

    Args:
        hidden: ``[N, H]`` hidden states (any float dtype).
        lm_head: maps ``[n, H]`` to ``[n, V]`` logits (a ``nn.Linear`` or a wrapped head).
        targets: ``[N]`` target token ids.
        chunk_size: rows per chunk; bounds the live logits to ``chunk_size x V``.

    Returns:
        ``[N]`` fp32 log-probabilities.
    """
    if hidden.shape[0] == 0:
        return hidden.new_zeros(0, dtype=torch.float32)
    use_ckpt = torch.is_grad_enabled() and (hidden.requires_grad or any(
        p.requires_grad for p in getattr(lm_head, "parameters", lambda: [])()))
    out = []
    for start in range(0, hidden.shape[0], chunk_size):
        h, t = hidden[start : start + chunk_size], targets[start : start + chunk_size]
        if use_ckpt:
            out.append(checkpoint(_chunk_logprobs, lm_head, h, t, use_reentrant=False))
        else:
            out.append(_chunk_logprobs(lm_head, h, t))
    return torch.cat(out)


def sequence_logprobs(token_logps: Tensor, rows: Tensor, num_rows: int) -> Tensor:
    """Sum token log-probs per sequence.

    Args:
        token_logps: ``[N]`` fp32.
        rows: ``[N]`` sequence index of each token.
        num_rows: number of sequences ``S``.

    Returns:
        ``[S]`` fp32 sums (0 for a sequence without targets).
    """
    out = torch.zeros(num_rows, dtype=token_logps.dtype, device=token_logps.device)
    return out.index_add(0, rows, token_logps)

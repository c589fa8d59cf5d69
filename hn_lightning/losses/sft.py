"""Supervised fine-tuning loss: mean negative log-likelihood over target tokens."""

from __future__ import annotations

from torch import Tensor


def nll_loss(token_logps: Tensor) -> Tensor:
    """``-mean(log p)`` over every target token of the micro-batch.

    Args:
        token_logps: ``[N]`` fp32 log-probs of the target tokens.

    Returns:
        scalar loss (0-dim tensor). Packed sequences count token by token, so long and short examples
        weigh by their length, as in the paper's SFT (no per-sequence averaging).
    """
    if token_logps.numel() == 0:
        return token_logps.sum() * 0.0
    return -token_logps.mean()

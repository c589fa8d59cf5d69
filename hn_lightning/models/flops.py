"""FLOP accounting for MFU (model FLOPs utilisation), nanoGPT/PaLM style. Pure arithmetic: the modules
estimate each micro-batch with it and the throughput callback turns it into MFU.

Per token, a forward pass costs ``2N`` matmul FLOPs (``N`` = matmul parameters, head included), the
backward pass ``2N`` for input gradients plus ``2N`` for weight gradients (skipped for frozen weights:
LoRA's backward is ~``2N``). Causal attention adds ``2 * L * d * T^2`` forward FLOPs per sequence of
length ``T`` (``QK^T`` and ``AV``, halved by the causal mask), tripled with a backward pass.
"""

from __future__ import annotations


def training_flops(
    matmul_params: int,
    tokens: int,
    sum_sq_len: int,
    n_layers: int,
    d_model: int,
    backward: bool = True,
    weight_grads: bool = True,
    extra_forward_tokens: int = 0,
) -> int:
    """FLOPs of one micro-batch.

    Args:
        matmul_params: ``N``.
        tokens: non-padding tokens that go through the trained model.
        sum_sq_len: ``sum_i T_i^2`` over the packed sequences (attention cost).
        n_layers, d_model: transformer depth and width.
        backward: whether gradients are computed.
        weight_grads: whether weight gradients are computed (False for LoRA: the frozen base only passes
            input gradients; adapter FLOPs are negligible).
        extra_forward_tokens: tokens through a forward-only copy (an online DPO reference): ``2N`` each.
    """
    fwd = 2 * matmul_params * tokens + 2 * n_layers * d_model * sum_sq_len
    mult = 1 + (1 if backward else 0) + (1 if backward and weight_grads else 0)
    extra = 2 * matmul_params * extra_forward_tokens + (2 * n_layers * d_model * sum_sq_len if extra_forward_tokens else 0)
    return int(fwd * mult + extra)

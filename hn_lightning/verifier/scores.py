"""Aggregating the six dimensions into ``wrongness`` and ``absurdity``.

Paper method step (arXiv 2512.19728, section 3.2): both are weighted sums of the six-dimensional
error profile. With ``D`` the dimensions that were computed (the fine-channel ones are ``None`` when
that channel did not run)::

    score = sum_{d in D} w_d * s_d / sum_{d in D} w_d

so the result stays in [0, 1]. Default weights: :data:`~hn_lightning.verifier.config.DEFAULT_WRONGNESS_WEIGHTS`
(answer 0.35, logic 0.20, symbolic 0.15, structure/order/semantic 0.10 each) and
:data:`~hn_lightning.verifier.config.DEFAULT_ABSURDITY_WEIGHTS` (structure 0.25, logic 0.25,
semantic 0.20, order 0.15, symbolic 0.10, answer 0.05).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["weighted_score"]


def weighted_score(dims: Mapping[str, float | None], weights: Mapping[str, float]) -> float:
    """``sum w_d s_d / sum w_d`` over the dimensions that are not ``None`` and have a weight.

    Example: ``{"s_ans": 1.0, "s_sem": 0.2, "s_logic": None}`` with weights ``{"s_ans": 0.35,
    "s_sem": 0.10, "s_logic": 0.20}`` gives ``(0.35 + 0.02) / 0.45 = 0.8222``.
    """
    num = den = 0.0
    for name, w in weights.items():
        value = dims.get(name)
        if value is None or w == 0:
            continue
        num += w * float(value)
        den += w
    return num / den if den > 0 else 0.0

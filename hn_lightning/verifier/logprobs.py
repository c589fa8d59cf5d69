r"""Confidence, perplexity and the raw importance weight ``w_raw``.

Paper method step (arXiv 2512.19728, section 3.3, verifier-guided weights):

* ``confidence = sigmoid((mean_{t in A} exp(l_t) - c) / T)``: the sigmoid-smoothed mean token
  probability over the final-answer span ``A`` (``c = confidence_center = 0.5``,
  ``T = confidence_temperature = 0.1``). A policy that was sure of a wrong answer gets a high
  confidence, hence a small ``1 - confidence`` term.
* ``ppl = exp(-mean_t l_t)`` over every generated token of the chain of thought.
* ``w_raw = wrongness + (1 - confidence) + ppl / normalizer``.

``l_t`` are natural-log probabilities of the generated tokens.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

__all__ = ["confidence_from_logprobs", "perplexity", "compute_w_raw", "answer_token_indices"]


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def confidence_from_logprobs(span_logprobs: Sequence[float], center: float = 0.5, temperature: float = 0.1) -> float | None:
    """``sigmoid((mean_t exp(l_t) - center) / temperature)`` over the answer-span log-probs.

    ``None`` for an empty span. Example: probabilities 0.9 and 0.7 give mean 0.8 and
    ``sigmoid(3) = 0.9526`` with the defaults.
    """
    if len(span_logprobs) == 0:
        return None
    mean_p = sum(math.exp(lp) for lp in span_logprobs) / len(span_logprobs)
    return _sigmoid((mean_p - center) / temperature)


def perplexity(token_logprobs: Sequence[float]) -> float | None:
    """``exp(-mean_t l_t)``; ``None`` for no tokens. Log-probs ``[log 0.5, log 0.5]`` give 2.0."""
    if len(token_logprobs) == 0:
        return None
    return math.exp(-sum(token_logprobs) / len(token_logprobs))


def compute_w_raw(
    wrongness: float,
    confidence: float | None,
    ppl: float | None,
    normalizer: float = 10.0,
    neutral_confidence: float = 0.5,
    neutral_ppl: float = 1.0,
) -> float:
    """``w_raw = wrongness + (1 - confidence) + ppl / normalizer``.

    A missing ``confidence`` or ``ppl`` (no log-probs) is replaced by ``neutral_confidence`` (0.5) or
    ``neutral_ppl`` (1.0, the perplexity of a model sure of every token), so without log-probs
    ``w_raw = wrongness + 0.5 + 1 / normalizer`` and samples are ranked by wrongness alone.
    Example: wrongness 0.6, confidence 0.9, ppl 2.0, normalizer 10 -> 0.6 + 0.1 + 0.2 = 0.9.
    """
    c = neutral_confidence if confidence is None else confidence
    p = neutral_ppl if ppl is None else ppl
    return float(wrongness + (1.0 - c) + p / normalizer)


def answer_token_indices(tokens: Sequence[str], answers: Sequence[str], fallback: int = 8) -> tuple[list[int], str]:
    """Indices of the tokens that overlap the final-answer span, and how it was found.

    The token texts are concatenated (their character offsets follow from their lengths; this text
    is normally the prediction, and the span is searched in it even when it is not). The span
    is the *last* occurrence in that text of, in order: an extracted answer string, the inside of
    the last ``\\boxed{...}``, or the last number. If none is found, the last ``fallback`` tokens
    are used. Returns ``(indices, method)`` with method ``answer``/``boxed``/``number``/``fallback``.
    """
    text = "".join(tokens)
    if not tokens:
        return [], "fallback"
    span = None
    method = "fallback"
    for ans in answers:
        ans = ans.strip()
        if ans and (pos := text.rfind(ans)) >= 0:
            span, method = (pos, pos + len(ans)), "answer"
            break
    if span is None and (pos := text.rfind("\\boxed{")) >= 0:
        depth, k = 0, pos + len("\\boxed{")
        start = k
        while k < len(text):
            if text[k] == "{":
                depth += 1
            elif text[k] == "}":
                if depth == 0:
                    break
                depth -= 1
            k += 1
        if k > start:
            span, method = (start, k), "boxed"
    if span is None:
        nums = list(re.finditer(r"-?\d[\d,]*(?:\.\d+)?", text))
        if nums:
            span, method = (nums[-1].start(), nums[-1].end()), "number"
    if span is None:
        return list(range(max(0, len(tokens) - fallback), len(tokens))), "fallback"
    out, offset = [], 0
    for i, tok in enumerate(tokens):
        start, end = offset, offset + len(tok)
        offset = end
        if end > span[0] and start < span[1]:
            out.append(i)
    return (out, method) if out else (list(range(max(0, len(tokens) - fallback), len(tokens))), "fallback")

"""Stage 2: MathVerifier scores of every candidate -> ``scored/shard-XXXXX.jsonl``.

Scored shard ``i`` holds the records of candidates shard ``i`` (same order), each with the bulky
``token_logprobs``/``tokens`` dropped (they stay in ``candidates/``) and a ``scores`` object: the
:class:`~hn_lightning.verifier.records.VerifierResult` without id and timings: ``s_sem``,
``s_struct``, ``s_order``, ``s_logic``, ``s_sym``, ``s_ans`` (in [0, 1], higher = more wrong; a
fine-channel dimension the gate skipped is ``null``), ``wrongness``, ``absurdity``, ``confidence``,
``ppl``, ``w_raw``, ``answer_correct``, ``extracted_answer``, ``flags``, ``fine_channel_run``,
``n_pred_steps``, ``n_ref_steps`` and the ``components`` behind them (``matched_steps``...).
"""

from __future__ import annotations

from typing import Any

from hn_lightning.mining.problems import Problem
from hn_lightning.verifier import VerifierInput

__all__ = ["SCORE_FIELDS", "verifier_input", "scored_record", "score_records"]

SCORE_FIELDS = ("s_sem", "s_struct", "s_order", "s_logic", "s_sym", "s_ans", "wrongness", "absurdity",
                "confidence", "ppl", "w_raw")
"""The numeric verifier outputs carried into pairs."""


def verifier_input(candidate: dict[str, Any], problem: Problem) -> VerifierInput:
    """The verifier's view of a candidate: the raw question (without the answer instruction), the
    reference solution, the gold, the completion and its log-probs/tokens."""
    lps = candidate.get("token_logprobs")
    toks = candidate.get("tokens")
    if toks is not None and (lps is None or len(toks) != len(lps)):
        toks = None
    return VerifierInput(
        id=candidate["id"], question=problem.question, reference=problem.reference, gold=problem.gold,
        prediction=candidate["completion"], token_logprobs=lps or None, tokens=toks if lps else None,
    )


def scored_record(candidate: dict[str, Any], result) -> dict[str, Any]:
    """The candidate without its per-token lists, plus ``scores``."""
    rec = {k: v for k, v in candidate.items() if k not in ("token_logprobs", "tokens")}
    scores = result.to_dict(timing=False)
    scores.pop("id", None)
    rec["scores"] = scores
    return rec


def score_records(candidates: list[dict[str, Any]], problems: dict[str, Problem], verifier,
                  batch_size: int, on_batch=None) -> list[dict[str, Any]]:
    """Score candidates in verifier batches; ``on_batch(n)`` after each batch (progress)."""
    out: list[dict[str, Any]] = []
    for start in range(0, len(candidates), max(1, batch_size)):
        batch = candidates[start: start + batch_size]
        results = verifier.score_batch([verifier_input(c, problems[c["problem_id"]]) for c in batch])
        out += [scored_record(c, r) for c, r in zip(batch, results)]
        if on_batch is not None:
            on_batch(len(batch))
    return out

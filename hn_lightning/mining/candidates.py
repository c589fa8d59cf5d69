"""Stage 1 (sample): K solutions per problem from the policy -> ``candidates/shard-XXXXX.jsonl``.

Problems are cut, in mining order, into batches of ``sampling.problems_per_batch``; batch ``i`` is
sampled in one backend call and written as candidates shard ``i`` (all K samples of each of its
problems). A resumed run skips every batch whose shard exists, so a problem is never sampled twice
and never lost. Each problem's seed is ``derive_seed(seed, "sample", problem_id)``.

A candidate record::

    {"id": "gsm8k-train-17#s3", "problem_id": "gsm8k-train-17", "sample": 3, "origin": "policy",
     "prompt": "<user turn>", "completion": "...", "finish_reason": "stop" | "length",
     "num_tokens": 211, "token_logprobs": [...], "tokens": [...], "logprobs_source": "sampling",
     "seed": 123, "seconds": 1.9, "answer": {"correct": true, "extracted": ["72"]}}

``answer`` is the shared answer checker's verdict (the verifier's ``s_ans`` uses the same checker):
it is what the random-uniform arm is allowed to see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hn_lightning.answers import AnswerChecker
from hn_lightning.evaluation.generate import Generation
from hn_lightning.mining.ids import derive_seed, sample_id
from hn_lightning.mining.problems import Problem

__all__ = ["answer_verdict", "candidate_record", "problem_batches", "sample_batch"]


def answer_verdict(checker: AnswerChecker, completion: str, problem: Problem) -> dict[str, Any]:
    """``{"correct", "extracted"}`` from the shared answer checker."""
    v = checker.check(completion, problem.gold, problem.question)
    return {"correct": bool(v.correct), "extracted": list(v.extracted)}


def candidate_record(problem: Problem, k: int, user_text: str, gen: Generation, seed: int,
                     checker: AnswerChecker) -> dict[str, Any]:
    """One sampled candidate (see the module doc)."""
    return {
        "id": sample_id(problem.id, k),
        "problem_id": problem.id,
        "sample": k,
        "origin": "policy",
        "prompt": user_text,
        "completion": gen.text,
        "finish_reason": gen.finish_reason,
        "num_tokens": gen.num_tokens,
        "token_logprobs": [round(float(x), 6) for x in gen.token_logprobs] if gen.token_logprobs is not None else None,
        "tokens": gen.tokens,
        "logprobs_source": "sampling" if gen.token_logprobs is not None else None,
        "seed": seed,
        "seconds": round(gen.seconds, 4),
        "answer": answer_verdict(checker, gen.text, problem),
    }


def problem_batches(problems: list[Problem], per_batch: int) -> list[list[Problem]]:
    """Batch ``i`` = problems ``[i * per_batch, (i + 1) * per_batch)`` (a fixed function of the order)."""
    per_batch = max(1, per_batch)
    return [problems[i: i + per_batch] for i in range(0, len(problems), per_batch)]


def sample_batch(batch: list[Problem], run_seed: int, user_turn: Callable[[str], str],
                 render: Callable[[str], str], sampler, checker: AnswerChecker) -> list[dict[str, Any]]:
    """Sample one batch of problems and return its candidate records (problem order, sample order)."""
    users = [user_turn(p.question) for p in batch]
    seeds = [derive_seed(run_seed, "sample", p.id) for p in batch]
    outputs = sampler.sample([render(u) for u in users], seeds)
    records = []
    for problem, user, seed, gens in zip(batch, users, seeds, outputs):
        for k, gen in enumerate(gens):
            records.append(candidate_record(problem, k, user, gen, seed, checker))
    return records

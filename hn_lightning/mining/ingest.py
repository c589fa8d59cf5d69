"""Stage 1 (ingest): an offline pool of trajectories -> ``candidates/shard-XXXXX.jsonl``.

Any JSONL works through :class:`~hn_lightning.mining.config.IngestFields` (dotted paths allowed).
Per record:

* question and completion are required;
* the problem: ``problem_id`` field if mapped; else the configured problem with the same question
  text (whitespace-normalised), else ``pool-<12 hex of the question's hash>``;
* gold and reference: the mapped fields, else the joined problem's (a record with no gold at all is
  malformed);
* sample id: ``<problem id>#p<k>``, the k-th pool record of that problem in file order (the pool's own
  id is kept as ``pool_id``);
* ``token_logprobs``/``tokens``: kept when present (``logprobs_source: pool``); missing ones are
  computed by the teacher-forced pass of :mod:`hn_lightning.mining.teacher_forcing`
  (``logprobs_source: teacher_forced``), or all of them with ``ingest.logprobs: always``.

Records are cut, in file order, into shards of ``ingest.shard_size``; shard ``i`` is written once it is
complete, and a resumed run skips the shards that exist (the stream is re-read, not re-scored).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hn_lightning.catalog import expand_paths
from hn_lightning.io.jsonl import JsonlError, SkipPolicy, iter_jsonl
from hn_lightning.mining.config import IngestConfig
from hn_lightning.mining.problems import Problem
from hn_lightning.verifier.fields import get_path

__all__ = ["PoolSample", "iter_pool", "question_key", "pool_record"]

@dataclass
class PoolSample:
    """One pool record, resolved to a problem."""

    id: str
    pool_id: str | None
    problem: Problem
    completion: str
    finish_reason: str
    token_logprobs: list[float] | None
    tokens: list[str] | None
    where: str


def question_key(question: str) -> str:
    """Whitespace-normalised question text (the join key)."""
    return re.sub(r"\s+", " ", question).strip()


def _opt(record: dict[str, Any], path: str | None) -> Any:
    return None if path is None else get_path(record, path, None)


def iter_pool(cfg: IngestConfig, lookup: Callable[[str], Problem | None], policy: SkipPolicy) -> Iterator[PoolSample]:
    """Every usable pool record, resolved (see the module doc); malformed ones go through ``policy``."""
    f = cfg.fields
    problems: dict[str, Problem] = {}
    per_problem: dict[str, int] = {}
    seen_pool_ids: set[str] = set()
    for path in expand_paths(cfg.files):
        for lineno, record in iter_jsonl(path, policy):
            try:
                sample = _resolve(record, f, lookup, problems, per_problem, seen_pool_ids, f"{path}:{lineno}")
            except (ValueError, TypeError) as exc:
                policy.handle(JsonlError(path, lineno, str(exc)))
                continue
            yield sample


def _resolve(record, f, lookup, problems, per_problem, seen_pool_ids, where: str) -> PoolSample:
    question, completion = _opt(record, f.question), _opt(record, f.completion)
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"missing or empty question field {f.question!r}")
    if not isinstance(completion, str):
        raise ValueError(f"missing completion field {f.completion!r}")
    joined = lookup(question)
    gold = _opt(record, f.gold)
    if gold is None and joined is not None:
        gold = joined.gold
    if isinstance(gold, (int, float)) and not isinstance(gold, bool):
        gold = str(gold)
    if not gold:
        raise ValueError(f"no gold answer: field {f.gold!r} is absent and the question matches no configured problem")
    reference = _opt(record, f.reference)
    if reference is None:
        reference = joined.reference if joined is not None else ""
    pid = _opt(record, f.problem_id)
    if pid is None:
        pid = joined.id if joined is not None else "pool-" + hashlib.sha1(question_key(question).encode()).hexdigest()[:12]
    pid = str(pid)
    problem = problems.get(pid)
    if problem is None:
        problem = problems[pid] = Problem(pid, question, gold, str(reference), joined.source if joined is not None else "pool")
    elif question_key(problem.question) != question_key(question):
        raise ValueError(f"problem id {pid!r} is used with two different questions")
    pool_id = _opt(record, f.id)
    if pool_id is not None:
        pool_id = str(pool_id)
        if pool_id in seen_pool_ids:
            raise ValueError(f"duplicate pool id {pool_id!r}")
        seen_pool_ids.add(pool_id)
    k = per_problem.get(pid, 0)
    per_problem[pid] = k + 1
    lps, toks = _opt(record, f.token_logprobs), _opt(record, f.tokens)
    if lps is not None and (not isinstance(lps, list) or not all(isinstance(x, (int, float)) for x in lps)):
        raise ValueError(f"field {f.token_logprobs!r} must be a list of numbers")
    if toks is not None and (lps is None or not isinstance(toks, list) or len(toks) != len(lps)):
        toks = None  # unusable token texts: the verifier falls back to the last tokens for the answer span
    reason = _opt(record, f.finish_reason) or "stop"
    return PoolSample(f"{pid}#p{k}", pool_id, problem, completion, "length" if reason == "length" else "stop",
                      [min(0.0, float(x)) for x in lps] if lps is not None else None, toks, where)


def pool_record(sample: PoolSample, user_text: str, answer: dict[str, Any],
                forced: tuple[list[float], list[str]] | None) -> dict[str, Any]:
    """The candidate record of a pool sample (same schema as sampled candidates, ``origin: pool``)."""
    lps, toks, source = sample.token_logprobs, sample.tokens, "pool" if sample.token_logprobs is not None else None
    if forced is not None:
        lps, toks, source = forced[0], forced[1], "teacher_forced"
    return {
        "id": sample.id,
        "problem_id": sample.problem.id,
        "sample": int(sample.id.rsplit("#p", 1)[1]),
        "origin": "pool",
        "pool_id": sample.pool_id,
        "source": sample.where,
        "prompt": user_text,
        "completion": sample.completion,
        "finish_reason": sample.finish_reason,
        "num_tokens": len(lps) if lps is not None else None,
        "token_logprobs": [round(float(x), 6) for x in lps] if lps is not None else None,
        "tokens": toks,
        "logprobs_source": source,
        "answer": answer,
    }


def pool_paths(cfg: IngestConfig) -> list[Path]:
    return expand_paths(cfg.files)

"""Stage 1 of the mining pipeline: sample K candidates per problem from the policy, or ingest a pool.

Problem batch ``i`` (or pool chunk ``i``) is written as ``candidates/shard-i`` in one go
(:mod:`~hn_lightning.mining.candidates`, :mod:`~hn_lightning.mining.ingest`); a resumed run skips the
shards that exist. With several ranks, rank ``k`` of ``N`` writes the shards ``i`` with ``i % N == k`` and
the rank that finds every shard written completes the stage (:mod:`~hn_lightning.mining.stage_runner`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hn_lightning.catalog import refuse_test_files
from hn_lightning.io.atomic import atomic_writer
from hn_lightning.io.jsonl import SkipPolicy
from hn_lightning.mining.candidates import answer_verdict, problem_batches, sample_batch
from hn_lightning.mining.ingest import iter_pool, pool_paths, pool_record, question_key
from hn_lightning.mining.problems import Problem, load_problems
from hn_lightning.mining.progress import console, stage_progress
from hn_lightning.mining.prompts import rendered_prompt, user_turn
from hn_lightning.mining.shards import iter_records, shard_index, shard_path, shard_paths, write_shard
from hn_lightning.mining.stage_runner import StageRunner, pct

__all__ = ["CandidatesStage"]


class CandidatesStage(StageRunner):
    """The ``candidates`` stage (:meth:`run_candidates`) on top of the shared stage bookkeeping."""

    def run_candidates(self) -> dict[str, Any]:
        """Sample (or ingest) candidates; see :mod:`hn_lightning.mining.candidates` / :mod:`~.ingest`."""
        d, _ = self._begin("candidates", strict=True)
        if self.cfg.candidates.mode == "ingest":
            return self._ingest(d)
        problems = load_problems(self.cfg.problems)
        self._write_problems(problems)
        sc = self.cfg.candidates.sampling
        batches = problem_batches(problems, sc.problems_per_batch)
        done = {shard_index(p) for p in shard_paths(d)}
        mine = self.rank.mine(range(len(batches)))
        todo = [i for i in mine if i not in done]
        if done:
            console.print(f"candidates: resuming, {len(done)} of {len(batches)} problem batches already sampled")
        with stage_progress(self.cfg.progress) as progress:
            task = progress.add_task("candidates", total=sum(len(batches[i]) for i in mine), unit="problems",
                                     completed=sum(len(batches[i]) for i in mine if i in done))
            if todo:
                sampler = self.res.sampler()
                tok = self.res.tokenizer()
                turn = lambda q: user_turn(q, self.cfg.prompt)  # noqa: E731
                render = lambda u: rendered_prompt(tok, u, self.cfg.prompt)  # noqa: E731
                for i in todo:
                    records = sample_batch(batches[i], self.cfg.seed, turn, render, sampler, self.res.checker())
                    write_shard(d, i, records)
                    progress.advance(task, len(batches[i]))
                    self._shard_done("candidates", i)
        return self._finish_candidates(d, len(problems), len(batches))

    def _write_problems(self, problems: list[Problem]) -> None:
        with atomic_writer(self.problems_path) as fh:
            for p in problems:
                fh.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")

    def _finish_candidates(self, d: Path, n_problems: int, n_shards: int) -> dict[str, Any]:
        with self.merging():
            if self.rank.distributed:
                self._own_done.add("candidates")
                missing = [i for i in range(n_shards) if not shard_path(d, i).is_file()]
                if missing:
                    return self._waiting("candidates", missing)
            return self._count_candidates(d, n_problems)

    def _count_candidates(self, d: Path, n_problems: int) -> dict[str, Any]:
        n = correct = truncated = tokens = 0
        for rec in iter_records(shard_paths(d)):
            n += 1
            correct += int(rec["answer"]["correct"])
            truncated += int(rec.get("finish_reason") == "length")
            tokens += rec.get("num_tokens") or 0
        counts = {"problems": n_problems, "samples": n, "correct": correct, "truncated": truncated,
                  "generated_tokens": tokens, "shards": len(shard_paths(d))}
        self._finish("candidates", counts)
        console.print(f"candidates: {n} samples of {n_problems} problems, {correct} correct ({pct(correct, n)}), "
                      f"{truncated} truncated -> {d}")
        return counts

    def _ingest(self, d: Path) -> dict[str, Any]:
        ic = self.cfg.candidates.ingest
        if not ic.files:
            raise FileNotFoundError("candidates.mode is ingest but candidates.ingest.files is empty")

        refuse_test_files(pool_paths(ic), self.cfg.problems.allow_test_data, "mining (DPO training)")
        known: dict[str, Problem] | None = None

        def lookup(question: str) -> Problem | None:
            nonlocal known
            if known is None:
                try:
                    known = {question_key(p.question): p for p in load_problems(self.cfg.problems)}
                except FileNotFoundError:
                    known = {}
            return known.get(question_key(question))

        # pass 1: problems and the sample count (streams the pool; nothing is kept but the problems)
        problems: dict[str, Problem] = {}
        n_samples = 0
        for s in iter_pool(ic, lookup, SkipPolicy(on_error=ic.on_error)):
            problems.setdefault(s.problem.id, s.problem)
            n_samples += 1
        self._write_problems(list(problems.values()))
        size = max(1, ic.shard_size)
        n_shards = (n_samples + size - 1) // size
        done = {shard_index(p) for p in shard_paths(d)}
        if done:
            console.print(f"candidates (ingest): resuming, {len(done)} of {n_shards} shards done")
        # pass 2: shards
        with stage_progress(self.cfg.progress) as progress:
            task = progress.add_task("ingest", total=n_samples, unit="samples",
                                     completed=sum(min(size, n_samples - i * size) for i in done if i < n_shards))
            chunk, index = [], 0
            for s in iter_pool(ic, lookup, SkipPolicy(on_error=ic.on_error)):
                chunk.append(s)
                if len(chunk) == size:
                    self._ingest_shard(d, index, chunk, done, progress, task)
                    chunk, index = [], index + 1
            if chunk:
                self._ingest_shard(d, index, chunk, done, progress, task)
        return self._finish_candidates(d, len(problems), n_shards)

    def _ingest_shard(self, d: Path, index: int, chunk, done: set[int], progress, task) -> None:
        if index in done or not self.rank.owns(index):
            return
        ic = self.cfg.candidates.ingest
        users = [user_turn(s.problem.question, self.cfg.prompt) for s in chunk]
        need = [i for i, s in enumerate(chunk)
                if ic.logprobs == "always" or (ic.logprobs == "auto" and s.token_logprobs is None)]
        forced: dict[int, tuple[list[float], list[str]]] = {}
        if need:
            from hn_lightning.mining.teacher_forcing import teacher_forced_logprobs

            tok = self.res.tokenizer()
            res = teacher_forced_logprobs(self.res.model(), tok, [rendered_prompt(tok, users[i], self.cfg.prompt) for i in need],
                                          [chunk[i].completion for i in need], ic.batch_size, ic.max_length)
            forced = {i: (r.token_logprobs, r.tokens) for i, r in zip(need, res)}
        records = [pool_record(s, u, answer_verdict(self.res.checker(), s.completion, s.problem), forced.get(i))
                   for i, (s, u) in enumerate(zip(chunk, users))]
        write_shard(d, index, records)
        progress.advance(task, len(chunk))
        self._shard_done("candidates", index)


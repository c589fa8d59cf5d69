"""The mining pipeline: four resumable stages over ``<out>/``.

=============  ===========================================  =========================================
stage          reads                                        writes
=============  ===========================================  =========================================
``candidates`` problems (or a pool), the policy             ``problems.jsonl``, ``candidates/shard-*``
``score``      ``candidates/``                              ``scored/shard-*`` (MathVerifier)
``filter``     ``scored/``                                  ``filtered/shard-*`` (one decision per sample)
``pair``       ``scored/``, ``filtered/``, ``candidates/``  ``pairs/{hardneg,random,shuffled}/shard-*``,
                                                            ``funnel.json``, ``report.md``
=============  ===========================================  =========================================

Resumption: ``candidates``, ``score`` and ``filter`` work shard by shard and skip shards that exist
(shards are written atomically, so an existing shard is complete). ``candidates`` and ``score``
refuse to resume with different settings (``overwrite=True`` starts that stage and every later one
over); ``filter`` and ``pair`` are cheap and redo everything when their settings change, so
thresholds can be tuned without resampling or rescoring. ``manifest.json`` keeps each stage's
settings fingerprint, counts and accumulated seconds.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hn_lightning.errors import UserError
from hn_lightning.faults import fault_point
from hn_lightning.io.atomic import atomic_directory, atomic_write_json, atomic_write_text, atomic_writer
from hn_lightning.io.jsonl import SkipPolicy, count_lines, iter_jsonl
from hn_lightning.mining.baselines import answer_only_items, random_pair_plan, random_pairs, shuffled_pairs
from hn_lightning.mining.candidates import answer_verdict, problem_batches, sample_batch
from hn_lightning.mining.config import MineConfig, fingerprint
from hn_lightning.mining.decisions import decide
from hn_lightning.mining.funnel import compute_funnel
from hn_lightning.mining.ingest import iter_pool, pool_paths, pool_record, question_key
from hn_lightning.mining.pairing import hardneg_pairs
from hn_lightning.mining.problems import Problem, load_problems
from hn_lightning.mining.progress import console, stage_progress
from hn_lightning.mining.prompts import rendered_prompt, user_turn
from hn_lightning.mining.report import render_report
from hn_lightning.mining.resources import Resources
from hn_lightning.mining.scoring import score_records
from hn_lightning.mining.shards import (
    Manifest,
    clean_stale_temps,
    iter_records,
    shard_index,
    shard_paths,
    write_shard,
)

log = logging.getLogger(__name__)

__all__ = ["STAGES", "MiningPipeline", "StageNotReady", "StageSettingsChanged"]

STAGES = ("candidates", "score", "filter", "pair")
"""Stage names, in order."""
_DIRS = {"candidates": "candidates", "score": "scored", "filter": "filtered", "pair": "pairs"}
ARMS = ("hardneg", "random", "shuffled")


class StageSettingsChanged(UserError, RuntimeError):
    """A stage has partial output made with other settings (rerun with ``--overwrite``)."""


class StageNotReady(UserError, RuntimeError):
    """A stage was asked to run before the stage it reads from completed."""


class MiningPipeline:
    """Runs the stages of :data:`STAGES` for one :class:`~hn_lightning.mining.config.MineConfig`.

    ``model``/``tokenizer``/``verifier``/``sampler`` may be injected (tests, notebooks); otherwise they
    are built lazily, only by a stage that needs them. ``on_shard(stage, index)`` is called after every
    shard is written.
    """

    def __init__(self, cfg: MineConfig, model=None, tokenizer=None, verifier=None, sampler=None,
                 on_shard: Callable[[str, int], None] | None = None):
        self.cfg = cfg
        self.out = Path(cfg.out).expanduser()
        self.out.mkdir(parents=True, exist_ok=True)
        self.manifest = Manifest(self.out)
        self.res = Resources(cfg, model=model, tokenizer=tokenizer, verifier=verifier, sampler=sampler)
        self.on_shard = on_shard

    # ---------------------------------------------------------------- paths, settings
    def stage_dir(self, stage: str) -> Path:
        return self.out / _DIRS[stage]

    @property
    def problems_path(self) -> Path:
        return self.out / "problems.jsonl"

    def fingerprints(self) -> dict[str, str]:
        c = self.cfg
        fp = {"candidates": fingerprint(c.problems, c.policy, c.prompt, c.candidates, c.seed, self.res.answer_settings())}
        fp["score"] = fingerprint(fp["candidates"], c.scoring)
        fp["filter"] = fingerprint(fp["score"], c.filters, c.selection)
        fp["pair"] = fingerprint(fp["filter"], c.pairing, c.baselines, c.report)
        return fp

    def problems(self) -> list[Problem]:
        """The problems of this run, as written by the candidates stage."""
        if not self.problems_path.is_file():
            raise FileNotFoundError(f"{self.problems_path} not found: run the candidates stage first")
        return [Problem.from_dict(r) for _, r in iter_jsonl(self.problems_path)]

    # ---------------------------------------------------------------- running
    def run(self, stages: tuple[str, ...] | list[str] = STAGES, overwrite: bool = False) -> dict[str, Any]:
        """Run ``stages`` in order; ``overwrite`` wipes the first of them and every later stage first."""
        unknown = [s for s in stages if s not in STAGES]
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; stages: {', '.join(STAGES)}")
        if overwrite and stages:
            self.wipe_from(stages[0])
        results = {}
        for stage in stages:
            results[stage] = getattr(self, f"run_{stage}")()
        return results

    def wipe_from(self, stage: str) -> None:
        """Delete the outputs of ``stage`` and every later stage."""
        later = STAGES[STAGES.index(stage):]
        for s in later:
            shutil.rmtree(self.stage_dir(s), ignore_errors=True)
        if stage == "candidates":
            self.problems_path.unlink(missing_ok=True)
        if "pair" in later:
            for name in ("funnel.json", "report.md"):
                (self.out / name).unlink(missing_ok=True)
        self.manifest.drop(later)

    def _begin(self, stage: str, strict: bool) -> tuple[Path, str]:
        """Check or reset the stage's settings; return its folder and fingerprint."""
        fp = self.fingerprints()[stage]
        d = self.stage_dir(stage)
        previous = self.manifest.stage(stage).get("fingerprint")
        has_output = bool(shard_paths(d)) or (stage == "candidates" and self.problems_path.is_file())
        if previous is not None and previous != fp and has_output:
            if strict:
                raise StageSettingsChanged(
                    f"{d} holds output made with other settings; rerun with --overwrite to redo stage "
                    f"'{stage}' and every later one (or restore the previous settings to resume)")
            console.print(f"[yellow]{stage}: settings changed, redoing the stage from scratch")
            shutil.rmtree(d, ignore_errors=True)
        if previous is None and has_output and strict:
            raise StageSettingsChanged(f"{d} holds output without a manifest entry; rerun with --overwrite")
        d.mkdir(parents=True, exist_ok=True)
        if (n := clean_stale_temps(d)):
            console.print(f"{stage}: removed {n} temporary file(s) left by an interrupted run")
        self.manifest.start(stage, fp)
        self._mark = time.perf_counter()
        return d, fp

    def _require(self, stage: str) -> None:
        if not self.manifest.is_complete(stage, self.fingerprints()[stage]):
            raise StageNotReady(f"stage '{stage}' has not completed with the current settings: run it first "
                               f"(python cli.py mine {stage} --config ...)")

    def _clock(self, stage: str) -> None:
        """Add the wall time since the last mark to the stage's accumulated seconds (survives a crash)."""
        now = time.perf_counter()
        self.manifest.add_seconds(stage, now - self._mark)
        self._mark = now

    def _shard_done(self, stage: str, index: int) -> None:
        self._clock(stage)
        if self.on_shard is not None:
            self.on_shard(stage, index)

    def _finish(self, stage: str, counts: dict[str, Any]) -> None:
        self._clock(stage)
        fault_point("mine.finalize")  # tests: die with every shard written but the stage not marked complete
        self.manifest.finish(stage, counts)

    # ---------------------------------------------------------------- stage 1
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
        todo = [i for i in range(len(batches)) if i not in done]
        if done:
            console.print(f"candidates: resuming, {len(done)} of {len(batches)} problem batches already sampled")
        with stage_progress(self.cfg.progress) as progress:
            task = progress.add_task("candidates", total=len(problems), unit="problems",
                                     completed=sum(len(batches[i]) for i in done))
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
        return self._finish_candidates(d, len(problems))

    def _write_problems(self, problems: list[Problem]) -> None:
        with atomic_writer(self.problems_path) as fh:
            for p in problems:
                fh.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")

    def _finish_candidates(self, d: Path, n_problems: int) -> dict[str, Any]:
        n = correct = truncated = tokens = 0
        for rec in iter_records(shard_paths(d)):
            n += 1
            correct += int(rec["answer"]["correct"])
            truncated += int(rec.get("finish_reason") == "length")
            tokens += rec.get("num_tokens") or 0
        counts = {"problems": n_problems, "samples": n, "correct": correct, "truncated": truncated,
                  "generated_tokens": tokens, "shards": len(shard_paths(d))}
        self._finish("candidates", counts)
        console.print(f"candidates: {n} samples of {n_problems} problems, {correct} correct ({_pct(correct, n)}), "
                      f"{truncated} truncated -> {d}")
        return counts

    def _ingest(self, d: Path) -> dict[str, Any]:
        ic = self.cfg.candidates.ingest
        from hn_lightning.paths import refuse_test_files

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
        return self._finish_candidates(d, len(problems))

    def _ingest_shard(self, d: Path, index: int, chunk, done: set[int], progress, task) -> None:
        if index in done:
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

    # ---------------------------------------------------------------- stage 2
    def run_score(self) -> dict[str, Any]:
        """Score every candidate with the MathVerifier (shard by shard)."""
        self._require("candidates")
        d, _ = self._begin("score", strict=True)
        problems = {p.id: p for p in self.problems()}
        cand = shard_paths(self.stage_dir("candidates"))
        done = {shard_index(p) for p in shard_paths(d)}
        todo = [p for p in cand if shard_index(p) not in done]
        total = count_lines(cand)
        with stage_progress(self.cfg.progress) as progress:
            task = progress.add_task("score", total=total, unit="samples",
                                     completed=count_lines([p for p in cand if shard_index(p) in done]))
            for path in todo:
                records = [r for _, r in iter_jsonl(path)]
                scored = score_records(records, problems, self.res.verifier(), self.cfg.scoring.batch_size,
                                       on_batch=lambda n: progress.advance(task, n))
                write_shard(d, shard_index(path), scored)
                self._shard_done("score", shard_index(path))
        n = correct = fine = 0
        wrongness = 0.0
        for rec in iter_records(shard_paths(d)):
            s = rec["scores"]
            n += 1
            correct += int(bool(s["answer_correct"]))
            fine += int(bool(s.get("fine_channel_run")))
            wrongness += s["wrongness"]
        counts = {"samples": n, "correct": correct, "fine_channel_runs": fine,
                  "mean_wrongness": round(wrongness / n, 4) if n else None}
        self._finish("score", counts)
        console.print(f"score: {n} samples scored, fine channel on {fine}, mean wrongness {counts['mean_wrongness']} -> {d}")
        return counts

    # ---------------------------------------------------------------- stage 3
    def run_filter(self) -> dict[str, Any]:
        """Removals and hard-negative selection: one decision per sample (shard by shard)."""
        self._require("score")
        d, _ = self._begin("filter", strict=False)
        checker = self.res.checker()
        golds = {p.id: checker.gold_answers(p.gold, p.question) for p in self.problems()}
        scored = shard_paths(self.stage_dir("score"))
        done = {shard_index(p) for p in shard_paths(d)}
        with stage_progress(self.cfg.progress) as progress:
            task = progress.add_task("filter", total=len(scored), unit="shards", completed=len(done))
            for path in scored:
                if shard_index(path) in done:
                    continue
                decisions = [decide(r, golds[r["problem_id"]], self.cfg.filters, self.cfg.selection)
                             for _, r in iter_jsonl(path)]
                write_shard(d, shard_index(path), decisions)
                progress.advance(task, 1)
                self._shard_done("filter", shard_index(path))
        funnel = compute_funnel(list(iter_records(shard_paths(d))))
        counts = {k: funnel[k] for k in ("input", "after_degenerate", "after_trivially_correct",
                                         "after_trivially_wrong", "hard_negatives")}
        self._finish("filter", counts)
        console.print("filter: " + " -> ".join(f"{v}" for v in counts.values()) + " (input -> after degenerate -> "
                      "after trivially correct -> after trivially wrong -> hard negatives)")
        return counts

    # ---------------------------------------------------------------- stage 4
    def run_pair(self) -> dict[str, Any]:
        """Hard-negative pairs, the random-uniform arm, the shuffled-weights arm, funnel and report."""
        self._require("filter")
        d, _ = self._begin("pair", strict=False)
        cfg = self.cfg
        problems = self.problems()
        order = {p.id: i for i, p in enumerate(problems)}
        with stage_progress(cfg.progress) as progress:
            task = progress.add_task("pair", total=4, unit="steps")
            records = list(iter_records(shard_paths(self.stage_dir("score"))))
            decisions_list = list(iter_records(shard_paths(self.stage_dir("filter"))))
            decisions = {x["id"]: x for x in decisions_list}
            pairs, stats = hardneg_pairs(records, decisions, problems, cfg.pairing)
            del records
            self._write_arm("hardneg", pairs)
            progress.advance(task, 1)
            arms: dict[str, Any] = {"hardneg": len(pairs)}
            if cfg.baselines.random:
                rnd = self._random_arm(len(pairs), problems)
                rnd.sort(key=lambda p: (order[p["meta"]["problem_id"]], p["id"]))
                self._write_arm("random", rnd)
                arms["random"], arms["random_shortfall"] = len(rnd), len(pairs) - len(rnd)
            progress.advance(task, 1)
            if cfg.baselines.shuffled:
                shuf = shuffled_pairs(pairs, cfg.seed)
                self._write_arm("shuffled", shuf)
                arms["shuffled"] = len(shuf)
            progress.advance(task, 1)
            funnel = compute_funnel(decisions_list, stats.as_dict(), arms)
            atomic_write_json(self.out / "funnel.json", funnel)
            progress.advance(task, 1)
        counts = {"hardneg": len(pairs), **{k: v for k, v in arms.items() if k != "hardneg"}}
        self._finish("pair", counts)
        self.write_report(pairs, funnel)
        if not all(funnel["identities"].values()):
            raise AssertionError(f"funnel counts do not add up: {funnel['identities']}")
        console.print(f"pair: {len(pairs)} hard-negative pairs"
                      + (f", {arms.get('random')} random" if "random" in arms else "")
                      + (f", {arms.get('shuffled')} shuffled" if "shuffled" in arms else "")
                      + f" -> {d}; funnel {self.out / 'funnel.json'}, report {self.out / 'report.md'}")
        return {"funnel": funnel, **counts}

    def _random_arm(self, n_pairs: int, problems: list[Problem]) -> list[dict[str, Any]]:
        """The random-uniform arm: only candidate records (answer correctness) are read here."""
        cfg = self.cfg
        candidates = {}
        for rec in iter_records(shard_paths(self.stage_dir("candidates"))):
            rec.pop("token_logprobs", None)
            rec.pop("tokens", None)
            candidates[rec["id"]] = rec
        items = answer_only_items(list(candidates.values()), cfg.filters, cfg.baselines.random_pool)
        refs = {p.id: p.reference for p in problems}
        plan = random_pair_plan(items, n_pairs, cfg.seed, cfg.pairing.chosen, lambda pid: bool(refs.get(pid, "").strip()))
        return random_pairs(plan, candidates, refs)

    def _write_arm(self, arm: str, pairs: list[dict[str, Any]]) -> None:
        """Write ``pairs/<arm>/shard-*.jsonl`` into a scratch folder, then swap it in."""
        size = max(1, self.cfg.pairing.pairs_per_shard)
        chunks = [pairs[i: i + size] for i in range(0, len(pairs), size)] or [[]]
        with atomic_directory(self.stage_dir("pair") / arm) as scratch:
            for i, chunk in enumerate(chunks):
                write_shard(scratch, i, chunk)

    def write_report(self, pairs: list[dict[str, Any]] | None = None, funnel: dict[str, Any] | None = None) -> Path:
        """(Re)write ``report.md`` from the funnel, the hard-negative pairs and the manifest."""
        if funnel is None:
            funnel = json.loads((self.out / "funnel.json").read_text(encoding="utf-8"))
        if pairs is None:
            pairs = list(iter_records(shard_paths(self.stage_dir("pair") / "hardneg")))
        path = self.out / "report.md"
        atomic_write_text(path, render_report(self.cfg, funnel, pairs, self.manifest.data))
        return path


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:.1f}%" if d else "-"

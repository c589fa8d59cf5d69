"""The mining pipeline: four resumable stages over ``<out>/``.

=============  ===========================================  =========================================
stage          reads                                        writes
=============  ===========================================  =========================================
``candidates`` problems (or a pool), the policy             ``problems.jsonl``, ``candidates/shard-*``
``score``      ``candidates/``                              ``scored/shard-*`` (MathVerifier)
``filter``     ``scored/``                                  ``filtered/shard-*`` (one decision per sample)
``pair``       ``scored/``, ``filtered/``, ``candidates/``  ``pairs/{hardneg,random,shuffled}/shard-*``,
                                                            ``funnel.json``, ``report.md``, ``report.html``,
                                                            ``truth.json`` (testbed problems only)
=============  ===========================================  =========================================

Resumption: ``candidates``, ``score`` and ``filter`` work shard by shard and skip shards that exist
(shards are written atomically, so an existing shard is complete). ``candidates`` and ``score``
refuse to resume with different settings (``overwrite=True`` starts that stage and every later one
over); ``filter`` and ``pair`` are cheap and redo everything when their settings change, so
thresholds can be tuned without resampling or rescoring. ``manifest.json`` keeps each stage's
settings fingerprint, counts and accumulated seconds.

The bookkeeping shared by every stage is :class:`~hn_lightning.mining.stage_runner.StageRunner`; stage 1
is :class:`~hn_lightning.mining.candidates_stage.CandidatesStage`; this module adds stages 2-4.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from hn_lightning.io.atomic import atomic_directory, atomic_write_json, atomic_write_text
from hn_lightning.io.jsonl import count_lines, iter_jsonl
from hn_lightning.mining.baselines import answer_only_items, random_pair_plan, random_pairs, shuffled_pairs
from hn_lightning.mining.candidates_stage import CandidatesStage
from hn_lightning.mining.decisions import decide
from hn_lightning.mining.funnel import compute_funnel
from hn_lightning.mining.pairing import hardneg_pairs
from hn_lightning.mining.problems import Problem
from hn_lightning.mining.progress import console, stage_progress
from hn_lightning.mining.report import render_report
from hn_lightning.mining.scoring import score_records
from hn_lightning.mining.shards import iter_records, shard_index, shard_paths, write_shard
from hn_lightning.mining.stage_runner import STAGES, StageNotReady, StageSettingsChanged
from hn_lightning.reports import report_after_run
from hn_lightning.testbed.truth_run import write_truth

log = logging.getLogger(__name__)

__all__ = ["STAGES", "MiningPipeline", "StageNotReady", "StageSettingsChanged"]

ARMS = ("hardneg", "random", "shuffled")


class MiningPipeline(CandidatesStage):
    """Runs the stages of :data:`STAGES` for one :class:`~hn_lightning.mining.config.MineConfig`.

    ``model``/``tokenizer``/``verifier``/``sampler`` may be injected (tests, notebooks); otherwise they
    are built lazily, only by a stage that needs them. ``on_shard(stage, index)`` is called after every
    shard is written.
    """

    # ---------------------------------------------------------------- stage 2
    def run_score(self) -> dict[str, Any]:
        """Score every candidate with the MathVerifier (shard by shard)."""
        self._require("candidates")
        d, _ = self._begin("score", strict=True)
        problems = {p.id: p for p in self.problems()}
        cand = [p for p in shard_paths(self.stage_dir("candidates")) if self.rank.owns(shard_index(p))]
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
        with self.merging():
            if self.rank.distributed:
                if not self.manifest.is_complete("candidates", self.fingerprints()["candidates"]):
                    return self._waiting("score", None)
                written = {shard_index(p) for p in shard_paths(d)}
                missing = [shard_index(p) for p in shard_paths(self.stage_dir("candidates")) if shard_index(p) not in written]
                if missing:
                    return self._waiting("score", missing)
            return self._count_scores(d)

    def _count_scores(self, d: Path) -> dict[str, Any]:
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
                      + f" -> {d}; funnel {self.out / 'funnel.json'}, report {self.out / 'report.md'} and report.html")
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
        """(Re)write ``truth.json`` (testbed problems only), ``report.md`` from the funnel, the hard-negative pairs,
        the manifest and the truth, and ``report.html`` from the run's files."""
        if funnel is None:
            funnel = json.loads((self.out / "funnel.json").read_text(encoding="utf-8"))
        if pairs is None:
            pairs = list(iter_records(shard_paths(self.stage_dir("pair") / "hardneg")))
        path = self.out / "report.md"
        truth = write_truth(self.out)
        random_dir = self.stage_dir("pair") / "random"
        random = list(iter_records(shard_paths(random_dir))) if random_dir.is_dir() else None
        atomic_write_text(path, render_report(self.cfg, funnel, pairs, self.manifest.data, truth, random))
        report_after_run(self.out)
        return path

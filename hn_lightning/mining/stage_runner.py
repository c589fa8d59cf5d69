"""The stage bookkeeping of the mining pipeline: folders, settings fingerprints, resume checks, timing.

:class:`StageRunner` is what every stage shares (:mod:`~hn_lightning.mining.candidates_stage` runs stage 1,
:mod:`~hn_lightning.mining.pipeline` stages 2-4). ``manifest.json`` keeps each stage's settings
fingerprint, counts and accumulated seconds (:class:`~hn_lightning.mining.shards.Manifest`).

Several ranks (:class:`~hn_lightning.ranks.RankSpec`) share one output folder: ``candidates`` and ``score``
are sharded (rank ``k`` of ``N`` writes the shards ``i`` with ``i % N == k``; candidates shard ``i`` is problem
batch ``i`` whatever ``N`` is, so the shards are those of one process), and the rank that finds every shard
of a stage written completes it; ``filter`` and ``pair`` then run once, on the rank that completed ``score``,
under the folder's merge lock. A rank that died is rerun alone (``--rank k --world_size N``) and completes
what is left.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hn_lightning.catalog import expand_paths, resolve_spec
from hn_lightning.errors import UserError
from hn_lightning.faults import fault_point
from hn_lightning.io.aliasing import Output, refuse_overlap
from hn_lightning.io.jsonl import iter_jsonl
from hn_lightning.io.lock import file_lock
from hn_lightning.io.writable import check_writable
from hn_lightning.mining.config import MineConfig, fingerprint
from hn_lightning.mining.problems import Problem
from hn_lightning.mining.progress import console
from hn_lightning.mining.resources import Resources
from hn_lightning.mining.shards import Manifest, clean_stale_temps, shard_paths
from hn_lightning.ranks import RankSpec

__all__ = ["STAGES", "StageNotReady", "StageRunner", "StageSettingsChanged", "pct"]

STAGES = ("candidates", "score", "filter", "pair")
"""Stage names, in order."""
_DIRS = {"candidates": "candidates", "score": "scored", "filter": "filtered", "pair": "pairs"}
SHARDED = ("candidates", "score")
"""Stages whose shards are spread over ranks; the others run once, on the rank that completes ``score``."""


class StageSettingsChanged(UserError, RuntimeError):
    """A stage has partial output made with other settings (rerun with ``--overwrite``)."""


class StageNotReady(UserError, RuntimeError):
    """A stage was asked to run before the stage it reads from completed."""


class StageRunner:
    """Folders, fingerprints, resume checks and timing of the stages of :data:`STAGES` for one
    :class:`~hn_lightning.mining.config.MineConfig`; the stages themselves are ``run_<stage>`` methods of
    subclasses.

    ``model``/``tokenizer``/``verifier``/``sampler`` may be injected (tests, notebooks); otherwise they
    are built lazily, only by a stage that needs them. ``on_shard(stage, index)`` is called after every
    shard is written. ``rank``: this process's share when several processes mine into one folder.
    """

    def __init__(self, cfg: MineConfig, model=None, tokenizer=None, verifier=None, sampler=None,
                 on_shard: Callable[[str, int], None] | None = None, rank: RankSpec | None = None):
        self.cfg = cfg
        self.rank = rank or RankSpec()
        self._lock_depth = 0
        self._own_done: set[str] = set()  # sharded stages whose shards this rank has all written
        self.out = Path(cfg.out).expanduser()
        check_writable("out", self.out, folder=True)  # before any work: a folder that cannot be written, said at once
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
        candidates = asdict(c.candidates)
        if candidates["sampling"]["backend"] != "cb":  # the paged-cache settings only matter to that engine
            candidates["sampling"].pop("cb")  # (and runs mined before it existed keep their fingerprint)
        if not candidates["sampling"]["calculator"]:  # runs mined before the calculator existed keep theirs
            candidates["sampling"].pop("calculator")
        fp = {"candidates": fingerprint(c.problems, c.policy, c.prompt, candidates, c.seed, self.res.answer_settings())}
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
        self.refuse_inputs_in_output()
        if overwrite and stages:
            if self.rank.distributed:
                raise UserError("--overwrite with several ranks would delete what other ranks write: run the stage "
                                "with --overwrite on one process first, or use a new output folder")
            self.wipe_from(stages[0])
        results: dict[str, Any] = {}
        for stage in [s for s in stages if s in SHARDED]:
            results[stage] = getattr(self, f"run_{stage}")()
            if results[stage].get("waiting") and stage == "score":
                return results  # another rank completes score and runs the later stages
        merged = [s for s in stages if s not in SHARDED]
        if merged:
            with self.merging():  # one rank at a time; a second one finds them done
                fps = self.fingerprints()
                if self.rank.distributed and all(self.manifest.is_complete(s, fps[s]) for s in merged):
                    console.print(f"{', '.join(merged)}: already complete with these settings (another rank finished them)")
                    return results
                for stage in merged:
                    results[stage] = getattr(self, f"run_{stage}")()
        return results

    @contextmanager
    def merging(self) -> Iterator[None]:
        """Hold the output folder's merge lock and re-read the manifest (several ranks only; re-entrant)."""
        if not self.rank.distributed or self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        with file_lock(self.out / ".merge.lock"):
            self._lock_depth += 1
            try:
                self.manifest.reload()
                yield
            finally:
                self._lock_depth -= 1

    def _waiting(self, stage: str, missing: list[int] | None) -> dict[str, Any]:
        """This rank wrote its shards of ``stage``; shards ``missing`` (or an earlier stage) are another rank's."""
        self._clock(stage)
        if missing is None:
            what = "the candidates stage is not complete yet"
        else:
            what = f"{len(missing)} shard(s) of rank(s) {sorted({i % self.rank.world_size for i in missing})} are not written yet"
        console.print(f"{stage}: {self.rank.label()} wrote its shards; {what}: the last rank to finish completes the stage")
        return {"waiting": True, "missing_shards": None if missing is None else len(missing)}

    def refuse_inputs_in_output(self) -> None:
        """No problem file or ingested pool may lie in the output folder, which stages rewrite and
        ``--overwrite`` clears (``hf:`` names are exported into the cache, never here)."""
        c = self.cfg
        specs = [s for s in (c.problems.gsm8k, c.problems.math, *(p.path for p in c.problems.custom)) if s]
        inputs = [(f"problems {s!r}", resolve_spec(s)) for s in specs if not str(s).startswith("hf:")]
        if c.candidates.mode == "ingest":
            inputs += [("candidates.ingest.files", p) for p in expand_paths(c.candidates.ingest.files)]
        refuse_overlap(inputs, [Output("out", self.out, folder=True)])

    def wipe_from(self, stage: str) -> None:
        """Delete the outputs of ``stage`` and every later stage."""
        later = STAGES[STAGES.index(stage):]
        for s in later:
            shutil.rmtree(self.stage_dir(s), ignore_errors=True)
        if stage == "candidates":
            self.problems_path.unlink(missing_ok=True)
        if "pair" in later:
            for name in ("funnel.json", "report.md", "report.html"):
                (self.out / name).unlink(missing_ok=True)
        self.manifest.drop(later)

    def _begin(self, stage: str, strict: bool) -> tuple[Path, str]:
        """Check or reset the stage's settings; return its folder and fingerprint."""
        with self.merging():
            return self._begin_locked(stage, strict)

    def _begin_locked(self, stage: str, strict: bool) -> tuple[Path, str]:
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
        owns = self.rank.owns if self.rank.distributed and stage in SHARDED else None
        if (n := clean_stale_temps(d, owns)):
            console.print(f"{stage}: removed {n} temporary file(s) left by an interrupted run")
        self.manifest.start(stage, fp, keep_complete=self.rank.distributed)
        self._mark = time.perf_counter()
        return d, fp

    def _require(self, stage: str) -> None:
        if stage in self._own_done:  # several ranks: this rank's shards of it are written, with these settings
            return
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


def pct(n: int, d: int) -> str:
    """``n / d`` as a percentage with one decimal (``-`` when ``d`` is 0)."""
    return f"{100.0 * n / d:.1f}%" if d else "-"

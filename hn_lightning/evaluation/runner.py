"""Evaluate a list of items: generate, check with :class:`~hn_lightning.answers.AnswerChecker`, write
``samples.jsonl`` as items finish, and ``summary.json`` (atomically) at the end.

Output folder::

    <out_dir>/config.json     the settings (a resumed run must use the same ones)
    <out_dir>/samples.jsonl   one record per finished item: prompt, completion, extracted answers, gold,
                              verdict, tokens, time (appended + fsynced one by one)
    <out_dir>/summary.json    accuracy with a Wilson 95% CI, by subject / level, throughput, checker stats

Running the same evaluation again resumes: items whose id is already in ``samples.jsonl`` are skipped,
a torn last line is dropped, and the summary covers every requested item (old and new).

Items are generated shard by shard (:mod:`~hn_lightning.evaluation.sharded`), so the records do not depend
on how many ranks share the work: with ``rank`` (one of several processes) a rank generates its shards
into its own file, and the rank that finds every item written merges ``samples.jsonl`` and writes
``summary.json``.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from hn_lightning.answers import AnswerChecker
from hn_lightning.errors import UserError
from hn_lightning.evaluation.engine import Engine
from hn_lightning.evaluation.generate import Generation, GenerationConfig
from hn_lightning.evaluation.metrics import accuracy_summary, breakdown
from hn_lightning.evaluation.prompts import PromptStyle, build_prompt
from hn_lightning.evaluation.samples_file import SampleLog
from hn_lightning.evaluation.sharded import (
    DEFAULT_SHARD_SIZE,
    item_shards,
    known_records,
    rank_file,
    shard_seed,
    write_merged,
)
from hn_lightning.evaluation.tasks import EvalItem
from hn_lightning.faults import fault_point
from hn_lightning.io import atomic_write_json
from hn_lightning.io.lock import file_lock
from hn_lightning.ranks import RankSpec

log = logging.getLogger(__name__)

__all__ = ["RunSettings", "SettingsMismatch", "evaluate_items", "summarize"]


class SettingsMismatch(UserError, RuntimeError):
    """``out_dir`` holds samples made with other settings; resume refused."""


@dataclass
class RunSettings:
    """What defines an evaluation's results (stored in ``config.json``; a resume must match)."""

    task: str
    prompt: PromptStyle = "qwen2-boxed"
    system: str | None = None
    checker: str = "stepdpo"
    max_new_tokens: int = 2048
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    model: str | None = None
    calculator: bool = False
    """GSM8K's calculator wrote the results of ``<<expr=`` annotations (:mod:`~hn_lightning.evaluation.calculator`)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Informational settings (dtype, backend, batch size): stored, not compared."""

    def key(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        return data


def _check_settings(out_dir: Path, settings: RunSettings, overwrite: bool) -> None:
    path = out_dir / "config.json"
    samples = out_dir / "samples.jsonl"
    if overwrite:
        samples.unlink(missing_ok=True)
        (out_dir / "summary.json").unlink(missing_ok=True)
        shutil.rmtree(out_dir / "ranks", ignore_errors=True)
    elif path.is_file() and (samples.is_file() or (out_dir / "ranks").is_dir()):
        previous = json.loads(path.read_text(encoding="utf-8"))
        previous.pop("extra", None)
        previous.setdefault("calculator", False)  # folders written before the setting existed ran without it
        if previous != json.loads(json.dumps(settings.key())):
            changed = sorted(k for k in settings.key() if previous.get(k) != settings.key()[k])
            raise SettingsMismatch(f"{out_dir} holds samples made with other settings ({', '.join(changed)} differ); "
                                   "use another output folder, or overwrite to start over")
    atomic_write_json(path, asdict(settings))


def _record(item: EvalItem, task: str, prompt: str, gen: Generation, verdict) -> dict[str, Any]:
    return {
        "id": item.id, "task": task, "subject": item.subject, "level": item.level,
        "question": item.question, "prompt": prompt, "completion": gen.text,
        "extracted": verdict.extracted, "gold": item.gold, "gold_compared": verdict.gold,
        "correct": bool(verdict.correct), "finish_reason": gen.finish_reason,
        "num_tokens": gen.num_tokens, "seconds": round(gen.seconds, 4),
        "check_error": verdict.error, "check_timed_out": bool(verdict.timed_out),
    }


def summarize(records: list[dict[str, Any]], settings: RunSettings) -> dict[str, Any]:
    """Accuracy (+ Wilson CI), breakdowns, finish reasons, throughput and checker counts of ``records``."""
    correct = [bool(r["correct"]) for r in records]
    tokens = sum(int(r["num_tokens"]) for r in records)
    seconds = sum(float(r["seconds"]) for r in records)
    summary: dict[str, Any] = {"task": settings.task, **accuracy_summary(correct)}
    if any(r.get("subject") is not None for r in records):
        summary["by_subject"] = breakdown([(r.get("subject"), r["correct"]) for r in records])
    if any(r.get("level") is not None for r in records):
        summary["by_level"] = breakdown([(r.get("level"), r["correct"]) for r in records])
    summary.update({
        "finish_reasons": dict(Counter(r["finish_reason"] for r in records)),
        "generated_tokens": tokens,
        "mean_tokens": tokens / len(records) if records else None,
        "generation_seconds": round(seconds, 2),
        "tokens_per_sec": tokens / seconds if seconds > 0 else None,
        "problems_per_sec": len(records) / seconds if seconds > 0 else None,
        "checks_with_error": sum(1 for r in records if r.get("check_error")),
        "checks_timed_out": sum(1 for r in records if r.get("check_timed_out")),
        "settings": asdict(settings),
    })
    return summary


def evaluate_items(
    engine: Engine,
    items: list[EvalItem],
    settings: RunSettings,
    generation: GenerationConfig,
    out_dir: str | Path,
    *,
    checker: AnswerChecker | None = None,
    overwrite: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    rank: RankSpec | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
) -> dict[str, Any]:
    """Evaluate ``items`` into ``out_dir`` (resuming what is there) and return the summary.

    ``on_start(total, already_done)`` is called once before generating (counts of this rank's items);
    ``on_record(record)`` after each item is written. ``generation.num_return_sequences`` must be 1.
    ``rank``: this process's share (shards ``j`` with ``j % world_size == rank``); its summary has
    ``complete: false`` and ``missing`` > 0 while other ranks' items are not written yet.
    """
    if generation.num_return_sequences != 1:
        raise ValueError("evaluation scores one completion per problem (num_return_sequences=1)")
    rank = rank or RankSpec()
    if overwrite and rank.distributed:
        raise UserError("overwrite with several ranks would delete what other ranks write: start over with one "
                        "process, or use a new output folder")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_settings(out_dir, settings, overwrite)
    checker = checker or AnswerChecker(mode=settings.checker)  # type: ignore[arg-type]
    shards = item_shards(items, shard_size)
    mine = [item for j in rank.mine(range(len(shards))) for item in shards[j]]
    started = time.perf_counter()
    new = 0
    own_path = rank_file(out_dir, rank.rank) if rank.distributed else out_dir / "samples.jsonl"
    with SampleLog(own_path) as samples:
        done = set(samples.load()) | set(known_records(out_dir))
        pending_count = sum(1 for item in mine if item.id not in done)
        if on_start is not None:
            on_start(len(mine), len(mine) - pending_count)
        for j in rank.mine(range(len(shards))):
            pending = [item for item in shards[j] if item.id not in done]
            if not pending:
                continue
            prompts = [build_prompt(settings.prompt, item.question, engine.tokenizer, settings.system) for item in pending]

            def finished(index: int, gens: list[Generation], pending=pending, prompts=prompts) -> None:
                item = pending[index]
                verdict = checker.check(gens[0].text, item.gold, item.question)
                record = _record(item, settings.task, prompts[index], gens[0], verdict)
                samples.append(record)
                fault_point("eval.record")  # tests: die after an item is written
                if on_record is not None:
                    on_record(record)

            engine.generate(prompts, replace(generation, seed=shard_seed(generation.seed, j)), on_done=finished)
            new += len(pending)
    several = rank.distributed or (out_dir / "ranks").is_dir()
    with file_lock(out_dir / ".merge.lock") if several else nullcontext():
        known = known_records(out_dir)
        records = [known[item.id] for item in items if item.id in known]
        missing = len(items) - len(records)
        if missing == 0 and several:
            write_merged(out_dir, records)  # the ranks' records in item order (one process appends in place)
        extra = len(set(known) - {item.id for item in items})
        summary = summarize(records, settings)
        summary["complete"], summary["missing"] = missing == 0, missing
        summary["this_run"] = {
            "new_items": new, "resumed_items": len(mine) - pending_count,
            "wall_seconds": round(time.perf_counter() - started, 2),
            "other_records_in_file": extra, "checker_stats": checker.stats.as_dict(),
            "rank": rank.rank, "world_size": rank.world_size,
        }
        summary["files"] = {"samples": str(out_dir / "samples.jsonl"), "summary": str(out_dir / "summary.json")}
        if missing == 0:
            fault_point("eval.finalize")  # tests: die with every item written but no summary
            atomic_write_json(out_dir / "summary.json", summary)
    return summary

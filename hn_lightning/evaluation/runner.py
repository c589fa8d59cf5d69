"""Evaluate a list of items: generate, check with :class:`~hn_lightning.answers.AnswerChecker`, write
``samples.jsonl`` as items finish, and ``summary.json`` (atomically) at the end.

Output folder::

    <out_dir>/config.json     the settings (a resumed run must use the same ones)
    <out_dir>/samples.jsonl   one record per finished item: prompt, completion, extracted answers, gold,
                              verdict, tokens, time (appended + fsynced one by one)
    <out_dir>/summary.json    accuracy with a Wilson 95% CI, by subject / level, throughput, checker stats

Running the same evaluation again resumes: items whose id is already in ``samples.jsonl`` are skipped,
a torn last line is dropped, and the summary covers every requested item (old and new).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hn_lightning.answers import AnswerChecker
from hn_lightning.errors import UserError
from hn_lightning.evaluation.engine import Engine
from hn_lightning.evaluation.generate import Generation, GenerationConfig
from hn_lightning.evaluation.metrics import accuracy_summary, breakdown
from hn_lightning.evaluation.prompts import PromptStyle, build_prompt
from hn_lightning.evaluation.samples_file import SampleLog
from hn_lightning.evaluation.tasks import EvalItem
from hn_lightning.faults import fault_point
from hn_lightning.io import atomic_write_json

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
    elif path.is_file() and samples.is_file():
        previous = json.loads(path.read_text(encoding="utf-8"))
        previous.pop("extra", None)
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
) -> dict[str, Any]:
    """Evaluate ``items`` into ``out_dir`` (resuming what is there) and return the summary.

    ``on_start(total, already_done)`` is called once before generating; ``on_record(record)`` after
    each item is written. ``generation.num_return_sequences`` must be 1.
    """
    if generation.num_return_sequences != 1:
        raise ValueError("evaluation scores one completion per problem (num_return_sequences=1)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_settings(out_dir, settings, overwrite)
    checker = checker or AnswerChecker(mode=settings.checker)  # type: ignore[arg-type]
    wanted = {item.id for item in items}
    started = time.perf_counter()
    with SampleLog(out_dir / "samples.jsonl") as samples:
        done = samples.load()
        pending = [item for item in items if item.id not in done]
        if on_start is not None:
            on_start(len(items), len(items) - len(pending))
        prompts = [build_prompt(settings.prompt, item.question, engine.tokenizer, settings.system) for item in pending]

        def finished(index: int, gens: list[Generation]) -> None:
            item = pending[index]
            verdict = checker.check(gens[0].text, item.gold, item.question)
            record = _record(item, settings.task, prompts[index], gens[0], verdict)
            samples.append(record)
            fault_point("eval.record")  # tests: die after an item is written
            if on_record is not None:
                on_record(record)

        if pending:
            engine.generate(prompts, generation, on_done=finished)
        records = [samples.records[item.id] for item in items if item.id in samples.records]
        extra = len(set(samples.records) - wanted)
    summary = summarize(records, settings)
    summary["this_run"] = {
        "new_items": len(pending), "resumed_items": len(items) - len(pending),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "other_records_in_file": extra, "checker_stats": checker.stats.as_dict(),
    }
    summary["files"] = {"samples": str(out_dir / "samples.jsonl"), "summary": str(out_dir / "summary.json")}
    fault_point("eval.finalize")  # tests: die with every item written but no summary
    atomic_write_json(out_dir / "summary.json", summary)
    return summary

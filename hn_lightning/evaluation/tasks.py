"""Evaluation tasks: the Step-DPO test files, MATH-500, or any JSONL with a field mapping.

* ``gsm8k``: ``shared:stepdpo/GSM8K_test_data.jsonl`` (1319; ``instruction``, ``answer`` list).
* ``math``: ``shared:stepdpo/MATH_test_data.jsonl`` (5000; ``type`` is the subject; the level is
  joined from ``shared:math/test.jsonl`` by ``unique_id`` == ``filepath`` without ``./``).
* ``math500``: ``shared:math/math500_test.jsonl`` (500; ``problem``, ``answer``, ``subject``, ``level``).
* a path: any JSONL; fields are named by a :class:`FieldMap` (defaults guess common names).

``limit`` takes the first N items, or a fixed random subset of N when ``seed`` is given (the same
seed always picks the same items, kept in file order).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hn_lightning.io import JsonlError, iter_jsonl
from hn_lightning.paths import resolve_data_path

__all__ = ["EvalItem", "FieldMap", "TASKS", "TaskSpec", "load_task", "select", "task_name"]


@dataclass
class EvalItem:
    """One problem to evaluate."""

    id: str
    """Unique within the task (the file's id field, else ``line:<n>``)."""
    question: str
    gold: list[str] | str
    """A list of golds (Step-DPO files), an answer string, or a GSM8K ``#### N`` solution text."""
    subject: str | None = None
    level: int | None = None


@dataclass
class FieldMap:
    """Which record fields hold what. ``None`` tries the usual names in order."""

    question: str | None = None
    """Default: the first of ``instruction``, ``question``, ``problem``."""
    answer: str | None = None
    """Default: the first of ``answer``, ``gold``, ``gt``."""
    id: str | None = None
    """Default: the first of ``idx``, ``id``, ``unique_id``; else ``line:<n>``."""
    subject: str | None = None
    """Default: the first of ``subject``, ``type``."""
    level: str | None = None
    """Default: ``level`` (``"Level 3"`` and ``3`` both read as 3)."""


@dataclass(frozen=True)
class TaskSpec:
    """A named task: its file and field mapping."""

    path: str
    fields: FieldMap = field(default_factory=FieldMap)
    join_math_levels: bool = False


TASKS: dict[str, TaskSpec] = {
    "gsm8k": TaskSpec("shared:stepdpo/GSM8K_test_data.jsonl", FieldMap("instruction", "answer", "idx")),
    "math": TaskSpec("shared:stepdpo/MATH_test_data.jsonl", FieldMap("instruction", "answer", "idx", "type"), True),
    "math500": TaskSpec("shared:math/math500_test.jsonl", FieldMap("problem", "answer", "unique_id", "subject", "level")),
}

_GUESSES = {
    "question": ("instruction", "question", "problem"),
    "answer": ("answer", "gold", "gt"),
    "id": ("idx", "id", "unique_id"),
    "subject": ("subject", "type"),
    "level": ("level",),
}


def task_name(task: str) -> str:
    """A short name for output folders and metric keys (``gsm8k``, or a file's stem)."""
    return task if task in TASKS else Path(str(task)).stem


def _get(record: dict[str, Any], name: str | None, kind: str) -> Any:
    """The value of a dotted field, or of the first usual name present."""
    names = (name,) if name else _GUESSES[kind]
    for candidate in names:
        value: Any = record
        for part in candidate.split("."):
            if not isinstance(value, dict) or part not in value:
                value = None
                break
            value = value[part]
        if value is not None:
            return value
    return None


def _level(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    digits = "".join(ch for ch in str(value) if ch.isdigit())
    return int(digits) if digits else None


def _math_levels() -> dict[str, int | None]:
    """``test/<subject>/<n>.json`` -> level, from the consolidated MATH test file."""
    path = resolve_data_path("shared:math/test.jsonl")
    return {rec["unique_id"]: _level(rec.get("level")) for _, rec in iter_jsonl(path)}


def _to_item(record: dict[str, Any], fields: FieldMap, path: Path, lineno: int) -> EvalItem:
    question = _get(record, fields.question, "question")
    gold = _get(record, fields.answer, "answer")
    if not isinstance(question, str) or not question.strip():
        raise JsonlError(path, lineno, f"no question (field {fields.question or '/'.join(_GUESSES['question'])})")
    if gold is None or (isinstance(gold, list) and not gold):
        raise JsonlError(path, lineno, f"no gold answer (field {fields.answer or '/'.join(_GUESSES['answer'])})")
    if isinstance(gold, list):
        gold = [str(g) for g in gold]
    elif not isinstance(gold, str):
        gold = str(gold)
    raw_id = _get(record, fields.id, "id")
    subject = _get(record, fields.subject, "subject")
    return EvalItem(
        id=str(raw_id) if raw_id is not None else f"line:{lineno}",
        question=question,
        gold=gold,
        subject=str(subject) if subject is not None else None,
        level=_level(_get(record, fields.level, "level")),
    )


def load_task(task: str, limit: int | None = None, fields: FieldMap | None = None, seed: int | None = None) -> list[EvalItem]:
    """The items of ``task`` (a name in :data:`TASKS` or a JSONL path, ``shared:`` allowed).

    ``fields`` overrides the mapping (for a named task, only the fields given). ``limit``: the first
    N items, or with ``seed`` a fixed random subset of N (in file order). Duplicate ids are an error.
    """
    spec = TASKS.get(task)
    if spec is not None:
        path = resolve_data_path(spec.path)
        mapping = FieldMap(**{k: (getattr(fields, k, None) if fields else None) or getattr(spec.fields, k)
                              for k in FieldMap.__dataclass_fields__})
    else:
        path, mapping = resolve_data_path(task), fields or FieldMap()
    if not path.is_file():
        known = ", ".join(TASKS)
        raise FileNotFoundError(f"task {task!r}: no such file {path} (named tasks: {known}; or give a JSONL path)")
    items: list[EvalItem] = []
    filepaths: list[str] = []
    seen: set[str] = set()
    for lineno, record in iter_jsonl(path):
        item = _to_item(record, mapping, path, lineno)
        if item.id in seen:
            raise JsonlError(path, lineno, f"duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
        filepaths.append(str(record.get("filepath", "")).removeprefix("./"))
    if spec is not None and spec.join_math_levels:
        levels = _math_levels()
        for item, key in zip(items, filepaths):
            item.level = levels.get(key)
    return select(items, limit, seed)


def select(items: list[EvalItem], limit: int | None, seed: int | None = None) -> list[EvalItem]:
    """The first ``limit`` items, or a seeded random subset of ``limit`` kept in original order."""
    if limit is None or limit >= len(items):
        return list(items)
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    if seed is None:
        return items[:limit]
    picked = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in picked]

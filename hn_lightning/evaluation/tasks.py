"""Evaluation tasks: GSM8K and MATH test as Step-DPO scores them, MATH-500, or any JSONL with a field mapping.

The named tasks read the datasets shipped with the package and rebuild the gold lists of Step-DPO's
test files exactly (``benchmarks/gold_agreement.py`` checks all 6319 against those files):

* ``gsm8k``: ``gsm8k:test`` (1319). Gold ``[text after ####]``, thousands commas kept; ids ``GSM8K_<0..1318>``.
* ``math``: ``math:test`` (5000). Gold = Step-DPO's answer extraction run on the reference solution, each
  answer cut at its first newline (a list of 1 to 8); ids ``hendrycks_math_<1..5000>``; subject, level.
* ``math500``: ``math500`` (500; ``problem``, ``answer``, ``unique_id``, ``subject``, ``level``).
* anything else: a data name or path (``hf:...`` and ``datasets`` folders too); fields are named by a
  :class:`FieldMap` (defaults guess common names).

``limit`` takes the first N items, or a fixed random subset of N when ``seed`` is given (the same
seed always picks the same items, kept in file order).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hn_lightning.answers import extract_math_answer, gsm8k_gold
from hn_lightning.catalog import resolve_data_file
from hn_lightning.io import JsonlError, iter_jsonl

__all__ = ["EvalItem", "FieldMap", "TASKS", "TaskSpec", "load_task", "select", "task_gold", "task_name"]


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
    """A named task: its data, field mapping, how golds and ids are made."""

    path: str
    """A data name or path."""
    fields: FieldMap = field(default_factory=FieldMap)
    gold: Literal["field", "gsm8k", "math_reference"] = "field"
    """``field``: the answer field as is. ``gsm8k``: ``[text after ####]`` of the answer field (Step-DPO's
    GSM8K golds). ``math_reference``: Step-DPO's extraction on the answer field, here the reference
    solution, each answer cut at its first newline (Step-DPO's MATH golds)."""
    id_prefix: str | None = None
    """Ids are ``<id_prefix><line index + id_start>`` (Step-DPO's ``idx``) instead of the id field."""
    id_start: int = 0


TASKS: dict[str, TaskSpec] = {
    "gsm8k": TaskSpec("gsm8k:test", FieldMap("question", "answer"), "gsm8k", "GSM8K_", 0),
    "math": TaskSpec("math:test", FieldMap("problem", "solution", None, "subject", "level"), "math_reference", "hendrycks_math_", 1),
    "math500": TaskSpec("math500", FieldMap("problem", "answer", "unique_id", "subject", "level")),
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
    return task if task in TASKS else re.sub(r"[^\w.-]+", "-", Path(str(task)).stem)  # gsm8k:train -> gsm8k-train


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


def task_gold(kind: str, question: str, answer: str) -> list[str]:
    """The gold list of a named task's record (see :attr:`TaskSpec.gold`)."""
    if kind == "gsm8k":
        return [gsm8k_gold(answer)]
    return extract_math_answer(question, answer, first_line_only=True)


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


def task_source(task: str) -> Path:
    """The file ``task`` reads (a named task's shipped file, or the resolved data name or path)."""
    spec = TASKS.get(task) or TaskSpec(task)
    return resolve_data_file(spec.path, f"task (named tasks: {', '.join(TASKS)}) or data")


def load_task(task: str, limit: int | None = None, fields: FieldMap | None = None, seed: int | None = None) -> list[EvalItem]:
    """The items of ``task`` (a name in :data:`TASKS`, or a data name or path: ``hf:``, ``shared:`` allowed).

    ``fields`` overrides the mapping (for a named task, only the fields given). ``limit``: the first
    N items, or with ``seed`` a fixed random subset of N (in file order). Duplicate ids are an error.
    """
    spec = TASKS.get(task)
    if spec is not None:
        mapping = FieldMap(**{k: (getattr(fields, k, None) if fields else None) or getattr(spec.fields, k)
                              for k in FieldMap.__dataclass_fields__})
    else:
        spec, mapping = TaskSpec(task), fields or FieldMap()
    path = task_source(task)
    items: list[EvalItem] = []
    seen: set[str] = set()
    for index, (lineno, record) in enumerate(iter_jsonl(path)):
        item = _to_item(record, mapping, path, lineno)
        if spec.gold != "field":
            try:
                item.gold = task_gold(spec.gold, item.question, str(item.gold))
            except ValueError as exc:
                raise JsonlError(path, lineno, str(exc)) from None
            if not item.gold:
                raise JsonlError(path, lineno, "no gold answer in the reference solution")
        if spec.id_prefix is not None:
            item.id = f"{spec.id_prefix}{index + spec.id_start}"
        if item.id in seen:
            raise JsonlError(path, lineno, f"duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
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

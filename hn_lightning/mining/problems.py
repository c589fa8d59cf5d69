"""Training problems: GSM8K train, MATH train, or any JSONL with a field mapping.

A :class:`Problem` carries what every later stage needs: a stable id (``gsm8k-train-17``: the
source name and the 0-based line index of the record), the question, the gold answer (checked by
:class:`hn_lightning.answers.AnswerChecker`), and a reference solution (the verifier's alignment
target and the fallback chosen solution).

* GSM8K (``question``, ``answer``): gold = the ``answer`` text (the checker reads ``#### N``);
  reference = the answer without calculator annotations and with ``#### N`` turned into
  ``The final answer is $\\boxed{N}$.`` (:func:`hn_lightning.data.records.gsm8k_solution`, the SFT format).
* MATH (``problem``, ``solution``, ``answer``): gold = ``answer``, reference = ``solution``.
* custom: :class:`~hn_lightning.mining.config.ProblemSource` field names.

A record's ``truth`` (the testbed generator's ground truth: every step's value, every trapped plan,
:mod:`hn_lightning.testbed.generator`), whatever the source, is kept on the problem and written to the
run's ``problems.jsonl`` (once per problem, not per sample): the truth report of
:mod:`hn_lightning.mining.truth` reads it from there.

Subsets are seeded (``ProblemsConfig.shuffle`` / ``seed``); benchmark test files are refused
(:func:`hn_lightning.catalog.refuse_test_files`) unless ``allow_test_data``.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from hn_lightning.catalog import refuse_test_files, resolve_data_file, resolve_spec
from hn_lightning.catalog.resolve import origin
from hn_lightning.data.records import gsm8k_solution
from hn_lightning.errors import SettingError, UserError
from hn_lightning.io.jsonl import JsonlError, iter_jsonl
from hn_lightning.mining.config import ProblemsConfig, ProblemSource
from hn_lightning.verifier.fields import get_path

__all__ = ["Problem", "load_problems", "source_name", "problems_by_id"]


@dataclass(frozen=True)
class Problem:
    """One training problem."""

    id: str
    question: str
    gold: str | list[str]
    reference: str
    source: str
    truth: dict[str, Any] | None = field(default=None, compare=False)
    """The generator's ground truth of a testbed record (``None`` for any other data; not compared, so a
    problem stays hashable)."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["truth"] is None:  # problems without one keep the problems.jsonl lines they always had
            del d["truth"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Problem:
        return cls(**{k: d[k] for k in ("id", "question", "gold", "reference", "source")}, truth=d.get("truth"))


def source_name(path: str | Path) -> str:
    """A problem id prefix: ``<parent>-<stem>`` of a file (``shared:gsm8k/train.jsonl`` -> ``gsm8k-train``), or
    the name the data came under (``gsm8k:train`` -> ``gsm8k-train``, ``hf:openai/gsm8k:main:train`` ->
    ``openai-gsm8k-main-train``, ``my_data:train`` -> ``my-data-train``), lower case."""
    p = resolve_spec(path)
    source = origin(p)
    if source is not None:  # a data name, hf: id or datasets folder: named after what the user wrote
        text = Path(source.removeprefix("hf:")).name if not source.startswith("hf:") else source.removeprefix("hf:")
        return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return f"{p.parent.name}-{p.stem}".lower().replace("_", "-")


def _gsm8k(record: dict[str, Any], pid: str, source: str) -> Problem:
    answer = record["answer"]
    if "####" not in answer:
        raise ValueError("a GSM8K answer needs a final '#### N' line")
    return Problem(pid, record["question"], answer, gsm8k_solution(answer), source)


def _math(record: dict[str, Any], pid: str, source: str) -> Problem:
    return Problem(pid, record["problem"], str(record["answer"]), record["solution"], source)


def _custom(spec: ProblemSource):
    def build(record: dict[str, Any], pid: str, source: str) -> Problem:
        question = get_path(record, spec.question_field)
        gold = get_path(record, spec.gold_field)
        reference = get_path(record, spec.reference_field, "") if spec.reference_field else ""
        if isinstance(reference, str) and "####" in reference:
            reference = gsm8k_solution(reference)
        if isinstance(gold, (int, float)) and not isinstance(gold, bool):
            gold = str(gold)
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"field {spec.question_field!r} must be a non-empty string")
        if not (isinstance(gold, str) and gold.strip()) and not (isinstance(gold, list) and gold):
            raise ValueError(f"field {spec.gold_field!r} must be a non-empty string or list")
        return Problem(pid, question, gold, str(reference or ""), source)

    return build


def _read_source(path: str, name: str, builder, id_field: str | None) -> list[Problem]:
    resolved = resolve_data_file(path, "problem data")
    out: list[Problem] = []
    for index, (lineno, record) in enumerate(iter_jsonl(resolved)):
        key = index if id_field is None else get_path(record, id_field, None)
        if key is None:
            raise JsonlError(resolved, lineno, f"missing id field {id_field!r}")
        try:
            problem = builder(record, f"{name}-{key}", name)
            truth = record.get("truth")
            out.append(replace(problem, truth=truth) if isinstance(truth, dict) else problem)
        except (KeyError, ValueError, TypeError) as exc:
            raise JsonlError(resolved, lineno, f"not a usable problem: {exc}") from None
    return out


def _subset(items: list[Problem], limit: int | None, shuffle: bool, rng: random.Random) -> list[Problem]:
    items = list(items)
    if shuffle:
        rng.shuffle(items)
    return items if limit is None else items[:limit]


def load_problems(cfg: ProblemsConfig) -> list[Problem]:
    """The configured problems, in mining order (seeded subset), with unique ids."""
    specs: list[tuple[str, str, Any, str | None]] = []
    if cfg.gsm8k:
        specs.append((cfg.gsm8k, source_name(cfg.gsm8k), _gsm8k, None))
    if cfg.math:
        specs.append((cfg.math, source_name(cfg.math), _math, None))
    for spec in cfg.custom:
        specs.append((spec.path, spec.name or source_name(spec.path), _custom(spec), spec.id_field))
    if not specs:
        raise SettingError("no problem source configured (problems.gsm8k, problems.math and problems.custom are all empty)")
    refuse_test_files([resolve_data_file(s[0], "problem data") for s in specs], cfg.allow_test_data, "mining (DPO training)")
    rng = random.Random(cfg.seed)
    problems: list[Problem] = []
    for path, name, builder, id_field in specs:
        problems += _subset(_read_source(path, name, builder, id_field), cfg.limit_per_source, cfg.shuffle, rng)
    if cfg.shuffle and len(specs) > 1:
        rng.shuffle(problems)
    problems = problems if cfg.limit is None else problems[: cfg.limit]
    if not problems:
        raise UserError(f"no problems to mine: {', '.join(s[0] for s in specs)} hold no records")
    seen: set[str] = set()
    for p in problems:
        if p.id in seen:
            raise SettingError(f"duplicate problem id {p.id!r}: give the sources distinct names")
        seen.add(p.id)
    return problems


def problems_by_id(problems: list[Problem]) -> dict[str, Problem]:
    return {p.id: p for p in problems}

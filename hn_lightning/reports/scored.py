"""The HTML report of a scored file: every solution in the verifier's step view.

Two kinds of scored file:

* a mining run's ``scored/shard-*.jsonl``: each record holds the completion and its ``scores``; the
  question, gold and reference come from the run's ``problems.jsonl``;
* the output of ``python cli.py verify``: one :class:`~hn_lightning.verifier.records.VerifierResult` per
  line, without the texts; they are read back by id from the samples file verify read, with the same
  field mapping. The page keeps that source (the samples file, relative to the scored file, and the
  fields) in a JSON block, so ``python cli.py report scored.jsonl`` can rebuild it without being told
  again, from any folder.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hn_lightning.errors import UserError
from hn_lightning.io.jsonl import iter_jsonl
from hn_lightning.reports.items import Item, Problem, Table, counted, histogram_bars, read_problems
from hn_lightning.reports.render import write_html
from hn_lightning.reports.solutions import gold_answer, solution_view, weight_parts
from hn_lightning.verifier.fields import FieldMap, record_to_input

__all__ = ["DEFAULT_MAX_RECORDS", "html_path_for", "is_scored_file", "write_scored_report"]

DEFAULT_MAX_RECORDS = 500
"""Solutions in the page (the first ones of the file)."""

_SOURCE = re.compile(r'<script type="application/json" id="hn-report-source">(.*?)</script>', re.S)


def html_path_for(scored: Path) -> Path:
    """Where the report of ``scored`` goes: beside it, ``.html`` instead of ``.jsonl`` (appended when the
    scored file itself ends in ``.html``: the page never replaces the data)."""
    page = scored.with_suffix(".html")
    return page if page != scored else scored.with_name(scored.name + ".html")


def _scores_of(record: dict[str, Any]) -> dict[str, Any] | None:
    if isinstance(record.get("scores"), dict):
        return record["scores"]
    return record if "s_ans" in record and "wrongness" in record else None


def is_scored_file(path: Path) -> bool:
    """A JSONL file whose first record carries verifier scores (nested, or flat as verify writes them)."""
    if not path.is_file():
        return False
    for _, record in iter_jsonl(path):
        return _scores_of(record) is not None
    return False


def _problems_near(path: Path) -> dict[str, Problem]:
    for folder in (path.parent, path.parent.parent):
        if (folder / "problems.jsonl").is_file():
            return read_problems(folder / "problems.jsonl")
    return {}


def _recorded_source(html: Path) -> dict[str, Any] | None:
    if not html.is_file():
        return None
    match = _SOURCE.search(html.read_text(encoding="utf-8"))
    return json.loads(match.group(1)) if match else None


def _texts_from_input(input_path: Path, fields: FieldMap, ids: set[str]) -> dict[str, tuple[Problem, str]]:
    """``id -> (problem, prediction)`` of the samples verify read (records it could not read are left out,
    as verify left them out)."""
    found = {}
    for lineno, record in iter_jsonl(input_path):
        try:
            inp = record_to_input(record, fields, lineno)
        except ValueError:
            continue
        if inp.id in ids:
            found[inp.id] = (Problem("", inp.question, gold_answer(inp.gold), inp.reference), inp.prediction)
    return found


def _item(index: int, rid: str, scores: dict[str, Any], problem: Problem, text: str) -> Item:
    fe = scores.get("first_error_step")
    answer = scores.get("extracted_answer")
    return Item(key=f"r-{index}", id=rid, problem=problem, kind=str(scores.get("first_error_kind") or "none"),
                position=None if fe is None else fe + 1, n_steps=scores.get("n_pred_steps"), weight=scores.get("w_raw"),
                views=[solution_view(text, scores, "solution", rid)], weight_parts=weight_parts(scores, None),
                cells={"id": rid, "answer": answer, "correct": bool(scores.get("answer_correct")),
                       "hard negative": bool(scores.get("hard_negative"))})


def write_scored_report(scored: str | Path, input_path: str | Path | None = None, fields: FieldMap | None = None,
                        out: str | Path | None = None, max_records: int = DEFAULT_MAX_RECORDS) -> Path:
    """Write the step view of every solution in ``scored`` (the first ``max_records``) to ``out``
    (default: beside it, ``.html``); ``input_path``/``fields``: the samples file and field mapping a
    ``verify`` output was made from (default: those the previous page recorded)."""
    scored = Path(scored)
    out = Path(out) if out is not None else html_path_for(scored)
    records = []
    total = 0
    for _, record in iter_jsonl(scored):
        total += 1
        if len(records) < max_records:
            records.append(record)
    if not records or _scores_of(records[0]) is None:
        raise UserError(f"{scored}: not a scored file (no verifier scores in its first record)")
    source: dict[str, Any] = {}
    if "completion" in records[0]:  # a mining run's scored shard: the texts are in the records
        problems = _problems_near(scored)
        texts = {str(r["id"]): (problems.get(str(r.get("problem_id"))) or Problem(str(r.get("problem_id", "")), str(r.get("prompt", "")), ""),
                                str(r["completion"])) for r in records}
    else:
        recorded = _recorded_source(out) or {}
        if input_path is None:
            if not recorded.get("input"):
                raise UserError(f"{scored}: verifier results without the solutions' text; give the samples file verify read "
                                f"(python cli.py report {scored} --input <samples.jsonl>)")
            input_path = scored.parent / recorded["input"]  # recorded relative to the scored file
        if fields is None:
            fields = FieldMap(**recorded["fields"]) if recorded.get("fields") else FieldMap()
        if not Path(input_path).is_file():
            raise UserError(f"{input_path}: the samples file of {scored} is not there")
        source.update(input=os.path.relpath(Path(input_path).resolve(), scored.resolve().parent), fields=asdict(fields))
        texts = _texts_from_input(Path(input_path), fields, {str(r["id"]) for r in records})
    items, missing = [], 0
    for i, record in enumerate(records):
        rid = str(record["id"])
        if rid not in texts:
            missing += 1
            continue
        problem, text = texts[rid]
        items.append(_item(i, rid, _scores_of(record), problem, text))
    note = f"Showing the first {len(records)} of {total} records." if total > len(records) else ""
    if missing:
        note += f" {missing} records have no text in the samples file and are left out."
    table = Table("scored", "Scored solutions", items, total, columns=["id", "answer", "correct", "hard negative"], unit="solutions", note=note.strip())
    summary = {
        "n": len(items), "correct": sum(1 for i in items if i.cells["correct"]),
        "hard": sum(1 for i in items if i.cells["hard negative"]),
        "mean_wrongness": (sum(float(i.views[0].scores.get("wrongness") or 0.0) for i in items) / len(items)) if items else None,
    }
    return write_html(out, "scored.html.j2", title=f"Scored solutions: {scored.name}", source=scored.name, table=table,
                      summary=summary, kind_bars=counted([i.kind for i in items]),
                      weight_bars=histogram_bars([i.weight for i in items if i.weight is not None]), source_meta=source)

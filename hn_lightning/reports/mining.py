"""The HTML report of a mining run (``<out>/report.html``), from the files the run wrote.

Reads ``funnel.json`` (the funnel, what each rule removed, the arms), ``manifest.json`` (stage times),
``problems.jsonl`` (question, gold, reference), ``pairs/<arm>/shard-*.jsonl`` (the pairs) and, for the
samples those pairs hold, ``scored/shard-*.jsonl`` by id: a pair carries only the verifier's summary
of its rejected side (and none in the random arm), the scored record has the per-step scores and the
first error's span. On testbed problems, ``truth.json`` (:mod:`hn_lightning.mining.truth`, written by the
mining run) adds the ground-truth section and each pair's ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hn_lightning.errors import UserError
from hn_lightning.reports.items import (
    Item,
    Problem,
    Table,
    bucket_order,
    counted,
    histogram_bars,
    iter_records,
    position_bucket,
    read_json,
    read_problems,
    shard_files,
)
from hn_lightning.reports.render import write_html
from hn_lightning.reports.solutions import solution_view, weight_parts
from hn_lightning.reports.words import arm_overlap, overlap_sentence

__all__ = ["ARMS", "DEFAULT_MAX_PAIRS", "MiningSummary", "TruthView", "arm_overlap_in", "is_mining_run", "mining_summary",
           "truth_view", "write_mining_report"]

ARMS = {"hardneg": "hard negatives (verifier w_raw)", "random": "random-uniform (weight 1)",
        "shuffled": "shuffled weights (w_raw permuted between pairs)"}
"""The pair sets a run writes under ``pairs/``, in the order the page shows them."""

DEFAULT_MAX_PAIRS = 500
"""Pairs per arm in the page (each with both solutions, about 11 KB of HTML a pair): 500 per arm is a
16 MB page that Chromium opens in about 2 s."""

FUNNEL = (("candidates", "input"), ("after degenerate removal", "after_degenerate"),
          ("after trivially-correct removal", "after_trivially_correct"),
          ("after trivially-wrong removal", "after_trivially_wrong"), ("selected hard negatives", "hard_negatives"),
          ("paired (hard-negative arm)", "paired"))
"""``(label, funnel.json key)`` of each stage, as ``report.md`` names them."""

REMOVAL_STAGES = ("degenerate", "trivially_correct", "trivially_wrong", "selection")


TRUTH_GROUPS = {"candidates": "all samples", "hardneg": "hard-negative pairs", "random": "random-arm pairs"}
"""The groups of ``truth.json`` the page shows, as it names them."""


@dataclass
class TruthView:
    """``truth.json`` as tables: every row is ``(label, [cell, ...])``, one cell per column."""

    data: dict[str, Any]
    columns: list[str]
    categories: list[tuple[str, list[str]]]
    traps: list[tuple[str, list[str]]]
    agreement: list[tuple[str, list[str]]]
    offsets: list[tuple[str, list[tuple[str, float]]]]
    """``(pairs, [(offset bucket, samples)])`` per arm, for a bar chart."""


def _count(n: int, total: int) -> str:
    return f"{n} ({100.0 * n / total:.1f}%)" if total else str(n)


def truth_view(truth: dict[str, Any]) -> TruthView:
    """The tables of ``truth.json``'s content (the same numbers as report.md's section)."""
    g = truth.get("groups") or {}
    cols = [k for k in TRUTH_GROUPS if k in g]
    cats = [(k, [_count(g[c]["by_category"].get(k, 0), g[c]["n"]) for c in cols]) for k in ("correct", "structured", "arithmetic", "other")]
    kinds = sorted({t for c in cols for t in g[c]["by_trap"]}, key=lambda t: -g["candidates"]["by_trap"].get(t, 0))
    traps = [(t, [str(g[c]["by_trap"].get(t, 0)) for c in cols]) for t in kinds]
    agree, offsets = [], []
    for arm, a in (truth.get("agreement") or {}).items():
        name = TRUTH_GROUPS.get(arm, arm)
        rows = [(name, a["truth_line"]), *[(label, v) for label, v in [(f"{name}: structured, vs trap_line", a["trap_line"]),
                *[(f"{name}: {k}", v) for k, v in a["by_category"].items() if k != "correct"]] if v["n"]]]
        agree += [(label, [str(v["n"]), str(v["compared"]), _count(v["exact"], v["compared"]), _count(v["within_1"], v["compared"]),
                           str(v["no_verifier_error"]), str(v["no_truth_line"])]) for label, v in rows]
        offsets.append((name, [(k, float(n)) for k, n in a["truth_line"]["offsets"].items()]))
    return TruthView(truth, [TRUTH_GROUPS[c] for c in cols], cats, traps, agree, offsets)


def _truth_note(row: dict[str, Any]) -> str:
    verifier = ("the verifier found no wrong step" if row.get("verifier_step") is None else
                f"the verifier's first wrong step {row['verifier_step']} ({row.get('verifier_kind')}) is line {row.get('verifier_line')}")
    offset = row.get("offset")
    agrees = "" if offset is None else " (the same line)" if offset == 0 else f" ({offset:+d} lines from the ground truth)"
    return (f"Ground truth (testbed generator): {row.get('label')}; first wrong line {row.get('first_wrong_line') or '-'}, "
            f"trap line {row.get('trap_line') or '-'}, {row.get('lines')} annotated lines written; {verifier}{agrees}.")


@dataclass
class MiningSummary:
    """Everything the mining sections of a page show."""

    out: Path
    funnel: dict[str, Any]
    funnel_bars: list[tuple[str, float]]
    removals: list[dict[str, Any]]
    tables: list[Table]
    kind_bars: list[tuple[str, float]] = field(default_factory=list)
    position_bars: list[tuple[str, float]] = field(default_factory=list)
    weight_bars: list[tuple[str, float]] = field(default_factory=list)
    timing: list[tuple[str, float, str]] = field(default_factory=list)
    truth: TruthView | None = None
    """The ground truth of testbed problems (``truth.json``), ``None`` for other data."""

    @property
    def identities_hold(self) -> bool:
        return all((self.funnel.get("identities") or {}).values())


def is_mining_run(folder: Path) -> bool:
    """A folder the mining pipeline wrote (its manifest and a scored stage or the funnel)."""
    return (folder / "manifest.json").is_file() and ((folder / "funnel.json").is_file() or (folder / "scored").is_dir())


def _removals(funnel: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for stage in REMOVAL_STAGES:
        st = funnel.get(stage) or {}
        for rule, n in (st.get("removed_by") or {}).items():
            name = stage if rule == stage else f"{stage}/{rule}"
            rows.append({"rule": name, "removed": n, "input": st.get("input"), "alone": (st.get("fails_alone") or {}).get(rule)})
    return rows


def _pair_item(arm: str, index: int, pair: dict[str, Any], scored: dict[str, dict[str, Any]],
               problems: dict[str, Problem], truth: dict[str, dict[str, Any]] | None = None) -> Item:
    meta = pair.get("meta") or {}
    rejected_id, chosen_id = meta.get("rejected_id"), meta.get("chosen_id")
    rej = (scored.get(rejected_id) or {}).get("scores") or (pair.get("scores") or {}).get("rejected")
    cho = (scored.get(chosen_id) or {}).get("scores") if chosen_id else None
    pid = str(meta.get("problem_id") or "")
    prompt = pair["prompt"] if isinstance(pair["prompt"], str) else pair["prompt"][-1]["content"]
    problem = problems.get(pid) or Problem(pid, prompt, "")
    w = float(pair["w_raw"]) if pair.get("w_raw") is not None else None
    notes = []
    if arm == "random":
        notes.append("Random-uniform arm: every pair weighs 1; the verifier's w_raw of the rejected side is shown for reference.")
    elif arm == "shuffled" and "w_raw_from" in meta:
        notes.append(f"Shuffled arm: this pair trains with the w_raw of pair {meta['w_raw_from']}; its own is "
                     f"{meta.get('w_raw_own', float('nan')):.4g}.")
    cells = {"chosen": meta.get("chosen_source") or "-", "answer": (rej or {}).get("extracted_answer")}
    if truth is not None:
        row = truth.get(str(rejected_id))
        cells["ground truth"] = row["label"] if row else "-"
        if row:
            notes.append(_truth_note(row))
    fe = (rej or {}).get("first_error_step")
    views = [solution_view(pair["rejected"], rej, "rejected", str(rejected_id or "policy sample")),
             solution_view(pair["chosen"], cho, "chosen", str(chosen_id) if chosen_id else "reference solution")]
    return Item(key=f"{arm}-{index}", id=str(pair["id"]), problem=problem, kind=str((rej or {}).get("first_error_kind") or "none"),
                position=None if fe is None else fe + 1, n_steps=(rej or {}).get("n_pred_steps"), weight=w, views=views,
                weight_parts=weight_parts(rej, w if arm == "hardneg" else None), notes=notes, cells=cells)


def _read_arms(out: Path, max_pairs: int) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int], list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The first ``max_pairs`` pairs of each arm, each arm's count, the rejected-side scores of every
    hard-negative pair (the summary charts count them all, not only the pairs shown), and the ``id`` and
    ``meta`` of every pair of each arm (for :func:`~hn_lightning.reports.words.arm_overlap`)."""
    pairs, totals, hard_scores, sides = {}, {}, [], {}
    for arm in ARMS:
        folder = out / "pairs" / arm
        if not folder.is_dir():
            continue
        kept, n, sides[arm] = [], 0, []
        for rec in iter_records(shard_files(folder)):
            n += 1
            sides[arm].append({"id": rec.get("id"), "meta": rec.get("meta")})
            if len(kept) < max_pairs:
                kept.append(rec)
            if arm == "hardneg":
                hard_scores.append({**((rec.get("scores") or {}).get("rejected") or {}), "pair_w_raw": rec.get("w_raw")})
        pairs[arm], totals[arm] = kept, n
    return pairs, totals, hard_scores, sides


def arm_overlap_in(out: Path) -> dict[str, int] | None:
    """:func:`~hn_lightning.reports.words.arm_overlap` of the mining run in ``out`` (its ``pairs/hardneg`` and
    ``pairs/random``), or None when either arm is missing or empty."""
    arms = [list(iter_records(shard_files(out / "pairs" / a))) for a in ("hardneg", "random")]
    return arm_overlap(*arms) if all(arms) else None


def _scored_by_id(out: Path, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The scored records of ``ids`` (streamed: a run's scored stage can be large)."""
    found = {}
    for rec in iter_records(shard_files(out / "scored")):
        if rec.get("id") in ids:
            found[rec["id"]] = rec
    return found


def mining_summary(out: Path, max_pairs: int = DEFAULT_MAX_PAIRS) -> MiningSummary:
    """Read a mining run folder into what its report shows."""
    funnel = read_json(out / "funnel.json")
    funnel_bars = [(label, float(funnel[key])) for label, key in FUNNEL if key in funnel]
    pairs, totals, hard_scores, sides = _read_arms(out, max_pairs)
    wanted = {m.get(k) for arm in pairs.values() for p in arm for m in [p.get("meta") or {}] for k in ("rejected_id", "chosen_id")}
    scored = _scored_by_id(out, {i for i in wanted if i})
    problems = read_problems(out / "problems.jsonl")
    truth = read_json(out / "truth.json") or None
    rows = truth.get("samples", {}) if truth else None
    tables = []
    for arm, recs in pairs.items():
        items = [_pair_item(arm, i, p, scored, problems, rows) for i, p in enumerate(recs)]
        note = (f"Showing the first {len(items)} of {totals[arm]} pairs (python cli.py report {out} --max_pairs N shows more)."
                if totals[arm] > len(items) else "")
        if arm == "random" and sides.get("hardneg"):
            note = " ".join(t for t in (overlap_sentence(arm_overlap(sides["hardneg"], sides["random"])), note) if t)
        columns = ["chosen", "answer", *(["ground truth"] if rows is not None else [])]
        tables.append(Table(arm, ARMS[arm], items, totals[arm], columns=columns, note=note))
    summary = MiningSummary(out, funnel, funnel_bars, _removals(funnel), tables, truth=truth_view(truth) if truth else None)
    if hard_scores:
        summary.kind_bars = counted([str(s.get("first_error_kind") or "none") for s in hard_scores])
        positions = [None if s.get("first_error_step") is None else s["first_error_step"] + 1 for s in hard_scores]
        summary.position_bars = counted([position_bucket(p) for p in positions], order=bucket_order)
        summary.weight_bars = histogram_bars([float(s["pair_w_raw"]) for s in hard_scores if s.get("pair_w_raw") is not None])
    for name, st in (read_json(out / "manifest.json").get("stages") or {}).items():
        counts = ", ".join(f"{k}={v}" for k, v in (st.get("counts") or {}).items() if not isinstance(v, (dict, list)))
        summary.timing.append((name, float(st.get("seconds") or 0.0), counts))
    return summary


def write_mining_report(out: str | Path, max_pairs: int = DEFAULT_MAX_PAIRS) -> Path:
    """Write ``<out>/report.html`` of the mining run in ``out``; returns its path."""
    out = Path(out)
    if not (out / "funnel.json").is_file():
        raise UserError(f"{out}: no funnel.json yet (the report comes with the pair stage: python cli.py mine pair ...)")
    return write_html(out / "report.html", "mining.html.j2", title=f"Mining report: {out}", source=str(out),
                      mining=mining_summary(out, max_pairs))

"""Summarize a finished testbed experiment folder for ``benchmarks/RESULTS.md`` (section "Testbed").

Reads only what the experiment wrote (``cells.csv``, ``conditions*.csv``, ``comparisons*.csv``,
``design.json``, ``stages.csv``, ``mining/funnel.json``, ``mining/truth.json``, ``mining/pairs/``) and prints
Markdown: accuracy per condition with its interval and per-seed values, the training diagnostics averaged
over seeds (held-out reward accuracy and drift, sampled KL, weight spread, seconds per step), the paired
comparisons between trained conditions and against ``sft``, the design's minimum detectable effect,
extra evaluations (``ood``), stage times and the mining funnel with its ground truth::

    python benchmarks/testbed_summary.py runs/testbed > /tmp/testbed.md
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hn_lightning.reports.mining import arm_overlap_in  # noqa: E402
from hn_lightning.reports.words import overlap_sentence  # noqa: E402

BASELINES = ("sft", "base", "policy")


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def num(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def pct(v: Any, digits: int = 1) -> str:
    x = num(v)
    return "" if x is None else f"{100 * x:.{digits}f}"


def mean_of(rows: list[dict[str, str]], key: str) -> float | None:
    vals = [x for x in (num(r.get(key)) for r in rows) if x is not None]
    return statistics.fmean(vals) if vals else None


def fmt(x: float | None, spec: str) -> str:
    return "" if x is None else format(x, spec)


def accuracy_table(root: Path, suffix: str = "") -> list[str]:
    conditions = read_csv(root / f"conditions{suffix}.csv")
    cells = read_csv(root / f"cells{suffix}.csv")
    main = {r["cell"]: r for r in read_csv(root / "cells.csv")}
    out = ["| condition | seeds | n | accuracy % | 95% CI | per seed % | weight std | val reward acc | "
           "val drift chosen / rejected (per token) | KL sampled | s/step |",
           "| --- | ---: | ---: | ---: | --- | --- | ---: | ---: | --- | ---: | ---: |"]
    for c in conditions:
        name = c["condition"]
        mine = [r for r in cells if (main.get(r["cell"], {}).get("condition") or r["cell"]) == name]
        diag = [main[r["cell"]] for r in mine if r["cell"] in main and name not in BASELINES]
        per_seed = " / ".join(pct(r["accuracy"]) for r in mine) if name not in BASELINES else ""
        drift = ""
        if mean_of(diag, "val_chosen_drift_per_token") is not None:
            drift = f"{mean_of(diag, 'val_chosen_drift_per_token'):+.4f} / {mean_of(diag, 'val_rejected_drift_per_token'):+.4f}"
        out.append(f"| {name} | {c['seeds']} | {c['n']} | {pct(c['accuracy'])} | [{pct(c['ci_low'])}, {pct(c['ci_high'])}] | "
                   f"{per_seed} | {fmt(mean_of(diag, 'weight_std'), '.3f')} | {fmt(mean_of(diag, 'val_reward_accuracy'), '.3f')} | "
                   f"{drift} | {fmt(mean_of(diag, 'kl_sampled'), '.4f')} | {fmt(mean_of(diag, 'seconds_per_step'), '.1f')} |")
    return out


def comparison_table(root: Path, suffix: str = "", with_base: bool = False) -> list[str]:
    out = ["| a | b | n | difference (points) | 95% bootstrap CI | only a / only b | McNemar p | discordance | MDE (points) |",
           "| --- | --- | ---: | ---: | --- | --- | ---: | ---: | ---: |"]
    for r in read_csv(root / f"comparisons{suffix}.csv"):
        if not with_base and "base" in (r["a"], r["b"]):
            continue
        out.append(f"| {r['a']} | {r['b']} | {r['n']} | {100 * float(r['difference']):+.1f} | "
                   f"[{100 * float(r['ci_low']):+.1f}, {100 * float(r['ci_high']):+.1f}] | {r['a_only']} / {r['b_only']} | "
                   f"{float(r['p_value']):.3g} | {float(r['discordance']):.3f} | {pct(r['mde'])} |")
    return out


def design_lines(root: Path) -> list[str]:
    d = json.loads((root / "design.json").read_text(encoding="utf-8"))
    line = (f"Design: {d['problems']} problems x {d['seeds']} seeds = {d['paired_outcomes']} paired outcomes per comparison, "
            f"{d['cells']} trained cells; planned MDE {pct(d.get('planned_mde'))} points at assumed discordance "
            f"{d.get('assumed_discordance')} (80% power, alpha {d['alpha']}).")
    m = d.get("measured")
    if m:
        line += (f" Measured: discordance {m['discordance']:.3f} pooled over {m['comparisons']} comparisons between trained "
                 f"conditions ({m['discordant']} of {m['outcomes']}), MDE {pct(m['mde'])} points.")
    return [line]


def stage_lines(root: Path) -> list[str]:
    rows = read_csv(root / "stages.csv")
    if not rows:
        return []
    groups: dict[str, list[float]] = {}
    for r in rows:
        key = "cells" if r["stage"].startswith("cell ") else r["stage"]
        groups.setdefault(key, []).append(float(r["seconds"] or 0))
    cells = [r for r in rows if r["stage"].startswith("cell ")]
    out = ["| stage | minutes |", "| --- | ---: |"]
    out += [f"| {k}{f' ({len(v)})' if k == 'cells' else ''} | {sum(v) / 60:.1f} |" for k, v in groups.items()]
    if cells:
        train = [float(r["train_seconds"]) for r in cells if r.get("train_seconds")]
        ev = [float(r["eval_seconds"]) for r in cells if r.get("eval_seconds")]
        if train and ev:
            out += ["", f"Per cell: {statistics.fmean(train) / 60:.1f} min training (incl. loading and export), "
                    f"{statistics.fmean(ev) / 60:.1f} min evaluation (all tasks), the rest KL sampling and held-out pairs."]
    return out


def mining_lines(root: Path) -> list[str]:
    mining = root / "mining"
    funnel_path = mining / "funnel.json"
    if not funnel_path.is_file():
        return []
    f = json.loads(funnel_path.read_text(encoding="utf-8"))
    sel = f.get("selection", {})
    removed = {k: v for k, v in (sel.get("removed_by") or {}).items() if v}
    out = [f"Mining: {f['input']} samples, {f['input_correct']} correct; wrong and not degenerate "
           f"{f.get('after_trivially_wrong')}; hard negatives {f.get('hard_negatives')} (selection removed "
           f"{sel.get('removed', 0)}: {removed or 'nothing'}); pairs per arm {f.get('arms')}."]
    overlap = arm_overlap_in(mining)
    if overlap is not None:
        out += ["", overlap_sentence(overlap)]
    truth_path = mining / "truth.json"
    if truth_path.is_file():
        t = json.loads(truth_path.read_text(encoding="utf-8"))
        out += ["", "| samples | n | correct | structured (a trap's answer) | arithmetic | other |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for name, g in t["groups"].items():
            c = g["by_category"]
            out.append(f"| {name} | {g['n']} | {c.get('correct', 0)} | {c.get('structured', 0)} | {c.get('arithmetic', 0)} | {c.get('other', 0)} |")
        hard = t["agreement"].get("hardneg", {})
        for key, what in (("truth_line", "the generator's first wrong line"), ("trap_line", "the trap's line (structured errors)")):
            a = hard.get(key)
            if a and a.get("compared"):
                out += ["", f"Verifier's first error vs {what}, hard negatives: {a['exact']} of {a['compared']} exact "
                        f"({100 * a['exact_rate']:.0f}%), {100 * a['within_1_rate']:.0f}% within one line; offsets {a['offsets']}."]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", type=Path, help="the experiment folder (its `out`)")
    args = ap.parse_args(argv)
    root = args.root
    if not (root / "conditions.csv").is_file():
        ap.error(f"{root}: no conditions.csv (not a finished experiment with an evaluation)")
    lines = [f"Run `{root}`.", "", *design_lines(root), "", "Accuracy on the main task, pooled over seeds "
             "(diagnostics: means over the condition's seeds):", "", *accuracy_table(root), "",
             "Paired comparisons (same problems, seeds pooled):", "", *comparison_table(root)]
    for extra in sorted(root.glob("conditions_*.csv")):
        suffix = extra.stem[len("conditions"):]
        rows = read_csv(extra)
        lines += ["", f"Extra evaluation `{suffix[1:]}`: " + ", ".join(
            f"{r['condition']} {pct(r['accuracy'])}% ({r['correct']}/{r['n']})" for r in rows) + "."]
        if any(num(r["accuracy"]) for r in rows):
            lines += ["", *comparison_table(root, suffix)]
        else:
            lines += ["", "Every row scored 0 here: the task is at the floor for these models and tells nothing about the conditions."]
    lines += ["", "Stage times (wall):", "", *stage_lines(root), "", *mining_lines(root)]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

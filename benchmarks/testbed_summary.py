"""Summarize a finished testbed experiment folder for ``benchmarks/RESULTS.md`` (section "Testbed").

Reads only what the experiment wrote (``cells.csv``, ``conditions*.csv``, ``comparisons*.csv``,
``design.json``, ``stages.csv``, ``mining/funnel.json``, ``mining/truth.json``, ``mining/pairs/``) and prints
Markdown: accuracy per condition with its interval and per-seed values, the training diagnostics averaged
over seeds (held-out reward accuracy and drift, sampled KL, weight spread, seconds per step), the paired
comparisons between trained conditions and against ``sft``, the design's minimum detectable effect,
extra evaluations (``ood``), stage times and the mining funnel with its ground truth::

    python benchmarks/testbed_summary.py runs/testbed > /tmp/testbed.md
    python benchmarks/testbed_summary.py runs/testbed_losses --vs sft=runs/testbed/baseline

``--vs NAME=FOLDER`` pairs every condition with an evaluation another run made on the same problems (a
baseline row's or a cell's folder, e.g. the testbed run's ``sft`` row for the losses run, which has none of
its own): McNemar and the paired bootstrap as the runner computes them, the other row's outcome repeated for
each seed. With many conditions, the comparisons between them are cut to the pairs that differ in one part
of the name (the weighting within a loss, the loss within a weighting; the rest are in ``comparisons.csv``),
and a line counts how many of all of them pass ``alpha`` alone and after Holm's correction for the number
of comparisons.
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

from hn_lightning.experiments.stats import compare_paired, pool_seeds  # noqa: E402
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


COMPARISON_HEADER = ["| a | b | n | difference (points) | 95% bootstrap CI | only a / only b | McNemar p | discordance | MDE (points) |",
                     "| --- | --- | ---: | ---: | --- | --- | ---: | ---: | ---: |"]
MAX_ROWS = 15
"""More comparisons between trained conditions than this: only those that differ in one part of the name."""


def comparison_row(r: dict[str, Any]) -> str:
    return (f"| {r['a']} | {r['b']} | {r['n']} | {100 * float(r['difference']):+.1f} | "
            f"[{100 * float(r['ci_low']):+.1f}, {100 * float(r['ci_high']):+.1f}] | {r['a_only']} / {r['b_only']} | "
            f"{float(r['p_value']):.3g} | {float(r['discordance']):.3f} | {pct(r['mde'])} |")


def one_factor(a: str, b: str) -> bool:
    """Condition names (``arm-loss-weighting``) that differ in exactly one of their parts."""
    pa, pb = a.split("-"), b.split("-")
    return len(pa) == len(pb) and sum(x != y for x, y in zip(pa, pb)) == 1


def holm(p_values: list[float], alpha: float) -> int:
    """How many of the hypotheses Holm's step-down procedure rejects at family-wise level ``alpha``."""
    for i, p in enumerate(sorted(p_values)):
        if p >= alpha / (len(p_values) - i):
            return i
    return len(p_values)


def comparison_table(root: Path, suffix: str = "", with_base: bool = False, alpha: float = 0.05) -> list[str]:
    rows = [r for r in read_csv(root / f"comparisons{suffix}.csv") if with_base or "base" not in (r["a"], r["b"])]
    trained = [r for r in rows if not {r["a"], r["b"]} & set(BASELINES)]
    shown, notes = rows, []
    if len(trained) > MAX_ROWS:
        left_out = [r for r in trained if not one_factor(r["a"], r["b"])]
        shown = [r for r in rows if r not in left_out]
        notes.append(f"{len(left_out)} comparisons between conditions that differ in more than one part of the name are "
                     f"left out (`{root.name}/comparisons{suffix}.csv` has them).")
    if trained:
        ps = [float(r["p_value"]) for r in trained]
        diffs = sorted(trained, key=lambda r: -abs(float(r["difference"])))
        notes.append(f"Between trained conditions: {len(trained)} comparisons, {sum(p < alpha for p in ps)} with p < {alpha} "
                     f"alone, {holm(ps, alpha)} after Holm's correction for {len(trained)} tests; the largest difference "
                     f"{100 * abs(float(diffs[0]['difference'])):.1f} points ({diffs[0]['a']} vs {diffs[0]['b']}, "
                     f"p {float(diffs[0]['p_value']):.3g}).")
    return [*COMPARISON_HEADER, *(comparison_row(r) for r in shown), *(["", *notes] if notes else [])]


def outcomes(folder: Path) -> dict[str, bool]:
    """``{problem id: correct}`` of the one evaluation task under ``folder/eval``."""
    files = sorted((folder / "eval").glob("*/samples.jsonl"))
    if len(files) != 1:
        raise SystemExit(f"{folder}/eval: expected one task's samples.jsonl, found {len(files)}")
    with files[0].open(encoding="utf-8") as f:
        return {r["id"]: bool(r["correct"]) for r in map(json.loads, f)}


def vs_table(root: Path, name: str, folder: Path, alpha: float = 0.05, n_boot: int = 10_000) -> list[str]:
    """Every condition of ``root`` against the evaluation in ``folder`` (another run's, same problems)."""
    other = outcomes(folder)
    by_condition: dict[str, dict[int, dict[str, bool]]] = {}
    for cell in read_csv(root / "cells.csv"):
        if cell["condition"] not in BASELINES:
            by_condition.setdefault(cell["condition"], {})[int(cell["seed"])] = outcomes(root / "cells" / cell["cell"])
    out = list(COMPARISON_HEADER)
    for condition, per_seed in by_condition.items():
        ids, mat = pool_seeds(per_seed)
        if set(ids) != set(other):
            raise SystemExit(f"{folder} evaluated other problems than {root}/cells ({len(other)} vs {len(ids)} ids)")
        base = [[other[i]] * mat.shape[1] for i in ids]
        c = compare_paired(condition, mat, name, base, n_boot=n_boot, seed=0, alpha=alpha).as_row()
        out.append(comparison_row(c))
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
    ap.add_argument("--vs", action="append", default=[], metavar="NAME=FOLDER",
                    help="pair every condition with another run's evaluation folder on the same problems")
    args = ap.parse_args(argv)
    root = args.root
    if not (root / "conditions.csv").is_file():
        ap.error(f"{root}: no conditions.csv (not a finished experiment with an evaluation)")
    lines = [f"Run `{root}`.", "", *design_lines(root), "", "Accuracy on the main task, pooled over seeds "
             "(diagnostics: means over the condition's seeds):", "", *accuracy_table(root), "",
             "Paired comparisons (same problems, seeds pooled):", "", *comparison_table(root)]
    for spec in args.vs:
        name, _, folder = spec.partition("=")
        if not folder:
            ap.error(f"--vs {spec!r}: give NAME=FOLDER")
        lines += ["", f"Against `{name}` ({folder}, the same problems; its outcome repeated for each seed):", "",
                  *vs_table(root, name, Path(folder))]
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

"""An experiment's tables, plots and ``report.md`` from its finished cells (``cell.json`` contents).

Tables (CSV, one per table): ``cells.csv`` (one row per cell: training summary, step time, memory, drift,
sampled KL, the spread of the pair weights it trained with, accuracy with its Wilson interval),
``funnel.csv`` (when the experiment mined its pairs), ``conditions.csv`` (cells pooled over seeds),
``comparisons.csv`` (every pair of conditions on the same problems and seeds: exact McNemar p, paired
bootstrap interval, discordance and minimum detectable effect), ``stages.csv`` (wall time per stage, from
``stages.json``, with each cell's train and eval seconds); ``design.json`` (:mod:`~hn_lightning.experiments.design`).
Plots are drawn from those CSVs and from each cell's ``metrics.csv`` / ``pair_log.csv``.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path
from typing import Any

from hn_lightning.experiments import plots
from hn_lightning.experiments.config import ExperimentConfig
from hn_lightning.experiments.design import design, write_design
from hn_lightning.experiments.layout import CellDir, Layout
from hn_lightning.experiments.stats import accuracy_with_interval, compare_paired, pool_seeds, weight_spread
from hn_lightning.io.atomic import atomic_write_text
from hn_lightning.reports import report_after_run
from hn_lightning.reports.mining import arm_overlap_in
from hn_lightning.reports.words import (
    BASELINE_ROWS,
    comparison_sentence,
    design_sentences,
    footing_checks,
    overlap_sentence,
)

WEIGHT_COLUMNS = ("weight_mean", "weight_std", "weight_min", "weight_max", "weight_clipped")
"""The spread of the normalized per-pair weights a cell trained with (:func:`cell_weights`)."""

CELL_COLUMNS = ("cell", "condition", "arm", "loss", "weighting", "lambda", "seed", "policy", "pairs_available",
                "pairs_per_step", "steps", "train_seconds", "seconds_per_step", "seconds_per_step_mean", "peak_memory_gib", "train_loss", "reward_accuracy", "reward_margin",
                "chosen_drift_per_token", "rejected_drift_per_token", "val_reward_accuracy", "val_reward_margin",
                "val_chosen_drift_per_token", "val_rejected_drift_per_token", "kl_sampled", "kl_tokens", *WEIGHT_COLUMNS,
                "n", "correct", "accuracy", "ci_low", "ci_high")
COMPARISON_COLUMNS = ("a", "b", "n", "seeds", "accuracy_a", "accuracy_b", "difference", "a_only", "b_only", "p_value",
                      "ci_low", "ci_high", "distinguishable", "discordance", "mde")
STAGE_COLUMNS = ("stage", "seconds", "train_seconds", "eval_seconds")


def write_csv(path: Path, columns, rows: list[dict[str, Any]]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
    atomic_write_text(path, buffer.getvalue())
    return path


def cell_row(result: dict[str, Any]) -> dict[str, Any]:
    m = result.get("metrics", {})
    steps = m.get("steps")
    seconds = result.get("train_seconds")
    row = {
        "cell": result["cell"], "condition": result["condition"], "arm": result["arm"], "loss": result["loss"],
        "weighting": result["weighting"], "lambda": result["lambda"], "seed": result["seed"],
        "policy": result.get("policy"), "pairs_available": result.get("pairs_available"),
        "pairs_per_step": result.get("pairs_per_step"),
        "steps": int(steps) if steps else None, "train_seconds": round(seconds, 2) if seconds else None,
        "seconds_per_step": m.get("time/step_seconds_median"), "seconds_per_step_mean": m.get("time/step_seconds_mean"),
        "peak_memory_gib": m.get("memory/peak_gib"), "train_loss": m.get("train/loss"),
        "reward_accuracy": m.get("train/rewards/accuracy"), "reward_margin": m.get("train/rewards/margins"),
        "chosen_drift_per_token": m.get("train/logps/chosen_drift_per_token"),
        "rejected_drift_per_token": m.get("train/logps/rejected_drift_per_token"),
        "val_reward_accuracy": m.get("val/rewards/accuracy"), "val_reward_margin": m.get("val/rewards/margins"),
        "val_chosen_drift_per_token": m.get("val/logps/chosen_drift_per_token"),
        "val_rejected_drift_per_token": m.get("val/logps/rejected_drift_per_token"),
        "kl_sampled": (result.get("kl") or {}).get("kl"), "kl_tokens": (result.get("kl") or {}).get("tokens"),
    }
    if "outcomes" in result:
        row.update({k: v for k, v in accuracy_with_interval(list(result["outcomes"].values())).items()})
    return row


def cell_weights(cell: CellDir) -> dict[str, float | None]:
    """:data:`WEIGHT_COLUMNS` of one cell from its ``pair_log.csv`` (every pair of every optimizer step, as
    weighted in the loss); the clip range is the cell's ``data.init_args`` (``dataset_weight_min/max``, else
    the data module's defaults), and no clipped fraction when the weights were rescaled after clipping
    (``renormalize_after_clip``) or are precomputed. ``{}`` without a pair log."""
    if not cell.pair_log.is_file():
        return {}
    weights = plots.column(cell.pair_log, plots.read_rows(cell.pair_log), "weight")
    bounds: tuple[float | None, float | None] = (None, None)
    if cell.run_config.is_file():
        import inspect

        import yaml

        from hn_lightning.data.preference_datamodule import PreferenceDataModule

        defaults = {k: p.default for k, p in inspect.signature(PreferenceDataModule.__init__).parameters.items()}
        data = {**defaults, **(((yaml.safe_load(cell.run_config.read_text(encoding="utf-8")) or {}).get("data") or {}).get("init_args") or {})}
        if data["weighting"] in ("normalized", "none") and not data["renormalize_after_clip"]:
            bounds = (float(data["dataset_weight_min"]), float(data["dataset_weight_max"]))
    return weight_spread(weights, *bounds)


def stage_rows(stages: dict[str, float], results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """:data:`STAGE_COLUMNS` rows: every stage of ``stages.json`` in its order (``seconds``: the wall time of
    the invocation that wrote it, where a stage finished earlier takes about 0), each cell's (``cell <id>``)
    and the baseline's (``eval_<name>``) with the train and eval seconds recorded when they ran; a cell
    missing from ``stages.json`` gets a row of its own; ``total`` last."""
    recorded = {(f"eval_{r['cell']}" if r.get("baseline") else f"cell {r['cell']}"): r for r in results}
    names = [k for k in stages if k != "total"] + [k for k in recorded if k not in stages]
    rows = []
    for name in names + (["total"] if "total" in stages else []):
        r = recorded.get(name, {})
        rows.append({"stage": name, "seconds": stages.get(name), "train_seconds": r.get("train_seconds"),
                     "eval_seconds": r.get("eval_seconds")})
    return [{k: round(v, 1) if isinstance(v, float) else v for k, v in row.items()} for row in rows]


def pooled_conditions(results: list[dict[str, Any]]) -> dict[str, dict[int, dict[str, int]]]:
    """``{condition: {seed: {problem_id: 0/1}}}`` of the evaluated cells; the baseline (the starting policy,
    no training seed) is ``{None: outcomes}``."""
    out: dict[str, dict[int | None, dict[str, int]]] = {}
    for r in results:
        if "outcomes" in r:
            out.setdefault(r["condition"], {})[None if r.get("baseline") else int(r["seed"])] = r["outcomes"]
    return out


def comparisons(results: list[dict[str, Any]], cfg: ExperimentConfig) -> tuple[list[dict], list[dict], list[str]]:
    """``(condition rows, comparison rows, sentences)``: every pair of conditions over their common seeds; the
    baseline (seed ``None``) is paired with each seed of the other condition (its outcomes repeated: the
    starting policy is the same for every seed)."""
    pooled = pooled_conditions(results)
    cond_rows, comp_rows, sentences = [], [], []
    for name, per_seed in pooled.items():
        _, matrix = pool_seeds(per_seed)
        cond_rows.append({"condition": name, "seeds": len(per_seed), **accuracy_with_interval(matrix)})
    for a, b in itertools.combinations(pooled, 2):
        pa, pb = pooled[a], pooled[b]
        if None in pa and None not in pb:
            pa = {s: pa[None] for s in pb}
        if None in pb and None not in pa:
            pb = {s: pb[None] for s in pa}
        seeds = sorted(set(pa) & set(pb), key=lambda s: -1 if s is None else s)
        if not seeds:
            continue
        ids_a, A = pool_seeds({s: pa[s] for s in seeds})
        ids_b, B = pool_seeds({s: pb[s] for s in seeds})
        if ids_a != ids_b:
            raise ValueError(f"{a} and {b} were evaluated on different problems; they cannot be paired")
        c = compare_paired(a, A, b, B, n_boot=cfg.bootstrap, seed=cfg.bootstrap_seed, alpha=cfg.alpha)
        comp_rows.append(c.as_row())
        sentences.append(comparison_sentence(c.as_row()))
    return cond_rows, comp_rows, sentences


def _table(rows: list[dict[str, Any]], columns) -> list[str]:
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return "" if v is None else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return lines


def footing_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The check that every cell trained on an equal footing (:func:`~hn_lightning.reports.words.footing_checks`):
    same policy, pairs, pairs per step, steps, evaluation problems (the comparisons check the problems themselves)."""
    return ["## Same footing", "", *[f"- {what}: {detail} (checked)" if same else f"- **{what} differ between cells**: {detail}"
                                     for what, same, detail in footing_checks(rows)]]


def accuracy_section(cfg: ExperimentConfig, results: list[dict[str, Any]], root: Path, suffix: str, task: str,
                     computed: tuple[list[dict], list[dict], list[str]] | None = None) -> list[str]:
    """Accuracy pooled over seeds and the paired comparisons of one evaluation task: writes
    ``conditions<suffix>.csv``, ``comparisons<suffix>.csv`` and ``plots/{accuracy,forest}<suffix>.png``
    (the per-cell accuracies come from ``cells<suffix>.csv``); returns the report lines. ``computed``:
    :func:`comparisons` of ``results`` when the caller has them."""
    layout = Layout(root)
    plot_dir = layout.plots
    cond_rows, comp_rows, sentences = computed or comparisons(results, cfg)
    write_csv(layout.table(f"conditions{suffix}"), ("condition", "seeds", "n", "correct", "accuracy", "ci_low", "ci_high"), cond_rows)
    plots.plot_accuracy(layout.table(f"cells{suffix}"), plot_dir / f"accuracy{suffix}.png")
    lines = ["", f"## Accuracy pooled over seeds ({task})", ""]
    lines += _table(cond_rows, ("condition", "seeds", "n", "correct", "accuracy", "ci_low", "ci_high"))
    lines += ["", f"![accuracy](plots/accuracy{suffix}.png)"]
    if comp_rows:
        columns = COMPARISON_COLUMNS
        write_csv(layout.table(f"comparisons{suffix}"), columns, comp_rows)
        plots.plot_forest(layout.table(f"comparisons{suffix}"), plot_dir / f"forest{suffix}.png")
        lines += ["", f"## Paired comparisons ({task}; same problems, same seeds)", "",
                  f"Exact McNemar test on the discordant problems; {100 * (1 - cfg.alpha):g}% paired bootstrap "
                  f"interval of the accuracy difference ({cfg.bootstrap} replicates resampling problems, seed "
                  f"{cfg.bootstrap_seed}).", ""]
        lines += _table(comp_rows, columns)
        lines += ["", *[f"- {s}" for s in sentences], "", f"![forest](plots/forest{suffix}.png)"]
    return lines


def design_section(design_json: Path, comp_rows: list[dict[str, Any]]) -> list[str]:
    """The Design section (``design.json`` in words, :func:`~hn_lightning.reports.words.design_sentences`) and
    each comparison's own discordance and minimum detectable effect."""
    lines = ["", "## Design", "", *[f"- {s}" for s in design_sentences(json.loads(design_json.read_text(encoding="utf-8")))]]
    if comp_rows:
        lines += ["", *_table(comp_rows, ("a", "b", "n", "discordance", "mde", "difference"))]
    return lines


def stages_section(root: Path, results: list[dict[str, Any]]) -> list[str]:
    """``stages.csv`` (:func:`stage_rows` of ``stages.json``, which ``--report_only`` leaves as it was) and
    its table; nothing without stage times."""
    layout = Layout(root)
    stages = json.loads(layout.stages.read_text(encoding="utf-8")) if layout.stages.is_file() else {}
    rows = stage_rows(stages, results)
    if not any(r["seconds"] is not None or r["train_seconds"] is not None for r in rows):
        return []
    write_csv(layout.table("stages"), STAGE_COLUMNS, rows)
    return ["", "## Stage times", "", *_table(rows, STAGE_COLUMNS), "",
            "`seconds`: wall time of the run that wrote `stages.json` (a stage finished by an earlier run takes about "
            "0 there); `train_seconds` / `eval_seconds`: as recorded when the cell or baseline ran."]


def write_report(cfg: ExperimentConfig, results: list[dict[str, Any]], root: Path) -> Path:
    """Write the CSVs, the plots and ``report.md`` under ``root``; returns the report path."""
    layout = Layout(root)
    plot_dir = layout.plots
    rows = [{**cell_row(r), **({} if r.get("baseline") else cell_weights(layout.cell(r["cell"])))} for r in results]
    write_csv(layout.table("cells"), CELL_COLUMNS, rows)
    lines = ["# Experiment report", "", f"{len(results)} cells from `{cfg.policy or cfg.base_config}`, "
             f"{cfg.max_steps} optimizer steps each. Tables: `cells.csv`, `conditions.csv`, `comparisons.csv`, "
             "`stages.csv`; `design.json`; plots in `plots/`."]
    evaluated = [r for r in results if "outcomes" in r]
    computed = comparisons(results, cfg) if evaluated else None
    if computed is not None:
        baselines = [r["condition"] for r in results if r.get("baseline")]
        lines += design_section(write_design(root, design(cfg, len(evaluated[0]["outcomes"]), computed[1], baselines)), computed[1])
    lines += ["", "## Cells", ""]
    columns = ["cell", "steps", "seconds_per_step", "peak_memory_gib", "train_loss", "reward_accuracy", "reward_margin"]
    split = ("mining/split/val.jsonl (val_split of the mined problems)" if cfg.mine is not None
             else "split/val.jsonl (val_split of the arms' pair files)")
    heldout = ([split] if cfg.val_split else []) + list(cfg.val_files or [])
    if heldout:
        columns += ["val_reward_accuracy", "val_reward_margin", "val_chosen_drift_per_token", "val_rejected_drift_per_token"]
    if any(r.get("kl_sampled") is not None for r in rows):
        columns += ["kl_sampled"]
    weighted = any(r.get("weight_std") is not None for r in rows)
    if weighted:
        columns += [c for c in WEIGHT_COLUMNS if any(r.get(c) is not None for r in rows)]
    lines += _table(rows, (*columns, "accuracy", "ci_low", "ci_high"))
    lines += ["", "`seconds_per_step`: median over the optimizer steps of the time spent in the training batches "
              "(not model loading, checkpoints or export); `peak_memory_gib`: CUDA peak allocated, or peak RSS on CPU."]
    if heldout:
        lines += [f"`val_*`: the same held-out pairs for every cell ({', '.join(heldout)}), after the last step; "
                  "`*_drift_per_token`: mean per-token log-prob change from the reference of the chosen / rejected completions."]
    if any(r.get("kl_sampled") is not None for r in rows):
        lines += ["`kl_sampled`: KL(policy || reference) estimated on completions sampled from the trained policy "
                  "(mean over sampled tokens of log p_policy - log p_ref; seeded)."]
    if weighted:
        lines += ["`weight_*`: the normalized per-pair weights each cell trained with (`pair_log.csv`: every pair of "
                  "every step): mean, standard deviation, min, max and the fraction clipped at the bounds "
                  "(`dataset_weight_min/max`); uniform cells have every weight 1."]
    for name in [r["cell"] for r in results if r.get("baseline")]:
        lines += [f"`{name}`: {BASELINE_ROWS[name]}, evaluated on the same problems; the comparisons pair it with "
                  "every seed of every condition."]
    lines += ["", *footing_lines([cell_row(r) for r in results if not r.get("baseline")])]
    sft_metrics = layout.sft.metrics
    if sft_metrics.is_file():
        plots.plot_training_curves(sft_metrics, plot_dir / "curves" / "sft.png", keys=("train/loss", "val/loss"), title="SFT")
        lines += ["", "## SFT", "", "The starting policy was fine-tuned first (`sft/run_config.yaml`, `sft/metrics.csv`).",
                  "", "![sft](plots/curves/sft.png)"]
    if layout.funnel.is_file():
        write_csv(layout.table("funnel"), ("stage", "samples", "fraction"), plots.funnel_rows(json.loads(layout.funnel.read_text())))
        plots.plot_funnel(layout.table("funnel"), plot_dir / "funnel.png")
        lines += ["", "## Mining", "", "Pairs mined once with the starting policy into `mining/` (its `report.md`); "
                  "every mined arm trains on them.", "", "![funnel](plots/funnel.png)"]
        overlap = arm_overlap_in(layout.mining)
        if overlap is not None:
            lines += ["", overlap_sentence(overlap)]
        truth = layout.mining / "truth.json"  # testbed problems: the generator's ground truth of every sample
        if truth.is_file():
            from hn_lightning.mining.truth import truth_section

            lines += ["", *[("#" + s if s.startswith("## ") else s) for s in truth_section(json.loads(truth.read_text()), max_rows=0)]]
    for r in results:
        cell = layout.cell(r["cell"])
        if cell.metrics.is_file():
            plots.plot_training_curves(cell.metrics, plot_dir / "curves" / f"{r['cell']}.png", title=r["cell"])
        if cell.pair_log.is_file():
            plots.plot_weight_histogram(cell.pair_log, plot_dir / "weights" / f"{r['cell']}.png", title=f"weights: {r['cell']}")
    lines += ["", "Training curves: `plots/curves/<cell>.png`; weight histograms: `plots/weights/<cell>.png`."]
    if computed is not None:
        lines += accuracy_section(cfg, results, root, "", cfg.eval.task if cfg.eval else "", computed)
    for name in sorted({n for r in results for n in r.get("extra_evals", {})}):
        extra = [{**r, **r["extra_evals"][name]} for r in results if name in r.get("extra_evals", {})]
        write_csv(layout.table(f"cells_{name}"), ("cell", "n", "correct", "accuracy", "ci_low", "ci_high"),
                  [{"cell": r["cell"], **accuracy_with_interval(list(r["outcomes"].values()))} for r in extra])
        lines += accuracy_section(cfg, extra, root, f"_{name}", name)
    lines += stages_section(root, results)
    atomic_write_text(layout.report, "\n".join(lines) + "\n")
    report_after_run(root)
    return layout.report


def rounds_section(cfg: ExperimentConfig, per_round: list[list[dict[str, Any]]], root: Path) -> Path:
    """``rounds.csv`` (accuracy of every condition per round, pooled over seeds) and a "Rounds" section
    appended to ``report.md`` (round 0's report; rounds k >= 1 have their own under ``rounds/round<k>/``)."""
    columns = ("round", "policy", "condition", "seeds", "n", "correct", "accuracy", "ci_low", "ci_high")
    rows = []
    for k, results in enumerate(per_round):
        policy = results[0].get("policy") if results else None
        for name, per_seed in pooled_conditions(results).items():
            _, matrix = pool_seeds(per_seed)
            rows.append({"round": k, "policy": policy, "condition": name, "seeds": len(per_seed), **accuracy_with_interval(matrix)})
    layout = Layout(root)
    write_csv(layout.table("rounds"), columns, rows)
    lines = ["", "## Rounds", "", f"Round k+1 starts from round k's `{cfg.rounds.follow}` (seed {cfg.rounds.seed}) policy: "
             "it re-samples and re-mines, and is every cell's starting policy and reference. Reports of rounds "
             "k >= 1: `rounds/round<k>/report.md`. Table: `rounds.csv`.", ""]
    lines += _table(rows, ("round", "condition", "seeds", "n", "accuracy", "ci_low", "ci_high"))
    path = layout.report
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    text = text.split("\n## Rounds\n")[0].rstrip("\n") + "\n"
    atomic_write_text(path, text + "\n".join(lines) + "\n")
    report_after_run(root)
    return path


def final_summary(root: Path, headline: str, stages: dict[str, float]) -> str:
    """What the run ends with: the accuracy table (``conditions.csv``), the paired comparisons in words,
    the wall time of every stage run now, and where the report, tables and plots are."""
    layout = Layout(root)
    lines = [""]
    conditions = layout.table("conditions")
    if conditions.is_file():
        lines += ["| condition | seeds | correct / n | accuracy | 95% interval |", "| --- | ---: | ---: | ---: | --- |"]
        for r in csv.DictReader(open(conditions, encoding="utf-8")):
            lines.append(f"| {r['condition']} | {r['seeds']} | {r['correct']}/{r['n']} | {100 * float(r['accuracy']):.1f}% "
                         f"| {100 * float(r['ci_low']):.1f}-{100 * float(r['ci_high']):.1f}% |")
        compared = layout.table("comparisons")
        if compared.is_file():
            lines.append("")
            for r in csv.DictReader(open(compared, encoding="utf-8")):
                lines.append(f"{r['b']} - {r['a']}: {100 * (0.0 - float(r['difference'])):+.1f} points (95% interval "
                             f"{100 * (0.0 - float(r['ci_high'])):+.1f} to {100 * (0.0 - float(r['ci_low'])):+.1f}), exact McNemar p = "
                             f"{float(r['p_value']):.3g} ({'distinguishable' if r['distinguishable'] == 'True' else 'not distinguishable'} "
                             "from noise at this size)")
    if stages:
        lines += ["", "Wall time (s): " + ", ".join(f"{k} {v:.0f}" for k, v in stages.items())]
    pngs = sorted(p.name for p in layout.plots.glob("*.png"))
    lines += ["", headline, f"experiment: tables {root}/*.csv; plots {root}/plots/ "
              f"({', '.join(pngs)}; curves/, weights/)"]
    return "\n".join(lines)


__all__ = ["write_report", "comparisons", "cell_row", "cell_weights", "stage_rows", "rounds_section", "final_summary"]

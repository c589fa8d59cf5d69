"""The design arithmetic of a testbed experiment: minimum detectable effect and wall time.

    python benchmarks/testbed_sizing.py                                   # MDE table
    python benchmarks/testbed_sizing.py --costs runs/testbed \\
        configs/experiments/testbed_quick.yaml configs/experiments/testbed.yaml configs/experiments/testbed_losses.yaml

**Minimum detectable effect** of a paired comparison of two conditions on the same problems (McNemar,
two-sided ``alpha``, power ``1 - beta``), from the discordance ``d`` (the fraction of problem x seed pairs
where exactly one condition is right) and ``n`` pairs (problems x seeds, pooled): the smallest ``delta`` with
``n = (z_{1-alpha/2} sqrt(d) + z_{1-beta} sqrt(d - delta^2))^2 / delta^2`` (Connor 1987), about
``2.8 sqrt(d / n)`` for small ``delta``: the report's own :func:`hn_lightning.experiments.stats.mcnemar_mde`.

**Wall time** of an experiment config, from the unit costs a finished experiment folder measured on this
kind of machine (``--costs``: what the run wrote, ``stages.csv``, ``cells.csv``, every evaluation's
``summary.json``, ``mining/funnel.json``, ``sft/run_config.yaml``):

* SFT: seconds per optimizer step, loading and export included;
* mining: seconds per sampled solution (sampling, scoring, pairing);
* a baseline row (``sft``, ``base``): seconds per problem of each task, that row's own model (the base model
  writes to the token cap), plus its loading;
* a cell: loading and export + steps x seconds per DPO step (the measured run's loss: a reference-free loss
  such as SimPO or ORPO skips the reference pass and is cheaper) + evaluation (seconds per problem of each
  task + loading) + the rest (sampled KL and held-out pairs), scaled by the KL's prompts x new tokens.

In the MDE table ``> d`` marks a design that cannot detect any difference the discordance allows.

A task the measured run did not evaluate is costed at the main task's rate. Nothing is timed here: the
estimate is as good as the measured run's load was idle.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hn_lightning.experiments.stats import mcnemar_mde  # noqa: E402


def mde(d: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest difference (fraction) McNemar detects with ``n`` pairs of discordance ``d``; NaN when no
    difference the discordance allows is detectable."""
    delta = mcnemar_mde(n, d, alpha, power)
    return delta if delta <= d else float("nan")


def mde_table(designs: list[tuple[int, int]], ds: tuple[float, ...]) -> list[str]:
    lines = ["| problems x seeds | " + " | ".join(f"d = {d:.2f}" for d in ds) + " |",
             "| --- | " + " | ".join("---:" for _ in ds) + " |"]
    for problems, seeds in designs:
        cells = [mde(d, problems * seeds) for d in ds]
        lines.append(f"| {problems} x {seeds} | " + " | ".join("> d" if m != m else f"{100 * m:.1f}" for m in cells) + " |")
    return lines


# -- unit costs measured by a finished run ------------------------------------------------------------------


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _evals(folder: Path) -> dict[str, tuple[float, int]]:
    """``{task: (generation seconds, problems)}`` of the evaluations under a cell or baseline folder."""
    out = {}
    for summary in sorted(folder.glob("eval*/*/summary.json")):
        s = json.loads(summary.read_text(encoding="utf-8"))
        out[s["task"]] = (float(s["generation_seconds"]), int(s["n"]))
    return out


def _sft_steps(run: Path) -> int:
    path = run / "sft" / "run_config.yaml"
    steps = (yaml.safe_load(path.read_text(encoding="utf-8")).get("trainer") or {}).get("max_steps")
    if steps is None:
        raise ValueError(f"{path}: no trainer.max_steps")
    return int(steps)


def measured_costs(run: Path) -> dict:
    """The unit costs of a finished experiment folder (see the module docstring), in seconds."""
    stages = {r["stage"]: r for r in _csv(run / "stages.csv")}
    costs: dict = {"run": str(run)}
    if "sft" in stages:
        costs["sft_step"] = float(stages["sft"]["seconds"]) / _sft_steps(run)
    if "mine" in stages:
        costs["mine_sample"] = float(stages["mine"]["seconds"]) / json.loads((run / "mining" / "funnel.json").read_text())["input"]
    for row, folder in (("sft", "baseline"), ("base", "baseline_base"), ("policy", "baseline")):
        stage = stages.get(f"eval_{row}")
        if stage and (run / folder).is_dir():
            evals = _evals(run / folder)
            costs[f"row_{row}"] = {"per_problem": {t: s / n for t, (s, n) in evals.items()},
                                   "load": float(stage["seconds"]) - sum(s for s, _ in evals.values())}
    kl_prompts, kl_tokens = [], []
    per_step, train_load, eval_load, rest, per_problem = [], [], [], [], {}
    for cell in _csv(run / "cells.csv"):
        stage = stages.get(f"cell {cell['cell']}")
        if not stage or not cell.get("steps"):
            continue
        steps, step_s = float(cell["steps"]), float(cell["seconds_per_step_mean"])
        per_step.append(step_s)
        train_load.append(float(stage["train_seconds"]) - steps * step_s)
        evals = _evals(run / "cells" / cell["cell"])
        eval_load.append(float(stage["eval_seconds"]) - sum(s for s, _ in evals.values()))
        for task, (s, n) in evals.items():
            per_problem.setdefault(task, []).append(s / n)
        rest.append(float(stage["seconds"]) - float(stage["train_seconds"]) - float(stage["eval_seconds"]))
        kl = run / "cells" / cell["cell"] / "kl.json"
        if kl.is_file():
            k = json.loads(kl.read_text(encoding="utf-8"))
            kl_prompts.append(int(k["prompts"]))
            kl_tokens.append(int(k["max_new_tokens"]))
    if per_step:
        med = statistics.median
        costs["cell"] = {"dpo_step": med(per_step), "train_load": med(train_load), "eval_load": med(eval_load),
                         "per_problem": {t: med(v) for t, v in per_problem.items()}, "rest": med(rest),
                         "kl_prompts": med(kl_prompts) if kl_prompts else 0, "kl_tokens": med(kl_tokens) if kl_tokens else 0,
                         "cells": len(per_step)}
    return costs


# -- the estimate for a config ------------------------------------------------------------------------------


def _task_key(task: str) -> str:
    """An eval summary's task name for a config's ``task`` (``testbed:test`` -> ``testbed-test``)."""
    return task.replace(":", "-")


def _tasks(cfg) -> list[tuple[str, int]]:
    specs = ([cfg.eval] if cfg.eval else []) + list(cfg.extra_evals.values())
    return [(_task_key(s.task), s.limit or 0) for s in specs]


def _per_problem(rates: dict[str, float], task: str, main: str) -> float:
    return rates.get(task, rates.get(main, 0.0))


def estimate(cfg, costs: dict) -> dict[str, float]:
    """Predicted minutes per stage of the experiment ``cfg`` (an ``ExperimentConfig``) and their total."""
    from hn_lightning.experiments.config import check

    tasks = _tasks(cfg)
    main = tasks[0][0] if tasks else ""
    parts: dict[str, float] = {}
    if cfg.sft is not None:
        parts["sft"] = cfg.sft.max_steps * costs["sft_step"]
    if cfg.mine is not None:
        sampling = cfg.mine.candidates.sampling
        parts["mine"] = (cfg.mine.problems.limit or 0) * sampling.num_samples * costs["mine_sample"]
    rows = []
    if cfg.baseline:
        rows.append("sft" if cfg.sft is not None else "policy")
    if cfg.baseline and cfg.base_row and cfg.sft is not None:
        rows.append("base")
    for row in rows:
        unit = costs.get(f"row_{row}") or costs.get("row_sft") or costs.get("row_policy")
        parts[f"eval_{row}"] = unit["load"] + sum(n * _per_problem(unit["per_problem"], t, main) for t, n in tasks)
    cell = costs["cell"]
    kl_scale = 0.0
    if cfg.kl is not None and cell["kl_prompts"]:
        # a KL estimate samples from at most as many prompts as the held-out file has: assume the measured
        # run's count when the config asks for more (testbed.yaml asks for 16 and has 10)
        prompts = min(cfg.kl.prompts, cell["kl_prompts"])
        kl_scale = prompts * cfg.kl.max_new_tokens / (cell["kl_prompts"] * cell["kl_tokens"])
    one = (cell["train_load"] + cfg.max_steps * cell["dpo_step"] + cell["eval_load"]
           + sum(n * _per_problem(cell["per_problem"], t, main) for t, n in tasks) + cell["rest"] * kl_scale)
    n_cells = len(check(cfg))
    parts[f"cells ({n_cells})"] = n_cells * one
    minutes = {k: v / 60 for k, v in parts.items()}
    minutes["total"] = sum(minutes.values())
    minutes["per cell"] = one / 60
    return minutes


def design(cfg) -> tuple[int, int]:
    """``(problems, seeds)`` of the main evaluation."""
    return (cfg.eval.limit or 0) if cfg.eval else 0, len(cfg.grid.seeds)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("configs", nargs="*", help="experiment configs to estimate (needs --costs)")
    ap.add_argument("--costs", type=Path, help="a finished experiment folder whose unit costs to use")
    ap.add_argument("--discordance", type=float, nargs="+", default=[0.05, 0.08, 0.10, 0.14])
    args = ap.parse_args(argv)
    from hn_lightning.commands.experiment import config_from_args
    from hn_lightning.experiments.config import check

    cfgs = [(path, config_from_args(["--config", path])[0]) for path in args.configs]
    designs = [(150, 1), (250, 2), (250, 3), (300, 3)] + [design(c) for _, c in cfgs]
    print("Minimum detectable effect (points), 80% power, alpha 0.05, McNemar, seeds pooled\n")
    print("\n".join(mde_table(list(dict.fromkeys(designs)), tuple(args.discordance))))
    if not cfgs:
        return 0
    if args.costs is None:
        ap.error("estimating a config's wall time needs --costs <a finished experiment folder>")
    costs = measured_costs(args.costs)
    cell = costs["cell"]
    print(f"\nUnit costs measured by {args.costs} (medians over its {cell['cells']} cells): SFT "
          f"{costs.get('sft_step', float('nan')):.1f} s/step, mining {costs.get('mine_sample', float('nan')):.2f} s/sample, "
          f"DPO {cell['dpo_step']:.1f} s/step + {cell['train_load']:.0f} s loading and export, evaluation "
          + ", ".join(f"{t} {s:.2f} s/problem" for t, s in cell["per_problem"].items())
          + f" + {cell['eval_load']:.0f} s loading, KL and held-out pairs {cell['rest']:.0f} s.\n")
    print("| config | problems x seeds | cells | minutes: stages | per cell | total (h:mm) |")
    print("| --- | --- | ---: | --- | ---: | ---: |")
    for path, cfg in cfgs:
        m = estimate(cfg, costs)
        problems, seeds = design(cfg)
        stages = ", ".join(f"{k} {v:.1f}" for k, v in m.items() if k not in ("total", "per cell"))
        total = round(m["total"])
        print(f"| {Path(path).name} | {problems} x {seeds} | {len(check(cfg))} | "
              f"{stages} | {m['per cell']:.1f} | {total // 60}:{total % 60:02d} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

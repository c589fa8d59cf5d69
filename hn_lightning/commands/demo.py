"""``python cli.py demo``: the whole pipeline, end to end, on the embedded default model, on CPU.

Stages (each skipped when its output already exists, so an interrupted demo resumes where it stopped;
the mining and evaluation stages also resume inside themselves):

1. **SFT**: LoRA steps of ``configs/sft_demo.yaml`` on a seeded subset of GSM8K + MATH *train*
   -> ``<out>/sft/hf_model`` (merged, loadable with ``AutoModelForCausalLM.from_pretrained``).
2. **Mine**: ``configs/mine_demo.yaml`` with the SFT model as the policy: sample K solutions for a
   seeded subset of GSM8K train problems, score them with the MathVerifier, filter, select hard
   negatives, pair; also the random-uniform and shuffled-weight arms -> ``<out>/mine/pairs/*``,
   ``<out>/mine/report.md``.
3. **DPO**: ``configs/dpo_demo.yaml`` from the SFT model (LoRA; the reference is the SFT model, i.e.
   the policy with adapters off), once per arm (default: ``hardneg`` with verifier weights and the
   ``random`` baseline with weight 1) -> ``<out>/dpo_<arm>/hf_model``.
4. **Evaluate** the SFT model and every DPO model on the first N GSM8K *test* problems (Step-DPO
   protocol: qwen2-boxed prompt, greedy, boxed-answer exact match; the demo caps generations at
   ``--eval_max_new_tokens``, the protocol uses 2048) -> ``<out>/eval/<name>/gsm8k/summary.json``.

At the end ``<out>/summary.json`` and ``<out>/summary.md`` hold every stage's outputs, pair counts,
accuracies (with Wilson 95% intervals) and wall times. With a few dozen problems the accuracy
differences are noise: the demo shows that the pipeline runs and where everything goes; the GPU
configs (``configs/sft.yaml``, ``configs/mine.yaml``, ``configs/dpo.yaml``) are the experiment.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from hn_lightning.errors import UserError
from hn_lightning.mining.shards import count_pairs

log = logging.getLogger("hn_lightning.demo")

ARMS = ("hardneg", "random", "shuffled")


def _fit(config: str, out_dir: Path, model=None, data=None, trainer=None) -> None:
    """Run ``fit`` on a copy of a shipped config retargeted to ``out_dir`` (saved as ``run_config.yaml``)."""
    from hn_lightning.cli import lightning_main
    from hn_lightning.config_tools import retarget, write_config
    from hn_lightning.paths import REPO_ROOT

    cfg = retarget(REPO_ROOT / "configs" / config, out_dir, model, data, trainer)
    path = write_config(cfg, out_dir / "run_config.yaml")
    lightning_main(["fit", "--config", str(path)])


def _done(path: Path) -> bool:
    return (path / "config.json").is_file()


def stage_sft(out: Path, args) -> Path:
    """SFT with LoRA on a seeded subset of GSM8K + MATH train; returns the exported HF directory."""
    target = out / "sft"
    export = target / "hf_model"
    if _done(export):
        log.info("SFT: %s exists, skipping", export)
        return export
    _fit("sft_demo.yaml", target, model={"name_or_path": args.model} if args.model else None,
         trainer={"max_steps": args.sft_steps})
    return export


def stage_mine(out: Path, policy: Path, args) -> Path:
    """Hard-negative mining with the SFT model as the policy; returns the mining output folder."""
    from hn_lightning.commands.mine import main as mine_main
    from hn_lightning.paths import REPO_ROOT

    target = out / "mine"
    if (target / "funnel.json").is_file():
        log.info("mine: %s/funnel.json exists, skipping", target)
        return target
    rc = mine_main(["--config", str(REPO_ROOT / "configs" / "mine_demo.yaml"), "--out", str(target),
                    "--policy.name_or_path", str(policy), "--problems.limit", str(args.mine_problems),
                    "--candidates.sampling.num_samples", str(args.mine_samples)])
    if rc:
        raise UserError(f"demo: mining failed (exit {rc}); rerun the same command to resume")
    return target


def pairs_per_step() -> int:
    """Pairs per optimizer step in ``configs/dpo_demo.yaml`` (micro-batch x accumulation)."""
    import yaml

    from hn_lightning.paths import REPO_ROOT

    cfg = yaml.safe_load((REPO_ROOT / "configs" / "dpo_demo.yaml").read_text())
    return int(cfg["data"]["init_args"]["micro_batch_size"]) * int(cfg["trainer"].get("accumulate_grad_batches", 1))


def stage_dpo(out: Path, sft: Path, pairs: Path, arm: str, args) -> Path | None:
    """Weighted DPO from the SFT model on one arm's pairs; ``None`` when the arm has too few pairs."""
    target = out / f"dpo_{arm}"
    export = target / "hf_model"
    if _done(export):
        log.info("DPO %s: %s exists, skipping", arm, export)
        return export
    n, need = count_pairs(pairs), pairs_per_step()
    if n < need:
        print(f"demo: skipping DPO on the {arm} arm: {n} pairs in {pairs}, one optimizer step needs {need}. "
              f"Mine more problems (--mine_problems) or samples (--mine_samples).")
        return None
    _fit("dpo_demo.yaml", target, model={"name_or_path": str(sft)},
         data={"train_files": [str(pairs)]}, trainer={"max_steps": args.dpo_steps})
    return export


def stage_eval(out: Path, name: str, model: Path, args) -> dict[str, Any]:
    """Step-DPO GSM8K evaluation of ``model`` on the first ``args.eval_problems`` test problems."""
    from hn_lightning.commands.eval import main as eval_main

    target = out / "eval" / name
    summary = target / "gsm8k" / "summary.json"
    if not summary.is_file() or json.loads(summary.read_text()).get("n") != args.eval_problems:
        rc = eval_main(["--model", str(model), "--task", "gsm8k", "--limit", str(args.eval_problems),
                        "--out", str(target), "--max_new_tokens", str(args.eval_max_new_tokens),
                        "--batch_size", str(args.eval_batch_size)])
        if rc:
            raise UserError(f"demo: evaluation of {name} failed (exit {rc}); rerun the same command to resume")
    return json.loads(summary.read_text())


def summary_markdown(summary: dict[str, Any]) -> str:
    """The demo's result table as Markdown."""
    lines = ["# hn_lightning demo", "",
             f"Base model: {summary.get('base_model') or 'the embedded default'} -> SFT ({summary['sft_model']}); "
             f"pairs mined in {summary['mine_dir']}.", "",
             "| model | pairs | GSM8K test (first N) | 95% CI |", "| --- | ---: | ---: | --- |"]
    for row in summary["models"]:
        acc = row.get("accuracy")
        ci = row.get("ci95") or [None, None]
        acc_s = f"{row['correct']}/{row['n']} = {100 * acc:.1f}%" if acc is not None else "not evaluated"
        ci_s = f"{100 * ci[0]:.1f}-{100 * ci[1]:.1f}%" if ci[0] is not None else "-"
        lines.append(f"| {row['name']} | {row.get('pairs', '-')} | {acc_s} | {ci_s} |")
    lines += ["", "Stage wall times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in summary["seconds"].items()), ""]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cli.py demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    p.add_argument("--model", default=None,
                   help="base model to start from (registered name, HF directory, .gguf or Hub id org/name[@rev]); default: the one in "
                        "configs/sft_demo.yaml, the embedded Qwen2.5-Coder-0.5B-Instruct")
    p.add_argument("--sft_steps", type=int, default=24, help="SFT optimizer steps (default: 24)")
    p.add_argument("--mine_problems", type=int, default=20, help="GSM8K train problems to mine (default: 20)")
    p.add_argument("--mine_samples", type=int, default=4, help="samples per problem (default: 4)")
    p.add_argument("--arms", default="hardneg,random",
                   help=f"comma-separated DPO arms, from {', '.join(ARMS)} (default: hardneg,random)")
    p.add_argument("--dpo_steps", type=int, default=8, help="DPO optimizer steps per arm (default: 8)")
    p.add_argument("--eval_problems", type=int, default=20, help="first N GSM8K test problems; 0 skips evaluation (default: 20)")
    p.add_argument("--eval_max_new_tokens", type=int, default=512, help="generation cap in the demo (protocol: 2048)")
    p.add_argument("--eval_batch_size", type=int, default=10, help="prompts per generate call (default: 10)")
    return p


def main(argv: list[str] | None = None) -> int:
    from hn_lightning.io.atomic import atomic_write_text

    args = build_parser().parse_args(argv)
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    bad = [a for a in arms if a not in ARMS]
    if bad:
        raise UserError(f"demo: unknown arm(s) {bad}; choose from {list(ARMS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    t_all = t0 = time.time()
    sft = stage_sft(out, args)
    seconds["sft"] = time.time() - t0
    t0 = time.time()
    mine = stage_mine(out, sft, args)
    seconds["mine"] = time.time() - t0
    models: list[dict[str, Any]] = [{"name": "sft", "path": str(sft)}]
    for arm in arms:
        t0 = time.time()
        pairs = mine / "pairs" / arm
        path = stage_dpo(out, sft, pairs, arm, args)
        seconds[f"dpo_{arm}"] = time.time() - t0
        if path is not None:
            models.append({"name": f"dpo_{arm}", "path": str(path), "pairs": count_pairs(pairs)})
    if args.eval_problems > 0:
        for row in models:
            t0 = time.time()
            s = stage_eval(out, row["name"], Path(row["path"]), args)
            seconds[f"eval_{row['name']}"] = time.time() - t0
            row.update(n=s["n"], correct=s["correct"], accuracy=s["accuracy"], ci95=s.get("ci95"))
    seconds["total"] = time.time() - t_all
    summary = {"base_model": args.model, "sft_model": str(sft), "mine_dir": str(mine), "funnel": str(mine / "funnel.json"),
               "mine_report": str(mine / "report.md"), "models": models, "seconds": seconds,
               "settings": vars(args)}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    atomic_write_text(out / "summary.md", summary_markdown(summary))
    print("\n" + summary_markdown(summary))
    print(f"Demo finished in {seconds['total'] / 60:.1f} min. Everything is under {out}/: "
          f"summary.md, mine/report.md, */csv (metrics), */tensorboard.")
    return 0

"""Accuracy and error breakdown of a model on a slice of the testbed, with and without the calculator.

    python benchmarks/testbed_accuracy.py --model runs/sft_testbed/hf_model --limit 300 --out runs/testbed_acc/sft
    python benchmarks/testbed_accuracy.py --model runs/sft_testbed/checkpoints/step=60.ckpt --limit 200 ...

``--model`` is anything ``eval`` takes, or a Lightning checkpoint of ``configs/sft_testbed.yaml`` (exported to
``<out>/hf_model`` first, LoRA merged). Runs ``cli.py eval`` (greedy, ``sft-system`` prompt, the first
``--limit`` problems of ``--task``) once per calculator setting, then classifies every completion by the
generator's ground truth (:func:`hn_lightning.testbed.classify`): accuracy by number of steps, wrong
answers split into structured errors (by trap kind), arithmetic slips and other, and the speed
(problems/s, tokens/s) with the ``uptime`` load before and after. Writes ``<out>/accuracy.json`` and
prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def export_checkpoint(ckpt: Path, out_dir: Path) -> Path:
    """A merged HF directory of an SFT checkpoint (done once)."""
    if (out_dir / "config.json").is_file():
        return out_dir
    import torch

    from hn_lightning.callbacks.export import export_policy
    from hn_lightning.modules import SFTModule

    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    module = SFTModule(model=state["hyper_parameters"]["model"])
    module.configure_model()
    module.load_state_dict(state["state_dict"], strict=False)
    return export_policy(module, out_dir, merge_lora=True)


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def breakdown(samples: Path, task: str) -> dict:
    from hn_lightning.catalog import resolve_data_file
    from hn_lightning.io import iter_jsonl
    from hn_lightning.testbed import classify, summarize_errors

    truth = {r["id"]: r for _, r in iter_jsonl(resolve_data_file(task))}
    rows = []
    for _, rec in iter_jsonl(samples):
        problem = truth[rec["id"]]
        c = classify(rec["completion"], problem["truth"])
        if rec["correct"] != (c["category"] == "correct"):  # the checker decides correctness; keep them aligned
            c = {**c, "category": "correct" if rec["correct"] else "other"}
        rows.append((c, problem))
    return summarize_errors(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--task", default="testbed:test")
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--batch_size", type=int, default=32)
    ap.add_argument("--max_new_tokens", type=int, default=256)
    ap.add_argument("--calculator", choices=["on", "off", "both"], default="both")
    ap.add_argument("--attn", default="auto", help="attention implementation (eager: 1.5x faster decoding on a CPU)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    out = Path(args.out)
    model = args.model
    if model.endswith(".ckpt"):
        model = str(export_checkpoint(Path(model), out / "hf_model"))
    results = {"model": args.model, "task": args.task, "limit": args.limit, "batch_size": args.batch_size, "attn": args.attn}
    for setting in (["on", "off"] if args.calculator == "both" else [args.calculator]):
        folder = out / f"calculator_{setting}"
        before = load()
        started = time.perf_counter()
        cmd = [sys.executable, str(REPO / "cli.py"), "eval", "--model", model, "--task", args.task, "--limit", str(args.limit),
               "--prompt", "sft-system", "--batch_size", str(args.batch_size), "--max_new_tokens", str(args.max_new_tokens),
               "--attn_implementation", args.attn, "--out", str(folder), "--no_progress",
               *(["--calculator"] if setting == "on" else [])]
        subprocess.run(cmd, check=True)
        name = args.task.replace(":", "-")
        summary = json.loads((folder / name / "summary.json").read_text())
        results[f"calculator_{setting}"] = {
            **breakdown(folder / name / "samples.jsonl", args.task),
            "problems_per_sec": summary["problems_per_sec"], "tokens_per_sec": summary["tokens_per_sec"],
            "mean_tokens": summary["mean_tokens"], "finish_reasons": summary["finish_reasons"],
            "wall_seconds": round(time.perf_counter() - started, 1), "uptime_before": before, "uptime_after": load(),
        }
    (out / "accuracy.json").write_text(json.dumps(results, indent=1))
    print("| calculator | n | accuracy | structured / arithmetic / other (wrong) | structured share | by steps | problems/s |")
    print("| --- | ---: | ---: | --- | ---: | --- | ---: |")
    for setting in ("on", "off"):
        r = results.get(f"calculator_{setting}")
        if r:
            cats = r["by_category"]
            steps = ", ".join(f"{k}: {100 * v['accuracy']:.0f}%" for k, v in r["by_level"].items())
            share = r["structured_share_of_wrong"]
            print(f"| {setting} | {r['n']} | {100 * r['accuracy']:.1f}% | {cats['structured']} / {cats['arithmetic']} / "
                  f"{cats['other']} | {'-' if share is None else f'{100 * share:.0f}%'} | {steps} | {r['problems_per_sec']:.3f} |")
            print(f"|  | traps: {r['by_trap']} | | | | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

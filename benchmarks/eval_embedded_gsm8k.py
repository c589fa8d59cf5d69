#!/usr/bin/env python
"""The embedded default model on the first 50 GSM8K test problems, on CPU, as a new user runs it.

    python benchmarks/eval_embedded_gsm8k.py                      # runs the command below, writes the report
    python benchmarks/eval_embedded_gsm8k.py --report_only        # rewrite the report from an earlier run

It runs, in a subprocess, exactly::

    python cli.py eval --model qwen2.5-coder-0.5b-instruct --task gsm8k --limit 50 \\
        --batch_size 16 --max_new_tokens 2048 --out runs/bench/eval_embedded_gsm8k

(protocol settings: qwen2-boxed prompt, greedy, 2048 new tokens, Step-DPO checker; ``--dtype auto`` picks
bfloat16 on a CPU with native bf16) and writes ``benchmarks/results/eval.md`` with the accuracy, its
95% CI, wall time, tokens/s, finish reasons, machine and load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _versions() -> str:
    import lightning
    import torch
    import transformers

    return f"torch {torch.__version__}, transformers {transformers.__version__}, lightning {lightning.__version__}"


def _report(summary: dict, command: str, wall: float | None, load: tuple[str, str] | None, args) -> str:
    lo, hi = summary["ci95"]
    fr = summary["finish_reasons"]
    length_capped = fr.get("length", 0)
    lines = [
        "# Evaluation: the embedded default model on GSM8K (CPU)",
        "",
        f"* Date: {args.date}",
        f"* Machine: {os.cpu_count()} CPU cores ({_cpu_name()}), no GPU; {platform.system()} {platform.machine()}; "
        f"Python {platform.python_version()}; {_versions()}",
        "* Model: `qwen2.5-coder-0.5b-instruct` (the embedded default: Q4_K_M GGUF from the PyPI weight packages, "
        "dequantized to bf16; 630M parameters as loaded)",
        f"* Command (repository root): `{command}`",
        f"* Settings: prompt `{summary['settings']['prompt']}` (Step-DPO protocol), greedy, max_new_tokens "
        f"{summary['settings']['max_new_tokens']}, checker `{summary['settings']['checker']}`, dtype "
        f"{summary['settings']['extra'].get('dtype')}, backend {summary['settings']['extra'].get('backend')} "
        f"(HF generate), batch size {summary['settings']['extra'].get('batch_size')}",
        f"* Data: first {summary['n']} problems of `shared/data/stepdpo/GSM8K_test_data.jsonl`",
        "",
        "## Result",
        "",
        "| problems | correct | accuracy | 95% CI (Wilson) | wall time | generation time | new tokens | tokens/s | problems/min | hit 2048-token limit |",
        "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {summary['n']} | {summary['correct']} | {100 * summary['accuracy']:.1f}% | {100 * lo:.1f}% - {100 * hi:.1f}% | "
        f"{'-' if wall is None else f'{wall / 60:.1f} min'} | {summary['generation_seconds'] / 60:.1f} min | "
        f"{summary['generated_tokens']} (mean {summary['mean_tokens']:.0f}) | {summary['tokens_per_sec']:.1f} | "
        f"{60 * summary['problems_per_sec']:.2f} | {length_capped} |",
        "",
        f"Finish reasons: {', '.join(f'{k} {v}' for k, v in sorted(fr.items()))}. "
        f"Checks with an error: {summary['checks_with_error']}, timed out: {summary['checks_timed_out']}.",
    ]
    if load is not None:
        lines += ["", f"Load average (1/5/15 min) before: {load[0]}; after: {load[1]}. Other jobs shared the 2 cores "
                  "during the run, so the times are pessimistic for an idle machine."]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--batch_size", type=int, default=16)
    ap.add_argument("--max_new_tokens", type=int, default=2048)
    ap.add_argument("--out", default="runs/bench/eval_embedded_gsm8k")
    ap.add_argument("--report", default="benchmarks/results/eval.md")
    ap.add_argument("--date", default=time.strftime("%Y-%m-%d"))
    ap.add_argument("--report_only", action="store_true", help="only rewrite the report from --out")
    args = ap.parse_args()

    cmd = ["python", "cli.py", "eval", "--model", "qwen2.5-coder-0.5b-instruct", "--task", "gsm8k", "--limit", str(args.limit),
           "--batch_size", str(args.batch_size), "--max_new_tokens", str(args.max_new_tokens), "--out", args.out]
    wall, load = None, None
    if not args.report_only:
        before = os.getloadavg()
        start = time.perf_counter()
        subprocess.run([sys.executable, *cmd[1:]], cwd=REPO, check=True)
        wall = time.perf_counter() - start
        load = (" / ".join(f"{x:.1f}" for x in before), " / ".join(f"{x:.1f}" for x in os.getloadavg()))
    summary = json.loads((REPO / args.out / "gsm8k" / "summary.json").read_text())
    if wall is None:
        wall = summary["this_run"]["wall_seconds"]
    text = _report(summary, " ".join(cmd), wall, load, args)
    (REPO / args.report).parent.mkdir(parents=True, exist_ok=True)
    (REPO / args.report).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

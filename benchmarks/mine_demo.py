"""Run the CPU mining demo as a new user would and write ``benchmarks/results/mining.md``.

    python benchmarks/mine_demo.py --execute            # runs: python cli.py mine --config configs/mine_demo.yaml
    python benchmarks/mine_demo.py                      # only (re)writes the results from runs/mine_demo

The results file holds the exact command, the machine, the wall time and per-stage seconds (from the
run's ``manifest.json``), the funnel and what each threshold removes, the score distributions the
thresholds were checked against, the weight histogram and example pairs (from ``report.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return (f"{cpu}, {os.cpu_count()} cores (shared with other jobs), torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), Python {platform.python_version()}, no GPU")


def distribution_rows(run: Path) -> list[str]:
    """Mean [min, max] of the main scores for non-degenerate samples, by final-answer correctness."""
    from hn_lightning.mining.shards import read_records

    decisions = {d["id"]: d for d in read_records(run / "filtered")}
    groups: dict[str, list[dict]] = {"correct answer": [], "wrong answer": []}
    for rec in read_records(run / "scored"):
        if decisions[rec["id"]]["degenerate"]:
            continue
        groups["correct answer" if rec["scores"]["answer_correct"] else "wrong answer"].append(rec["scores"])
    rows = ["| non-degenerate samples | n | wrongness | absurdity | confidence | ppl | w_raw |",
            "| --- | ---: | --- | --- | --- | --- | --- |"]
    for name, scores in groups.items():
        cells = []
        for key in ("wrongness", "absurdity", "confidence", "ppl", "w_raw"):
            vals = [s[key] for s in scores if s.get(key) is not None]
            cells.append(f"{statistics.mean(vals):.2f} [{min(vals):.2f}, {max(vals):.2f}]" if vals else "-")
        rows.append(f"| {name} | {len(scores)} | " + " | ".join(cells) + " |")
    return rows


REASONS = {
    "degenerate/empty": "nothing to learn from",
    "degenerate/truncated": "the chain and the answer are unfinished; DPO would learn to stop mid-way",
    "degenerate/no_answer": "no final answer: correctness, confidence and near-miss are undefined",
    "degenerate/repetition": "a loop repeats most 6-grams, a solution almost none",
    "degenerate/nonsensical": "random-token soup (math text with LaTeX is 55-75% letters/digits)",
    "trivially_correct": "0.25 = the verifier's gate for right answers: clean right answers teach nothing as negatives (they stay chosen)",
    "trivially_wrong": "off-topic text scores ~0.95/0.8; on-topic chains with one contradictory step reach ~0.76/0.61 and must stay",
    "select/wrong_answer": "answer correctness is the most reliable verifier signal",
    "select/wrongness_band": "0.35 = s_ans weight (a wrong answer, clean steps); above 0.85 every dimension is high",
    "select/elevated_dim": "the error must show in the steps; 0.3 = the weakest real symbolic finding",
    "select/confident": "sigmoid((p - 0.5)/0.1) >= 0.5: mean answer-token probability >= 0.5, a mistake the policy believes",
    "select/close": "near-miss answer, or the reference followed except <= 2 steps without drifting",
}


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def threshold_table(funnel: dict, cfg) -> list[str]:
    from hn_lightning.mining.report import threshold_rows

    rows = ["| rule | setting | why this default | removed in sequence | % of stage input | fails alone | % of stage input |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for rule, setting, seq, stage_in, alone, _ in threshold_rows(funnel, cfg):
        rows.append(f"| {rule} | {setting} | {REASONS[rule]} | {seq} | {_pct(seq, stage_in)} | {alone} | {_pct(alone, stage_in)} |")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="configs/mine_demo.yaml")
    ap.add_argument("--execute", action="store_true", help="run the mining command first (from scratch)")
    ap.add_argument("--out", default="benchmarks/results/mining.md")
    ap.add_argument("--date", default=time.strftime("%Y-%m-%d"))
    ap.add_argument("--wall_s", type=float, default=None, help="wall time of a run made outside this script")
    args = ap.parse_args()

    from hn_lightning.commands.mine import config_from_args
    from hn_lightning.mining.report import render_report

    _, cfg, _ = config_from_args(["--config", args.config])
    run = REPO / cfg.out
    command = f"python cli.py mine --config {args.config}"
    wall = args.wall_s
    load_before = os.getloadavg()
    if args.execute:
        t0 = time.time()
        subprocess.run([sys.executable, "cli.py", "mine", "--config", args.config, "--overwrite", "true"], cwd=REPO, check=True)
        wall = time.time() - t0
    load_after = os.getloadavg()
    funnel = json.loads((run / "funnel.json").read_text())
    manifest = json.loads((run / "manifest.json").read_text())
    from hn_lightning.mining.shards import read_records

    pairs = read_records(run / "pairs" / "hardneg")
    stages = manifest["stages"]
    cand = stages["candidates"]["counts"]
    gen_s = stages["candidates"]["seconds"]
    lines = [
        "# Hard-negative mining: CPU demo (measured)", "",
        f"* **Command:** `{command}` (from a fresh `{cfg.out}`).",
        f"* **Date:** {args.date}. **Machine:** {machine()}.",
        f"* **Load average** (1/5/15 min) when this file was written: {load_before[0]:.1f}/{load_before[1]:.1f}/{load_before[2]:.1f}"
        + (f" before, {load_after[0]:.1f}/{load_after[1]:.1f}/{load_after[2]:.1f} after the run" if args.execute else "")
        + ": other jobs shared the 2 cores, so the timings are upper bounds.",
        f"* **Wall time:** {wall / 60:.1f} min in all." if wall else "* **Wall time:** sum of the stages below.",
        "", "| stage | seconds | notes |", "| --- | ---: | --- |",
        f"| candidates | {gen_s:.0f} | {cand['samples']} samples, {cand['generated_tokens']} generated tokens "
        f"({cand['generated_tokens'] / max(gen_s, 1e-9):.1f} tok/s incl. model load), {cand['truncated']} truncated |",
        f"| score | {stages['score']['seconds']:.0f} | MathVerifier (gated fine channel), "
        f"{stages['score']['counts']['fine_channel_runs']} fine-channel runs |",
        f"| filter | {stages['filter']['seconds']:.1f} | |",
        f"| pair | {stages['pair']['seconds']:.1f} | hardneg + random + shuffled arms, funnel, report |",
        "", "## Default thresholds: reasoning and what each removes on this run", "",
        "*In sequence*: removed by this rule and no earlier one (adds up to the funnel); *alone*: the stage's "
        "input samples that fail the rule whatever else they fail.", "", *threshold_table(funnel, cfg), "",
        "## Score distributions behind the thresholds", "", *distribution_rows(run), "",
    ]
    report = render_report(cfg, funnel, pairs, {"stages": {}})
    body = report.split("\n", 2)[2]  # drop the report's own title
    lines += [f"## The run's report (`{cfg.out}/report.md`)", "", body.replace("## ", "### ")]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

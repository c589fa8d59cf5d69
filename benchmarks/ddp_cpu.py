"""Two CPU processes (DDP over gloo) against one, through the CLI, on tiny-qwen2: wall time and equality.

    python benchmarks/ddp_cpu.py --workdir /tmp/ddp_bench [--steps 2]

Runs weighted DPO (full fine-tuning, reference precompute, SGD) once as 1 process x 2 accumulated
micro-batches and once as 2 processes x 1 micro-batch (``configs/strategy/ddp.yaml``), both with 4 pairs per
optimizer step, and prints each wall time (sequential, same machine, same load) and the largest difference
of the parameters after every step, of the logged step metrics and of the reference caches.
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hn_lightning.config_tools import retarget, write_config  # noqa: E402


def run(workdir: Path, name: str, devices: int, steps: int, pairs: Path) -> float:
    out = workdir / name
    cfg = retarget(REPO / "configs" / "dpo_demo.yaml", out / "run", {"name_or_path": "tiny-qwen2", "dtype": "float32", "finetuning": "full"},
                   {"train_files": [str(pairs)], "max_length": 256, "micro_batch_size": 2, "shuffle": False},
                   {"max_steps": steps, "accumulate_grad_batches": 2 // devices})
    cfg["model"]["init_args"]["optimizer"] = {"class_path": "torch.optim.SGD", "init_args": {"lr": 0.5}}
    cfg["model"]["init_args"]["reference"] = {"mode": "auto", "precompute": True, "cache_dir": str(out / "cache")}
    path = write_config(cfg, out / "cfg.yaml")
    extra = ["--config", str(REPO / "configs" / "strategy" / "ddp.yaml"), "--trainer.devices", str(devices)] if devices > 1 else []
    start = time.perf_counter()
    subprocess.run([sys.executable, str(REPO / "cli.py"), "fit", "--config", str(path), *extra,
                    "--trainer.callbacks.init_args.every_n_train_steps=1"], cwd=out, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=2)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in open(REPO / "data" / "demo_pairs.jsonl")][:16]
    for i, row in enumerate(rows):
        row["w_raw"] = 0.5 + (7 * i % 11) / 3
    pairs = args.workdir / "pairs.jsonl"
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    times = {name: run(args.workdir, name, devices, args.steps, pairs) for name, devices in (("one", 1), ("two", 2))}
    result = {"wall_s": {k: round(v, 1) for k, v in times.items()}, "param_max_abs_diff": {}, "metric_max_abs_diff": 0.0}
    for step in range(1, args.steps + 1):
        a, b = (torch.load(args.workdir / n / "run" / "checkpoints" / f"epoch=0-step={step}.ckpt", weights_only=True)["state_dict"] for n in ("one", "two"))
        result["param_max_abs_diff"][step] = max(float((a[k] - b[k]).abs().max()) for k in a)
    logged = {}
    for n in ("one", "two"):
        [f] = (args.workdir / n / "run").glob("csv/version_*/metrics.csv")
        logged[n] = [r for r in csv.DictReader(open(f)) if r.get("train/loss")]
    keys = [k for k in logged["one"][0] if k.startswith(("train/", "weights/")) and logged["one"][0][k]]
    result["metric_max_abs_diff"] = max(abs(float(x[k]) - float(y[k])) for x, y in zip(logged["one"], logged["two"]) for k in keys)
    result["metrics_compared"] = len(keys) * len(logged["one"])
    caches = []
    for n in ("one", "two"):
        [db] = (args.workdir / n / "cache").glob("*.sqlite")
        with sqlite3.connect(db) as conn:
            caches.append(conn.execute("SELECT key, logp FROM logps ORDER BY key").fetchall())
    result["cache_entries"] = [len(c) for c in caches]
    result["cache_same_keys"] = [k for k, _ in caches[0]] == [k for k, _ in caches[1]]
    result["cache_max_abs_diff"] = max(abs(x[1] - y[1]) for x, y in zip(*caches))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

"""``benchmarks/gpu_check.sh --dry-run`` keeps working (CPU, tiny sizes): it writes its summary, and the
summary holds the packed-vs-padded throughput rows, says whether TRL ran or why not, and holds the sampler
engines' rows (HF generate vs continuous batching, greedy equal token for token in float32)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_gpu_check_dry_run(tmp_path):
    out = tmp_path / "gpu_check"
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    env.pop("OUT", None)
    proc = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--dry-run", str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=2400)  # the dry run gives each benchmark row up to 900 s on a loaded box
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((out / "gpu_check.json").read_text())
    assert summary["dry_run"] and summary["ok"]
    assert summary["tests"]["tests"] >= 3 and summary["tests"]["failures"] == 0
    rows = {r["framework"]: r for r in summary["throughput"]["rows"]}
    for name in ("ours", "ours-packed"):
        assert rows[name].get("pairs_per_s", 0) > 0 and rows[name]["tokens_per_s"] > 0, rows[name]
    assert rows["ours-packed"]["padding_fraction"] <= rows["ours"]["padding_fraction"]  # packing never adds padding
    assert summary["throughput"]["packed_over_padded_pairs_per_s"] is not None
    assert "trl" in rows and (rows["trl"].get("skipped") or "pairs_per_s" in rows["trl"])
    engines = {(r["engine"], r["mode"]): r for r in summary["sampler"]["rows"]}
    assert summary["sampler"]["exit_code"] == 0 and set(engines) == {
        ("hf", "greedy"), ("cb", "greedy"), ("hf", "sampled K=2"), ("cb", "sampled K=2")}
    assert all(r["tokens"] > 0 and r["tokens_per_s"] > 0 for r in engines.values())
    assert engines[("cb", "greedy")]["equal_to_hf"] == 3  # float32: the engines agree token for token
    md = (out / "gpu_check.md").read_text()
    assert "GPU check (dry run" in md and "ours-packed" in md and "Sampler engines" in md

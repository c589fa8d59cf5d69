"""One process against two ranks (``--devices 2``) and against ranks run one at a time (``--rank k
--world_size 2``: a rank that died, rerun alone), for ``mine`` and ``eval`` on tiny-qwen2 (CPU).

    python benchmarks/ranks_equality.py --out /tmp/ranks_bench

Prints, per command, the wall time of each way of running it (side by side, same load) and whether the
outputs are equal: mining file by file (problems, candidates, scored, filtered, pairs, funnel.json; the
candidates' ``seconds`` field removed, since it is wall time), evaluation record by record (sorted by id,
``seconds`` removed) and the summary's n / correct / accuracy / finish reasons.

Every run uses one torch thread per process (``OMP_NUM_THREADS=1``, what ``--devices 2`` gives each rank on
2 cores): float32 matmuls reduce in an order that depends on the thread count, so a process with 2 threads
writes log-probs that differ in the 6th decimal. The last line compares such a run (same completions
and tokens; the largest log-prob difference is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

MINE = ["mine", "--config", str(REPO / "configs" / "mine_demo.yaml"), "--problems.limit", "8",
        "--policy.name_or_path", "tiny-qwen2", "--policy.dtype", "float32", "--candidates.sampling.backend", "hf",
        "--candidates.sampling.num_samples", "2", "--candidates.sampling.max_new_tokens", "24",
        "--candidates.sampling.problems_per_batch", "2", "--candidates.sampling.hf_batch_size", "2", "--progress", "false"]
EVAL = ["eval", "--model", "tiny-qwen2", "--task", "gsm8k", "--limit", "24", "--max_new_tokens", "24", "--temperature", "1.0",
        "--seed", "3", "--shard_size", "4", "--batch_size", "4", "--no_progress", "--dtype", "float32"]


def run(args: list[str], threads: int = 1) -> float:
    t0 = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.run([sys.executable, str(REPO / "cli.py"), *args], cwd=REPO, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def _strip(line: bytes) -> object:
    record = json.loads(line)
    record.pop("seconds", None)
    return record


def mine_outputs(out: Path) -> dict[str, list[object]]:
    names = ["problems.jsonl", "funnel.json"] + [str(p.relative_to(out)) for d in ("candidates", "scored", "filtered", "pairs")
                                                 for p in sorted((out / d).rglob("shard-*.jsonl"))]
    return {n: [_strip(x) for x in (out / n).read_bytes().splitlines() if x.strip()] if n.endswith(".jsonl")
            else json.loads((out / n).read_text()) for n in names}


def eval_outputs(out: Path) -> tuple[list[object], tuple]:
    records = sorted((_strip(x) for x in (out / "gsm8k" / "samples.jsonl").read_bytes().splitlines()), key=lambda r: r["id"])
    s = json.loads((out / "gsm8k" / "summary.json").read_text())
    return records, (s["n"], s["correct"], s["accuracy"], s["finish_reasons"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/ranks_bench")
    root = Path(ap.parse_args().out)
    shutil.rmtree(root, ignore_errors=True)
    for name, args, outputs in (("mine", MINE, mine_outputs), ("eval", EVAL, eval_outputs)):
        t = {"1 process": run([*args, "--out", str(root / name / "one")]),
             "--devices 2": run([*args, "--out", str(root / name / "two"), "--devices", "2"]),
             "rank 1 alone, then rank 0": run([*args, "--out", str(root / name / "seq"), "--rank", "1", "--world_size", "2"])
             + run([*args, "--out", str(root / name / "seq"), "--rank", "0", "--world_size", "2"])}
        ref = outputs(root / name / "one")
        for way, seconds in t.items():
            folder = {"1 process": "one", "--devices 2": "two", "rank 1 alone, then rank 0": "seq"}[way]
            same = outputs(root / name / folder) == ref
            print(f"{name:5s} {way:27s} {seconds:7.1f} s   equal to 1 process: {same}")
        if name == "mine":
            t2 = run([*args, "--out", str(root / name / "threads2")], threads=2)
            other = outputs(root / name / "threads2")
            cands = [k for k in ref if k.startswith("candidates")]
            same_text = all([(r["completion"], r["tokens"]) for r in ref[k]] == [(r["completion"], r["tokens"]) for r in other[k]]
                            for k in cands)
            diff = max(abs(a - b) for k in cands for r, o in zip(ref[k], other[k])
                       for a, b in zip(r["token_logprobs"], o["token_logprobs"]))
            print(f"{name:5s} {'1 process, 2 threads':27s} {t2:7.1f} s   equal: {other == ref}; same completions and tokens: "
                  f"{same_text}; max |log-prob difference| {diff:.1e}; same funnel: {other['funnel.json'] == ref['funnel.json']}")
            funnel = ref["funnel.json"]
            print(f"      funnel: {funnel['input']} -> {funnel['hard_negatives']} hard negatives; candidates "
                  f"{sum(len(v) for k, v in ref.items() if k.startswith('candidates'))}")
        else:
            print(f"      accuracy: {ref[1]}; distinct completions {len({r['completion'] for r in ref[0]})} of {len(ref[0])}")


if __name__ == "__main__":
    main()

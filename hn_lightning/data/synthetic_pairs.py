"""Synthetic preference pairs from GSM8K *train* solutions, for demos and tests before mining exists.

chosen   = the reference chain of thought (boxed final answer);
rejected = the same chain with one corrupted computation: a result in one step is changed, the error
           is carried into the final answer (a "near miss", structurally close to the reference).
w_raw    = 1 + 0.5 x (position of the corrupted step from the end) + a small seeded jitter: later,
           subtler slips get lower weight. This is a stand-in for verifier weights, not the paper's.

Real pairs come from ``python cli.py mine`` (hard-negative mining with the MathVerifier).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from hn_lightning.catalog import resolve_data_file
from hn_lightning.data.records import gsm8k_solution
from hn_lightning.io.atomic import atomic_writer
from hn_lightning.io.jsonl import iter_jsonl

_RESULT = re.compile(r"=\s*\$?(-?\d+(?:\.\d+)?)")


def corrupt(solution: str, rng: random.Random) -> tuple[str, int] | None:
    """Change the result of one ``= N`` in the solution and the final boxed answer; ``(text, step)``."""
    lines = solution.split("\n")
    candidates = [i for i, line in enumerate(lines) if _RESULT.search(line) and "boxed" not in line]
    if not candidates:
        return None
    i = rng.choice(candidates)
    match = list(_RESULT.finditer(lines[i]))[-1]
    value = match.group(1)
    wrong = str(int(float(value)) + rng.choice([-3, -2, -1, 1, 2, 10])) if "." not in value else f"{float(value) + 1.5:g}"
    lines[i] = lines[i][: match.start(1)] + wrong + lines[i][match.end(1):]
    boxed = re.search(r"\\boxed\{([^}]*)\}", lines[-1])
    if boxed:
        final = boxed.group(1)
        new_final = wrong if value == final else str(int(final) + 1) if final.lstrip("-").isdigit() else final + "1"
        lines[-1] = lines[-1].replace(f"\\boxed{{{final}}}", f"\\boxed{{{new_final}}}")
    return "\n".join(lines), len(lines) - 1 - i


def make_synthetic_pairs(out: str | Path, n: int = 64, seed: int = 0, source: str = "gsm8k:train") -> Path:
    """Write ``n`` synthetic pairs to ``out`` (atomically) and return the path."""
    rng = random.Random(seed)
    path = resolve_data_file(source)
    records = [(line, rec) for line, rec in iter_jsonl(path)]
    rng.shuffle(records)
    written = 0
    out = Path(out)
    with atomic_writer(out) as handle:
        import json

        for line, rec in records:
            chosen = gsm8k_solution(rec["answer"])
            bad = corrupt(chosen, rng)
            if bad is None or bad[0] == chosen:
                continue
            rejected, from_end = bad
            w_raw = round(1.0 + 0.5 * from_end + rng.uniform(0.0, 0.3), 4)
            handle.write(json.dumps({
                "id": f"gsm8k-train-{line}-synthetic",
                "prompt": rec["question"],
                "chosen": chosen,
                "rejected": rejected,
                "w_raw": w_raw,
                "meta": {"source": f"{source}:{line}", "kind": "synthetic-corruption", "corrupted_step_from_end": from_end},
            }) + "\n")
            written += 1
            if written == n:
                break
    return out

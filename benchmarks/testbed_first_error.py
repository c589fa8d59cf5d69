"""The verifier's first wrong step against the testbed's exact ground truth (a held-out check of the rules).

    OMP_NUM_THREADS=1 python benchmarks/testbed_first_error.py --runs /tmp/tbt/mine_sft runs/testbed_quick/mining \\
        --trap_problems 100 --out testbed_first_error.json

Two kinds of wrong solutions, each with a known first wrong line (docs/testbed.md, "Ground truth"):

* **sampled**: every wrong sample of mining runs on testbed problems (``--runs``: a run folder's
  ``problems.jsonl`` and ``scored/shard-*.jsonl``; only the completions and problems are read, and
  every sample is scored again with the current verifier); the subset that a run paired as hard negatives
  (``pairs/hardneg``) is reported apart;
* **trapped**: for ``--trap_problems`` fresh problems of the testbed family (their own seeds, no split's
  problems), each trapped plan of the generator written out as the model would write it (the reference's
  sentences, the trapped plan's annotations and answer). A repeated step has no sentence of its own and is
  left out.

Each solution is scored by :class:`~hn_lightning.verifier.MathVerifier` in the mining setting (question,
reference solution ``... $\\boxed{N}$``, gold), its ``first_error_step`` put on the generator's 1-based
annotation lines and compared with the ground-truth line exactly as the mining report's ``truth.json`` does
(:mod:`hn_lightning.testbed.truth_report`). Reports the exact and within-one-line agreement and the
offset histogram (``verifier - truth``, negative: the verifier flags an earlier line) by error category, by
trap kind and by the rule that placed the error. Nobody tuned the rules on these solutions. The first-error
stage reads no fine-channel output, so ``--fine_channel never`` (the default here) gives the same steps at
a fraction of the cost.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hn_lightning.io.jsonl import iter_jsonl  # noqa: E402
from hn_lightning.testbed.arith import format_number  # noqa: E402
from hn_lightning.testbed.generator import REPEAT, Family, Problem, generate_problem, run_chain  # noqa: E402
from hn_lightning.testbed.grading import classify  # noqa: E402
from hn_lightning.testbed.truth_report import OFFSETS, agreement, sample_row  # noqa: E402


# ---- solutions with a known first wrong line ----------------------------------------------------------
def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [r for _, r in iter_jsonl(path)]


def run_samples(run: Path) -> list[dict[str, Any]]:
    """The wrong-answer samples of a mining run on testbed problems: ``{"id", "question", "reference",
    "gold", "truth", "completion", "source", "hardneg"}`` (``hardneg``: paired as a hard negative)."""
    problems = {p["id"]: p for p in _jsonl(run / "problems.jsonl") if isinstance(p.get("truth"), dict)}
    hardneg = {str((p.get("meta") or {}).get("rejected_id")) for f in sorted((run / "pairs" / "hardneg").glob("shard-*.jsonl"))
               for p in _jsonl(f)}
    out = []
    for f in sorted((run / "scored").glob("shard-*.jsonl")):
        for rec in _jsonl(f):
            p = problems.get(rec.get("problem_id"))
            if p is None or classify(rec["completion"], p["truth"])["category"] == "correct":
                continue
            out.append({"id": f"{run.name}/{rec['id']}", "question": p["question"], "reference": p["reference"],
                        "gold": p["gold"], "truth": p["truth"], "completion": rec["completion"], "source": "sampled",
                        "hardneg": rec["id"] in hardneg})
    return out


def trapped_solutions(problem: Problem, pid: str) -> list[dict[str, Any]]:
    """Every trapped plan of ``problem`` (but a repeated step) written as a solution, in the format of
    :func:`sample_row`'s inputs (``source`` ``trapped``; ``trap``: the plan's trap kind)."""
    rec = problem.record(pid)
    out = []
    for i, step in enumerate(problem.steps):
        plans = [(step.kind.trap, step.kind.trap_ops)] + ([("skip", ())] if step.kind.trap != "skip" and len(problem.steps) > 1 else [])
        for kind, ops in plans:
            if ops == REPEAT:
                continue
            lines, final = run_chain(Fraction(problem.start), problem.steps, {i: ops})
            if final == problem.answer:
                continue
            body = "\n".join(replace(problem, lines=lines, answer=final).solution_lines())
            out.append({"id": f"{pid}#{kind}@{i + 1}", "question": rec["question"], "reference": rec["solution"],
                        "gold": rec["answer"], "truth": rec["truth"], "source": "trapped", "hardneg": False,
                        "completion": f"{body}\nThe final answer is $\\boxed{{{format_number(final)}}}$."})
    return out


def trap_samples(n: int, seed: str = "testbed-first-error") -> list[dict[str, Any]]:
    """:func:`trapped_solutions` of ``n`` problems of the train/test family drawn from their own seeds."""
    out: list[dict[str, Any]] = []
    for k in range(n):
        problem = generate_problem(random.Random(f"{seed}:{k}"), Family())
        out += trapped_solutions(problem, f"{seed}-{k:04d}")
    return out


# ---- scoring and the summary ----------------------------------------------------------------------------
def row(sample: dict[str, Any], scores: dict[str, Any], rule: str | None) -> dict[str, Any]:
    """One sample's ground truth beside the verifier's first wrong step (:func:`sample_row`), with its id,
    source and the rule that placed the error."""
    span = scores.get("first_error_span")
    r = sample_row(classify(sample["completion"], sample["truth"]), sample["completion"], scores, span[0] if span else None)
    return {"id": sample["id"], "source": sample["source"], "hardneg": sample["hardneg"], "rule": rule, **r}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """:func:`agreement` over all rows and by category, trap kind (structured rows) and placing rule."""
    def by(key: str, rs: list[dict[str, Any]]) -> dict[str, Any]:
        groups = Counter(str(r[key]) for r in rs)
        return {k: agreement([r for r in rs if str(r[key]) == k]) for k, _ in groups.most_common()}
    return {"all": agreement(rows), "by_category": by("category", rows),
            "by_trap": by("trap", [r for r in rows if r["category"] == "structured"]), "by_rule": by("rule", rows)}


def score(samples: list[dict[str, Any]], fine_channel: str, batch_size: int = 32) -> list[dict[str, Any]]:
    """Score ``samples`` with the current verifier (mining's inputs); one :func:`row` each."""
    from hn_lightning.verifier import MathVerifier, VerifierConfig, VerifierInput
    from hn_lightning.verifier.first_error import locate

    verifier = MathVerifier(VerifierConfig(fine_channel=fine_channel, use_cache=False))
    rows = []
    for start in range(0, len(samples), batch_size):
        batch = samples[start:start + batch_size]
        inputs = [VerifierInput(id=s["id"], question=s["question"], reference=s["reference"], gold=s["gold"],
                                prediction=s["completion"]) for s in batch]
        for s, (res, ev) in zip(batch, verifier.score_batch_with_evidence(inputs), strict=True):
            rows.append(row(s, res.to_dict(timing=False), locate(ev).rule))
    return rows


def markdown(name: str, summary: dict[str, Any]) -> str:
    """A table: one row per group, exact / within-1 agreement and the offset histogram."""
    head = f"| {name} | compared | exact | within 1 | " + " | ".join(OFFSETS) + " |\n|---|---:|---:|---:|" + "---:|" * len(OFFSETS)
    lines = [head]
    groups = [("all", summary["all"])] + [(f"{sec[3:]}: {k}", a) for sec in ("by_category", "by_trap", "by_rule")
                                          for k, a in summary[sec].items()]
    for label, a in groups:
        if not a["compared"]:
            continue
        lines.append(f"| {label} | {a['compared']} | {a['exact_rate']:.0%} | {a['within_1_rate']:.0%} | "
                     + " | ".join(str(a["offsets"][k]) for k in OFFSETS) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", nargs="*", type=Path, default=[], help="mining run folders on testbed problems")
    ap.add_argument("--trap_problems", type=int, default=100, help="fresh problems whose trapped plans are scored")
    ap.add_argument("--fine_channel", default="never", choices=["never", "gated", "always"])
    ap.add_argument("--out", type=Path, default=None, help="JSON with every row and the summaries")
    args = ap.parse_args(argv)
    sets = {"sampled": [s for run in args.runs for s in run_samples(run)], "trapped": trap_samples(args.trap_problems)}
    rows = score(sets["sampled"] + sets["trapped"], args.fine_channel)
    parts = {"sampled": [r for r in rows if r["source"] == "sampled"],
             "sampled, hard negatives": [r for r in rows if r["hardneg"]],
             "trapped": [r for r in rows if r["source"] == "trapped"]}
    result = {"runs": [str(r) for r in args.runs], "trap_problems": args.trap_problems,
              "summaries": {k: summarize(v) for k, v in parts.items() if v}, "rows": rows}
    for name, s in result["summaries"].items():
        print(f"\n{markdown(name, s)}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()

"""Do the ``gsm8k`` and ``math`` eval tasks still score as Step-DPO's test files did?

The tasks now read the datasets shipped with the package (``gsm8k:test``, ``math:test``) and rebuild
the gold lists (GSM8K: ``[text after ####]``; MATH: Step-DPO's extraction on the reference solution,
cut at the first newline). This script compares, for all 1319 GSM8K and 5000 MATH test problems:

1. the items: id, question, subject (and the gold lists themselves) against
   ``stepdpo/GSM8K_test_data.jsonl`` and ``stepdpo/MATH_test_data.jsonl`` of the shared data folder;
2. the checker's verdicts (``stepdpo`` mode, the protocol's) with the reference solution as the
   completion (GSM8K: the answer text with ``#### N`` turned into a boxed answer, as SFT formats it;
   MATH: the solution), scored once against the shipped golds and once against the Step-DPO golds.

Every difference is listed with its reason. Run from the repository root::

    python benchmarks/gold_agreement.py [--out benchmarks/results/gold_agreement.md]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from hn_lightning.answers import AnswerChecker  # noqa: E402
from hn_lightning.catalog import resolve_data_file  # noqa: E402
from hn_lightning.data.records import gsm8k_solution  # noqa: E402
from hn_lightning.evaluation.tasks import load_task  # noqa: E402
from hn_lightning.io.jsonl import read_jsonl  # noqa: E402
from hn_lightning.paths import shared_data_dir  # noqa: E402

STEPDPO = {"gsm8k": "stepdpo/GSM8K_test_data.jsonl", "math": "stepdpo/MATH_test_data.jsonl"}


def compare(task: str, checker: AnswerChecker) -> dict:
    """Item and verdict differences of one task between the shipped golds and Step-DPO's."""
    ref = {r["idx"]: r for r in read_jsonl(shared_data_dir() / STEPDPO[task])}
    source = {"gsm8k": "gsm8k:test", "math": "math:test"}[task]
    solutions = [r["answer"] if task == "gsm8k" else r["solution"] for r in read_jsonl(resolve_data_file(source))]
    items = load_task(task)
    diffs: list[str] = []
    if [i.id for i in items] != list(ref):
        diffs.append(f"ids differ: {len(items)} items vs {len(ref)} Step-DPO records, or in another order")
    same_gold = agree = correct_shipped = correct_ref = 0
    start = time.perf_counter()
    for item, solution in zip(items, solutions):
        rec = ref.get(item.id)
        if rec is None:
            continue
        if item.question != rec["instruction"]:
            diffs.append(f"{item.id}: question text differs")
        if task == "math" and item.subject != rec["type"]:
            diffs.append(f"{item.id}: subject {item.subject!r} vs type {rec['type']!r}")
        same_gold += item.gold == rec["answer"]
        if item.gold != rec["answer"]:
            diffs.append(f"{item.id}: gold {item.gold!r} vs Step-DPO {rec['answer']!r}")
        completion = gsm8k_solution(solution) if task == "gsm8k" else solution
        a = checker.check(completion, item.gold, item.question).correct
        b = checker.check(completion, rec["answer"], rec["instruction"]).correct
        correct_shipped += a
        correct_ref += b
        agree += a == b
        if a != b:
            diffs.append(f"{item.id}: verdict {a} with the shipped gold, {b} with Step-DPO's")
    return {"task": task, "n": len(items), "same_gold": same_gold, "agree": agree, "correct_shipped": correct_shipped,
            "correct_stepdpo": correct_ref, "diffs": diffs, "seconds": time.perf_counter() - start}


def report(results: list[dict], checker: AnswerChecker, command: str) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    lines = [f"Command: `{command}`; {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {cpu}, {os.cpu_count()} cores, "
             f"load {os.getloadavg()[0]:.1f}; checker `stepdpo` mode, {checker.stats.timeouts} timeouts, {checker.stats.errors} errors.", "",
             "| task | items | gold lists identical | verdicts agree | correct (shipped golds) | correct (Step-DPO golds) | differences | time |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        lines.append(f"| {r['task']} | {r['n']} | {r['same_gold']} | {r['agree']} | {r['correct_shipped']} | "
                     f"{r['correct_stepdpo']} | {len(r['diffs'])} | {r['seconds']:.0f} s |")
    for r in results:
        for d in r["diffs"]:
            lines.append(f"* {r['task']}: {d}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", default="gsm8k,math")
    ap.add_argument("--out", type=Path, default=None, help="also write the Markdown report here")
    args = ap.parse_args(argv)
    if not (shared_data_dir() / "stepdpo").is_dir():
        print(f"needs the Step-DPO test files (not shipped) in {shared_data_dir() / 'stepdpo'} ($HN_SHARED_DATA)", file=sys.stderr)
        return 2
    checker = AnswerChecker("stepdpo")
    results = [compare(task, checker) for task in args.tasks.split(",")]
    text = report(results, checker, "python benchmarks/gold_agreement.py" + (f" {' '.join(argv or sys.argv[1:])}" if (argv or sys.argv[1:]) else ""))
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0 if all(not r["diffs"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())

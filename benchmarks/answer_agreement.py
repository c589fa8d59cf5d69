"""Agreement of hn_lightning.answers with the correctness labels shipped in shared/data/sampled_solutions.

Run from the repository root::

    python benchmarks/answer_agreement.py                   # all modes, writes benchmarks/results/answer_agreement.md
    python benchmarks/answer_agreement.py --modes stepdpo   # one mode

Scored:

(a) ``qwen25math_math_cot_100.jsonl``: each of the 8 responses (``code``) of the 100 MATH problems
    against ``answer`` (the raw MATH answer), compared with the file's ``score`` labels (produced
    by the Qwen2.5-Math evaluator). The ``gt`` field (Qwen's normalisation of ``answer``) is also
    scored, for stepdpo mode, as a cross-check.
(b) ``gsm8k_test_gpt3_model_solutions.jsonl``: the 4 GPT-3 solutions per question
    (``6b_finetuning``, ``6b_verification``, ``175b_finetuning``, ``175b_verification``) against the
    number after the last ``A:`` of ``ground_truth``, compared with each solution's ``is_correct``.

Every disagreement of the ``stepdpo`` mode is listed with a one-line reason; for the other modes
the counts and a few examples are given.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from hn_lightning.answers import MODES, AnswerChecker, Verdict  # noqa: E402
from hn_lightning.catalog import resolve_data_file  # noqa: E402
from hn_lightning.io.jsonl import iter_jsonl  # noqa: E402
from hn_lightning.paths import shared_data_dir  # noqa: E402

GSM8K_KEYS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")
QWEN_FILE = "sampled_solutions/qwen25math_math_cot_100.jsonl"
GSM8K_FILE = "sampled_solutions/gsm8k_test_gpt3_model_solutions.jsonl"

# Reasons found by reading each disagreement, keyed by (mode, id prefix). Disagreements not covered
# here or by the automatic percent-leniency rule get a generic description marked "(auto)".
KNOWN_REASONS: dict[tuple[str, str], str] = {
    (
        "stepdpo",
        "qwen#3/",
    ): "label is wrong: the response boxes `4:30 \\text{ p.m.}`, the right answer; Qwen's "
    "evaluator mangled the gold to `4:30p..`, Step-DPO drops the unit/`p.m.` on both sides and matches",
    ("hendrycks", "qwen#53/"): "hendrycks keeps thousands commas: gold `900,000,000` vs answer `900000000` "
    "(known `is_equiv` false negative)",
    ("hendrycks", "qwen#59/"): "hendrycks keeps thousands commas: gold `3,250` vs answer `3250`",
    ("hendrycks", "qwen#98/"): "hendrycks keeps thousands commas: gold `50,625` vs answer `50625`",
    (
        "math_verify",
        "qwen#72/",
    ): "label is wrong: `10000` is right; Qwen's evaluator (and Step-DPO) reject it "
    "against the gold `10{,}000`, math-verify reads the `{,}` separator",
    (
        "hendrycks",
        "gsm8k#",
    ): "GPT-3 solutions end `A: N` with no `\\boxed{}`; hendrycks only reads the last box",
}


def known_reason(mode: str, item_id: str) -> str | None:
    for (m, prefix), reason in KNOWN_REASONS.items():
        if m == mode and item_id.startswith(prefix):
            return reason
    return None


@dataclass
class Item:
    """One completion to score."""

    id: str
    question: str
    completion: str
    gold: str
    label: bool


def qwen_items(gold_field: str = "answer") -> list[Item]:
    items = []
    for _, rec in iter_jsonl(shared_data_dir() / QWEN_FILE):
        for k, (completion, label) in enumerate(zip(rec["code"], rec["score"], strict=True)):
            items.append(
                Item(f"qwen#{rec['idx']}/{k}", rec["question"], completion, rec[gold_field], bool(label))
            )
    return items


def gsm8k_final_answer(text: str) -> str:
    """The text after the last ``A:`` (GPT-3 solution files end with ``A: N``)."""
    return text.rsplit("A:", 1)[-1].strip()


def gsm8k_items() -> list[Item]:
    items = []
    for lineno, rec in iter_jsonl(shared_data_dir() / GSM8K_FILE):
        gold = gsm8k_final_answer(rec["ground_truth"])
        for key in GSM8K_KEYS:
            sol = rec[key]
            items.append(
                Item(f"gsm8k#{lineno}/{key}", rec["question"], sol["solution"], gold, bool(sol["is_correct"]))
            )
    return items


@dataclass
class Result:
    file: str
    mode: str
    n: int
    agree: int
    seconds: float
    label_true: int
    pred_true: int
    disagreements: list[tuple[Item, Verdict]]
    stats: dict[str, int]

    @property
    def pct(self) -> float:
        return 100.0 * self.agree / self.n if self.n else 0.0


def run(file: str, items: list[Item], mode: str, timeout_s: float) -> Result:
    checker = AnswerChecker(mode=mode, timeout_s=timeout_s)  # type: ignore[arg-type]
    if mode == "stepdpo":  # pay the one-time LaTeX-parser check outside the timing
        checker.check("\\boxed{1}", "1")
        checker.stats.reset()
    disagreements = []
    agree = pred_true = 0
    start = time.perf_counter()
    for item in items:
        verdict = checker.check(item.completion, item.gold, item.question)
        pred_true += verdict.correct
        if verdict.correct == item.label:
            agree += 1
        else:
            disagreements.append((item, verdict))
    seconds = time.perf_counter() - start
    return Result(
        file,
        mode,
        len(items),
        agree,
        seconds,
        sum(i.label for i in items),
        pred_true,
        disagreements,
        checker.stats.as_dict(),
    )


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def auto_reason(item: Item, verdict: Verdict) -> str:
    """A generic explanation; the Step-DPO percent rule is recognised precisely."""
    if verdict.timed_out:
        return f"sympy timed out ({verdict.error})"
    if not verdict.extracted:
        return "no answer extracted from the completion"
    if verdict.error:
        return f"checker problem: {verdict.error}"
    if verdict.correct and len(verdict.extracted) == 1 and len(verdict.gold) == 1:
        pred, gold = _number(verdict.extracted[0]), _number(verdict.gold[0])
        if (
            pred is not None
            and gold is not None
            and pred != gold
            and (abs(pred - 100 * gold) < 1e-3 or abs(pred - gold / 100) < 1e-3)
        ):
            return (
                "Step-DPO percent leniency: answer = gold x 100 or gold / 100, accepted by `math_equal` "
                "(known false positive; the label is right)"
            )
    if verdict.correct:
        return "we accept an answer the label rejects"
    return "we reject an answer the label accepts"


def reason_for(mode: str, item: Item, verdict: Verdict) -> str:
    known = known_reason(mode, item.id)
    if known:
        return known
    auto = auto_reason(item, verdict)
    return auto if auto.startswith("Step-DPO percent") else auto + " (auto)"


def short(text: object, limit: int = 60) -> str:
    s = str(text).replace("|", "\\|").replace("\n", " ")
    return s if len(s) <= limit else s[: limit - 1] + "…"


def render(results: list[Result], gt_check: Result | None, argv: list[str], extra: list[str]) -> str:
    today = os.environ.get("BENCH_DATE") or _dt.date.today().isoformat()
    lines = [
        "# Answer-checker agreement with shipped correctness labels",
        "",
        f"* Command: `python benchmarks/answer_agreement.py{(' ' + ' '.join(argv)) if argv else ''}` (repository root)",
        f"* Machine: {os.cpu_count()} CPU cores ({platform.machine()}, {platform.system()}), the CI-like CPU box; "
        f"Python {platform.python_version()}",
        f"* Date: {today}",
        f"* Versions: {versions()}",
        "* (a) `qwen25math_math_cot_100.jsonl`: 100 MATH problems x 8 responses (`code`) against `answer`, "
        "labels = `score` (Qwen2.5-Math evaluator).",
        "* (b) `gsm8k_test_gpt3_model_solutions.jsonl`: 1319 questions x 4 GPT-3 solutions against the number "
        "after the last `A:` of `ground_truth`, labels = `is_correct`.",
        "",
        "## Agreement",
        "",
        "| file | mode | items | agree | agreement | disagreements | label-correct | checker-correct | time (s) | ms/check | timeouts | parse errors | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = results + ([gt_check] if gt_check else [])
    for r in rows:
        lines.append(
            f"| {r.file} | {r.mode} | {r.n} | {r.agree} | {r.pct:.2f}% | {len(r.disagreements)} | {r.label_true} | "
            f"{r.pred_true} | {r.seconds:.1f} | {1000 * r.seconds / max(r.n, 1):.1f} | {r.stats['timeouts']} | "
            f"{r.stats['parse_errors']} | {r.stats['errors']} |"
        )
    lines += [
        "",
        "`parse errors` counts symbolic comparisons where sympy could not read one of the two strings "
        "(scored not-equal, as in Step-DPO); they are normal for text answers.",
        "",
    ]
    for r in rows:
        if not r.disagreements:
            continue
        full = r.mode == "stepdpo" or len(r.disagreements) <= 40
        lines += [f"## Disagreements: {r.file}, {r.mode} ({len(r.disagreements)})", ""]
        kinds = Counter(reason_for(r.mode, i, v) for i, v in r.disagreements)
        lines += [f"* {n} x {k}" for k, n in kinds.most_common()]
        lines += ["", "All of them:" if full else "First examples:", ""]
        lines += [
            "| id | extracted | gold | label | checker | reason |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        shown = r.disagreements if full else r.disagreements[:8]
        for item, verdict in shown:
            lines.append(
                f"| {item.id} | `{short(verdict.extracted)}` | `{short(item.gold)}` | {item.label} | {verdict.correct} | "
                f"{reason_for(r.mode, item, verdict)} |"
            )
        lines.append("")
    lines += extra
    return "\n".join(lines) + "\n" + NOTES


def cross_checks(modes: list[str], timeout_s: float) -> list[str]:
    """Self-consistency on the MATH test set: rebuild Step-DPO's golds from the reference solutions,
    and score every reference solution against its own raw ``answer`` in each mode."""
    from hn_lightning.answers import extract_math_answer

    lines = ["## Cross-checks on the MATH test set (5000 reference solutions)", ""]
    stepdpo = {
        rec["idx"]: rec for _, rec in iter_jsonl(shared_data_dir() / "stepdpo" / "MATH_test_data.jsonl")
    }
    start = time.perf_counter()
    rebuilt = sum(
        extract_math_answer(rec["instruction"], rec["output"], first_line_only=True) == rec["answer"]
        for rec in stepdpo.values()
    )
    lines.append(
        f"* Step-DPO gold lists rebuilt from `output` with `extract_math_answer(..., first_line_only=True)`: "
        f"{rebuilt}/{len(stepdpo)} identical to `stepdpo/MATH_test_data.jsonl` `answer` ({time.perf_counter() - start:.1f} s)."
    )
    math_rows = [rec for _, rec in iter_jsonl(resolve_data_file("math:test"))]
    for mode in modes:
        checker = AnswerChecker(mode=mode, timeout_s=timeout_s)  # type: ignore[arg-type]
        start = time.perf_counter()
        wrong = [
            rec["unique_id"]
            for rec in math_rows
            if not checker.check(rec["solution"], rec["answer"], rec["problem"]).correct
        ]
        lines.append(
            f"* `{mode}`: reference `solution` judged correct against its raw `answer` for "
            f"{len(math_rows) - len(wrong)}/{len(math_rows)} ({time.perf_counter() - start:.1f} s)"
            + (f"; not: {', '.join(wrong[:8])}{' ...' if len(wrong) > 8 else ''}" if wrong else "")
            + "."
        )
        print(lines[-1], flush=True)
    return lines + [""]


NOTES = """## Notes

* Agreement is with the files' own labels, which have errors. `qwen#3/*` (stepdpo) and `qwen#72/7`
  (math_verify) above are label errors where our checker is right. The reverse also happens:
  `qwen#72/7` boxes `10000` against gold `10{,}000`; the label says wrong and so does the stepdpo mode
  (Step-DPO cannot read `{,}`), so it counts as agreement although both are wrong.
* Every stepdpo disagreement on GSM8K is Step-DPO's percent leniency (`ref*100` / `ref/100`), a known
  false positive reproduced on purpose for parity.
* hendrycks mode only reads `\\boxed{}`, so on the GPT-3 GSM8K solutions (which end `A: N`) it marks
  every solution wrong: its agreement there is the fraction of wrong solutions, not a bug.
* The 8 MATH reference solutions math_verify misses in the cross-check box several results (for
  example both roots) while the raw `answer` holds only the last box; math-verify reads all boxes.
* Timings are wall-clock on a shared 2-core box and vary by about 2x between runs; math_verify is
  slower because it parses the whole completion and the gold with its LaTeX grammar.
* math_verify verdicts depend on the antlr pin (4.11.1 here); see shared/docs/eval-protocol.md section 6.
"""


def versions() -> str:
    from importlib.metadata import version

    parts = []
    for pkg in ("sympy", "antlr4-python3-runtime", "math-verify", "latex2sympy2_extended"):
        try:
            parts.append(f"{pkg} {version(pkg)}")
        except Exception:
            parts.append(f"{pkg} missing")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--timeout", type=float, default=5.0, help="per-call timeout in seconds (default 5)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "answer_agreement.md")
    parser.add_argument("--no-write", action="store_true", help="print the report instead of writing it")
    parser.add_argument(
        "--skip-cross-checks", action="store_true", help="skip the MATH test-set self-consistency checks"
    )
    args = parser.parse_args(argv)

    qwen, gsm = qwen_items(), gsm8k_items()
    results: list[Result] = []
    for mode in args.modes:
        for name, items in (("qwen25math_math_cot_100", qwen), ("gsm8k_test_gpt3_model_solutions", gsm)):
            r = run(name, items, mode, args.timeout)
            results.append(r)
            print(
                f"{name:35s} {mode:12s} agreement {r.pct:6.2f}% ({r.agree}/{r.n}), "
                f"{len(r.disagreements)} disagreements, {r.seconds:.1f} s",
                flush=True,
            )
    gt_check = None
    if "stepdpo" in args.modes:
        gt_check = run("qwen25math_math_cot_100 (gold=`gt`)", qwen_items("gt"), "stepdpo", args.timeout)
        print(f"{'qwen (gold=gt)':35s} {'stepdpo':12s} agreement {gt_check.pct:6.2f}%", flush=True)
    extra = [] if args.skip_cross_checks else cross_checks(args.modes, args.timeout)
    report = render(results, gt_check, argv, extra)
    if args.no_write:
        print(report)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Regression test on real data: Step-DPO parity and agreement with shipped labels.

See benchmarks/answer_agreement.py and benchmarks/results/answer_agreement.md for the full report.
"""

from __future__ import annotations

import pytest

from hn_lightning.answers import AnswerChecker, extract_math_answer
from hn_lightning.io.jsonl import iter_jsonl
from hn_lightning.paths import shared_data_dir

DATA = shared_data_dir()
pytestmark = pytest.mark.skipif(
    not (DATA / "sampled_solutions").is_dir() or not (DATA / "stepdpo").is_dir(),
    reason=f"needs files the package does not ship (stepdpo/, sampled_solutions/) from the shared data folder {DATA} ($HN_SHARED_DATA)",
)


def test_stepdpo_math_golds_are_reproduced_from_reference_solutions() -> None:
    # Step-DPO built its MATH golds by running its own extraction (cut at the first newline) on the
    # reference solutions; ours must give the very same lists for all 5000 problems.
    mismatches = [
        rec["idx"]
        for _, rec in iter_jsonl(DATA / "stepdpo" / "MATH_test_data.jsonl")
        if extract_math_answer(rec["instruction"], rec["output"], first_line_only=True) != rec["answer"]
    ]
    assert mismatches == []


def test_qwen_math_samples_agree_with_labels() -> None:
    checker = AnswerChecker("stepdpo")
    disagree = []
    for _, rec in iter_jsonl(DATA / "sampled_solutions" / "qwen25math_math_cot_100.jsonl"):
        for k, (completion, label) in enumerate(zip(rec["code"], rec["score"], strict=True)):
            if checker.check(completion, rec["answer"], rec["question"]).correct != label:
                disagree.append(f"{rec['idx']}/{k}")
    # all 8 are problem 3, where the label is wrong (see the benchmark report)
    assert disagree == [f"3/{k}" for k in range(8)]
    assert checker.stats.timeouts == 0 and checker.stats.errors == 0


def test_gsm8k_gpt3_samples_agree_with_labels() -> None:
    checker = AnswerChecker("stepdpo")
    n = agree = 0
    for _, rec in iter_jsonl(DATA / "sampled_solutions" / "gsm8k_test_gpt3_model_solutions.jsonl"):
        gold = rec["ground_truth"].rsplit("A:", 1)[-1].strip()
        for key in ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"):
            n += 1
            agree += (
                checker.check(rec[key]["solution"], gold, rec["question"]).correct == rec[key]["is_correct"]
            )
    assert n == 5276
    assert n - agree == 14  # all Step-DPO percent-leniency false positives

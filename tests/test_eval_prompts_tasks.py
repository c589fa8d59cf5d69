"""Evaluation inputs: the qwen2-boxed prompt byte for byte, task loading (ids, golds, MATH subject and
level join, MATH-500, custom JSONL field mapping, seeded subsets), Wilson intervals, breakdowns."""

from __future__ import annotations

import math

import pytest
from conftest import write_jsonl

from hn_lightning import SYSTEM_PROMPT
from hn_lightning.evaluation.metrics import MathAccuracy, accuracy_summary, breakdown, wilson_interval
from hn_lightning.evaluation.prompts import build_prompt, qwen2_boxed
from hn_lightning.evaluation.tasks import FieldMap, load_task
from hn_lightning.io import JsonlError

# shared/docs/eval-protocol.md: the three lines joined with nothing between them
PROTOCOL = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\n{instruction}\nPlease reason step by step, and put your final answer within \\boxed{{}}.<|im_end|>\n"
    "<|im_start|>assistant\n"
)


def test_qwen2_boxed_is_the_protocol_string():
    q = "What is $\\frac{1}{2}+{3}$?"
    assert qwen2_boxed(q) == PROTOCOL.format(instruction=q)
    assert build_prompt("qwen2-boxed", q) == PROTOCOL.format(instruction=q)
    # literal text, checked once more by hand: a single backslash before boxed, empty braces, no trailing space
    assert qwen2_boxed("Q").endswith("Q\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n<|im_start|>assistant\n")
    assert "\\\\boxed" not in qwen2_boxed("Q")


def test_sft_system_and_chat_template(tokenizer):
    q = "What is 2+2?"
    sft = build_prompt("sft-system", q)
    assert sft == PROTOCOL.format(instruction=q).replace("You are a helpful assistant.", SYSTEM_PROMPT)
    chat = build_prompt("chat-template", q, tokenizer, system="You are a helpful assistant.")
    assert chat == PROTOCOL.format(instruction=q)  # Qwen's template renders the same ChatML string
    with pytest.raises(ValueError, match="unknown prompt style"):
        build_prompt("alpaca", q)  # type: ignore[arg-type]


def test_named_tasks_load_with_golds_subjects_and_levels():
    gsm = load_task("gsm8k")
    assert len(gsm) == 1319 and gsm[0].id == "GSM8K_0" and gsm[0].gold == ["18"]
    assert gsm[0].question.startswith("Janet’s ducks lay 16 eggs")
    maths = load_task("math")
    assert len(maths) == 5000
    assert maths[0].id == "hendrycks_math_1" and maths[0].subject == "Algebra" and maths[0].level == 3
    counts = {lvl: sum(1 for m in maths if m.level == lvl) for lvl in range(1, 6)}
    assert counts == {1: 437, 2: 894, 3: 1131, 4: 1214, 5: 1324}  # shared/data/README.md
    assert len({m.subject for m in maths}) == 7
    quirk = next(m for m in maths if m.id == "hendrycks_math_4135")
    assert quirk.gold == ["90\\text{square"]  # kept from the released file
    m500 = load_task("math500")
    assert len(m500) == 500 and m500[0].id.startswith("test/") and isinstance(m500[0].level, int)


def test_limit_and_seeded_subset():
    assert [i.id for i in load_task("gsm8k", limit=3)] == ["GSM8K_0", "GSM8K_1", "GSM8K_2"]
    a = load_task("gsm8k", limit=20, seed=7)
    b = load_task("gsm8k", limit=20, seed=7)
    c = load_task("gsm8k", limit=20, seed=8)
    assert [i.id for i in a] == [i.id for i in b] != [i.id for i in c]
    numbers = [int(i.id.split("_")[1]) for i in a]
    assert numbers == sorted(numbers) and numbers != list(range(20))  # file order, not the first 20


def test_custom_jsonl_field_mapping(tmp_path):
    path = write_jsonl(tmp_path / "mine.jsonl", [
        {"meta": {"key": "a"}, "problem": "1+1?", "solution": "It is 2.\n#### 2", "topic": "arith", "level": "Level 2"},
        {"meta": {"key": "b"}, "problem": "2+2?", "solution": "#### 4", "topic": "arith", "level": 1},
    ])
    items = load_task(str(path), fields=FieldMap(question="problem", answer="solution", id="meta.key", subject="topic"))
    assert [(i.id, i.question, i.gold, i.subject, i.level) for i in items] == [
        ("a", "1+1?", "It is 2.\n#### 2", "arith", 2), ("b", "2+2?", "#### 4", "arith", 1)]
    guessed = load_task(str(write_jsonl(tmp_path / "g.jsonl", [{"question": "q", "answer": ["3"]}])))
    assert guessed[0].id == "line:1" and guessed[0].gold == ["3"]
    with pytest.raises(JsonlError, match=r"bad.jsonl:2: no gold"):
        load_task(str(write_jsonl(tmp_path / "bad.jsonl", [{"question": "q", "answer": "1"}, {"question": "q2"}])))
    with pytest.raises(JsonlError, match="duplicate id"):
        load_task(str(write_jsonl(tmp_path / "dup.jsonl", [{"id": 1, "question": "q", "answer": "1"}] * 2)))
    with pytest.raises(FileNotFoundError, match="named tasks"):
        load_task("gsm9k")


def test_wilson_interval_golden_values():
    # by hand: z = 1.96, z^2 = 3.8415; 5/10: (0.5 +- 1.96*sqrt(0.025 + 0.0096)/1.38415) = 0.2366 .. 0.7634
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.236593, abs=1e-5) and hi == pytest.approx(0.763407, abs=1e-5)
    # 0/10: lower 0 exactly, upper z^2/n / (1 + z^2/n) = 0.38415 / 1.38415 = 0.27753
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.277533, abs=1e-5))
    assert wilson_interval(10, 10) == (pytest.approx(0.722467, abs=1e-5), 1.0)
    # 81/100: centre (0.81 + 0.019207)/1.038415 = 0.79853, half 1.96*sqrt(0.001539 + 0.0000960)/1.038415 = 0.07632
    lo, hi = wilson_interval(81, 100)
    assert lo == pytest.approx(0.72221, abs=2e-4) and hi == pytest.approx(0.87485, abs=2e-4)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_accuracy_is_a_torchmetrics_metric_and_breaks_down():
    metric = MathAccuracy()
    metric.update([True, False, True])
    metric.update([True])
    assert float(metric.compute()) == pytest.approx(0.75)
    s = accuracy_summary([True, False, True, True])
    assert s["n"] == 4 and s["correct"] == 3 and s["accuracy"] == pytest.approx(0.75)
    assert s["ci95"] == list(wilson_interval(3, 4))
    rows = [("Algebra", True), ("Geometry", False), ("Algebra", False), (None, True), ("Algebra", True)]
    by = breakdown(rows)
    assert list(by) == ["Algebra", "Geometry"]
    assert by["Algebra"]["n"] == 3 and by["Algebra"]["correct"] == 2 and by["Geometry"]["accuracy"] == 0.0
    levels = breakdown([(5, True), (1, False), (10, True)])
    assert list(levels) == ["1", "5", "10"]  # numeric order, not string order

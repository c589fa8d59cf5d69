"""The testbed generator: a chain checked by hand, determinism, every reference annotation and trap checks
out with the calculator's arithmetic, splits disjoint by construction, and the answer classification."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from hn_lightning.testbed import calc_eval, classify, format_number, generate_split, summarize_errors
from hn_lightning.testbed.generator import make_problem, skeleton_bucket
from hn_lightning.testbed.splits import BUCKETS, SPLITS

_ANNOT = re.compile(r"<<([^<>=]+)=([^<>]+)>>(\S+?) ")


@pytest.fixture(scope="module")
def samples() -> dict[str, list[dict]]:
    return {"train": generate_split("train", 400), "test": generate_split("test", 300), "ood": generate_split("ood", 100)}


def _hand_problem():
    return make_problem(40, [("times", 3), ("give_away", 20), ("pct_more", 25), ("together", 0)]).record("x")


def test_a_chain_checked_by_hand():
    rec = _hand_problem()
    assert rec["question"].endswith("Ben has 3 times as many stickers as Ann. Ben gives away 20% of the stickers. "
                                    "Cara has 25% more stickers than Ben. How many stickers do Ben and Cara have together?")
    assert rec["answer"] == ("Ben has <<40*3=120>>120 stickers.\nBen gives away <<120*20/100=24>>24 stickers.\n"
                             "Ben has <<120-24=96>>96 stickers left.\nCara has <<96*(100+25)/100=120>>120 stickers.\n"
                             "Together they have <<96+120=216>>216 stickers.\n#### 216")
    assert rec["solution"] == rec["answer"].replace("#### 216", "The final answer is $\\boxed{216}$.")
    assert rec["level"] == 5
    traps = {(t["kind"], t["line"]): t for t in rec["truth"]["traps"]}
    # 3 more instead of 3 times: 43, 20% given away leaves 34.4, Cara 43, together 77.4
    assert traps[("times_vs_more", 1)] | {} == {"kind": "times_vs_more", "step_kind": "times", "line": 1, "expr": "40+3",
                                                "value": "43", "answer": "77.4"}
    assert traps[("left_spent", 3)]["answer"] == "54"      # carries the 24 given away: Cara 30, 24 + 30
    assert traps[("percent", 4)]["expr"] == "96*25/100" and traps[("percent", 4)]["answer"] == "120"  # 96 + 24
    assert traps[("skip", 5)]["answer"] == "120"           # Cara's alone: the addition skipped
    assert traps[("skip", 2)]["answer"] == "270"           # nothing given away: 120 + 150
    # tripled twice: 360, 72 given away, 288 left, Cara 360, together 648; the extra line is the second
    assert traps[("repeat", 2)] | {} == {"kind": "repeat", "step_kind": "times", "line": 2, "expr": "120*3",
                                         "value": "360", "answer": "648"}
    assert traps[("repeat", 6)]["expr"] == "120+216"      # adding up twice: a line after the reference's last
    assert all(t["answer"] != "216" for t in rec["truth"]["traps"])


def test_generation_is_deterministic_and_seeds_differ():
    a, b = generate_split("test", 40), generate_split("test", 40)
    assert a == b
    assert len({r["question"] for r in a}) == 40


def test_every_annotation_is_the_calculators_arithmetic_and_ends_in_the_gold(samples):
    for split, records in samples.items():
        for rec in records:
            truth, gold = rec["truth"], rec["truth"]["answer"]
            body = rec["answer"].rsplit("\n#### ", 1)
            assert body[1] == gold and rec["solution"].endswith(f"\\boxed{{{gold}}}$.")
            found = _ANNOT.findall(body[0].replace("\n", " ") + " ")
            assert len(found) == len(truth["steps"]) == rec["level"]
            for (expr, result, copied), step in zip(found, truth["steps"]):
                value = calc_eval(expr)
                assert (expr, format_number(value)) == (step["expr"], step["value"])
                assert result == copied.rstrip(".") == step["value"]
                assert value.denominator == 1 and 1 <= value <= SPLITS[split].family.max_value
            assert truth["steps"][-1]["value"] == gold
            assert "{" not in rec["question"] and rec["question"].endswith("?")


def test_every_trap_changes_the_answer_and_writes_the_calculators_value(samples):
    kinds = set()
    for records in samples.values():
        for rec in records:
            traps = rec["truth"]["traps"]
            assert any(t["kind"] not in ("skip", "repeat") for t in traps)
            for t in traps:
                kinds.add(t["kind"])
                assert Fraction(t["answer"]) != Fraction(rec["truth"]["answer"])
                assert 1 <= t["line"] <= rec["level"] + (t["kind"] == "repeat")  # a repeated last step: one line more
                if t["expr"]:
                    assert format_number(calc_eval(t["expr"])) == t["value"]
                    if t["line"] <= rec["level"]:
                        assert t["value"] != rec["truth"]["steps"][t["line"] - 1]["value"] or t["expr"] != rec["truth"]["steps"][t["line"] - 1]["expr"]
    assert kinds == {"percent", "times_vs_more", "more_vs_fewer", "rate", "per_item", "left_spent", "skip", "repeat"}


def test_splits_are_disjoint_by_construction(samples):
    train = {r["truth"]["skeleton"] for r in samples["train"]}
    test = {r["truth"]["skeleton"] for r in samples["test"]}
    assert len(train) == len(samples["train"]) and len(test) == len(samples["test"])  # unique within a split
    assert all(skeleton_bucket(s, BUCKETS) != 0 for s in train)
    assert all(skeleton_bucket(s, BUCKETS) == 0 for s in test)
    assert {r["level"] for r in samples["train"]} | {r["level"] for r in samples["test"]} <= set(range(2, 7))
    assert {r["level"] for r in samples["ood"]} <= {7, 8}
    assert {r["id"] for r in samples["test"]} == {f"testbed-test-{i:05d}" for i in range(300)}
    # held-out phrasings only in ood
    assert not any("Compared with" in r["question"] for r in samples["train"] + samples["test"])
    assert any("Compared with" in r["question"] or "percent" in r["question"] for r in samples["ood"])


@pytest.mark.parametrize("completion, category, trap", [
    ("Ben has <<40*3=120>>120 stickers.\n...\nThe final answer is $\\boxed{216}$.", "correct", None),
    ("Ben has <<40+3=43>>43 stickers.\n...\nThe final answer is $\\boxed{77.4}$.", "structured", "times_vs_more"),
    ("Cara has <<96*25/100=24>>24 stickers.\nThe final answer is $\\boxed{120}$.", "structured", "percent"),
    ("Together they have <<34.4+43=77.4>>77 stickers.\nThe final answer is $\\boxed{77}$.", "structured", "times_vs_more"),
    ("Ben has <<40*3=130>>130 stickers.\nThe final answer is $\\boxed{226}$.", "arithmetic", None),
    ("<<40*3=120>>120\n<<120*20/100=24>>24\n<<120-24=96>>96\n<<69*(100+25)/100=86.25>>86.25\n"
     "<<96+86.25=182.25>>182.25\n\\boxed{182.25}", "arithmetic", None),
    ("Together they have <<96+120=216>>216 stickers.\nThe final answer is $\\boxed{261}$.", "arithmetic", None),
    ("Ben has <<40*5=200>>200 stickers.\nThe final answer is $\\boxed{300}$.", "other", None),
    ("I do not know.", "other", None),
])
def test_classification_by_the_ground_truth(completion, category, trap):
    rec = _hand_problem()
    out = classify(completion, rec["truth"])
    assert (out["category"], out["trap"]) == (category, trap)


def test_first_wrong_line_and_summary():
    rec = _hand_problem()
    wrong = "<<40*3=120>>120\n<<120*20/100=24>>24\n<<24*(100+25)/100=30>>30\n<<24+30=54>>54\n\\boxed{54}"
    out = classify(wrong, rec["truth"])
    assert (out["category"], out["trap"], out["trap_line"], out["first_wrong_line"]) == ("structured", "left_spent", 3, 3)
    rows = [(out, rec), (classify("\\boxed{216}", rec["truth"]), rec), (classify("nothing", rec["truth"]), rec)]
    summary = summarize_errors(rows)
    assert summary["by_category"] == {"correct": 1, "structured": 1, "arithmetic": 0, "other": 1}
    assert summary["structured_share_of_wrong"] == 0.5 and summary["by_trap"] == {"left_spent": 1}
    assert summary["by_level"][5]["n"] == 3

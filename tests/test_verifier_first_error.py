"""The first wrong step (hn_lightning.verifier.first_error / trace): one hand-built case per error kind
with its exact index, correct solutions (paraphrased, reordered, another route) that must not be
flagged, reference-free mode, and the quantity trace itself."""

from __future__ import annotations

from fractions import Fraction

import pytest

from hn_lightning.verifier.first_error import ERROR_KINDS, gold_values, locate_first_error
from hn_lightning.verifier.steps import split_steps
from hn_lightning.verifier.trace import computable_text, trace_solution

Q = ("Sara buys 3 boxes of pencils with 12 pencils in each box. She gives 10 pencils to her brother and "
     "shares the rest equally between herself and her friend. How many pencils does each of them get?")
REF = ("She buys 3*12=<<3*12=36>>36 pencils.\nAfter her brother she has 36-10=<<36-10=26>>26 pencils.\n"
       "Each gets 26/2=<<26/2=13>>13 pencils.\n#### 13")
GOLD = gold_values("13")

TABLE2_Q = ("Tom buys 4 notebooks that cost $3 each. The store gives a 10% discount on the total. "
            "He pays with a $20 bill. How much change does he get?")
TABLE2_REF = ("The notebooks cost 4 * 3 = $<<4*3=12>>12.\nWith the discount he pays 12 * 0.9 = $<<12*0.9=10.80>>10.80.\n"
              "His change is 20 - 10.80 = $<<20-10.80=9.20>>9.20.\n#### 9.20")
TABLE2_NEG = ("Tom buys 4 notebooks at $3 each, so they cost 4 x 3 = $12.\n"
              "With the 10% discount he pays 4*3*0.9 = $10.80.\n"
              "He pays with a $20 bill, so his change is 20 - 12 = $8.\n"
              "The answer is 8.")


def steps(text: str) -> list[str]:
    return [s.text for s in split_steps(text)]


def locate(pred: str, correct: bool | None = False, q: str = Q, ref: str | None = REF, gold=GOLD, **kw):
    texts = steps(pred)
    return locate_first_error(texts, q, ref, gold if ref is not None else None, correct, **kw), texts


# --- one case per kind, with the exact first-error index -------------------------------------------
@pytest.mark.parametrize(("pred", "index", "kind"), [
    # wrong formula, right arithmetic: "shared between two" computed as a product
    ("Sara has 3 * 12 = 36 pencils.\nAfter giving 10 to her brother she has 36 - 10 = 26 pencils.\n"
     "Shared between the two of them, each gets 26 * 2 = 52 pencils.\nThe answer is 52.", 2, "wrong_operation"),
    # relation flip: "gives 10 away" read as "gets 10 more"
    ("Sara has 3 * 12 = 36 pencils.\nWith her brother's 10 she has 36 + 10 = 46 pencils.\n"
     "Each gets 46 / 2 = 23 pencils.\nThe answer is 23.", 1, "wrong_operation"),
    # missing step: the brother's 10 pencils are never taken away (26 is never reached)
    ("Sara has 3 * 12 = 36 pencils.\nShared equally, each gets 36 / 2 = 18 pencils.\nThe answer is 18.", 1, "missing_step"),
    # arithmetic slip
    ("Sara has 3 * 12 = 36 pencils.\nAfter her brother she has 36 - 10 = 24 pencils.\n"
     "Each gets 24 / 2 = 12 pencils.\nThe answer is 12.", 1, "arithmetic_slip"),
    # unsupported number: 17 comes from nowhere
    ("Sara has 3 * 12 = 36 pencils.\nAfter her brother she has 36 - 17 = 19 pencils.\n"
     "Each gets 19 / 2 = 9.5 pencils.\nThe answer is 9.5.", 1, "unsupported_number"),
    # every step right, the final statement wrong
    ("Sara has 3 * 12 = 36 pencils.\nAfter her brother she has 36 - 10 = 26 pencils.\n"
     "Each gets 26 / 2 = 13 pencils.\nThe answer is 31.", 3, "wrong_final_answer"),
])
def test_each_error_kind_at_its_exact_step(pred, index, kind):
    fe, texts = locate(pred)
    assert (fe.index, fe.kind) == (index, kind), (fe, texts)
    assert len(fe.step_scores) == len(texts) and fe.step_scores[index] >= 0.5
    assert all(s < 0.5 for s in fe.step_scores[:index])
    assert fe.kind in ERROR_KINDS


def test_table2_notebooks_flagged_at_the_step_that_subtracts_12():
    """The paper's Table-2 case: with the reference, ``20 - 12`` leaves the route (the discounted 10.80 was
    reached, the step that uses it skipped)."""
    fe, texts = locate(TABLE2_NEG, False, q=TABLE2_Q, ref=TABLE2_REF, gold=gold_values("9.20"))
    assert (fe.index, fe.kind) == (2, "missing_step") and "20 - 12" in texts[2], (fe, texts)
    assert fe.verified_before == 2  # 4 x 3 = 12 and 4*3*0.9 = 10.80 check out


# --- correct solutions that must not be flagged ----------------------------------------------------
@pytest.mark.parametrize("pred", [
    # paraphrased, units, LaTeX and currency-free
    "Three boxes of a dozen pencils make \\(3 \\times 12 = 36\\) pencils.\nShe keeps 36 - 10 = 26 once her brother has his.\n"
    "Splitting 26 in two gives each of them 13.\nThe answer is \\(\\boxed{13}\\).",
    # another route through values the reference never writes: 36/2 - 10/2
    "Sara has 3 * 12 = 36 pencils.\nHalf of them is 36 / 2 = 18 and half of the brother's share is 10 / 2 = 5, so each gets 18 - 5 = 13.\n"
    "The answer is 13.",
])
@pytest.mark.parametrize("correct", [True, None])
def test_correct_paraphrased_or_other_route_not_flagged(pred, correct):
    fe, texts = locate(pred, correct)
    assert fe.index is None and fe.kind is None, (fe, texts)
    assert fe.verified_before >= 2


def test_reordered_independent_steps_not_flagged():
    q = "Tom buys 3 shirts at $12 each and 2 hats at $5 each. How much does he spend?"
    ref = "Shirts: 3*12=<<3*12=36>>36.\nHats: 2*5=<<2*5=10>>10.\nTotal 36+10=<<36+10=46>>46.\n#### 46"
    pred = "The hats cost 2 x $5 = $10.\nThe shirts cost 3 x $12 = $36.\nTogether he spends $10 + $36 = $46.\nThe answer is $46."
    for correct in (True, None):
        fe, _ = locate(pred, correct, q=q, ref=ref, gold=gold_values("46"))
        assert fe.index is None


def test_reference_free_mode():
    slip = "Sara has 3 * 12 = 36 pencils.\nAfter her brother she has 36 - 10 = 24 pencils.\nEach gets 12.\nThe answer is 12."
    fe, _ = locate(slip, None, ref=None)
    assert (fe.index, fe.kind) == (1, "arithmetic_slip")
    # a wrong formula with right arithmetic is invisible without a reference
    wrong = "Sara has 3 * 12 = 36 pencils.\nShe has 36 - 10 = 26 left.\nEach gets 26 * 2 = 52.\nThe answer is 52."
    fe, _ = locate(wrong, None, ref=None)
    assert fe.index is None


def test_trace_sources_and_latex_computations():
    tr = trace_solution(["She has 3 * 12 = 36 pencils.", "Then 36 - 10 = 26.", "And 26 - 17 = 9."], Q)
    assert tr[0].computed == [Fraction(36)] and tr[0].operand_sources[0] == {"3": "problem", "12": "problem"}
    assert tr[1].operand_sources[0]["36"] == "step 0"
    assert tr[2].operand_sources[0]["17"] == "nowhere"
    assert "21 * 2" in computable_text(r"Tony has \(21 \times 2 = 42\) points").replace(r"\times", "*")
    assert [c.written for c in trace_solution([r"Tony has \(21 \times 2 = 42\) points"], "Tony has 21.")[0].computations] == ["21*2=42"]
    assert gold_values("#### 1,200") == [Fraction(1200)] and gold_values(["\\frac{3}{4}"]) == [Fraction(3, 4)]


def test_partial_sum_of_a_reference_sum_is_not_the_error():
    """A checked-out partial sum of the reference's sum (the reference's step regrouped) is neither
    flagged nor blamed for the wrong step that uses it; a wrong partial sum still is."""
    q = ("A quilt has a body of 500 squares, a border of a fifth as many squares, and a badge of twice as "
         "many squares as the border. The whole quilt has 1000 squares. How many squares does each of its "
         "2 pockets take?")
    ref = ("The border takes 500/5=<<500/5=100>>100.\nThe badge takes 2*100=<<2*100=200>>200.\n"
           "Body, border and badge take 500+100+200=<<500+100+200=800>>800.\nThe pockets take 1000-800=<<1000-800=200>>200.\n"
           "Each pocket takes 200/2=<<200/2=100>>100.\n#### 100")
    head = "The border takes 500 / 5 = 100 squares.\nThe badge takes 2 * 100 = 200 squares.\n"
    wrong = head + ("Border and badge take 100 + 200 = 300 squares.\nThe pockets take 1000 - 300 = 700 squares.\n"
                    "Each pocket takes 700 / 2 = 350 squares.\nThe answer is 350.")
    fe, texts = locate(wrong, False, q=q, ref=ref, gold=gold_values("100"))
    assert fe.index == 3 and "1000 - 300" in texts[3], (fe, texts)
    slip = head + "Border and badge take 100 + 200 = 400 squares.\nThe pockets take 1000 - 400 = 600.\nThe answer is 300."
    fe, texts = locate(slip, False, q=q, ref=ref, gold=gold_values("100"))
    assert fe.index == 2, (fe, texts)
    right = head + ("Border and badge take 100 + 200 = 300 squares.\nWith the body that is 500 + 300 = 800 squares.\n"
                    "The pockets take 1000 - 800 = 200 squares, so each takes 200 / 2 = 100.\nThe answer is 100.")
    fe, texts = locate(right, None, q=q, ref=ref, gold=gold_values("100"))
    assert fe.index is None, (fe, texts)


def test_final_value_equal_to_the_gold_but_judged_wrong_is_not_a_stop_short():
    """A wrong answer whose last value is the gold's (a sign or form the answer check rejects) did
    not stop at a reference intermediate: the first error is the step after the last verified one."""
    pred = ("Sara has 3 * 12 = 36 pencils.\nAfter her brother she has 36 - 10 = 26 pencils.\n"
            "Each gets 26 / 2 = 13 pencils.\nSo each of them is short by 13 pencils, the answer is minus 13.")
    fe, texts = locate(pred, False)
    assert (fe.index, fe.kind) == (3, "wrong_final_answer"), (fe, texts)
    stopped = "Sara has 3 * 12 = 36 pencils.\nAfter her brother she has 36 - 10 = 26 pencils.\nThe answer is 26."
    fe, texts = locate(stopped, False)
    assert (fe.index, fe.kind) == (1, "missing_step"), (fe, texts)


def test_degrees_full_stops_and_chained_parts_are_read():
    """``^\\circ`` and a sentence's full stop before a computation do not hide it; an operand that is a
    part of a chained computation of the same step (``3*2 + 4*5 = 6 + 20``) has a source."""
    angle = trace_solution([r"So \(\angle C = 180^\circ - 140^{\circ} = 40^\circ\)."], "Angles of 180 and 140 degrees.")[0]
    assert [(c.expr.replace(" ", ""), c.stated) for c in angle.computations] == [("180-140", Fraction(40))]
    stop = trace_solution([r"Next, perform the addition. \[ 6 + 4 = 10 \]"], "Add 6 and 4.")[0]
    assert [c.stated for c in stop.computations] == [Fraction(10)]
    assert [c.stated for c in trace_solution(["It is 3.5 + 1 = 4.5 then."], "3.5 and 1")[0].computations] == [Fraction(9, 2)]
    chain = trace_solution(["The total is 3 * 2 + 4 * 5 = 6 + 20 = 26."], "3 bags of 2 and 4 bags of 5.")[0]
    assert all(src != "nowhere" for s in chain.operand_sources for src in s.values()), chain.operand_sources
    fe = locate_first_error(["The total is 3 * 2 + 4 * 5 = 6 + 20 = 26.", "The answer is 26."], "3 bags of 2 and 4 bags of 5. Total?")
    assert fe.index is None


def test_wrong_relation_set_up_in_a_plan_paragraph_before_the_off_path_value():
    """With paragraphs (blocks separated by a blank line), a paragraph that only sets up a wrong
    relation in words is the first error, not the paragraph that carries it out; a right plan
    paragraph is never flagged, and without paragraph boundaries nothing moves."""
    from hn_lightning.verifier.steps import paragraph_indices

    q = "Ann is 30 years old. In 6 years she will be twice as old as her son. How old is her son now?"
    ref = "In 6 years Ann is 30+6=<<30+6=36>>36.\nHer son will be 36/2=<<36/2=18>>18.\nNow he is 18-6=<<18-6=12>>12.\n#### 12"
    head = "In 6 years Ann will be 30 + 6 = 36 years old.\n\n"
    wrong = head + ("Her son's age now is half of Ann's age in 6 years. The years do not change it.\n\n"
                    "So her son is 36 / 2 = 18 years old now.\n\nThe answer is 18.")
    right = head + ("In 6 years her son is half of Ann's age then. We halve it.\n\n"
                    "So in 6 years he is 36 / 2 = 18 years old.\n\nNow he is 18 - 6 = 12 years old. The answer is 12.")
    gold = gold_values("12")

    def run(pred, correct, with_paragraphs=True):
        st = split_steps(pred)
        paras = paragraph_indices(pred, st) if with_paragraphs else None
        return locate_first_error([s.text for s in st], q, ref, gold, correct, paragraphs=paras), [s.text for s in st]

    assert paragraph_indices(wrong, split_steps(wrong)) == [0, 1, 1, 2, 3]
    fe, texts = run(wrong, False)
    assert fe.index == 1 and texts[1].startswith("Her son's age now"), (fe, texts)
    fe, texts = run(wrong, False, with_paragraphs=False)
    assert fe.index == 3, (fe, texts)
    for correct in (True, None):
        fe, texts = run(right, correct)
        assert fe.index is None, (fe, texts)

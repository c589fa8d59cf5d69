"""First-error rules of the third ProcessBench pass (hn_lightning.verifier.first_error): a reference
intermediate reached again by another computation, dead-end side computations, and side values no
later step uses beside a LaTeX reference. Hand-built cases with exact indices, and cases that must
keep their old index."""

from __future__ import annotations

from hn_lightning.verifier.first_error import gold_values, locate_first_error
from hn_lightning.verifier.steps import split_steps

Q = ("Sara buys 3 boxes of pencils with 12 pencils in each box. She gives 10 pencils to her brother and "
     "shares the rest equally between herself and her friend. How many pencils does each of them get?")
REF = ("She buys 3*12=<<3*12=36>>36 pencils.\nAfter her brother she has 36-10=<<36-10=26>>26 pencils.\n"
       "Each gets 26/2=<<26/2=13>>13 pencils.\n#### 13")


def locate(pred: str, correct: bool | None, q: str = Q, ref: str = REF, gold: str = "13"):
    texts = [s.text for s in split_steps(pred)]
    return locate_first_error(texts, q, ref, gold_values(gold), correct), texts


def test_reference_intermediate_reached_again_by_another_computation():
    """A wrong answer equal to a reference intermediate (36) that the last step computes from other
    operands (``26 + 10``, not the reference's ``3 * 12``): that step is the first error (a wrong
    operation), not the step that first wrote 36."""
    pred = ("Sara has 3 * 12 = 36 pencils.\nAfter her brother she has 36 - 10 = 26 pencils.\n"
            "Together with her brother's pencils they have 26 + 10 = 36 pencils.\nThe answer is 36.")
    fe, texts = locate(pred, False)
    assert (fe.index, fe.kind) == (2, "wrong_operation") and "26 + 10" in texts[2], (fe, texts)


def test_stop_short_and_restated_reference_computation_keep_the_stop():
    """The same intermediate written again by the reference's own computation, in one line with its
    parts (``3 * 12 - 10 = 26`` holds the reference's 36 and 10), is still a stop short where it was
    first written; so is a plain stop."""
    restated = ("Sara has 3 * 12 = 36 pencils.\nAfter her brother she has 36 - 10 = 26 pencils.\n"
                "In one line: 3 * 12 - 10 = 26 pencils.\nThe answer is 26.")
    fe, texts = locate(restated, False)
    assert (fe.index, fe.kind) == (1, "missing_step"), (fe, texts)
    stopped = "Sara has 3 * 12 = 36 pencils.\nAfter her brother she has 36 - 10 = 26 pencils.\nThe answer is 26."
    fe, texts = locate(stopped, False)
    assert (fe.index, fe.kind) == (1, "missing_step"), (fe, texts)


MILK_Q = ("Mr. Marcellus bought 4000 gallons of milk at $3.5 per gallon. He found that 2/5 of the milk had "
          "expired and returned it for a refund. How much money did he get back?")
MILK_REF = ("The expired milk is 2/5*4000=<<2/5*4000=1600>>1600 gallons.\n"
            "The refund is 3.5*1600=$<<3.5*1600=5600>>5600.\n#### 5600")


def test_dead_end_side_computation_is_not_a_missing_step():
    """A checked-out side quantity no later step uses (the total cost, when the refund is asked) is
    not where the solution went wrong: the later slip is the first error."""
    pred = ("The milk cost 3.5 * 4000 = $14,000 in total.\nThe expired milk is 2/5 * 4000 = 800 gallons.\n"
            "The refund is 3.5 * 800 = $2,800.\nThe answer is 2800.")
    fe, texts = locate(pred, False, q=MILK_Q, ref=MILK_REF, gold="5600")
    assert (fe.index, fe.kind) == (1, "arithmetic_slip"), (fe, texts)


def test_side_value_used_later_is_still_a_missing_step():
    """An off-path value that a later step builds on (26 never reached: the brother's 10 skipped) is
    still flagged where it is computed."""
    pred = "Sara has 3 * 12 = 36 pencils.\nEach of them gets 36 / 2 = 18 pencils.\nSo each gets 18 pencils, the answer is 18."
    fe, texts = locate(pred, False)
    assert (fe.index, fe.kind) == (1, "missing_step"), (fe, texts)


ODD_Q = r"What is the greatest odd integer that is a factor of $5!$?"
ODD_REF = (r"The only odd prime factors of $5!$ are $5$ and $3$, so the greatest odd divisor of $5!$ is "
           r"$5 \times 3 = \boxed{15}$.")


def test_latex_reference_side_value_no_later_step_uses_is_not_the_error():
    """Beside a LaTeX reference a value stated in passing that no later step uses (``6! = 720``) is a
    remark, not the first error; the same value is flagged when a later step builds on it."""
    tail = ("\n$5! = 5 \\times 4 \\times 3 \\times 2 \\times 1 = 120$.\n"
            "Removing a factor of $4$, the greatest odd factor is $120 / 4 = 30$.\nThe answer is $\\boxed{30}$.")
    remark = "Factorials grow fast: $6! = 720$ already." + tail
    fe, texts = locate(remark, False, q=ODD_Q, ref=ODD_REF, gold="15")
    assert fe.index == 1 and texts[1].startswith("$5!"), (fe, texts)
    used = "Factorials grow fast: $6! = 720$ already." + tail.replace("120 / 4 = 30", "720 / 24 = 30")
    fe, texts = locate(used, False, q=ODD_Q, ref=ODD_REF, gold="15")
    assert fe.index == 0, (fe, texts)


TOBY_Q = ("Toby reads a 45-page book with 200 words on each page at 300 words per minute. He must be at the "
          "airport in 60 minutes and the drive there takes 10 minutes. How many minutes early will he be?")
TOBY_REF = ("The book has 45*200=<<45*200=9000>>9000 words.\nHe reads it in 9000/300=<<9000/300=30>>30 minutes.\n"
            "He arrives 30+10=<<30+10=40>>40 minutes from now.\nHe is 60-40=<<60-40=20>>20 minutes early.\n#### 20")


def test_wrong_final_answer_equal_to_a_reference_value_is_no_rejoin():
    """``60 + 10 = 70`` then ``70 - 30 = 40``: the wrong answer 40 is a reference intermediate, which
    made 70 look like another route rejoining the reference; 70 is the first error. Another route
    that rejoins at a right answer (``60 - 10 = 50``, ``50 - 30 = 20``) is still not flagged."""
    head = "The book has 45 * 200 = 9000 words.\nHe reads it in 9000 / 300 = 30 minutes.\n"
    wrong = head + "His total available time is 60 + 10 = 70 minutes.\nHe is 70 - 30 = 40 minutes early.\nThe answer is 40."
    fe, texts = locate(wrong, False, q=TOBY_Q, ref=TOBY_REF, gold="20")
    assert fe.index == 2 and "60 + 10" in texts[2], (fe, texts)
    other = head + "He must leave within 60 - 10 = 50 minutes.\nHe is 50 - 30 = 20 minutes early.\nThe answer is 20."
    for correct in (True, None):
        fe, texts = locate(other, correct, q=TOBY_Q, ref=TOBY_REF, gold="20")
        assert fe.index is None, (fe, texts)


def test_stale_value_finding_on_a_step_that_stays_on_the_route_is_not_the_error():
    """With a reference, an inconsistent-use finding on a step whose values are all the reference's
    is not an error; reference-free (no route to compare with) it still is."""
    pred = ("Sara has 3 * 12 = 36 pencils.\nAfter her brother she has 36 - 10 = 26 pencils.\n"
            "Each gets 26 / 2 = 13 pencils.\nThe answer is 13.")
    texts = [s.text for s in split_steps(pred)]
    for correct in (True, None):
        fe = locate_first_error(texts, Q, REF, gold_values("13"), correct, inconsistent_steps={1})
        assert fe.index is None, fe
    fe = locate_first_error(texts, Q, None, None, None, inconsistent_steps={1})
    assert (fe.index, fe.kind) == (1, "inconsistent_reuse"), fe


def test_final_value_that_is_a_problem_value_is_no_stop_short():
    """A wrong answer that restates a problem number (12, also written by the reference) did not stop
    at the step that first wrote it: the first step after the last verified one is the error."""
    pred = ("Sara has 3 * 12 = 36 pencils.\nAfter her brother she has 36 - 10 = 26 pencils.\n"
            "Each of them gets 12 pencils.\nThe answer is 12.")
    fe, texts = locate(pred, False)
    assert (fe.index, fe.kind) == (2, "wrong_final_answer"), (fe, texts)


def test_latex_reference_wrong_answer_fallback_is_where_the_answer_was_first_written():
    """Beside a LaTeX reference, with no step flagged and none verified, a wrong answer is blamed on
    the step that first wrote its value, not on step 0."""
    pred = ("We look for the odd part of $5!$.\nEvery factor of two is removed from it.\n"
            "What is left is $4$.\nThe answer is $\\boxed{4}$.")
    fe, texts = locate(pred, False, q=ODD_Q, ref=ODD_REF, gold="15")
    assert (fe.index, fe.kind) == (2, "wrong_final_answer") and texts[2].startswith("What is left"), (fe, texts)


def test_plan_paragraph_before_a_wrong_final_statement():
    """With a plain reference, a paragraph that only sets up a wrong relation in words, just before a
    last paragraph that states a wrong answer, is the first error; without paragraphs it stays on the
    final statement."""
    from hn_lightning.verifier.steps import paragraph_indices

    q = "Ann is 30 years old. In 6 years she will be twice as old as her son. How old is her son now?"
    ref = "In 6 years Ann is 30+6=<<30+6=36>>36.\nHer son will be 36/2=<<36/2=18>>18.\nNow he is 18-6=<<18-6=12>>12.\n#### 12"
    pred = ("In 6 years Ann will be 30 + 6 = 36 years old.\n\nSo in 6 years her son is 36 / 2 = 18 years old.\n\n"
            "Her son is younger now, so we take off the years twice.\n\nThe answer is 15.")
    st = split_steps(pred)
    texts = [s.text for s in st]
    fe = locate_first_error(texts, q, ref, gold_values("12"), False, paragraphs=paragraph_indices(pred, st))
    assert fe.index == 2 and texts[2].startswith("Her son is younger"), (fe, texts)
    fe = locate_first_error(texts, q, ref, gold_values("12"), False)
    assert (fe.index, fe.kind) == (3, "wrong_final_answer"), (fe, texts)


def test_reference_amounts_grouped_by_spaces_are_one_number():
    """A reference that writes ``$400 000`` has the value 400000 on its route: a prediction computing
    it is on the route, and its later slip is the first error."""
    from hn_lightning.verifier.trace import join_spaced_thousands

    assert join_spaced_thousands("paid $400 000 x 3/100 = $12 000, so") == "paid $400000 x 3/100 = $12000, so"
    assert join_spaced_thousands("he has 3 000 apples and $12") == "he has 3 000 apples and $12"
    q = "Mr. Tan sold his house for $400 000. He paid 3% transfer fees. How much did he keep?"
    ref = "Mr. Tan paid $400 000 x 3/100 = $12 000 for the transfer fees.\nHe keeps $400 000 - $12 000 = $388 000.\n#### 388000"
    pred = ("The fees are 0.03 * $400,000 = $12,000.\nHe keeps $400,000 - $12,000 = $378,000.\nThe answer is 378000.")
    fe, texts = locate(pred, False, q=q, ref=ref, gold="388000")
    assert (fe.index, fe.kind) == (1, "arithmetic_slip"), (fe, texts)


AGE_Q = "Ann is 30 years old. In 6 years she will be twice as old as her son. How old is her son now?"
AGE_REF = "In 6 years Ann is 30+6=<<30+6=36>>36.\nHer son will be 36/2=<<36/2=18>>18.\nNow he is 18-6=<<18-6=12>>12.\n#### 12"


def _with_paragraphs(pred: str, q: str, ref: str | None, gold: str | None, correct: bool | None, inconsistent=None):
    from hn_lightning.verifier.steps import paragraph_indices

    st = split_steps(pred)
    texts = [s.text for s in st]
    return locate_first_error(texts, q, ref, gold_values(gold) if gold else None, correct, inconsistent,
                              paragraphs=paragraph_indices(pred, st)), texts


def test_paragraph_that_writes_a_value_the_reference_computes_is_no_plan():
    """``Now he is 12 years old`` (the reference's result) reached the route: it is not the wrong plan
    behind the next off-path value, which stays the first error."""
    pred = ("In 6 years Ann will be 30 + 6 = 36 years old.\n\nHer son will be 36 / 2 = 18 years old then.\n\n"
            "Now he is 12 years old, six years younger.\n\nTwice that is 12 * 2 = 24 years.\n\nThe answer is 24.")
    fe, texts = _with_paragraphs(pred, AGE_Q, AGE_REF, "12", False)
    assert fe.index == 3 and "12 * 2" in texts[3], (fe, texts)


def test_plan_paragraph_before_an_inconsistent_reuse():
    """The Table-2 case with a paragraph that picks the stale price in words before the step that
    subtracts 12: with paragraphs (and a plain or no reference) the plan paragraph is the first error."""
    from hn_lightning.verifier.symbolic import check_symbolic

    q = ("Tom buys 4 notebooks that cost $3 each. The store gives a 10% discount on the total. "
         "He pays with a $20 bill. How much change does he get?")
    ref = ("The notebooks cost 4 * 3 = $<<4*3=12>>12.\nWith the discount he pays 12 * 0.9 = $<<12*0.9=10.80>>10.80.\n"
           "His change is 20 - 10.80 = $<<20-10.80=9.20>>9.20.\n#### 9.20")
    pred = ("Tom buys 4 notebooks at $3 each, so they cost 4 x 3 = $12.\n\nWith the 10% discount he pays 4*3*0.9 = $10.80.\n\n"
            "He hands over the bill for the full price of the notebooks.\n\nSo his change is 20 - 12 = $8.\n\nThe answer is 8.")
    inc = {f.step for f in check_symbolic(split_steps(pred), q, None).findings if f.kind == "inconsistent_use"}
    for r, gold, correct in ((ref, "9.20", False), (None, None, None)):
        fe, texts = _with_paragraphs(pred, q, r, gold, correct, inc)
        assert (fe.index, fe.kind) == (2, "inconsistent_reuse") and texts[2].startswith("He hands over"), (fe, texts)


SHOES_Q = ("Frank has 200 shoes. He gets 5 pairs of shoes on Monday, 15 pairs on Wednesday and 30 pairs on "
           "Friday. He gets rid of 180 shoes on Saturday. How many shoes does he have on Sunday?")
SHOES_REF = ("He gets 5+15=<<5+15=20>>20 pairs, then 20+30=<<20+30=50>>50 pairs.\nThat is 2*50=<<2*50=100>>100 shoes.\n"
             "He has 200+100=<<200+100=300>>300 shoes.\nOn Sunday he has 300-180=<<300-180=120>>120.\n#### 120")


def test_reference_number_reached_by_another_route_is_where_the_error_started():
    """``10 + 30 + 60 = 100`` (the reference's 100 is ``2 * 50`` new shoes) taken as all his shoes,
    then ``100 - 180``: the step that reached 100 by the other route is the first error. Reached by
    the reference's own computation (``50 * 2``), the later step stays the first error."""
    other = ("On Monday he gets 5 * 2 = 10 shoes.\nOn Wednesday he gets 15 * 2 = 30 shoes.\nOn Friday he gets 30 * 2 = 60 shoes.\n"
             "All the shoes he has are 10 + 30 + 60 = 100 shoes.\nHe has 100 - 180 = -80 shoes left.\nThe answer is -80.")
    fe, texts = locate(other, False, q=SHOES_Q, ref=SHOES_REF, gold="120")
    assert (fe.index, fe.kind) == (3, "wrong_operation") and "10 + 30 + 60" in texts[3], (fe, texts)
    same = ("He gets 5 + 15 + 30 = 50 pairs.\nThat is 50 * 2 = 100 shoes.\nHe has 100 - 180 = -80 shoes left.\nThe answer is -80.")
    fe, texts = locate(same, False, q=SHOES_Q, ref=SHOES_REF, gold="120")
    assert fe.index == 2 and "100 - 180" in texts[2], (fe, texts)


def test_problem_number_recomputed_with_another_meaning():
    """``12 + 6 = 18`` *pink* flamingos: 18 is the problem's first count, which the reference never
    computes, reached again from a computed 12: with a wrong answer that step is the first error (a
    wrong operation); when the answer is not known to be wrong the rule stays silent."""
    q = ("On Friday the neighbors placed 18 pink flamingos on Sue's yard. On Saturday they took back one third "
         "of them, painted them white and put them back. On Sunday they added another 18 pink flamingos. "
         "How many more pink than white flamingos were there on Sunday?")
    ref = ("18*1/3=<<18*1/3=6>>6 were painted white.\n18-6=<<18-6=12>>12 pink were left.\n"
           "12+18=<<12+18=30>>30 pink on Sunday.\n30-6=<<30-6=24>>24 more pink.\n#### 24")
    pred = ("They took back 18 / 3 = 6 flamingos.\nThat left 18 - 6 = 12 pink flamingos.\n"
            "With the 6 white ones Sue has 12 + 6 = 18 pink flamingos.\nOn Sunday she has 18 + 18 = 36 pink flamingos.\n"
            "There are 36 - 6 = 30 more pink ones.\nThe answer is 30.")
    fe, texts = locate(pred, False, q=q, ref=ref, gold="24")
    assert (fe.index, fe.kind) == (2, "wrong_operation") and "12 + 6" in texts[2], (fe, texts)
    fe, texts = locate(pred, None, q=q, ref=ref, gold="24")
    assert fe.kinds[2] is None and fe.index != 2, (fe, texts)
    # reference-free the same step is flagged (18 is not a small common number) ...
    fe = locate_first_error(texts, q, None, None, None)
    assert (fe.index, fe.kind) == (2, "wrong_operation"), (fe, texts)
    # ... but not a small common number reached again (``1 + 3 = 4`` blue balls where the problem's 4 is red)
    q4 = "Tom has 4 red balls and 3 blue balls. He gives away 2 blue balls, then gets 3 more. How many balls does he have?"
    small = ["He keeps 3 - 2 = 1 blue ball.", "With 3 more he has 1 + 3 = 4 blue balls.", "In all he has 4 + 4 = 8 balls.",
             "The answer is 8."]
    assert locate_first_error(small, q4, None, None, None).index is None


def test_paragraph_restating_the_problem_is_no_plan():
    """``The computer cost $1,100.`` restates the problem (its words are the problem's): it is not the
    wrong plan behind the next paragraph's off-route value, which stays the first error."""
    from hn_lightning.verifier.routes import restates_problem

    q = ("Errol bought a computer, 2 monitors and a printer for $2,400. He paid $400 less for the printer than "
         "the computer. If the computer cost $1,100, how much did one monitor cost?")
    ref = ("The printer cost 1100-400=<<1100-400=700>>700.\nThe monitors cost 2400-1100-700=<<2400-1100-700=600>>600.\n"
           "One monitor cost 600/2=<<600/2=300>>300.\n#### 300")
    assert restates_problem("The computer cost $1,100.", q)
    assert not restates_problem("The monitors take whatever the computer leaves, the printer is free.", q)
    pred = ("Errol spent $2,400 in total.\n\nThe computer cost $1,100.\n\nThe monitors cost 2400 - 1100 = 1300 dollars.\n\n"
            "One monitor costs 1300 / 2 = 650 dollars. The answer is 650.")
    fe, texts = _with_paragraphs(pred, q, ref, "300", False)
    assert fe.index == 2 and "2400 - 1100" in texts[2], (fe, texts)

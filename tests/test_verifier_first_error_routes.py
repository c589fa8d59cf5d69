"""First-error rules on the reference's route (hn_lightning.verifier.first_error): stop short, side values
beside a LaTeX reference, the wrong-answer fallbacks, plan paragraphs, spaced reference amounts. Hand-built
cases with exact indices beside tests/test_verifier_rules.py (one case per rule)."""

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



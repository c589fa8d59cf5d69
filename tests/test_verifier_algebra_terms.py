r"""Sixth pass of the symbolic checks (hn_lightning.verifier.algebra, term_slips): equations compared
after a case is announced inside a step, and an equation in two or three unknowns rewritten with one
term changed; with the exact first-error index, and systems, cases and rewrites that must not be
flagged."""

from __future__ import annotations

from fractions import Fraction

from hn_lightning.verifier.algebra import algebra_slips
from hn_lightning.verifier.first_error import locate_first_error
from hn_lightning.verifier.term_slips import one_term_changed


def test_equations_after_a_case_are_compared_with_each_other():
    steps = [
        r"We need \(xy - x - 8y = -3\).",
        r"First, if \(x = 1\): \[1 \cdot y - 1 - 8y = -3\] \[y - 8y = -3 - 1\] \[-7y = -4\]",
    ]
    assert list(algebra_slips(steps)) == [1]  # -7y = -2 rewritten as y - 8y = -4
    right = [steps[0], r"First, if \(x = 1\): \[1 \cdot y - 1 - 8y = -3\] \[y - 8y = -3 + 1\] \[-7y = -2\]"]
    assert algebra_slips(right) == {}


def test_a_case_word_between_two_equations_still_separates_them():
    steps = [r"From \(x^2 = y^2\) and \(2xy = 1\): if \(x = y\), then \(2x^2 = 1\). "
             r"If \(x = -y\), then \(-2x^2 = 1\), which has no real solution."]
    assert algebra_slips(steps) == {}
    # a definition list (``where a = 8, ..., c = -3``) is no root of the equation in c before it
    quad = [r"\[8c^2 - 4c - 3 = 0\]", r"By the formula, where \(a = 8\), \(b = -4\) and \(c = -3\): \[c = \frac{1 \pm \sqrt{7}}{4}\]"]
    assert algebra_slips(quad) == {}


def test_one_term_changed_is_a_slip():
    # a sign flipped when every term is moved to one side
    steps = [r"Rearrange: \[4a = k^2(a-3)\] \[4a = k^2a - 3k^2\] \[0 = (k^2 - 4)a + 3k^2\]"]
    assert list(algebra_slips(steps)) == [0]
    # a term dropped, in the next step
    steps = [r"Expanding: \(b^2 - 4c = b^2 - 4bc + 4c^2\).", r"Moving everything to one side gives: \(4c^2 - 4bc = 0\)."]
    assert list(algebra_slips(steps)) == [1]
    fe = locate_first_error(["Square both sides.", *steps, r"So \(b = c\)."], "Find b in terms of c.")
    assert (fe.index, fe.kind) == (2, "arithmetic_slip")
    # a constant changed while completing the square
    steps = [r"\[x^2 + 4x + y^2 - 10y + z^2 + 2z + 5 = 0\]", r"\[x^2 + 4x + 4 + (y^2 - 10y) + (z^2 + 2z) + 5 - 4 - 5 = 0\]"]
    assert list(algebra_slips(steps)) == [1]


def test_systems_lists_and_rewrites_are_not_flagged():
    good = [
        [r"\[x + y = 7\]", r"\[3x + y = 45\]"],  # a system: every term differs
        [r"\[4x^2 + 11y^2 = 29\]", r"\[x^2 - 6y^2 = 6\]"],
        [r"Then \(ab = 5\), \(ab = 7\), \(ab = 10\)."],  # values of one product: two terms only
        [r"\[x^2 + 4x + y^2 - 10y = 7\]", r"\[(x + 2)^2 + (y - 5)^2 = 36\]"],  # completing the square right
        [r"\[4a = k^2(a-3)\]", r"\[4a = k^2a - 3k^2\]", r"\[0 = (k^2 - 4)a - 3k^2\]"],
        [r"\[\frac{x}{y} + 2 = 3x\]", r"\[x + 2y = 3xy\]"],  # denominators cleared
        [r"\[x^2 = y^2\]", r"\[x = y\]"],  # a factor dropped: every term changes
        [r"\[PR^2 = 36 + 64\]", r"\[PR = 10\]"],  # segment names: not read
    ]
    for steps in good:
        assert algebra_slips(steps) == {}, steps


def test_one_term_changed_by_hand():
    old = {(1, 0): Fraction(4), (1, 2): Fraction(-1), (0, 2): Fraction(3)}  # 4a - k^2 a + 3k^2
    assert one_term_changed(old, {(1, 0): Fraction(-4), (1, 2): Fraction(1), (0, 2): Fraction(3)})  # one sign
    assert one_term_changed(old, {(1, 0): Fraction(8), (1, 2): Fraction(-2)})  # one term dropped, doubled
    assert not one_term_changed(old, {(1, 0): Fraction(8), (1, 2): Fraction(-2), (0, 2): Fraction(6)})  # x2
    assert not one_term_changed({(1, 0): Fraction(1), (0, 0): Fraction(-5)}, {(1, 0): Fraction(1), (0, 0): Fraction(-7)})



def test_inequalities_that_must_not_be_flagged():
    good = [
        [r"We need $m^2-64>0$, so $(m-8)(m+8)>0$, which gives $m>8$ or $m<-8$."],  # right rewrite, then bounds
        [r"So we rewrite it as: \[ x + 4 < 9 \quad \text{or} \quad -(x + 4) < 9 \]"],  # two branches, listed
        [r"For the case where \( x + 2 \geq 0 \), we have \( x + 2 < 4.47 \)."],  # a condition, then what holds
        [r"Since \(x^2 < 4\), so \(x < 2\)."],  # another degree: not compared
        [r"We have \(2x + 3 > 7\). Subtracting 3 gives \(2x > 4\), so \(x > 2\)."],
        [r"Then \(x > 0\) and \(x^2 - 3x < 0\)."],  # listed conditions, not derived
    ]
    for steps in good:
        assert algebra_slips(steps) == {}, steps

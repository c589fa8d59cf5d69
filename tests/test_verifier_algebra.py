r"""Symbolic slips read from LaTeX (hn_lightning.verifier.algebra): a chain link that is no identity
and an equation rewritten into one with other roots, with the exact first-error index, and correct
derivations (expansions, factorizations, listed roots, cases, substitutions) that must not be
flagged."""

from __future__ import annotations

import signal

from hn_lightning.verifier.algebra import algebra_slips, math_pieces
from hn_lightning.verifier.first_error import locate_first_error

Q = "Solve for $x$: $x^2 - 5x + 6 = 0$ and report the larger root."


def test_math_pieces_reads_chains_aligned_lines_and_thousands():
    text = (
        r"So \[(x-3)^2 = x^2 - 6x + 9 = 0\] and \(2x + 3 = 7\), so \(x = 2\); "
        r"\begin{align*} a &= b + 1 \\ &= c \end{align*} and \(16,520.25 = 5,000 + y\)."
    )
    assert math_pieces(text) == [
        ["(x-3)^2", "x^2 - 6x + 9", "0"],
        ["2x + 3", "7"],
        ["x", "2"],
        ["a", "b + 1", "c"],
        ["16520.25", "5000 + y"],
    ]


def test_wrong_sign_in_an_expansion_is_flagged_at_its_step():
    steps = [
        r"We expand the square.",
        r"\[y = (x-3)^2 + 1 = x^2 + 6x + 9 + 1 = x^2 + 6x + 10\]",
        r"So the minimum is \(10\).",
    ]
    assert list(algebra_slips(steps)) == [1]
    fe = locate_first_error(steps, "Find the minimum of $(x-3)^2 + 1$.")  # reference-free
    assert (fe.index, fe.kind) == (1, "arithmetic_slip")


def test_wrong_factorization_and_wrong_value_link_are_flagged():
    assert list(algebra_slips([r"Note \(a = 2\).", r"Then \(y = x^2 - 4 = (x - 2)(x + 4)\)."])) == [1]
    assert list(algebra_slips([r"\[d = \sqrt{18} = 3\sqrt{3}\]"])) == [0]
    assert list(algebra_slips([r"\[A = 11(13) = 133\]"])) == [0]  # 11(13) is a product, not 11 + 13


def test_equation_rewritten_into_a_non_equivalent_one_is_flagged():
    steps = [r"The condition reads \(2x + 3 = 11\).", r"Subtracting 3 gives \(2x = 14\).", r"So \(x = 7\)."]
    assert list(algebra_slips(steps)) == [1]
    # a quadratic rewritten with a wrong factor: same degree, other roots
    assert list(algebra_slips([r"\[x^2 - 5x + 6 = 0\]", r"\[(x-2)(x+3) = 0\]"])) == [1]
    # a root that is none of the roots of the equation before it
    assert list(algebra_slips([r"\[x^2 - 5x + 6 = 0\]", r"\[(x-2)(x-3) = 0\]", r"\[x = 4\]"])) == [2]
    fe = locate_first_error(steps, "Solve $2x + 3 = 11$.")
    assert (fe.index, fe.kind) == (1, "arithmetic_slip")


def test_correct_derivations_are_not_flagged():
    good = [
        [r"\[(x-3)^2 = x^2 - 6x + 9\]", r"\[x^2 + 2x = x(x + 2)\]"],  # first links: not checked
        [r"\[y = (x+1)^2 = x^2 + 2x + 1\]", r"\[z = \frac{x^2 - 4}{x - 2} = x + 2\]"],
        [r"\[x^2 - 5x + 6 = 0\]", r"\[(x-2)(x-3) = 0\]", r"\[x = 2\]", r"or \[x = 3\]"],  # listed roots
        [r"\(2x + 3 = 7\)", r"\(2x = 4\)", r"\(x = 2\)", r"\(x^2 = 4\)"],  # squaring keeps a root
        [r"\(x^2 = 4x\)", r"Dividing by \(x\): \(x = 4\)"],  # division drops a root, keeps one
        [r"\(2x + 3 = 7\) gives \(x = 2\).", r"If instead \(x = 5\), then \(y = 10\)."],  # a case
        [r"\(\frac{1}{3} = 0.333\)", r"\(\sqrt{50} = 5\sqrt{2}\) and \(1,000 + 24 = 1,024\)."],
        [r"\(y = 3x = 3(2) = 6\)"],  # substitution: the links change free symbols
        [
            r"Adding them gives \(-8 = -3\), which is impossible, so there is no solution."
        ],  # stated, not computed
        [r"\(x + 2 = 5\)", r"\(y = 3x + 2\)", r"\(x = 3\)"],  # a letter named by other letters
        [r"\(f(x) = x^2 + 1\)", r"\(f (2) = 5\)", r"\(x \le 3 = 3\)"],  # functions, inequalities skipped
    ]
    for steps in good:
        assert algebra_slips(steps) == {}, steps


def test_first_error_keeps_the_earlier_slip_and_the_parse_cap():
    steps = [r"\(2 \cdot 7 = 15\)", r"\[(x-1)^2 = x^2 - 2x + 1 = x^2 + 2x + 1 - 4x + 0\]"]
    fe = locate_first_error(steps, Q)
    assert fe.index == 0  # the value trace's slip comes first
    assert algebra_slips([r"\[y = (x-1)^2 = x^2 + 1\]"], max_parses=1) == {}  # cap reached: unchecked
    assert list(algebra_slips([r"\[y = (x-1)^2 = x^2 + 1\]"], max_parses=2)) == [0]  # letters cost no parse


def test_numeric_first_link_and_its_guards():
    r"""A link between two numbers is checked even first (``\sqrt{18} = 3\sqrt{3}``); an integer
    quotient (``19 \div 7 = 2``, remainder arithmetic), a rounded decimal and Euler-looking ``e`` (a
    variable named e) are not slips."""
    assert list(algebra_slips([r"Then \(\sqrt{18} = 3\sqrt{3}\)."])) == [0]
    assert list(algebra_slips([r"First \(1 + 1 = 2\).", r"\(5^2 \cdot 7 + 5 \cdot 4 + 1 = 161\)"])) == [1]
    for ok in [r"\(19 \div 7 = 2\) remainder 5", r"\(\frac{2}{3} = 0.67\)", r"\(9 + e = 9 + 9\)"]:
        assert algebra_slips([ok]) == {}, ok


def test_time_cap_stops_a_runaway_check():
    import time

    import pytest

    from hn_lightning.verifier.latex_math import Timeout, time_cap

    with pytest.raises(Timeout):
        with time_cap(0.05):
            time.sleep(2)
    before = signal.getsignal(signal.SIGALRM)
    with time_cap(1.0):  # a quick check finishes, and the timer is off afterwards
        pass
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0 and signal.getsignal(signal.SIGALRM) == before
    time.sleep(0.01)


def test_no_check_where_the_time_cap_cannot_be_set():
    """Off the main thread (or under another interval timer) SIGALRM cannot cap SymPy: no check runs,
    so a runaway input cannot hang the thread."""
    import threading

    slip = [r"\(y = (x-3)^2 = x^2 + 6x + 9\)"]
    assert algebra_slips(slip) == {0: "(x-3)^2 = x^2 + 6x + 9 is no identity"}
    found = []
    worker = threading.Thread(target=lambda: found.append(algebra_slips(slip + [r"\(x + \frac{1}{9^{9^{9}}} = 1\)"])))
    worker.start()
    worker.join(10)
    assert not worker.is_alive() and found == [{}]
    signal.setitimer(signal.ITIMER_REAL, 30)  # someone else's timer
    try:
        assert algebra_slips(slip) == {}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def test_decimals_integer_quotients_and_numbers_as_written():
    """A decimal side may be off by one unit in its last digit, a decimal operand carries its rounding
    (relative), anything more is a slip; ``\\div`` / ``\frac`` equal to the integer below them is a
    quotient; a number = number as written is a statement, not a computation."""
    for slip in [r"\(\frac{1000}{3} = 300.5\)", r"\(2.5 \cdot 4 = 10.9\)", r"\(12 \div 4 = 3.5\)",
                 r"\(\frac{36}{5} = 8\)", r"\(1.5 \cdot 2000 = 3300\)"]:
        assert list(algebra_slips([slip])) == [0], slip
    for ok in [r"\(\frac{1000}{3} = 333.33\)", r"\(\frac{-6 + \sqrt{42068}}{2} = \frac{-6 + 205.1}{2}\)",
               r"\(3.14 \cdot 100 = 314.16\)", r"\(\frac{36}{5} = 7\) full boxes", r"\(-8 = -3\)"]:
        assert algebra_slips([ok]) == {}, ok


def test_trig_in_degrees_and_its_guards():
    r"""``\tan 30^\circ = \sqrt{3}`` is a slip (degrees read as degrees); an ambiguous product of
    unbracketed functions, a degree sign on a bracket and a unit change of the same unknown
    (radians to degrees) are not checked."""
    assert list(
        algebra_slips([r"Here \(\cos 60^\circ = \frac{1}{2}\).", r"So \(\tan 30^\circ = \sqrt{3}\)."])
    ) == [1]
    assert list(algebra_slips([r"\(y = \sin^2 \theta + \cos^2 \theta = 2\sin \theta\)"])) == [0]
    good = [
        [r"\(\cos 10^\circ \cos 30^\circ = \cos 10^\circ \cdot \frac{\sqrt{3}}{2}\)"],
        [r"\(\frac{1}{\cos (90^\circ - 2^k)^\circ} = \sec 3^\circ\)"],
        [
            r"\(\frac{5\theta}{2} = \frac{5\pi}{3}\)",
            r"\(\theta = \frac{2\pi}{3}\)",
            r"In degrees: \(\theta = \frac{2\pi}{3} \times \frac{180}{\pi} = 120\).",
        ],
        [r"\(y = \sin^2 x + \cos^2 x = 1\)", r"\(\log_2 8 = 3\)"],
    ]
    for steps in good:
        assert algebra_slips(steps) == {}, steps


def test_substituting_a_known_relation_is_no_slip():
    r"""After ``x^2 = 3x - 1``, ``x^3 = x \cdot x^2 = x(3x - 1)`` holds at its roots: not flagged;
    the same link with no such relation before is."""
    steps = [r"We know \(x^2 = 3x - 1\).", r"So \(x^3 = x \cdot x^2 = x(3x - 1) = 3x^2 - x\)."]
    assert algebra_slips(steps) == {}
    assert list(algebra_slips(steps[1:])) == [0]


def test_plus_minus_pairs():
    r"""``\pm``: the two values of a pair must be the same on both sides of a link, and the roots
    written as ``x = p \pm q`` must be roots of the equation before."""
    eq = r"\(x^2 - 5x + 5 = 0\)"
    assert algebra_slips([eq, r"\(x = \frac{5 \pm \sqrt{5}}{2}\)"]) == {}
    assert algebra_slips([r"\(x^2 = 4\)", r"so \(x = \pm 2\)"]) == {}
    assert list(
        algebra_slips([eq, r"\(x = \frac{5 \pm \sqrt{25 - 20}}{2} = \frac{5 \pm \sqrt{15}}{2}\)"])
    ) == [1]
    assert list(algebra_slips([eq, r"\(x = \frac{-5 \pm \sqrt{5}}{2}\)"])) == [1]


def test_malformed_latex_is_skipped_not_raised():
    steps = [r"\( = = \)", r"\[ \frac{ = 3 \]", r"$x^{ = 2$ and $$ \sqrt{} = $$", r"\(1/0 = 5\)", r"\(x = \)"]
    assert algebra_slips(steps) == {}
    assert locate_first_error(steps, Q).index is None

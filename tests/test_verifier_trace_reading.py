"""How the quantity trace (hn_lightning.verifier.trace) reads LaTeX computations: numbers glued to
variables, function calls and operands written without the sign of the part they come from (third
ProcessBench pass: each was a false alarm on a correct MATH solution)."""

from __future__ import annotations

from fractions import Fraction

from hn_lightning.verifier.first_error import locate_first_error
from hn_lightning.verifier.trace import computable_text, trace_solution

Q = "Given $a^2 + b^2 = 49$ and $a + b = 6$, with a side of 41 and another of 43, find $ab$."


def test_number_glued_to_a_variable_is_an_equation_not_a_slip():
    """``49 - 6 = 3ab`` and ``100 - 2500/81 = 5AD^2`` are equations (no slip); a glued unit
    (``10km``) stays a number, so a wrong result written with it is still a slip."""
    tr = trace_solution([r"Rearrange: \[49 - 6 = 3ab\] so \[43 = 3ab\]."], Q)[0]
    assert tr.slips == [], tr.computations
    assert computable_text(r"\[100 - \frac{2500}{81} = 5AD^2\]").count("5*AD") == 1
    right = trace_solution([r"Rearrange: \[49 - 6 = 43\]."], Q)[0]
    assert [c.stated for c in right.computations] == [Fraction(43)] and right.slips == []
    wrong = trace_solution(["So 49 - 6 = 42."], Q)[0]
    assert [c.stated for c in wrong.slips] == [Fraction(42)]
    unit = trace_solution(["The road is 2 * 5 = 11km long."], "2 roads of 5 km")[0]
    assert [c.stated for c in unit.slips] == [Fraction(11)]


def test_function_call_arguments_are_not_an_expression():
    r"""``\gcd(41^2, 41 \cdot 43) = 41``: the last argument is not the expression of ``= 41``."""
    tr = trace_solution([r"Here \( \gcd(41^2, 41 \cdot 43) = 41 \), which is greater than 1."], Q)[0]
    assert tr.slips == [] and tr.computations == [], tr.computations
    tr = trace_solution([r"Here \( \max(3, 41 \cdot 43) = 1763 \) and \( 41 \cdot 43 = 1763 \)."], Q)[0]
    assert [c.stated for c in tr.computations] == [Fraction(1763)] and tr.slips == []


def test_operand_written_without_the_sign_of_its_part_has_a_source():
    r"""``\frac{-11 - 5}{-12} = \frac{-16}{-12}``: 16 is the part ``-11 - 5`` (read unsigned), not a
    number from nowhere; reference-free, the correct step is not flagged."""
    q = "Solve $6x^2 - 11x + 4 = 0$ with the roots written over -12, given 5 as the root of the discriminant."
    step = r"\[x = \frac{-11 - 5}{-12} = \frac{-16}{-12} = \frac{4}{3}.\]"
    tr = trace_solution([step], q)[0]
    assert all(src != "nowhere" for s in tr.operand_sources for src in s.values()), tr.operand_sources
    fe = locate_first_error([step, r"The answer is $\frac{4}{3}$."], q)
    assert fe.index is None, fe


def test_power_written_in_the_step_is_a_source():
    """``3 \\cdot 8^2 + ...`` then ``3 \\cdot 64``: 64 is the power written before it, not a number from
    nowhere; a 64 with no power written is."""
    q = "Convert $324_8$ to base 10."
    step = (r"The number expands as \[3 \cdot 8^2 + 2 \cdot 8^1 + 4 \cdot 8^0\] that is "
            r"\[3 \cdot 64 + 2 \cdot 8 + 4 \cdot 1 = 192 + 16 + 4 = 212\]")
    tr = trace_solution([step], q)[0]
    assert all(src != "nowhere" for s in tr.operand_sources for src in s.values()), tr.operand_sources
    bare = trace_solution([r"That is \[3 \cdot 64 + 2 \cdot 8 + 4 \cdot 1 = 212\]"], q)[0]
    assert any(src == "nowhere" for s in bare.operand_sources for src in s.values()), bare.operand_sources


def test_list_marker_is_not_a_minus_sign():
    """``- \\(2^9 = 512\\)`` (a bullet) is no slip; a minus inside the line still counts."""
    tr = trace_solution(["Powers of two:\n- \\(2^9 = 512\\)\n- \\(2^{10} = 1024\\)"], "Find 2^9 and 2^10.")[0]
    assert tr.slips == [] and [c.stated for c in tr.computations] == [Fraction(512), Fraction(1024)], tr.computations
    wrong = trace_solution(["So:\n- \\(10 - 2^3 = 3\\)"], "Find 10 - 2^3.")[0]
    assert [c.stated for c in wrong.slips] == [Fraction(3)]


def test_a_power_with_a_two_digit_exponent_is_not_read_as_its_first_digit():
    """``13^{12}`` and ``2^10`` are not 13^1 and 2^1: no spurious source value from them."""
    from hn_lightning.verifier.trace import _POWER

    read = [(m.group(1), m.group(2) or m.group(3)) for m in _POWER.finditer(r"13^{12}, 2^10, 8^2, 7^{3}, 3^2.5")]
    assert read == [("8", "2"), ("7", "3")]


def test_spaced_thousands_with_cents_are_one_number():
    from hn_lightning.verifier.trace import join_spaced_thousands

    assert join_spaced_thousands("costs $1 000 000.50 in all") == "costs $1000000.50 in all"
    assert join_spaced_thousands("paid $400 000. Then") == "paid $400000. Then"

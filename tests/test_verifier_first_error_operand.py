r"""Sixth pass of the first-error rules (hn_lightning.verifier.first_error, routes.operand_step): with a
LaTeX reference, the weak-evidence fallback (a checked computation off the reference's route, no
step flagged, wrong answer) moves to the earlier step that brought in one of its operands; it stays
when the operands are the problem's."""

from __future__ import annotations

from fractions import Fraction

from hn_lightning.verifier.first_error import locate_first_error
from hn_lightning.verifier.routes import operand_step
from hn_lightning.verifier.trace import ValueSet, trace_solution

Q = r"How many square units are in the region satisfying $y \ge |x|$ and $y \le -|x|+3$? Express your answer as a decimal."
REF = (r"A diagonal of the square is $BD$, which measures 3 units. So a side of the square measures $3/\sqrt{2}$ "
       r"units and the area is $\left(\frac{3}{\sqrt{2}}\right)^2 = \boxed{4.5}$.")
GOLD = [Fraction(9, 2)]


def test_weak_step_moves_to_the_step_that_brought_in_its_operand():
    steps = [
        "The region is made of two right triangles with legs of length 1.5 and height 1.5.",
        r"So the total area is $2 \cdot \frac{1}{2} \cdot 1.5 \cdot 1.5 = 2.25$.",
        "Final Answer: The final answer is 2.25.",
    ]
    fe = locate_first_error(steps, Q, REF, GOLD, False, paragraphs=[0, 1, 2])
    assert (fe.index, fe.kind) == (0, "wrong_operation")


def test_weak_step_on_problem_values_stays():
    steps = [
        "The region is a square of side 3.",
        r"So the area is $3 \cdot 3 \cdot \frac{1}{4} = 2.25$.",
        "Final Answer: The final answer is 2.25.",
    ]
    fe = locate_first_error(steps, Q, REF, GOLD, False, paragraphs=[0, 1, 2])
    assert (fe.index, fe.kind) == (1, "wrong_operation")
    # a right answer is trusted: nothing moves, nothing is flagged
    assert locate_first_error(steps, Q, REF, GOLD, True, paragraphs=[0, 1, 2]).index is None


def test_operand_step_by_hand():
    traces = trace_solution(["Each side is 7 and there are 4 sides.", "Then $7 \\cdot 4 = 28$ and $28 + 5 = 33$."], "A shape has 5 corners.")
    first_written = {}
    for t in traces:
        for v in t.values:
            first_written.setdefault(v, t.index)
    assert operand_step(traces[1], first_written, ValueSet([Fraction(5)])) == 0  # 7 and 4 come from step 0
    assert operand_step(traces[1], first_written, ValueSet([Fraction(5), Fraction(7), Fraction(4)])) is None  # all given

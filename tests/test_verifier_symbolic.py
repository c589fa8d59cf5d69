"""Computations, arithmetic slips and inconsistent use (hn_lightning.verifier.arithmetic / symbolic)."""

from __future__ import annotations

import random
import time
from fractions import Fraction

import pytest

from hn_lightning.verifier import symbolic as symbolic_mod
from hn_lightning.verifier.arithmetic import extract_computations, normalize_math, result_matches, safe_eval
from hn_lightning.verifier.steps import split_steps
from hn_lightning.verifier.symbolic import check_symbolic

TABLE2_Q = (
    "Tom buys 4 notebooks that cost $3 each. The store gives a 10% discount on the total. "
    "He pays with a $20 bill. How much change does he get?"
)
TABLE2_NEG = (
    "Tom buys 4 notebooks at $3 each, so they cost 4 x 3 = $12.\n"
    "With the 10% discount he pays 4*3*0.9 = $10.80.\n"
    "He pays with a $20 bill, so his change is 20 - 12 = $8.\n"
    "The answer is 8."
)
TABLE2_POS = (
    "Tom buys 4 notebooks at $3 each, so they cost 4 x 3 = $12.\n"
    "With the 10% discount he pays 12 * 0.9 = $10.80.\n"
    "He pays with a $20 bill, so his change is 20 - 10.80 = $9.20.\n"
    "The answer is 9.20."
)


def _written(text: str) -> list[str]:
    return [c.written for c in extract_computations(text)]


def test_extraction_forms():
    assert _written("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.") == ["16-3-4=9"]
    assert _written("He pays 4*3*0.9=10.80 dollars") == ["4*3*0.9=10.80"]
    assert _written("$3 x 4 = $12") == ["3*4=12"]
    assert _written("9 pots * 18 leaves/pot = 162 leaves") == ["9*18=162"]
    assert _written(r"$\frac{3}{4} \times 8 = 6$") == ["((3)/(4))*8=6"]
    assert _written("1,200 + 300 = 1,500 people") == ["1200+300=1500"]
    # equations with variables, times and glued words are not computations
    assert _written("So $2x+3=7$ gives x=2") == []
    assert _written("X*2 - $40 = $250") == []
    assert _written("at 6:00+18 hours = 00:00 on Tuesday") == []


def test_exact_evaluation_and_rounding_tolerance():
    assert safe_eval("4*3*0.9") == Fraction(54, 5)
    assert safe_eval("2**3") == 8
    assert safe_eval("2**100000") is None  # refused, not computed
    assert safe_eval("1/0") is None
    assert safe_eval("__import__('os')") is None
    assert result_matches(Fraction(10, 3), Fraction("3.33"), "3.33")
    assert not result_matches(Fraction(26), Fraction(28), "28")
    assert result_matches(Fraction(50), Fraction(1, 2), "(50/100)")  # "100 - 50 = 50%"
    assert normalize_math("12 * 10% = 1.2").replace(" ", "") == "12*(10/100)=1.2"


def test_slip_is_flagged_with_the_right_value():
    rep = check_symbolic(split_steps("She makes 13 * 2 = $28 every day.\nThe answer is 28."), "She has 13 eggs.", "28")
    assert rep.score == pytest.approx(0.8)
    assert rep.flags == ["symbolic: arithmetic slip in step 1: 13*2=28 (evaluates to 26)"]


def test_charitable_readings_are_not_slips():
    for text in ("He drinks 28 / 1/5 = 140 cups.", "It is 15/90 * 100% = 16.67 percent.", "17/3 = 5 and 2/3 loads"):
        comps = extract_computations(text)
        assert comps and all(c.matches() for c in comps), text


def test_table2_inconsistent_use():
    rep = check_symbolic(split_steps(TABLE2_NEG), TABLE2_Q, "8")
    kinds = [f.kind for f in rep.findings]
    assert kinds == ["inconsistent_use"]
    assert rep.findings[0].logic
    assert rep.flags[0].startswith("symbolic: 4*3*0.9=10.80 then 20-12")
    assert rep.score == pytest.approx(0.6)
    # the same mistake written with the intermediate result
    variant = TABLE2_NEG.replace("4*3*0.9", "12*0.9")
    assert check_symbolic(split_steps(variant), TABLE2_Q, "8").flags[0].startswith("symbolic: 12*0.9=10.80 then 20-12")
    # the correct solution is clean
    assert check_symbolic(split_steps(TABLE2_POS), TABLE2_Q, "9.20").findings == []


def test_product_reuse_is_not_inconsistent():
    text = "200 employees cost 200 * 12 = $2400 per hour.\nThe rest are 300 - 200 - 40 = 60 employees.\nThe answer is 60."
    assert check_symbolic(split_steps(text), "There are 300 employees, 200 earn $12 and 40 earn $14.", "60").findings == []


def test_unsupported_operand_and_answer():
    rep = check_symbolic(split_steps("He has 5 + 87 = 92 apples.\nThe answer is 95."), "He has 5 apples.", "95")
    kinds = sorted(f.kind for f in rep.findings)
    assert kinds == ["answer_unsupported", "unsupported_operand"]
    assert rep.score == pytest.approx(1 - (1 - 0.15) * (1 - 0.3))


def test_sympy_path_and_timeout(monkeypatch):
    good = check_symbolic(split_steps(r"So $\sqrt{16} = 4$ and $\sqrt{2}\cdot\sqrt{2} = 2$."), "Find it.", None)
    assert good.findings == [] and good.sympy_calls == 4
    bad = check_symbolic(split_steps(r"So $\sqrt{16} = 5$."), "Find it.", None)
    assert [f.kind for f in bad.findings] == ["slip"]

    def slow(expr):
        time.sleep(3)

    monkeypatch.setattr(symbolic_mod, "_sympy_value", slow)
    t0 = time.perf_counter()
    rep = check_symbolic(split_steps(r"So $\sqrt{16} = 5$."), "Find it.", None, sympy_timeout_s=0.2)
    assert time.perf_counter() - t0 < 2.0
    assert rep.sympy_timeouts == 1 and rep.findings == []


def test_never_crashes_on_garbage():
    rng = random.Random(0)
    alphabet = "0123456789+-*/=()$%.,x^{}\\ abcfrac<>sqrt\n"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        rep = check_symbolic(split_steps(text), text, text[:5] or None)
        assert 0.0 <= rep.score <= 1.0

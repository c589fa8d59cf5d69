r"""The equivalence table: one completion and gold, the expected verdict in each mode.

Columns: stepdpo / hendrycks / math_verify. The math_verify column is what math-verify 0.9.0 gives
with the project's pin antlr4-python3-runtime==4.11.1 (see shared/docs/eval-protocol.md section 6);
several of its verdicts (for instance ``\boxed{50\%}`` against ``50``) change under antlr 4.13.
"""

from __future__ import annotations

import pickle

import pytest

from hn_lightning.answers import AnswerChecker, Guard, eval_math, is_correct_pair, math_equal, parse_digits


def B(answer: str) -> str:
    """A completion ending in a boxed answer."""
    return f"Some reasoning... so the answer is $\\boxed{{{answer}}}$."


# (id, completion, gold, stepdpo, hendrycks, math_verify)
CASES = [
    ("half-decimal-vs-frac", B("0.5"), r"\frac12", True, True, True),
    ("frac-vs-half-decimal", B(r"\frac12"), "0.5", True, True, True),
    ("thousands-comma", B("1,000"), "1000", True, False, True),
    ("percent-vs-number", B(r"50\%"), "50", True, True, False),  # math_verify False under antlr 4.11.1
    ("number-vs-percent-gold", B("50"), r"50\%", True, True, True),
    ("percent-false-positive-5-vs-500", B("5"), "500", True, False, False),
    ("percent-false-positive-500-vs-5", B("500"), "5", True, False, False),
    ("text-choice-vs-letter", B(r"\text{(A)}"), "A", True, False, True),
    ("reordered-sum", B("x^2+2x"), "2x+x^2", True, False, True),
    ("interval-brackets-ignored", B("(1,2]"), "[1,2)", True, False, False),
    ("same-interval", B("(1,2)"), "(1,2)", True, True, True),
    (
        "interval-union-any-order",
        B(r"(-\infty,2)\cup(3,\infty)"),
        r"(3,\infty)\cup(-\infty,2)",
        True,
        False,
        True,
    ),
    (
        "matrix-cellwise-numeric",
        B(r"\begin{pmatrix} 1 \\ 2.0 \end{pmatrix}"),
        r"\begin{pmatrix}1\\2\end{pmatrix}",
        True,
        False,
        True,
    ),
    (
        "bmatrix-vs-pmatrix",
        B(r"\begin{bmatrix} 0.5 & 1 \\ 2 & 3 \end{bmatrix}"),
        r"\begin{pmatrix}\frac12&1\\2&3\end{pmatrix}",
        True,
        False,
        True,
    ),
    (
        "matrix-wrong-cell",
        B(r"\begin{pmatrix}1\\3\end{pmatrix}"),
        r"\begin{pmatrix}1\\2\end{pmatrix}",
        False,
        False,
        False,
    ),
    ("several-boxes-last-counts", r"first \boxed{3}, finally \boxed{5}", "5", True, True, False),
    ("several-boxes-last-wrong", r"first \boxed{5}, finally \boxed{2}", "5", False, False, False),
    ("one-box-two-golds", r"\boxed{5}", ["3", "5"], False, True, True),  # covering needs every gold
    ("two-boxes-two-golds-any-order", r"\boxed{3} and \boxed{5}", ["5", "3"], True, False, False),
    ("unclosed-last-box-dropped", r"\boxed{3} and \boxed{5", "3", True, False, True),
    ("only-unclosed-box", r"\boxed{5", "5", False, False, False),
    ("boxed-without-braces", r"The answer is \boxed 5", "5", False, False, True),
    ("fbox-last-number-fallback", r"The final result is \fbox{5}.", "5", True, False, False),
    ("fbox-not-read", r"so $\fbox{7}$ after 5 steps", "7", False, False, False),
    ("units-text-cm", B(r"5\text{ cm}"), "5", True, True, True),
    ("dfrac", B(r"\dfrac{1}{2}"), r"\frac{1}{2}", True, True, True),
    ("tfrac-vs-decimal", B(r"\tfrac{3}{4}"), "0.75", True, False, True),
    ("gsm8k-gold-with-thousands-comma", "The answer is 2125.", "Janet...\n#### 2,125", True, False, True),
    ("gsm8k-style-a-colon", "She makes 5 * 425 = 2,125 dollars.\nA: 2,125", "#### 2,125", True, False, True),
    ("boxed-vs-comma-gold", B("2125"), "2,125", True, False, True),
    ("guard-216-prediction", B("2^{216}"), "4^{108}", False, False, True),  # Step-DPO hard-coded guard
    ("guard-216-only-checks-prediction", B("4^{108}"), "2^{216}", True, False, True),
    ("guard-216-string-equal-first", B("2^{216}"), "2^{216}", True, True, True),
    ("percent-after-box", B(r"\frac{1}{2}}%"), "0.5", True, True, True),
    ("the-answer-is", "The answer is 5.", "5", True, False, True),
    ("last-number-fallback", "We get 3 apples and then 7 more, total 10", "10", True, False, True),
    ("equation-lhs-short", B("x=5"), "5", True, True, True),
    ("equation-vs-equation", B("y=2x+1"), "2x-y+1=0", True, False, True),
    ("dollar-sign", B(r"\$6"), "6", True, True, True),
    ("degrees", B(r"48^\circ"), "48", True, True, True),
    ("j-as-imaginary", B("3+2j"), "3+2i", True, False, False),
    ("trailing-zero", B("0.50"), "0.5", True, False, True),
    ("slash-fraction", B("1/2"), r"\frac{1}{2}", True, True, True),
    ("sqrt-over-int", B(r"\sqrt2/2"), r"\frac{\sqrt{2}}{2}", True, False, True),
    ("equal-radicals", B(r"2\sqrt{2}"), r"\sqrt{8}", True, False, True),
    ("pi-is-a-symbol-for-parse_latex", B(r"\pi"), "3.14159", False, False, False),
    ("text-word", B("Monday"), r"\text{Monday}", True, False, True),
    ("different-words", B(r"\text{Monday}"), r"\text{Tuesday}", False, False, False),
]

MODES = ("stepdpo", "hendrycks", "math_verify")


@pytest.fixture(scope="module")
def checkers() -> dict[str, AnswerChecker]:
    return {mode: AnswerChecker(mode) for mode in MODES}


@pytest.mark.parametrize(
    ("case_id", "completion", "gold", "stepdpo", "hendrycks", "math_verify"), CASES, ids=[c[0] for c in CASES]
)
def test_equivalence_table(checkers, case_id, completion, gold, stepdpo, hendrycks, math_verify) -> None:
    expected = {"stepdpo": stepdpo, "hendrycks": hendrycks, "math_verify": math_verify}
    got = {mode: checkers[mode].check(completion, gold).correct for mode in MODES}
    assert got == expected, case_id


def test_table_covers_disagreeing_modes() -> None:
    # The table is only useful if the modes really differ on it.
    assert len({(c[3], c[4], c[5]) for c in CASES}) >= 5


# ---- lower-level Step-DPO pieces -------------------------------------------------------------


def test_parse_digits() -> None:
    assert parse_digits("1,000") == 1000.0
    assert parse_digits("50%") == 0.5
    assert parse_digits("50\\%") == 0.5
    assert parse_digits("x") is None


def test_math_equal_numeric_has_no_symbolic_fallback() -> None:
    guard = Guard()
    assert math_equal("0.333", "0.3333", guard)  # within 1e-3
    assert not math_equal("0.33", "0.3333", guard)
    assert guard.log.calls == 0  # both numeric: sympy never called


def test_eval_math_keeps_last_len_gold_predictions_after_dedupe() -> None:
    assert eval_math(["7", "3", "3", "5"], ["3", "5"])  # dedupe -> [7, 3, 5] -> keep [3, 5]
    assert not eval_math(["3", "5", "7"], ["3", "5"])  # keeps [5, 7]
    assert eval_math(["5", "3"], ["3", "5", "5"])  # gold duplicates removed
    assert not eval_math([], ["1"])
    assert is_correct_pair(r"[1,2]\cup[3,4]", r"[3,4]\cup[1,2]")


def test_stepdpo_verdict_fields(checkers) -> None:
    v = checkers["stepdpo"].check(r"\boxed{1} then \boxed{\dfrac{1}{2}}", r"\frac{1}{2}")
    assert v.correct and v.extracted == ["1", r"\frac{1}{2}"] and v.gold == [r"\frac{1}{2}"]
    assert v.error is None and not v.timed_out and v.mode == "stepdpo"


def test_stepdpo_gold_list_is_used_verbatim_but_a_string_is_normalised(checkers) -> None:
    c = checkers["stepdpo"]
    assert c.gold_answers(["x\\in[-2,7]"]) == ["x\\in[-2,7]"]  # released golds are already normalised
    assert c.gold_answers("x\\in[-2,7]") == ["[-2,7]"]
    assert c.gold_answers("1, 3", question="separated by commas") == ["1", "3"]


def test_pmatrix_double_backslash_special_case(checkers) -> None:
    # Step-DPO's driver: "The answer is:" + single pmatrix gold -> "\\" becomes "\" on both sides.
    completion = r"The answer is: $\boxed{\begin{pmatrix} 1 \\ 2 \end{pmatrix}}$"
    v = checkers["stepdpo"].check(completion, [r"\begin{pmatrix}1\\2\end{pmatrix}"])
    assert v.correct and v.gold == [r"\begin{pmatrix}1\2\end{pmatrix}"]


def test_hendrycks_uses_the_last_gold_of_a_list(checkers) -> None:
    c = checkers["hendrycks"]
    assert c.check(r"\boxed{5}", ["3", "5"]).correct
    assert not c.check(r"\boxed{3}", ["3", "5"]).correct


def test_extract_per_mode(checkers) -> None:
    text = r"\boxed{1} and \boxed{50\%}"
    assert checkers["stepdpo"].extract(text) == ["1", "50%"]
    assert checkers["hendrycks"].extract(text) == ["50"]
    assert checkers["math_verify"].extract(r"so $\boxed{\frac{1}{2}}$") == [r"\frac{1}{2}"]


def test_unknown_mode_rejected() -> None:
    with pytest.raises(ValueError):
        AnswerChecker("exact")  # type: ignore[arg-type]


def test_checker_pickles_and_keeps_working(checkers) -> None:
    c = pickle.loads(pickle.dumps(checkers["stepdpo"]))
    assert c.check(B("0.5"), r"\frac12").correct
    assert c.stats.checks >= 1

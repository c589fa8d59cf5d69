"""The antlr trap: sympy's parse_latex must work, and a broken one must fail loudly."""

from __future__ import annotations

import pytest
import sympy
import sympy.parsing.latex as sympy_latex

from hn_lightning.answers import ANTLR_FIX, AnswerChecker, check_latex_parser, latex_guard


def test_parse_latex_really_works() -> None:
    # Fails with ImportError unless antlr4-python3-runtime is 4.11.x.
    value = sympy_latex.parse_latex(r"\frac{1}{2}+\sqrt{3}")
    assert sympy.simplify(value - (sympy.Rational(1, 2) + sympy.sqrt(3))) == 0
    check_latex_parser()


def test_broken_parser_raises_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_text: str) -> None:
        raise ImportError("LaTeX parsing requires the antlr4 Python package, version 4.11")

    monkeypatch.setattr(sympy_latex, "parse_latex", broken)
    with pytest.raises(RuntimeError, match=r"antlr4-python3-runtime==4\.11\.\*"):
        check_latex_parser()
    assert "4.11" in ANTLR_FIX


def test_stepdpo_checker_refuses_to_run_on_a_broken_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_text: str) -> None:
        raise ImportError("antlr version mismatch")

    monkeypatch.setattr(sympy_latex, "parse_latex", broken)
    monkeypatch.setattr(latex_guard, "_checked", False)
    with pytest.raises(RuntimeError, match="antlr"):
        AnswerChecker("stepdpo").check(r"\boxed{\frac12}", "0.5")
    # the other modes do not depend on sympy's antlr parser
    assert AnswerChecker("hendrycks").check(r"\boxed{\frac12}", "0.5").correct

"""The two normalisers, rule by rule, quirks included."""

from __future__ import annotations

import pytest

from hn_lightning.answers import hendrycks_strip_string, is_equiv, stepdpo_strip_string
from hn_lightning.answers.latex_fixes import fix_a_slash_b, fix_fracs


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  5.  ", "5"),
        ("\\text{(A)}", "(A)"),  # whole-string \text unwrapped
        ("\\dfrac{1}{2}", "\\frac{1}{2}"),
        ("\\tfrac12", "\\frac{1}{2}"),
        ("\\cfrac{3}{4}", "\\frac{3}{4}"),
        ("\\left( 1, 2 \\right)", "(1,2)"),
        ("5\\text{ cm}", "5"),  # units cut to the end
        ("100\\text{ square units}", "100"),
        ("\\text{Monday}", "Monday"),
        ("90^\\circ", "90"),
        ("90^{\\circ}", "90"),
        ("5{cm}^2", "5"),
        ("\\text{4:30 p.m.}", "4:30"),  # trailing p.m. removed (after the \text unwrap)
        ("4:30 p.m.", "4:30p.m"),  # ...but a bare one lost its final "." in step 1 first
        ("\\$6", "6"),
        ("50\\%", "50%"),  # percent sign kept
        ("x \\in [-2,7]", "x\\in[-2,7]"),  # "x\in" only removed before spaces are dropped
        ("x\\in[-2,7]", "[-2,7]"),
        ("2 \\cdot 3", "23"),
        ("infinity", "\\infty"),
        ("(-inf, 3)", "(-\\infty,3)"),
        ("\\mathbf{v}", "{v}"),
        ("5\\mbox{ dollars}", "5"),
        ("3+2j", "3+2i"),  # j -> i only without an i
        ("12.000x", "12x"),
        ("12.00", "12"),
        (".5", "0.5"),
        ("\\sqrt2", "\\sqrt{2}"),
        ("\\sqrt3x", "\\sqrt{3x}"),
        ("\\tan30", "\\tan{30}"),
        ("3/4", "\\frac{3}{4}"),
        ("\\sqrt{2}/2", "\\frac{\\sqrt{2}}{2}"),
        ("5,", "5"),  # trailing runs of \ , .
        ("1,000", "1,000"),  # thousands commas stay (the numeric check removes them)
        ("'a'", "'a'"),  # quotes stay (the original discards its replace() results)
        ("", ""),
    ],
)
def test_stepdpo_strip_string(raw: str, expected: str) -> None:
    assert stepdpo_strip_string(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("50\\%", "50"),  # "\%" removed
        ("50%", "50%"),  # a bare "%" is kept: the original strips only "\%"
        ("0.5", "\\frac{1}{2}"),  # the special case
        ("\\frac12", "\\frac{1}{2}"),
        ("k = 5", "5"),
        ("\\sqrt3x", "\\sqrt{3}x"),  # only one character wrapped
        ("5 \\text{ cm}", "5"),
        ("5\\text{cm}", "5\\text{cm}"),  # no space after "\text{": not a unit for hendrycks
        ("1,000", "1,000"),
        ("\\$6", "6"),
        ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{pmatrix}1\\2\\end{pmatrix}"),  # "\\" -> "\"
        ("3/4", "\\frac{3}{4}"),
        ("\\sqrt{2}/2", "\\sqrt{2}/2"),  # no sqrt case in hendrycks' a/b
    ],
)
def test_hendrycks_strip_string(raw: str, expected: str) -> None:
    assert hendrycks_strip_string(raw) == expected


def test_hendrycks_raises_where_the_original_asserts_and_is_equiv_falls_back() -> None:
    with pytest.raises(ValueError):
        hendrycks_strip_string("5 \\text{ cm} by 6 \\text{ cm}")
    with pytest.raises(IndexError):
        hendrycks_strip_string("2\\frac")
    assert is_equiv("5 \\text{ cm} by 6 \\text{ cm}", "5 \\text{ cm} by 6 \\text{ cm}")  # raw equality
    assert not is_equiv("5 \\text{ cm} by 6 \\text{ cm}", "5")
    assert is_equiv(None, None) and not is_equiv("1", None)


def test_fix_helpers() -> None:
    assert fix_fracs("\\frac1{72}") == "\\frac{1}{72}"
    assert fix_fracs("\\frac{72}1") == "\\frac{72}1"
    assert fix_fracs("\\frac1") == "\\frac1"  # too short: unchanged
    assert fix_a_slash_b("01/2", allow_sqrt=True) == "01/2"  # must round-trip through int
    assert fix_a_slash_b("1/2/3", allow_sqrt=True) == "1/2/3"

r"""``plain_math``: a chat model's LaTeX arithmetic read as plain text (the self-reference setting).

Golden strings by hand; the value trace of the rewritten text computes what the plain-text version of
the same solution computes; text without LaTeX is left alone; the rewrite is idempotent.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from hn_lightning.verifier.plain_math import plain_math
from hn_lightning.verifier.steps import is_latex_style
from hn_lightning.verifier.trace import trace_solution


@pytest.mark.parametrize("latex, plain", [
    (r"\[ \text{Time} = 4 \times 4 = 16 \text{ minutes} \]", " Time = 4 * 4 = 16 minutes "),
    (r"\( 18 \div 3 = 6 \)", " 18 / 3 = 6 "),
    (r"\frac{18}{3} = 6", "18 / 3 = 6"),
    (r"\frac{2 + 4}{3} = 2", "(2 + 4) / 3 = 2"),
    (r"The answer is \(\boxed{\text{12 apples}}\).", "The answer is 12 apples."),
    (r"\$3 \cdot 4 = \$12, and 50\% of it is \$6", "$3 * 4 = $12, and 50% of it is $6"),
    (r"$x^2$ stays", "x^2 stays"),
    (r"\left( 3 + 4 \right) \times 2 = 14", "( 3 + 4 ) * 2 = 14"),
    (r"5 \leq 6, 7 \neq 8 and \sqrt{16} = 4", r"5 <= 6, 7 != 8 and \sqrt{16} = 4"),  # unknown commands stay as written
    ("$$ 4 \\times 3 = 12 $$", " 4 * 3 = 12 "),
    (r"a &= 2 \\ b &= 3", "a &= 2 \n b &= 3"),
    (r"He pays $5 \times 2, then $3 more.", "He pays $5 * 2, then $3 more."),  # currency, not inline math
    (r"\frac{\$6}{\$1.50} = 4 and 1{,}200", "$6 / $1.50 = 4 and 1,200"),
])
def test_golden(latex, plain):
    assert plain_math(latex) == plain


def test_plain_text_and_idempotence():
    text = "She buys 3 * 4 = 12 pens for $5 each.\nShe has 7 + 12 = 19 pens."
    assert plain_math(text) == text
    for latex in (r"\[ \text{Cost} = 12 \times \$5 = \$60 \] so \(\boxed{60}\)", r"a &= 2 \\ b", "a\\\\$5",
                  "$$ 4 \\times 3 = 12 $$", r"He pays $5 \times 2, then $3 more."):
        assert plain_math(plain_math(latex)) == plain_math(latex), latex


def test_trace_reads_the_rewrite_like_the_plain_solution():
    latex = [r"Bernadette's drive takes \[ 4 \times 4 = 16 \text{ minutes} \]",
             r"The difference is \( 16 - 4 = 12 \) minutes, so \(\boxed{12}\)."]
    plain = ["Bernadette's drive takes 4 * 4 = 16 minutes", "The difference is 16 - 4 = 12 minutes, so 12."]
    question = "Wayne's drive takes 4 minutes and Bernadette's takes 4 times as long. How much longer is hers?"
    assert all(is_latex_style(t) for t in latex) and not any(is_latex_style(plain_math(t)) for t in latex)
    got = trace_solution([plain_math(t) for t in latex], question)
    want = trace_solution(plain, question)
    assert [t.computed for t in got] == [t.computed for t in want] == [[Fraction(16)], [Fraction(12)]]

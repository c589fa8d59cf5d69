r"""LaTeX-formatted arithmetic as plain text: ``\[ \text{Cost} = 4 \times \$3 = \$12 \]`` -> ``Cost = 4 * $3 = $12``.

Chat models write word-problem solutions with LaTeX display math (``\[ 16 - 4 = 12 \text{ minutes} \]``,
``\frac{18}{3}``, ``\boxed{12}``). When such a solution serves as a *reference* (a solver's solution in
the self-reference setting: no human reference exists), the first-error stage would treat it as a
competition-math reference (any ``\command`` makes a text LaTeX-style, :func:`~.steps.is_latex_style`),
whose rules keep checked computations off the reference's route as weak evidence only. A word problem's
solution read as plain text gets the GSM8K rules instead. :func:`plain_math` rewrites only what the
value trace needs: delimiters, ``\text{}``, operators, simple fractions, ``\boxed{}``, spacing commands;
anything it does not know stays as written.
"""

from __future__ import annotations

import re

from hn_lightning.verifier.reading import FRAC

_DELIMS = re.compile(r"\\[\[\]()]")
_DISPLAY_DOLLARS = re.compile(r"\$\$(.*?)\$\$", re.DOTALL)
_LINE_BREAK = re.compile(r"\\\\(?:\[[^\]]*\])?")
_TEXT = re.compile(r"\\(?:text|textbf|mathrm|mbox|operatorname)\s*\{([^{}]*)\}")
_BOXED = re.compile(r"\\boxed\s*\{([^{}]*)\}")
_OPS = (("\\times", " * "), ("\\cdot", " * "), ("\\div", " / "), ("\\leq", " <= "), ("\\geq", " >= "),
        ("\\le", " <= "), ("\\ge", " >= "), ("\\neq", " != "), ("\\lt", " < "), ("\\gt", " > "),
        ("\\approx", " ~ "), ("\\%", "%"), ("{,}", ","), ("\\left", ""), ("\\right", ""))
_SPACING = re.compile(r"\\[,;:! ]|\\quad|\\qquad")
_INLINE_DOLLAR = re.compile(r"\$(?!\s)([^$\n]*?[\\^_{}][^$\n]*?)(?<!\s)\$")
"""Inline ``$...$`` math: no space just inside the dollars (``He pays $5 \\times 2, then $3`` is two
currency amounts, not math)."""
_ATOM = re.compile(r"^\s*[$\0]?[\d.,]+\s*$")  # \0 stands for an escaped \$ while rewriting


def _frac(m: re.Match) -> str:
    """``\\frac{a}{b}`` -> ``a / b``, with brackets around a part that is not a plain number."""
    num, den = (part if _ATOM.match(part) else f"({part})" for part in (m.group(1).strip(), m.group(2).strip()))
    return f"{num} / {den}"


def plain_math(text: str) -> str:
    r"""``text`` with LaTeX arithmetic as plain text (see the module doc); idempotent.

    >>> plain_math(r"\[ \text{Total} = 4 \times \frac{18}{3} = 24 \text{ minutes} \]")
    ' Total = 4 * 18 / 3 = 24 minutes '
    >>> plain_math(r"The answer is \(\boxed{12}\).")
    'The answer is 12.'
    """
    out = _LINE_BREAK.sub("\n", text)  # ``\\`` (an aligned line break) first: it is no escaped dollar
    out = _DISPLAY_DOLLARS.sub(r"\1", out)
    out = _INLINE_DOLLAR.sub(r"\1", out.replace("\\$", "\0"))  # an escaped \$ is a currency sign, not a delimiter
    for _ in range(3):  # nested \text{} inside \boxed{} or \frac{}{}
        new = _BOXED.sub(r"\1", FRAC.sub(_frac, _TEXT.sub(r"\1", out)))
        if new == out:
            break
        out = new
    for cmd, repl in _OPS:
        out = re.sub(re.escape(cmd) + r"(?![a-zA-Z])", lambda _m, r=repl: r, out)
    out = _SPACING.sub(" ", _DELIMS.sub("", out)).replace("\0", "$")
    return re.sub(r"[ \t]+", " ", out)

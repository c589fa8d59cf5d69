r"""How the verifier reads math text, in one place: where the LaTeX math of a text is
(:func:`math_spans`), how a ``\frac`` is read (:data:`FRAC`, :func:`replace_fracs`), which numbers any
step may use without a source (:data:`COMMON_CONSTANTS`), and how close two numbers must be to be the
same (:class:`Tolerance`: :data:`STATED`, :data:`EXACT`, :data:`NUMERIC`). The splitter, the value
trace, the symbolic checks, the plain-text rewrite and the NLI prose test all read through it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from typing import NamedTuple

__all__ = [
    "COMMON_CONSTANTS", "EXACT", "FRAC", "NUMERIC", "STATED", "Tolerance", "is_latex_style", "math_body", "math_spans",
    "replace_fracs", "same",
]

# ---- math spans ---------------------------------------------------------------------------------------
_LATEX_HINT = re.compile(r"\\[a-zA-Z]+|\$[^$\n]*[\\^_{}][^$\n]*\$")
_BLOCK_OPEN = re.compile(r"\$\$|\\\[|\\begin\{([a-zA-Z*]+)\}")


def is_latex_style(text: str) -> bool:
    """``$`` delimits math in ``text``: it holds a backslash command or ``$..$`` with ``^``, ``_`` or a brace.
    Otherwise a ``$`` is a currency sign (GSM8K: ``$12``)."""
    return bool(_LATEX_HINT.search(text))


def _inline_dollar_end(text: str, start: int) -> int | None:
    """End of the inline math opened by the ``$`` at ``start``, or ``None`` when that ``$`` is a
    currency sign: no closing ``$`` on the same line, or the text up to it starts with a digit,
    holds a word and no LaTeX (``$12 for 3 books, then $``)."""
    close = start + 1
    n = len(text)
    while close < n and text[close] != "\n" and (text[close] != "$" or text[close - 1] == "\\"):
        close += 1
    if close >= n or text[close] != "$":
        return None
    content = text[start + 1:close]
    if not re.search(r"[\\^_{}]", content) and re.match(r"\s*[\d.,]", content) and re.search(r"[A-Za-z]{3,}", content):
        return None
    return close + 1


def math_spans(text: str, latex: bool | None = None) -> list[tuple[int, int]]:
    """The ``(start, end)`` character spans of the math in ``text``, delimiters included: display math
    (``$$..$$``, ``\\[..\\]``, ``\\begin{env}..\\end{env}``), ``\\(..\\)`` and, in LaTeX-style text
    (``latex``; default :func:`is_latex_style`), inline ``$..$``; a currency ``$`` (escaped, unclosed on its
    line, or opening ``$12 for 3 books, then $``) is never a delimiter. An unclosed span runs to the end."""
    latex = is_latex_style(text) if latex is None else latex
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    skip: set[int] = set()
    while i < n:
        m = _BLOCK_OPEN.search(text, i)
        inline = -1
        if latex:
            j = i
            while True:
                inline = text.find("$", j)
                if inline < 0 or (inline not in skip and (inline == 0 or text[inline - 1] != "\\")):
                    break
                j = inline + 1
        inline_paren = text.find("\\(", i)
        candidates = [c for c in (m.start() if m else -1, inline, inline_paren) if c >= 0]
        if not candidates:
            break
        start = min(candidates)
        if m and m.start() == start:
            token = m.group(0)
            if token == "$$":
                close, width = text.find("$$", m.end()), 2
            elif token == "\\[":
                close, width = text.find("\\]", m.end()), 2
            else:
                end_tok = f"\\end{{{m.group(1)}}}"
                close, width = text.find(end_tok, m.end()), len(end_tok)
            end = n if close < 0 else close + width
        elif start == inline_paren:
            close = text.find("\\)", start + 2)
            end = n if close < 0 else close + 2
        else:
            end = _inline_dollar_end(text, start)
            if end is None:  # a currency sign: look for math after it
                skip.add(start)
                i = start + 1 if start + 1 > i else i
                continue
        spans.append((start, end))
        i = max(end, start + 1)
    return spans


_OPENERS = re.compile(r"^(?:\$\$|\$|\\\[|\\\(|\\begin\{[a-zA-Z*]+\})")
_CLOSERS = re.compile(r"(?:\$\$|\$|\\\]|\\\)|\\end\{[a-zA-Z*]+\})$")


def math_body(span: str) -> str:
    """A span of :func:`math_spans` without its delimiters."""
    return _CLOSERS.sub("", _OPENERS.sub("", span, count=1), count=1)


# ---- fractions ----------------------------------------------------------------------------------------
FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
"""``\\frac{a}{b}`` (``\\dfrac``, ``\\tfrac``) with brace-free parts: groups numerator, denominator."""


def replace_fracs(text: str, fn: Callable[[re.Match], str], rounds: int = 3) -> str:
    """``text`` with every :data:`FRAC` rewritten by ``fn``, innermost first, up to ``rounds`` levels deep."""
    for _ in range(rounds):
        new = FRAC.sub(fn, text)
        if new == text:
            break
        text = new
    return text


# ---- constants ----------------------------------------------------------------------------------------
COMMON_CONSTANTS: frozenset[Fraction] = frozenset(
    [Fraction(i) for i in range(11)] + [Fraction(v) for v in (12, 24, 60, 100, 1000)] + [Fraction(1, 2), Fraction(1, 4)]
)
"""Numbers a step may use without a source: 0-10, a dozen, hours a day, minutes an hour, 100, 1000, a half,
a quarter. Unit conversions such as 7, 52 or 365 are not in it: a step that uses them without writing
them has no source (``docs/verifier-rules.md``: what the longer list did)."""


# ---- tolerance ----------------------------------------------------------------------------------------
class Tolerance(NamedTuple):
    """``|a - b| <= max(relative * max(|a|, |b|), absolute)``."""

    relative: float
    absolute: float


STATED = Tolerance(1e-4, 1e-9)
"""Two values as a solution writes them: a number may be rounded (``3.1416``, ``33.33``, ``10.8`` for
``10.80``), so 1 part in 10,000."""
EXACT = Tolerance(1e-9, 1e-9)
"""Two values computed exactly, compared in floats: only float noise."""
NUMERIC = Tolerance(1e-6, 1e-6)
"""Two values from a numerical method (polynomial roots from ``numpy.roots``, SymPy evaluation): its error."""


def same(a: Fraction | float | complex, b: Fraction | float | complex, tol: Tolerance = STATED) -> bool:
    """``a`` and ``b`` are the same number under ``tol`` (exact for equal fractions)."""
    if a == b:
        return True
    if isinstance(a, complex) or isinstance(b, complex):
        fa, fb = complex(a), complex(b)
    else:
        fa, fb = float(a), float(b)
    return abs(fa - fb) <= max(tol.relative * max(abs(fa), abs(fb)), tol.absolute)

r"""Reading the LaTeX math of a step for :mod:`hn_lightning.verifier.algebra`: its equality chains,
which sides are plain enough to parse, the parse itself (``latex2sympy2_extended``, math-verify's
parser, with the fixes below), and a time cap for SymPy work."""

from __future__ import annotations

import re
import signal
import threading
from contextlib import contextmanager
from functools import lru_cache

from hn_lightning.verifier.reading import math_body, math_spans

__all__ = [
    "Timeout",
    "can_cap_time",
    "atom",
    "load_parser",
    "math_pieces",
    "span_pieces",
    "named",
    "parse_side",
    "plain",
    "time_cap",
]

_SPLIT = re.compile(
    r"\\\\|\\implies|\\Rightarrow|\\Longrightarrow|\\rightarrow|\\to\b|\\therefore|"
    r"\\quad|\\qquad|\\text\{\s*(?:and|or|so|thus|then)\s*\}|;|\\iff|\\Leftrightarrow"
)
_SKIP = re.compile(
    r"<|>|\\[lg]eq?\b|\\[lg]t\b|\\approx|\\sim|\\neq?\b|\\mp|\\equiv|\\pmod|\\mod|\\bmod|"
    r"\\text|\\mathrm|\\operatorname|\\%|%|\\angle|\\triangle|\\overline|\\vec|\\sum|\\prod|"
    r"\\int|\\lim|\\infty|\\[lcv]?dots|\\in\b|\\cup|\\cap|\\subset|\\begin\{[pbv]?matrix|"
    r"\\binom|\\choose|!|\||\\mid|\\frac\{d|\\partial|\\prime|'|\\hat|"
    r"\\overrightarrow|\\cdot\s*\\cdot|\[|\]|\\{|\\}|_\s*\{?\s*\d|"
    r"\^\s*\{?\s*-?\d{3,}|\d\s*\^\s*\{?\s*\d{2,}|"
    r"\\exp|\\arc|\\max|\\min|\\gcd|\\det|\\deg|\b[fghpqFGHPQ]\s*\("
)
_ALLOWED_CMD = {
    "frac",
    "dfrac",
    "tfrac",
    "sqrt",
    "cdot",
    "times",
    "div",
    "left",
    "right",
    "pi",
    "displaystyle",
    "sin",
    "cos",
    "tan",
    "cot",
    "sec",
    "csc",
    "log",
    "ln",
    "lfloor",
    "rfloor",
    "lceil",
    "rceil",
    "circ",
    "theta",
    "alpha",
    "beta",
    "phi",
    "gamma",
}
_GREEK = {"theta", "alpha", "beta", "phi", "gamma"}
_CMD = re.compile(r"\\([a-zA-Z]+)")


class Timeout(BaseException):
    """Not an ``Exception``: the parse and evaluation guards must not swallow (and cache) it."""


def can_cap_time() -> bool:
    """:func:`time_cap` can set its timer here: the main thread, a platform with ``setitimer``, and no
    other interval timer running."""
    return (
        threading.current_thread() is threading.main_thread()
        and hasattr(signal, "setitimer")
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )


@contextmanager
def time_cap(seconds: float):
    """Raise :class:`Timeout` after ``seconds`` (SymPy can hang on a bad input); a no-op where
    :func:`can_cap_time` is false (callers check it first)."""
    if not can_cap_time():
        yield
        return

    def _raise(*_):
        raise Timeout

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old if old is not None else signal.SIG_DFL)  # None: not set from Python


def math_pieces(text: str) -> list[list[str]]:
    """The equality chains of a step's LaTeX math (:func:`~hn_lightning.verifier.reading.math_spans`, ``$``
    always math), each as its list of sides (``A = B = C`` -> ``["A", "B", "C"]``)."""
    return [p for s, e in math_spans(text, latex=True) for p in span_pieces(math_body(text[s:e]))]


def span_pieces(body: str) -> list[list[str]]:
    """The equality chains of one math span's body (an aligned line opening with ``=`` continues the chain
    above it)."""
    out: list[list[str]] = []
    if re.search(r"matrix|array|cases", body):
        return out
    body = re.sub(r"(?<=\d)(?:,|\{,\})(?=\d{3}(?!\d))", "", body)  # 16,520.25: thousands
    body = re.sub(r"\\(?:begin|end)\{[a-z*]+\}", " ", body).replace("&", " ")
    body = re.sub(r"(?<!\\)\\[,;!: ]|\\left|\\right|\\displaystyle", " ", body)
    prev: list[str] | None = None
    for part in _SPLIT.split(body):
        for piece in top_level_commas(part):
            sides = [s.strip().rstrip(".").strip() for s in piece.split("=")]
            if len(sides) < 2:
                prev = None
                continue
            if sides[0] == "" and prev is not None:  # "&= C" continues the chain above
                prev.extend(sides[1:])
                continue
            if all(sides):
                out.append(sides)
                prev = sides
            else:
                prev = None
    return out


def top_level_commas(s: str) -> list[str]:
    depth, start, out = 0, 0, []
    for k, ch in enumerate(s):
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(s[start:k])
            start = k + 1
    out.append(s[start:])
    return out


_FUNC = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc|log|ln)(?:\s*[\^_]\s*(?:\{[^{}]*\}|\w))*\s*")
_ARG = re.compile(r"\s*(?:-?\d+(?:\.\d+)?(?:\s*\^\s*\{?\s*\\circ\s*\}?)?|\\[a-zA-Z]+|[a-zA-Z]|\{[^{}]*\})\s*")


def _clear_calls(side: str) -> bool:
    """Every function written without parentheses (``\\cos 30^\\circ``) takes one token, and nothing
    but ``+``, ``-``, ``=`` or the end follows it (``\\cos 10^\\circ \\cos 30^\\circ`` is ambiguous);
    no degree sign on a bracket (``(90 - x)^\\circ``)."""
    if re.search(r"[)}]\s*\^\s*\{?\s*\\circ", side):
        return False
    for m in _FUNC.finditer(side):
        rest = side[m.end() :]
        if rest.startswith("("):
            continue
        arg = _ARG.match(rest)
        if arg is None or not re.match(r"\s*(?:$|[-+=)])", rest[arg.end() :]):
            return False
    return True


def plain(side: str) -> bool:
    """A side this module parses: short, only arithmetic LaTeX, no guarded construct."""
    if len(side) > 80 or _SKIP.search(side):
        return False
    if re.search(r"(?<![\\a-zA-Z])e(?![a-zA-Z])", side) or re.search(r"\d\s*\\[dt]?frac", side):
        return False  # e: Euler's number or a variable? 2\frac{1}{2}: a mixed number or a product?
    return all(c in _ALLOWED_CMD for c in _CMD.findall(side)) and _clear_calls(side)


@lru_cache(maxsize=1)
def load_parser():
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig

    return latex2sympy, ConversionConfig(lowercase_symbols=False, interpret_as_mixed_fractions=False)


def atom(side: str):
    """A bare integer, decimal or letter, without the parser (which costs a few ms a side)."""
    import sympy

    if re.fullmatch(r"-?\d+", side):
        return sympy.Integer(side)
    if re.fullmatch(r"-?\d+\.\d+", side):
        return sympy.Float(side)
    if re.fullmatch(r"[a-zA-Z]", side) and side not in "eiI":
        return sympy.Symbol(side)
    return None


def named(sides: list[str]) -> bool:
    """``y = 3x + 2``: a letter named by an expression in other letters, which no check here uses."""
    letters = set(re.findall(r"[a-zA-Z]", re.sub(r"\\[a-zA-Z]+", " ", sides[1])))
    return (
        len(sides) == 2
        and bool(re.fullmatch(r"[a-zA-Z]", sides[0]))
        and bool(letters)
        and sides[0] not in letters
    )


@lru_cache(maxsize=4096)
def parse_side(side: str):
    """The SymPy expression of one side, or ``None`` (unparsed, undefined function, odd symbol)."""
    latex2sympy, config = load_parser()
    try:
        side = re.sub(r"(\d|\))\s*(?=\()", r"\1 \\cdot ", side)  # the parser reads ``11(13)`` as 11 + 13
        expr = latex2sympy(side, conversion_config=config, convert_degrees=True)
    except Exception:  # noqa: BLE001 - any parse failure skips the side
        return None
    try:
        import sympy

        if not isinstance(expr, sympy.Expr) or expr.has(sympy.core.function.AppliedUndef):
            return None
        if any((len(s.name) != 1 and s.name not in _GREEK) or s.name in "eiI" for s in expr.free_symbols):
            return None
        if expr.has(sympy.I) or expr.has(sympy.zoo) or expr.has(sympy.nan):
            return None
    except Exception:  # noqa: BLE001
        return None
    return expr

r"""Symbolic slips in LaTeX steps: links of an equality chain that are no identity, and an equation
rewritten into one with other roots.

The value trace (:mod:`hn_lightning.verifier.trace`) reads numbers; a wrong sign in an expansion
(``(x-3)^2 = x^2 + 6x + 9``) or an equation transformed into a non-equivalent one (``2x + 3 = 11``
then ``2x = 14``) states no wrong number it can check. This module parses the LaTeX math of each step
with ``latex2sympy2_extended`` (math-verify's parser) and checks, reference-free:

* **chain links**: in a chain ``A = B = C`` every link after the first must be an identity. A link
  whose two sides have the same free symbols (one to three single-letter unknowns) is compared at
  fixed sample points; it is a slip when the sides differ at every point where both are finite. A
  link with no free symbol on either side is compared by value (a decimal side is allowed the
  rounding of its last digit). The first link is not checked (it may be an equation or a name).
* **equation sequence**: consecutive polynomial equations in one and the same unknown (degree 1 to 4)
  must keep a root in common: a later equation whose real roots are all off the roots of the last
  non-trivial equation before it (``x = 5`` after ``2x + 3 = 7``) is a slip. A bare root (``x = c``)
  is compared but does not replace the equation it came from, so the roots of one equation can be
  listed one after another.

Conservative guards (correct steps must not be flagged): a piece is skipped when its LaTeX holds an
inequality, approximation, text, units, percent, degrees, congruence, sums, limits, integrals,
sets, matrices, a function name applied to arguments, a digit subscript (bases) or a big exponent;
a step whose words announce cases, substitutions or assumptions resets the equation sequence; parses
are capped per solution (:data:`MAX_PARSES`) and every evaluation error skips the piece. Both checks
report the kind ``arithmetic_slip`` through :func:`algebra_slips` (step index -> reason).
"""

from __future__ import annotations

import re
import signal
import threading
from contextlib import contextmanager
from functools import lru_cache

__all__ = ["MAX_PARSES", "algebra_slips", "math_pieces"]

PIECE_SECONDS = 2.0
"""Time cap on one chain's parse and checks (a chain that runs over is skipped)."""

MAX_PARSES = 60
"""At most this many sides are parsed per solution (each parse costs a few ms)."""

_MATH = re.compile(r"\\begin\{(?:align|equation|gather|eqnarray)\*?\}(.+?)\\end\{(?:align|equation|gather|eqnarray)\*?\}|"
                   r"\\\[(.+?)\\\]|\\\((.+?)\\\)|\$\$(.+?)\$\$|\$(.+?)\$", re.S)
_SPLIT = re.compile(r"\\\\|\\implies|\\Rightarrow|\\Longrightarrow|\\rightarrow|\\to\b|\\therefore|"
                    r"\\quad|\\qquad|\\text\{\s*(?:and|or|so|thus|then)\s*\}|;|\\iff|\\Leftrightarrow")
_SKIP = re.compile(r"<|>|\\[lg]eq?\b|\\[lg]t\b|\\approx|\\sim|\\neq?\b|\\mp|\\equiv|\\pmod|\\mod|\\bmod|"
                   r"\\text|\\mathrm|\\operatorname|\\%|%|\\angle|\\triangle|\\overline|\\vec|\\sum|\\prod|"
                   r"\\int|\\lim|\\infty|\\[lcv]?dots|\\in\b|\\cup|\\cap|\\subset|\\begin\{[pbv]?matrix|"
                   r"\\binom|\\choose|!|\||\\mid|\\frac\{d|\\partial|\\prime|'|\\hat|"
                   r"\\overrightarrow|\\cdot\s*\\cdot|\[|\]|\\{|\\}|_\s*\{?\s*\d|"
                   r"\^\s*\{?\s*-?\d{3,}|\d\s*\^\s*\{?\s*\d{2,}|"
                   r"\\exp|\\arc|\\max|\\min|\\gcd|\\det|\\deg|\b[fghpqFGHPQ]\s*\(")
_RESET = re.compile(r"\b(?:case|cases|if|suppose|assume|let|substitut\w*|plug\w*|check\w*|verify|convert\w*|"
                    r"degrees?|radians?|units?|percent|"
                    r"consider|when|otherwise|similarly|another|other|second|alternatively|try|test\w*|instead)\b",
                    re.I)
_ALLOWED_CMD = {"frac", "dfrac", "tfrac", "sqrt", "cdot", "times", "div", "left", "right", "pi", "displaystyle",
                "sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "lfloor", "rfloor", "lceil", "rceil", "circ",
                "theta", "alpha", "beta", "phi", "gamma"}
_GREEK = {"theta", "alpha", "beta", "phi", "gamma"}
_CMD = re.compile(r"\\([a-zA-Z]+)")
_DECIMAL = re.compile(r"\d\.(\d+)")
_POINTS = (0.3719, 1.2833, -0.6178, 2.1417)


class _Timeout(BaseException):
    """Not an ``Exception``: the parse and evaluation guards must not swallow (and cache) it."""


@contextmanager
def _time_cap(seconds: float):
    """Raise :class:`_Timeout` after ``seconds`` (SymPy can hang on a bad input); a no-op off the main
    thread or while another interval timer is running."""
    if (threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer")
            or signal.getitimer(signal.ITIMER_REAL)[0] > 0):
        yield
        return

    def _raise(*_):
        raise _Timeout

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def math_pieces(text: str) -> list[list[str]]:
    """The equality chains of a step's LaTeX math, each as its list of sides (``A = B = C`` ->
    ``["A", "B", "C"]``; an aligned line opening with ``=`` continues the chain above it)."""
    out: list[list[str]] = []
    for m in _MATH.finditer(text):
        body = next(g for g in m.groups() if g is not None)
        if re.search(r"matrix|array|cases", body):
            continue
        body = re.sub(r"(?<=\d)(?:,|\{,\})(?=\d{3}(?!\d))", "", body)  # 16,520.25: thousands
        body = re.sub(r"\\(?:begin|end)\{[a-z*]+\}", " ", body).replace("&", " ")
        body = re.sub(r"(?<!\\)\\[,;!: ]|\\left|\\right|\\displaystyle", " ", body)
        prev: list[str] | None = None
        for part in _SPLIT.split(body):
            for piece in _top_level_commas(part):
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


def _top_level_commas(s: str) -> list[str]:
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
        rest = side[m.end():]
        if rest.startswith("("):
            continue
        arg = _ARG.match(rest)
        if arg is None or not re.match(r"\s*(?:$|[-+=)])", rest[arg.end():]):
            return False
    return True


def _plain(side: str) -> bool:
    """A side this module parses: short, only arithmetic LaTeX, no guarded construct."""
    if len(side) > 80 or _SKIP.search(side) or re.search(r"(?<![\\a-zA-Z])e(?![a-zA-Z])", side) or re.search(r"\d\s*\\[dt]?frac", side):  # 2\frac12: mixed?
        return False
    return all(c in _ALLOWED_CMD for c in _CMD.findall(side)) and _clear_calls(side)


@lru_cache(maxsize=1)
def _load_parser():
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig

    return latex2sympy, ConversionConfig(lowercase_symbols=False, interpret_as_mixed_fractions=False)


def _atom(side: str):
    """A bare integer, decimal or letter, without the parser (which costs a few ms a side)."""
    import sympy

    if re.fullmatch(r"-?\d+", side):
        return sympy.Integer(side)
    if re.fullmatch(r"-?\d+\.\d+", side):
        return sympy.Float(side)
    if re.fullmatch(r"[a-zA-Z]", side) and side not in "eiI":
        return sympy.Symbol(side)
    return None


def _named(sides: list[str]) -> bool:
    """``y = 3x + 2``: a letter named by an expression in other letters, which no check here uses."""
    letters = set(re.findall(r"[a-zA-Z]", re.sub(r"\\[a-zA-Z]+", " ", sides[1])))
    return len(sides) == 2 and bool(re.fullmatch(r"[a-zA-Z]", sides[0])) and bool(letters) and sides[0] not in letters


@lru_cache(maxsize=4096)
def _parse(side: str):
    """The SymPy expression of one side, or ``None`` (unparsed, undefined function, odd symbol)."""
    latex2sympy, config = _load_parser()
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


def _tolerance(*sides: str) -> float:
    digits = [len(m.group(1)) for s in sides for m in _DECIMAL.finditer(s)]
    return 10.0 ** -min(digits) if digits else 1e-9


def _value(expr, point: dict) -> float | None:
    try:
        v = complex(expr.evalf(subs=point, n=15))
    except Exception:  # noqa: BLE001
        return None
    if abs(v.imag) > 1e-9 or v.real != v.real or abs(v.real) > 1e12:
        return None
    return v.real


def _differs(a, b, tol: float) -> bool:
    """Two expressions with the same free symbols differ at every sample point where both are finite
    (at least two such points)."""
    syms = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    seen = 0
    for k in range(len(_POINTS)):
        point = {s: _POINTS[(k + j) % len(_POINTS)] for j, s in enumerate(syms)}
        va, vb = _value(a, point), _value(b, point)
        if va is None or vb is None:
            continue
        if abs(va - vb) <= tol * max(1.0, abs(va), abs(vb)):
            return False
        seen += 1
    return seen >= 2 if syms else seen >= 1


def _roots(expr, sym) -> list[complex] | None:
    """All roots (with multiplicity) of a polynomial equation ``expr = 0`` in ``sym`` (degree 1-4),
    else ``None``."""
    try:
        import numpy as np
        import sympy

        num = sympy.numer(sympy.together(expr))
        poly = sympy.Poly(num, sym)
        if not 1 <= poly.degree() <= 4 or not all(c.is_number for c in poly.all_coeffs()):
            return None
        return [complex(r) for r in np.roots([complex(c.evalf()) for c in poly.all_coeffs()])]
    except Exception:  # noqa: BLE001
        return None


def _close(a: complex, b: complex, tol: float) -> bool:
    return abs(a - b) <= max(tol, 1e-6) * max(1.0, abs(b))


def _quotient(sa: str, sb: str, a, b) -> bool:
    """``19 \\div 7 = 2``: an integer quotient (remainder arithmetic), not a slip."""
    if not re.search(r"\\div|/", sa + sb):
        return False
    va, vb = _value(a, {}), _value(b, {})
    return va is not None and vb is not None and (int(va) == vb or int(vb) == va)


def _pair_differs(a: tuple, b: tuple, tol: float) -> bool:
    """Two ``\\pm`` pairs of numbers that are not the same two values."""
    va, vb = sorted(_value(e, {}) or 0.0 for e in a), sorted(_value(e, {}) or 0.0 for e in b)
    if any(_value(e, {}) is None for e in (*a, *b)):
        return False
    return any(abs(x - y) > tol * max(1.0, abs(x), abs(y)) for x, y in zip(va, vb, strict=True))


def _real(roots: list[complex]) -> list[float]:
    return [r.real for r in roots if abs(r.imag) < 1e-7]


def _inconsistent(new: list[complex], old: list[complex], tol: float) -> bool:
    """Roots of an equation that cannot come from the one before: with the same degree, another
    multiset of roots; otherwise real roots that all miss the old real roots."""
    if len(new) == len(old):
        rest = list(old)
        for r in new:
            k = next((k for k, o in enumerate(rest) if _close(r, o, tol)), None)
            if k is None:
                return True
            rest.pop(k)
        return False
    rn, ro = _real(new), _real(old)
    return bool(rn) and bool(ro) and all(not _close(a, b, tol) for a in rn for b in ro)


def _holds_at_roots(a, b, known: dict) -> bool:
    """``a = b`` in one unknown holds at a real root of an equation seen before in it (``x^3 = x \\cdot
    x^2 = x(3x - 1)`` after ``x^2 = 3x - 1``: a substitution, not a slip)."""
    syms = a.free_symbols | b.free_symbols
    if len(syms) != 1:
        return False
    sym = next(iter(syms))
    for r in _real(known.get(sym, [])):
        va, vb = _value(a, {sym: r}), _value(b, {sym: r})
        if va is not None and vb is not None and abs(va - vb) <= 1e-6 * max(1.0, abs(va)):
            return True
    return False


def _chain_slip(sides: list[str], exprs: list, known: dict) -> str | None:
    """The first link of a chain that is no identity (the first link only between numbers)."""
    for k in range(0, len(sides) - 1):
        a, b = exprs[k], exprs[k + 1]
        if isinstance(a, tuple) or isinstance(b, tuple):
            if isinstance(a, tuple) and isinstance(b, tuple) and _pair_differs(a, b, _tolerance(sides[k], sides[k + 1])):
                return f"{sides[k]} = {sides[k + 1]} is no identity"
            continue
        if a is None or b is None or a.free_symbols != b.free_symbols or len(a.free_symbols) > 3:
            continue
        if k == 0 and a.free_symbols:  # the first link may be an equation or a name
            continue
        if not a.free_symbols and (_quotient(sides[k], sides[k + 1], a, b) or (a.is_Atom and b.is_Atom)):
            continue  # 19 \div 7 = 2 (a quotient); -8 = -3 (a contradiction stated, no computation)
        if _differs(a, b, _tolerance(sides[k], sides[k + 1])) and not _holds_at_roots(a, b, known):
            return f"{sides[k]} = {sides[k + 1]} is no identity"
    return None


def _equation_slip(sides: list[str], exprs: list, last_eq: dict, known: dict) -> str | None:
    """Compare the chain's equation (first side = last side) in one unknown with the last equation
    in it (``last_eq``: unknown -> roots, updated here)."""
    a, b = exprs[0], exprs[-1]
    if a is None or b is None:
        return None
    if isinstance(a, tuple) or isinstance(b, tuple):  # x = p \pm q: both are roots of the equation before
        sym, pair = (b, a) if isinstance(a, tuple) else (a, b)
        old = last_eq.get(sym) if isinstance(pair, tuple) and not isinstance(sym, tuple) and sym.is_Symbol else None
        if old is None:
            return None
        vals = [_value(e, {}) for e in pair]
        if None in vals or all(any(_close(complex(v), o, _tolerance(*sides)) for o in old) for v in vals):
            return None
        return f"{sides[0]} = {sides[-1]} is not the roots of the equation before it"
    syms = a.free_symbols | b.free_symbols
    if len(syms) != 1 or not _differs(a, b, 1e-9):  # an identity is no equation
        return None
    sym = next(iter(syms))
    roots = _roots(a - b, sym)
    if roots is None:
        last_eq.pop(sym, None)
        return None
    trivial = (a == sym and not b.free_symbols) or (b == sym and not a.free_symbols)
    old = last_eq.get(sym)
    if old is not None and trivial and len(old) > 1:  # a bare root: one of the roots before
        bad = all(not _close(complex(r), o, _tolerance(*sides)) for r in roots for o in old)
    else:
        bad = old is not None and _inconsistent(roots, old, _tolerance(*sides))
    if not trivial or bad:
        last_eq[sym] = roots  # later steps build on it, right or wrong
        known[sym] = roots
    return f"{sides[0]} = {sides[-1]} has none of the roots of the equation before it" if bad else None


def algebra_slips(step_texts: list[str], max_parses: int = MAX_PARSES) -> dict[int, str]:
    """Steps holding a symbolic slip (step index -> reason): a chain link that is no identity, or an
    equation whose roots leave those of the equation before it (module doc). Each chain is checked
    under a time cap of :data:`PIECE_SECONDS`; a chain that runs over is skipped."""
    out: dict[int, str] = {}
    budget = [max_parses]
    last_eq: dict[object, list[complex]] = {}  # unknown -> roots of its last equation
    known: dict[object, list[complex]] = {}  # the same, never reset (substitutions of a relation)

    def parse(side: str):
        if side.count("\\pm") == 1:  # both signs: a pair of values (numbers only)
            pair = (parse(side.replace("\\pm", "+")), parse(side.replace("\\pm", "-")))
            return pair if all(e is not None and not e.free_symbols for e in pair) else None
        atom = _atom(side)
        if atom is not None:
            return atom
        if "\\pm" in side or not _plain(side) or budget[0] <= 0:
            return None
        budget[0] -= 1
        return _parse(side)

    for i, text in enumerate(step_texts):
        cases = bool(_RESET.search(_MATH.sub(" ", text)))  # cases, substitutions: equations not compared
        if cases:
            last_eq.clear()
        for sides in math_pieces(text):
            if _named(sides):
                continue
            try:
                with _time_cap(PIECE_SECONDS):
                    exprs = [parse(s) for s in sides]
                    why = _chain_slip(sides, exprs, known) or (
                        _equation_slip(sides, exprs, {} if cases else last_eq, known))
            except _Timeout:
                continue
            if why:
                out[i] = why
                break
    return out

r"""Symbolic slips in LaTeX steps: links of an equality chain that are no identity, an equation
rewritten into one with other roots, an equation in 2-3 unknowns rewritten with one term changed.

The value trace (:mod:`hn_lightning.verifier.trace`) reads numbers; a wrong sign in an expansion
(``y = (x-3)^2 = x^2 + 6x + 9``), a wrong factorization or an equation transformed into a
non-equivalent one (``2x + 3 = 11`` then ``2x = 14``) states no wrong number it can check. This
module reads the LaTeX math of each step (:mod:`hn_lightning.verifier.latex_math`: ``\[...\]``,
``\(...\)``, ``$...$``, align environments; ``latex2sympy2_extended``, math-verify's parser) and
checks, reference-free:

* **chain links**: in a chain ``A = B = C`` every link after the first must be an identity. A link
  whose two sides have the same free symbols (one to three single-letter or Greek unknowns) is
  compared at fixed sample points: a slip when the sides differ at every point where both are
  finite (at least two), unless it holds at a root of an equation seen before in that unknown (a
  substitution of a known relation). A link between two numbers is checked even when it is the
  first (``\sqrt{18} = 3\sqrt{3}``, ``\tan 30^\circ = \sqrt{3}``; degrees read as degrees; a
  side that is a decimal number may be off by one unit in its last digit, a decimal operand carries its
  rounding, relative), but not an integer quotient (``19 \div
  7 = 2``, remainder arithmetic) nor a bare number = number (a contradiction stated on purpose).
  Other first links are not checked (an equation or a name). ``\pm`` sides are pairs of numbers:
  both values must agree.
* **equation sequence**: consecutive polynomial equations (degree 1 to 4) in one and the same
  unknown, the first and last side of a chain: with the same degree they must have the same roots
  (complex, with multiplicity); with another degree (a division or a squaring) a real root in
  common. A bare root (``x = c``, ``x = p \pm q``) must be a root of the last equation and does
  not replace it, so roots can be listed one after another.

* **one term changed**: an equation in two or three unknowns that changes exactly one term of the one
  before it in the same unknowns (:mod:`~hn_lightning.verifier.term_slips`).

Equations after a word that announces cases, substitutions, checks, unit conversions or assumptions
(inside a step too) are not compared with those before it (the sequence is cleared at the word).
Guards (correct steps must not be flagged): a side is skipped when it holds an inequality,
approximation, text or units, percent, angles, congruences, sums, limits, integrals, sets, matrices,
factorials, binomials, absolute values, a named function applied to arguments (``f(x)``), a function
written without brackets and followed by more than its one-token argument (``\cos 10^\circ \cos
30^\circ``), a digit subscript (bases), a big exponent, a lone ``e`` or a mixed number; parses are
capped per solution (:data:`MAX_PARSES`), each chain runs under a time cap (:data:`PIECE_SECONDS`) and
any parse or evaluation error skips the side. Each check is a rule of the first-error table
(:func:`symbolic_checks`), reporting the kind ``arithmetic_slip``.
"""

from __future__ import annotations

import math
import re

from hn_lightning.verifier.latex_math import (
    Timeout,
    atom,
    can_cap_time,
    load_parser,
    math_pieces,
    named,
    parse_side,
    plain,
    span_pieces,
    time_cap,
)
from hn_lightning.verifier.reading import EXACT, NUMERIC, math_body, math_spans, same
from hn_lightning.verifier.roots import (
    NO_SLACK,
    Slack,
    close,
    near,
    polynomial_roots,
    real_roots,
    roots_inconsistent,
)
from hn_lightning.verifier.term_slips import equation_terms, one_term_changed

__all__ = ["MAX_PARSES", "SYMBOLIC_CHECKS", "algebra_slips", "math_pieces", "symbolic_checks"]

PIECE_SECONDS = 2.0
"""Time cap on one chain's parse and checks (a chain that runs over is skipped)."""

MAX_PARSES = 60
"""At most this many sides are parsed per solution (each parse costs a few ms)."""

_RESET = re.compile(
    r"\b(?:case|cases|if|suppose|assume|let|substitut\w*|plug\w*|check\w*|verify|convert\w*|"
    r"degrees?|radians?|units?|percent|"
    r"consider|when|where|otherwise|similarly|another|other|second|alternatively|try|test\w*|instead)\b",
    re.I,
)
_BARE_DECIMAL = re.compile(r"^\s*-?\d[\d,{}]*\.(\d+)\s*$")
"""A side that is a decimal number (``333.33``): it may be rounded in its last digit."""
_BARE_NUMBER = re.compile(r"^\s*-?\d[\d,{}]*(?:\.\d+)?\s*$")
"""A side that is a number as written (``-8``, ``2.5``), not a computation."""
_POINTS = (0.3719, 1.2833, -0.6178, 2.1417)


_OPERAND_DECIMAL = re.compile(r"(?<![\d.])(\d+\.(\d+))")


def _slack(*sides: str) -> Slack:
    r"""The slack of a comparison between ``sides``: one unit in the last digit of a side that is a
    decimal number (``\frac{1000}{3} = 333.33``), and a relative one unit in the last digit of each
    decimal operand (``\frac{-6 \pm 205.1}{2}`` for ``\sqrt{42068}``: 0.1 / 205.1), so a rounded
    operand carries its rounding through a product (``1.5 \cdot 2000`` is allowed 3000 +- 6.7%, not the
    10% of its first digit). No decimals: :data:`~hn_lightning.verifier.reading.EXACT`."""
    digits = [len(m.group(1)) for s in sides if (m := _BARE_DECIMAL.match(s))]
    absolute = 10.0 ** -min(digits) if digits else 0.0
    relative = [10.0 ** -len(m.group(2)) / float(m.group(1)) for s in sides if not _BARE_DECIMAL.match(s)
                for m in _OPERAND_DECIMAL.finditer(s) if float(m.group(1)) > 0]
    return absolute, max(relative, default=0.0)


def _value(expr, point: dict) -> float | None:
    try:
        v = complex(expr.evalf(subs=point, n=15))
    except Exception:  # noqa: BLE001
        return None
    if abs(v.imag) > EXACT.absolute or v.real != v.real or abs(v.real) > 1e12:
        return None
    return v.real


def _differs(a, b, tol: Slack) -> bool:
    """Two expressions with the same free symbols differ at every sample point where both are finite
    (at least two such points)."""
    syms = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    seen = 0
    for k in range(len(_POINTS)):
        point = {s: _POINTS[(k + j) % len(_POINTS)] for j, s in enumerate(syms)}
        va, vb = _value(a, point), _value(b, point)
        if va is None or vb is None:
            continue
        if near(va, vb, tol):
            return False
        seen += 1
    return seen >= 2 if syms else seen >= 1


def _quotient(sa: str, sb: str, a, b) -> bool:
    """``19 \\div 7 = 2``: an integer quotient (remainder arithmetic), not a slip."""
    quotient_a, quotient_b = (bool(re.search(r"\\div|/|\\d?frac", side)) for side in (sa, sb))
    if quotient_a == quotient_b:
        return False
    va, vb = _value(a, {}), _value(b, {})
    if va is None or vb is None:
        return False
    q, n = (va, vb) if quotient_a else (vb, va)  # the quotient, and the integer said to be it
    return float(n).is_integer() and n == math.floor(q + EXACT.absolute)


def _pair_differs(a: tuple, b: tuple, tol: Slack) -> bool:
    """Two ``\\pm`` pairs of numbers that are not the same two values."""
    va, vb = sorted(_value(e, {}) or 0.0 for e in a), sorted(_value(e, {}) or 0.0 for e in b)
    if any(_value(e, {}) is None for e in (*a, *b)):
        return False
    return any(not near(x, y, tol) for x, y in zip(va, vb, strict=True))


def _holds_at_roots(a, b, known: dict) -> bool:
    """``a = b`` in one unknown holds at a real root of an equation seen before in it (``x^3 = x \\cdot
    x^2 = x(3x - 1)`` after ``x^2 = 3x - 1``: a substitution, not a slip)."""
    syms = a.free_symbols | b.free_symbols
    if len(syms) != 1:
        return False
    sym = next(iter(syms))
    for r in real_roots(known.get(sym, [])):
        va, vb = _value(a, {sym: r}), _value(b, {sym: r})
        if va is not None and vb is not None and same(va, vb, NUMERIC):
            return True
    return False


def _chain_slip(sides: list[str], exprs: list, known: dict) -> str | None:
    """The first link of a chain that is no identity (the first link only between numbers)."""
    for k in range(0, len(sides) - 1):
        a, b = exprs[k], exprs[k + 1]
        if isinstance(a, tuple) or isinstance(b, tuple):
            if (
                isinstance(a, tuple)
                and isinstance(b, tuple)
                and _pair_differs(a, b, _slack(sides[k], sides[k + 1]))
            ):
                return f"{sides[k]} = {sides[k + 1]} is no identity"
            continue
        if a is None or b is None or a.free_symbols != b.free_symbols or len(a.free_symbols) > 3:
            continue
        if k == 0 and a.free_symbols:  # the first link may be an equation or a name
            continue
        if not a.free_symbols and (_quotient(sides[k], sides[k + 1], a, b)
                                   or (_BARE_NUMBER.match(sides[k]) and _BARE_NUMBER.match(sides[k + 1]))):
            continue  # 19 \div 7 = 2 (a quotient); -8 = -3 (a contradiction stated, no computation)
        if _differs(a, b, _slack(sides[k], sides[k + 1])) and not _holds_at_roots(a, b, known):
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
        old = (
            last_eq.get(sym)
            if isinstance(pair, tuple) and not isinstance(sym, tuple) and sym.is_Symbol
            else None
        )
        if old is None:
            return None
        vals = [_value(e, {}) for e in pair]
        if None in vals or all(any(close(complex(v), o, _slack(*sides)) for o in old) for v in vals):
            return None
        return f"{sides[0]} = {sides[-1]} is not the roots of the equation before it"
    syms = a.free_symbols | b.free_symbols
    if len(syms) != 1 or not _differs(a, b, NO_SLACK):  # an identity is no equation
        return None
    sym = next(iter(syms))
    roots = polynomial_roots(a - b, sym)
    if roots is None:
        last_eq.pop(sym, None)
        return None
    trivial = (a == sym and not b.free_symbols) or (b == sym and not a.free_symbols)
    old = last_eq.get(sym)
    if old is not None and trivial and len(old) > 1:  # a bare root: one of the roots before
        bad = all(not close(complex(r), o, _slack(*sides)) for r in roots for o in old)
    else:
        bad = old is not None and roots_inconsistent(roots, old, _slack(*sides))
    if not trivial or bad:
        last_eq[sym] = roots  # later steps build on it, right or wrong
        known[sym] = roots
    return f"{sides[0]} = {sides[-1]} has none of the roots of the equation before it" if bad else None


SYMBOLIC_CHECKS = ("chain_link", "equation_roots", "term_change")
"""The checks of :func:`symbolic_checks`, each a rule of the first-error table."""


def symbolic_checks(step_texts: list[str], max_parses: int = MAX_PARSES) -> dict[str, dict[int, str]]:
    """Steps holding a symbolic slip, by check (:data:`SYMBOLIC_CHECKS` -> step index -> reason): a chain
    link that is no identity, an equation whose roots leave those of the equation before it, an equation in
    2-3 unknowns with one term changed (module doc). Every check reads every chain. Each chain is checked
    under a time cap of :data:`PIECE_SECONDS`; a chain that runs over is skipped. The cap is a SIGALRM
    timer, which only the main thread can set: off the main thread (or while another interval timer
    runs) no check is made and nothing is reported, since an uncapped SymPy call can hang."""
    out: dict[str, dict[int, str]] = {name: {} for name in SYMBOLIC_CHECKS}
    if not can_cap_time():
        return out
    budget = [max_parses]
    last_eq: dict[object, list[complex]] = {}  # unknown -> roots of its last equation
    known: dict[object, list[complex]] = {}  # the same, never reset (substitutions of a relation)
    last_terms: dict[frozenset, dict] = {}  # unknowns (2-3) -> terms of their last equation

    def parse(side: str):
        if side.count("\\pm") == 1:  # both signs: a pair of values (numbers only)
            pair = (parse(side.replace("\\pm", "+")), parse(side.replace("\\pm", "-")))
            return pair if all(e is not None and not e.free_symbols for e in pair) else None
        leaf = atom(side)
        if leaf is not None:
            return leaf
        if "\\pm" in side or not plain(side) or budget[0] <= 0:
            return None
        budget[0] -= 1
        return parse_side(side)

    load_parser()  # the first import is slow: outside the time cap
    for i, text in enumerate(step_texts):
        for sides in _chains_after_resets(text, (last_eq, last_terms)):
            if named(sides):
                continue
            try:
                with time_cap(PIECE_SECONDS):
                    exprs = [parse(s) for s in sides]
                    found = {"chain_link": _guarded(_chain_slip, sides, exprs, known),
                             "equation_roots": _guarded(_equation_slip, sides, exprs, last_eq, known),
                             "term_change": _guarded(_term_slip, sides, exprs, last_terms)}
            except (Timeout, Exception):  # noqa: BLE001 - a check that fails or runs over is skipped
                continue
            for name, why in found.items():
                if why:
                    out[name].setdefault(i, why)
    return out


def _guarded(check, *args) -> str | None:
    """``check(*args)``, ``None`` when it fails (a :class:`Timeout` is no ``Exception``: it still stops the chain)."""
    try:
        return check(*args)
    except Exception:  # noqa: BLE001 - a check that fails finds nothing
        return None


def algebra_slips(step_texts: list[str], max_parses: int = MAX_PARSES) -> dict[int, str]:
    """Steps holding a symbolic slip of any check of :func:`symbolic_checks` (step index -> the first
    check's reason)."""
    out: dict[int, str] = {}
    for found in symbolic_checks(step_texts, max_parses).values():
        for i, why in found.items():
            out.setdefault(i, why)
    return dict(sorted(out.items()))


def _term_slip(sides: list[str], exprs: list, last_terms: dict) -> str | None:
    """An equation in 2-3 unknowns that changes one term of the last one in the same unknowns
    (:mod:`~hn_lightning.verifier.term_slips`); ``last_terms`` is updated. Sides naming segments
    (``PR``, two capitals: a product to the parser) are not read."""
    a, b = exprs[0], exprs[-1]
    if a is None or b is None or isinstance(a, tuple) or isinstance(b, tuple) or re.search(r"[A-Z]{2}", sides[0] + sides[-1]):
        return None
    got = equation_terms(a, b)
    if got is None:
        last_terms.pop(frozenset(a.free_symbols | b.free_symbols), None)  # not a polynomial: the sequence breaks
        return None
    syms, terms = got
    old = last_terms.get(syms)
    last_terms[syms] = terms
    return f"{sides[0]} = {sides[-1]} changes one term of the equation before it" if old and one_term_changed(old, terms) else None


def _chains_after_resets(text: str, sequences: tuple[dict, ...]):
    """The equality chains of each math span of ``text``, in order; the equation sequence
    (``last_eq`` and the other dicts of ``sequences``) is cleared before a span when the words since the span before announce cases,
    substitutions, checks or assumptions (``If \\(x = 1\\): \\[y - 1 - 8y = -3\\] \\[y - 8y = -3 - 1\\]``
    compares the two equations in y after the case, not with those before it)."""
    pos = 0
    for start, end in math_spans(text, latex=True):
        if _RESET.search(text[pos:start]):
            for seq in sequences:
                seq.clear()
        pos = end
        yield from span_pieces(math_body(text[start:end]))

r"""*One term changed*: an equation in two or three unknowns rewritten with one term that differs
(the ``term_change`` rule; :func:`~hn_lightning.verifier.algebra.symbolic_checks`).

The roots check of :mod:`hn_lightning.verifier.algebra` compares equations in one unknown; an
equation in two or three unknowns has no roots to compare, and consecutive ones are often a
system listed equation after equation (``x + y = 7``, ``3x + y = 45``), which must not be compared.
A *rewrite* of an equation keeps its polynomial (all terms moved to one side, denominators cleared)
up to a common factor. A copying slip changes one term and keeps the others: a sign flipped
(``4a = k^2a - 3k^2`` then ``0 = (k^2 - 4)a + 3k^2``), a term dropped (``b^2 - 4c = b^2 - 4bc +
4c^2`` then ``4c^2 - 4bc = 0``) or a constant changed (``... + 5 - 4 - 5 = 0`` after ``... + 5 = 0``).
So: two consecutive polynomial equations in the same 2-3 unknowns (total degree at most 4,
rational coefficients) are a slip when at least two of their terms agree up to one common factor
and exactly one term does not (at least three terms in all). A system's equations differ in most
of their terms (``4x^2 + 11y^2 = 29``, ``x^2 - 6y^2 = 6``), a list of values of one product
(``ab = 5``, ``ab = 7``) has only two terms, and a rewrite by a factor (``x^2 = y^2`` then
``x = y``) changes every term or none.
"""

from __future__ import annotations

from fractions import Fraction

__all__ = ["equation_terms", "one_term_changed"]

Terms = dict[tuple[int, ...], Fraction]
"""Monomial exponents -> coefficient of an equation moved to one side."""


def equation_terms(a, b) -> tuple[frozenset, Terms] | None:
    """The unknowns and the terms of ``numer(a - b)`` (SymPy expressions) when it is a polynomial
    in two or three unknowns of total degree at most 4 with rational coefficients, else ``None``."""
    import sympy

    syms = a.free_symbols | b.free_symbols
    if not 2 <= len(syms) <= 3:
        return None
    e = sympy.expand(sympy.numer(sympy.together(a - b)))
    order = sorted(syms, key=lambda s: s.name)
    p = sympy.Poly(e, *order)
    if p.is_zero or p.total_degree() > 4 or not all(c.is_Rational for c in p.coeffs()):
        return None
    return frozenset(syms), {m: Fraction(int(c.p), int(c.q)) for m, c in zip(p.monoms(), p.coeffs(), strict=True)}


def one_term_changed(old: Terms, new: Terms) -> bool:
    """``new`` is ``old`` times one factor except in exactly one term (changed, dropped or added),
    with at least two terms agreeing and three terms in all."""
    keys = set(old) | set(new)
    if len(keys) < 3:
        return False
    by_ratio: dict[Fraction, int] = {}
    for k in keys & set(old) & set(new):
        r = new[k] / old[k]
        by_ratio[r] = by_ratio.get(r, 0) + 1
    agree = max(by_ratio.values(), default=0)
    return agree >= 2 and len(keys) - agree == 1

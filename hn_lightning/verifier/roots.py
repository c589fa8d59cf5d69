r"""Roots of polynomial equations in one unknown and how two sets of them compare (used by
:mod:`~hn_lightning.verifier.algebra`'s equation sequences and :mod:`~hn_lightning.verifier.inequalities`'
boundary points). Numbers are compared with a :data:`Tolerance`: ``(absolute, relative)`` slack.
"""

from __future__ import annotations

__all__ = ["EXACT", "Tolerance", "close", "near", "polynomial_roots", "real_roots", "roots_inconsistent"]

Tolerance = tuple[float, float]
"""``(absolute, relative)`` slack of a comparison."""


EXACT: Tolerance = (0.0, 0.0)


def near(a: complex, b: complex, tol: Tolerance, rel: float = 1e-9) -> bool:
    """``|a - b|`` within the absolute slack plus the relative one (at least ``rel``) of the larger size."""
    return abs(a - b) <= tol[0] + max(tol[1], rel) * max(1.0, abs(a), abs(b))


def polynomial_roots(expr, sym) -> list[complex] | None:
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


def close(a: complex, b: complex, tol: Tolerance) -> bool:
    """Two roots agree (numerical roots: 1e-6 relative, plus the decimal slack)."""
    return near(a, b, tol, rel=1e-6)


def real_roots(roots: list[complex]) -> list[float]:
    """The real ones of ``roots`` (imaginary part below 1e-7)."""
    return [r.real for r in roots if abs(r.imag) < 1e-7]


def roots_inconsistent(new: list[complex], old: list[complex], tol: Tolerance) -> bool:
    """Roots of an equation that cannot come from the one before: with the same degree, another
    multiset of roots; otherwise real roots that all miss the old real roots."""
    if len(new) == len(old):
        rest = list(old)
        for r in new:
            k = next((k for k, o in enumerate(rest) if close(r, o, tol)), None)
            if k is None:
                return True
            rest.pop(k)
        return False
    rn, ro = real_roots(new), real_roots(old)
    return bool(rn) and bool(ro) and all(not close(a, b, tol) for a in rn for b in ro)

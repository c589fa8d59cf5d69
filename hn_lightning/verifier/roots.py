r"""Roots of polynomial equations in one unknown and how two sets of them compare (used by
:mod:`~hn_lightning.verifier.algebra`'s equation sequences). Numbers are compared with a :data:`Slack` (how a written decimal may be rounded:
``(absolute, relative)``) on top of a tolerance policy of :mod:`hn_lightning.verifier.reading`.
"""

from __future__ import annotations

from hn_lightning.verifier import reading

__all__ = ["NO_SLACK", "Slack", "close", "near", "polynomial_roots", "real_roots", "roots_inconsistent"]

Slack = tuple[float, float]
"""``(absolute, relative)`` slack of a comparison."""


NO_SLACK: Slack = (0.0, 0.0)


def near(a: complex, b: complex, tol: Slack, floor: reading.Tolerance = reading.EXACT) -> bool:
    """``|a - b|`` within the absolute slack plus the relative one (at least ``floor``'s) of the larger size
    (at least ``floor.absolute / floor.relative``)."""
    size = max(floor.absolute / floor.relative, abs(a), abs(b))
    return abs(a - b) <= tol[0] + max(tol[1], floor.relative) * size


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


def close(a: complex, b: complex, tol: Slack) -> bool:
    """Two roots agree (numerical roots: :data:`~hn_lightning.verifier.reading.NUMERIC`, plus the decimal slack)."""
    return near(a, b, tol, reading.NUMERIC)


def real_roots(roots: list[complex]) -> list[float]:
    """The real ones of ``roots`` (imaginary part within :data:`~hn_lightning.verifier.reading.NUMERIC`)."""
    return [r.real for r in roots if abs(r.imag) < reading.NUMERIC.absolute]


def roots_inconsistent(new: list[complex], old: list[complex], tol: Slack) -> bool:
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

"""placeholder"""
from fractions import Fraction

COMMON_CONSTANTS: frozenset[Fraction] = frozenset(
    [Fraction(i) for i in range(11)] + [Fraction(v) for v in (12, 24, 60, 100, 1000)]
    + [Fraction(1, 2), Fraction(1, 4)]
)

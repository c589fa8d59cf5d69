"""Finding the numbers a piece of math text states, with their positions.

Shared by the symbolic checks (which numbers does a step use?), the NLI numeric features (do two
claims state different values for the same thing?) and the synthetic NLI data (change one number).

Rules (documented once, used everywhere):

* A number is an optional sign, digits with optional thousands commas (``1,200`` but not ``1,2``),
  and an optional decimal part: ``12``, ``-3``, ``1,234.5``, ``.5``, ``0.90``.
* A ``-`` counts as a sign only at the start or after a space, ``(``, ``=`` or an operator; in
  ``20-12`` it is a minus, not part of ``-12``.
* Simple number words (``one`` .. ``twenty``, tens, ``hundred``, ``thousand``, ``dozen``, ``half``,
  ``twice``, ``double``, ``triple``) are recognised by :func:`word_numbers` only, never by
  :func:`find_numbers` (a step "uses" the digits it writes).
* Values are exact :class:`fractions.Fraction` objects, so ``0.9`` is 9/10 and comparisons carry no
  float noise; :func:`~hn_lightning.verifier.reading.same` compares them under a named tolerance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "NumberSpan",
    "find_numbers",
    "parse_number",
    "format_like",
    "word_numbers",
    "decimals_of",
]

_NUMBER_RE = re.compile(
    r"(?<![\w.])"  # not glued to a word or another number
    r"(?P<sign>-)?"
    r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)?"
    r"(?P<frac>\.\d+)?"
    r"(?!\d)"  # a unit may follow directly: "322kg"
)

_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "thousand": 1000, "million": 1_000_000, "dozen": 12, "half": Fraction(1, 2),
    "twice": 2, "double": 2, "triple": 3, "thrice": 3, "quarter": Fraction(1, 4), "third": Fraction(1, 3),
}
_WORD_RE = re.compile(r"\b(" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE)


@dataclass(frozen=True)
class NumberSpan:
    """A number found in a text: its exact value, the literal text and its character span."""

    value: Fraction
    text: str
    start: int
    end: int


def parse_number(text: str) -> Fraction | None:
    """The exact value of one numeric literal (``"1,200.50"`` -> 2401/2), or ``None``."""
    t = text.strip().replace(",", "").lstrip("$")
    if t.endswith("%"):
        inner = parse_number(t[:-1])
        return None if inner is None else inner / 100
    try:
        return Fraction(t)
    except (ValueError, ZeroDivisionError):
        return None


def find_numbers(text: str) -> list[NumberSpan]:
    """Every digit-written number in ``text``, left to right (see the module doc for the rule)."""
    out: list[NumberSpan] = []
    for m in _NUMBER_RE.finditer(text):
        if not m.group("int") and not m.group("frac"):
            continue
        start = m.start()
        literal = m.group(0)
        if m.group("sign"):
            prev = text[start - 1] if start > 0 else " "
            if prev not in " (=+-*/x×:\t\n[{$":
                start += 1
                literal = literal[1:]
        value = parse_number(literal)
        if value is None:
            continue
        out.append(NumberSpan(value=value, text=literal, start=start, end=m.end()))
    return out


def word_numbers(text: str) -> list[Fraction]:
    """Values of the simple number words in ``text`` (``"three dozen"`` -> [3, 12])."""
    return [Fraction(_WORDS[m.group(1).lower()]) for m in _WORD_RE.finditer(text)]


def decimals_of(literal: str) -> int:
    """How many decimal places a literal is written with (``"10.80"`` -> 2, ``"12"`` -> 0)."""
    literal = literal.strip().rstrip("%")
    return len(literal.split(".", 1)[1]) if "." in literal else 0


def format_like(value: Fraction, like: str) -> str:
    """Write ``value`` with the decimals and thousands commas of the literal ``like``.

    ``format_like(Fraction(36), "72")`` -> ``"36"``; ``format_like(Fraction(27, 2), "10.80")`` ->
    ``"13.50"``. Integers stay integers when ``like`` has no decimals and ``value`` is whole.
    """
    places = decimals_of(like)
    if places == 0 and value.denominator != 1:
        places = 2
    text = f"{float(value):,.{places}f}" if "," in like else f"{float(value):.{places}f}"
    return text

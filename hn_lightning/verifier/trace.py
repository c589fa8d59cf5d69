r"""Quantity traces: which values each step states, computes, and where its operands come from.

A *trace* of a solution is, per step, the numbers the step writes (:func:`step_values`) split into

* ``known``: values seen before (in the problem, a common constant, or an earlier step);
* ``new``: values this step introduces, each with a *source*: ``"computed"`` (the stated result of a
  computation written in the step, :mod:`hn_lightning.verifier.arithmetic`) or ``"stated"`` (written
  without a computation);
* the computations of the step, with their operands' sources: ``"problem"``, ``"step k"``,
  ``"constant"`` or ``"nowhere"``.

Values are exact fractions; ``\frac{a}{b}`` and ``a/b`` with numeric ``a``, ``b`` also count as the
value ``a/b``; ``p%`` also counts as ``p/100``. The reference's trace (:func:`reference_values`) is
every value its text writes (GSM8K calculator annotations ``<<a*b=c>>`` included, since they are text)
plus the gold answer; a value *matches* the reference when it is equal (:data:`~hn_lightning.verifier.reading.STATED`) to a
reference value, its ``x100``/``/100`` form, or its negation.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

from hn_lightning.verifier.arithmetic import Computation, extract_computations
from hn_lightning.verifier.numbers import find_numbers, parse_number, word_numbers
from hn_lightning.verifier.reading import COMMON_CONSTANTS, FRAC, STATED

__all__ = ["StepTrace", "ValueSet", "step_values", "trace_solution", "computable_text", "reference_values", "reference_results",
           "join_spaced_thousands"]

_PLAIN_FRAC = re.compile(r"(?<![\d.])(\d+)\s*/\s*(\d+)(?![\d.])")
"""``a/b`` written with integers: also the value ``a/b``."""
_ANNOT = re.compile(r"<<[^<>]*>>")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?")
_UNIT_TEXT = re.compile(r"\\(?:text|mathrm|mbox|textbf)\s*\{[^{}]*\}")
_DELIMS = re.compile(r"\\[()\[\]]|\\\$|\$|\\[,;!]")


_POWER = re.compile(r"(?<![\d.])(\d{1,3})\s*\^\s*(?:\{\s*(\d)\s*\}|(\d)(?![\d.]))")
"""A power written in a step (``8^2``, ``7^{3}``): its value is a part of the step, as an operand elsewhere."""
_BULLET = re.compile(r"(?m)^[ \t]*[-*\u2022][ \t]+(?=\S)")
"""A list marker at the start of a line (``- \\(2^9 = 512\\)``): not a minus sign."""
_FUNC_CALL = re.compile(r"\\(?:gcd|lcm|max|min|operatorname\s*\{\s*\w+\s*\})\s*(?:\\left)?\s*\([^()]*\)")
_UNITS = "km|kg|cm|mm|ml|mg|cc|lb|oz|ft|yd|mi|in|hr|am|pm|th|st|nd|rd|[smghlkx]"
_COEFF = re.compile(rf"(?<=\d)(?=(?!(?:{_UNITS})(?![A-Za-z]))(?:[a-z]{{1,2}}|[A-Z]{{1,3}})(?![A-Za-z]))")


def computable_text(text: str) -> str:
    """``text`` with math delimiters (``$``, ``\\(``, ``\\[``), degree signs (``^\\circ``), ``\\text{unit}`` and ``/unit`` removed,
    so the computations written inside LaTeX math are found (:func:`extract_computations` does not
    read across a backslash; a list marker ``- `` opening a line is not a minus sign). A function call (``\\gcd(41^2, 41 \\cdot 43)``, ``\\max``, ``\\operatorname{lcm}``)
    becomes a word, so its last argument is not read as the expression before its ``=``; a number
    glued to a variable (``3ab``, ``5AD^2``; not to a unit such as ``10km``) becomes a product, so
    ``49 - 6 = 3ab`` is an equation, not the computation ``49 - 6 = 3``."""
    t = _UNIT_TEXT.sub(" ", _DEGREES.sub("", text))
    t = _COEFF.sub("*", _FUNC_CALL.sub(" value ", t))
    t = _BULLET.sub("", _DELIMS.sub(" ", t))
    return re.sub(r"(?<=[A-Za-z])/[A-Za-z]+", "", t)


def _key(v: Fraction) -> float:
    return float(v)


class ValueSet:
    """A set of exact values with tolerant membership (:data:`~hn_lightning.verifier.reading.STATED`; ``x100``,
    ``/100`` and sign forms).

    Membership looks the tolerance window up in a sorted list of the values as floats (bisection),
    then applies the exact test to the few candidates: the same answers as a scan of every value."""

    def __init__(self, values=()):
        self._vals: dict[tuple[int, int], Fraction] = {}  # keyed by (numerator, denominator): cheap to hash
        self._sorted: list[float] | None = None
        self.add_all(values)

    def add(self, v: Fraction) -> None:
        key = (v.numerator, v.denominator)
        if key not in self._vals:
            self._vals[key] = v
            self._sorted = None

    def add_all(self, values) -> None:
        for v in values:
            self.add(v)

    def __len__(self) -> int:
        return len(self._vals)

    def __iter__(self):
        return iter(self._vals.values())

    def _has(self, v: Fraction) -> bool:
        try:
            fv = float(v)
            if self._sorted is None:
                self._sorted = sorted(float(x) for x in self._vals.values())
        except OverflowError:  # beyond floats: exact membership only
            return (v.numerator, v.denominator) in self._vals
        tol = max(STATED.relative * abs(fv), STATED.absolute)
        xs = self._sorted
        # a window a little wider than the tolerance, then the exact test on its members (an exact
        # member has the same float, so it passes too)
        lo = bisect.bisect_left(xs, fv - 2 * tol)
        hi = bisect.bisect_right(xs, fv + 2 * tol)
        return any(abs(xs[k] - fv) <= tol for k in range(lo, hi))

    def contains(self, v: Fraction, forms: bool = True) -> bool:
        """Is ``v`` (or, with ``forms``, ``-v``, ``100 v``, ``v / 100``) in the set?"""
        if self._has(v):
            return True
        return forms and any(self._has(f) for f in (-v, v * 100, v / 100))


def step_values(text: str) -> list[Fraction]:
    """The values a text writes, left to right (annotations included; fractions and percentages
    also as their value; see the module doc)."""
    return list(_step_values(text))


@lru_cache(maxsize=4096)
def _step_values(text: str) -> tuple[Fraction, ...]:
    """:func:`step_values`, memoized (a problem, a reference and each step are read several times)."""
    out = [n.value for n in find_numbers(text.replace("\\%", "%").replace("\\$", "$"))]
    for m in (*FRAC.finditer(text), *_PLAIN_FRAC.finditer(text)):
        na, nb = parse_number(m.group(1)), parse_number(m.group(2))
        if na is not None and nb:
            out.append(na / nb)
    for m in re.finditer(r"(\d+(?:\.\d+)?)\s*\\?%", text):
        out.append(Fraction(m.group(1)) / 100)
    return tuple(out)


@dataclass
class StepTrace:
    """The trace of one step (see the module doc)."""

    index: int
    values: list[Fraction] = field(default_factory=list)
    new: list[Fraction] = field(default_factory=list)
    computed: list[Fraction] = field(default_factory=list)
    """Stated results of the step's computations that no earlier step wrote (even when the problem
    or the common constants contain them: a computed value is checked, not assumed)."""
    computations: list[Computation] = field(default_factory=list)
    operand_sources: list[dict[str, str]] = field(default_factory=list)
    """Per computation: ``{operand: source}`` with sources ``problem``, ``step k``, ``constant``, ``nowhere``."""

    @property
    def slips(self) -> list[Computation]:
        """Computations whose stated result, a plain number, does not follow from the expression (a
        result written as an expression is often a variable-stripped equation such as ``a^2 = b^2 + c^2``)."""
        return [c for c in self.computations if c.matches() is False and parse_number(c.stated_text) is not None]


def problem_values(question: str) -> ValueSet:
    """The values a problem states (digits, fractions, percentages and number words), with the
    forms a step may use them in: ``1 - p/100``, ``1 + p/100``, ``100 - p`` for a percentage ``p``."""
    return ValueSet(_problem_values(question))


@lru_cache(maxsize=1024)
def _problem_values(question: str) -> tuple[Fraction, ...]:
    vals = [*step_values(question), *word_numbers(question)]
    pct = [Fraction(m.group(1)) for m in re.finditer(r"(\d+(?:\.\d+)?)\s*(?:\\?%|percent)", question)]
    vals += [f for p in pct for f in (1 - p / 100, 1 + p / 100, 100 - p, 100 + p)]
    return tuple(vals)


_SPACED_THOUSANDS = re.compile(r"(?<=\$)(\d{1,3})((?: \d{3})+)(?=\.\d|(?![\d,]?\d))")


def join_spaced_thousands(text: str) -> str:
    """Currency amounts grouped by spaces (``$400 000``, as some GSM8K references write them) as one
    number (``$400000``)."""
    return _SPACED_THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(" ", ""), text)


def reference_values(reference: str, gold_values: list[Fraction]) -> ValueSet:
    """Every value the reference writes, plus the gold values."""
    return ValueSet([*step_values(reference), *word_numbers(_ANNOT.sub(" ", reference)), *gold_values])


_RESULT = re.compile(r"(?:=|\\boxed\{|####)\s*\$?\s*(-?[\d,]*\.?\d+(?:\s*/\s*\d+)?|\\[dt]?frac\{[^{}]*\}\{[^{}]*\})")


def reference_results(reference: str, gold_values: list[Fraction]) -> ValueSet:
    """The values the reference *computes*: what follows an ``=`` (annotations included), a
    ``\\boxed{`` or ``####``, plus the gold values."""
    out = list(gold_values)
    for m in _RESULT.finditer(reference):
        out.extend(step_values(m.group(1).replace(",", "")))
    return ValueSet(out)


def trace_solution(step_texts: list[str], question: str) -> list[StepTrace]:
    """Trace every step of a solution against the problem and the earlier steps."""
    problem = problem_values(question)
    seen = ValueSet(problem)
    seen.add_all(COMMON_CONSTANTS)
    written = ValueSet()  # values written by earlier steps
    origin: dict[Fraction, int] = {}
    out: list[StepTrace] = []
    for i, text in enumerate(step_texts):
        tr = StepTrace(index=i)
        tr.computations = extract_computations(computable_text(text), i)
        results = ValueSet(c.stated for c in tr.computations if c.stated is not None)
        parts = ValueSet(v for c in tr.computations for v in c.subvalues)  # "3*2 + 4*5 = 6 + 20 = 26"
        parts.add_all(Fraction(int(m.group(1)) ** int(m.group(2) or m.group(3))) for m in _POWER.finditer(text))  # "3 \cdot 8^2" -> 64
        tr.values = step_values(text)
        mentioned = [v for v in tr.values]
        for c in tr.computations:
            src: dict[str, str] = {}
            for o in c.operands:
                if problem.contains(o, forms=False):
                    src[str(o)] = "problem"
                elif o in origin:
                    src[str(o)] = f"step {origin[o]}"
                elif o in COMMON_CONSTANTS or seen.contains(o):
                    src[str(o)] = "constant"
                elif (results.contains(o, forms=False) or parts.contains(o, forms=False) or parts.contains(-o, forms=False)
                      or sum(v == o for v in mentioned) >= 2):
                    # computed (in part; an operand is read without its sign: ``\frac{-11 - 5}{-12} =
                    # \frac{-16}{-12}``) or stated elsewhere in this step
                    src[str(o)] = f"step {i}"
                else:
                    src[str(o)] = "nowhere"
            tr.operand_sources.append(src)
        for v in tr.values:
            if results.contains(v, forms=False) and not written.contains(v, forms=False) and v not in tr.computed:
                tr.computed.append(v)
            if seen.contains(v, forms=False) or v in tr.new:
                continue
            tr.new.append(v)
        for v in tr.new:
            origin.setdefault(v, i)
        seen.add_all(tr.new)
        written.add_all(tr.values)
        out.append(tr)
    return out

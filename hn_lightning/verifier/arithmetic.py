r"""Finding the computations a step writes down and evaluating them exactly.

A *computation* is an arithmetic expression followed by ``=`` and a stated result. Sources:

* GSM8K calculator annotations ``<<4*3*0.9=10.8>>``;
* plain text ``4*3*0.9=10.80``, ``$3 x 4 = $12``, ``16 - 3 - 4 = 9``, ``9 pots * 18 leaves/pot = 162``,
  chains ``2*3 = 6 = 6*1``;
* LaTeX-light forms: ``\frac{a}{b}``, ``\times``, ``\cdot``, ``\div``, ``a^{2}``, ``\left( \right)``.

Normalisation before scanning (:func:`normalize_math`): LaTeX operators become Python ones,
``x``/``×`` between numbers and ``times`` become ``*``, currency ``$`` and thousands commas are
dropped, ``p%`` becomes ``(p/100)``, a unit word right after a number and before an operator or
``=`` is dropped (``9 pots * 18 leaves/pot`` -> ``9 * 18``), implicit products ``2(3)`` get a ``*``.
Around every ``=`` the longest purely arithmetic text on each side is taken; a side with words or
variables in it is cut at them, so ``2x + 3 = 7`` yields nothing (it is an equation to solve, not a
computation to check).

Evaluation (:func:`safe_eval`) walks the Python AST with exact :class:`~fractions.Fraction`
arithmetic (``+ - * / **``, unary minus; integer powers up to 64; results up to 4,096 bits): no
``eval``, no float noise, microseconds per expression. Expressions with functions or constants
(``sqrt``, ``pi``) go to SymPy in :mod:`hn_lightning.verifier.symbolic`, under a timeout.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from fractions import Fraction

from hn_lightning.verifier.numbers import decimals_of, parse_number
from hn_lightning.verifier.reading import STATED, replace_fracs

__all__ = [
    "Computation",
    "alternative_readings",
    "extract_computations",
    "normalize_math",
    "result_matches",
    "safe_eval",
    "subexpression_values",
]

_ANNOTATION = re.compile(r"<<([^<>=]+)=([^<>]*)>>")
_ARITH_CHARS = set("0123456789.+-*/() ")
_STOP = "of|and|or|is|are|was|were|to|for|per|in|at|on|by|the|an|so|then|than|if|from|with|each|every|which|that|it"
_UNIT = rf"(?!(?:{_STOP})\b)[A-Za-z]{{2,}}"
_SCALE_WORDS = re.compile(r"cents?\b|thousand|million|percent|%", re.IGNORECASE)
_MAX_BITS = 4096


@dataclass(frozen=True)
class Computation:
    """One written computation ``expr = stated`` in step ``step``.

    ``value`` is the exact value of ``expr`` (``None`` if it could not be evaluated), ``stated`` the
    value of the written result, ``stated_text`` how it was written (for rounding tolerance),
    ``operands`` the numeric literals of ``expr`` in order, ``subvalues`` the values of every
    sub-expression (``4*3*0.9`` -> 12 and 54/5), ``source`` ``"annotation"`` or ``"text"``.
    """

    step: int
    expr: str
    stated_text: str
    stated: Fraction | None
    value: Fraction | None
    operands: tuple[Fraction, ...] = field(default_factory=tuple)
    subvalues: tuple[Fraction, ...] = field(default_factory=tuple)
    source: str = "text"
    base: Fraction | None = None
    """The quantity this computation updates, if any (see :func:`base_quantity`)."""
    alt_values: tuple[Fraction, ...] = field(default_factory=tuple)
    """Values of charitable re-readings of ``expr`` (see :func:`alternative_readings`)."""
    scaled: bool = False
    """The step names a scale (cents, thousand, percent): results off by 100/1000/10^6 still match."""

    def matches(self, rel_tol: float = STATED.relative) -> bool | None:
        """Does the stated result follow from the expression? ``None`` when it cannot be told."""
        if self.value is None or self.stated is None:
            return None
        candidates = [self.value, *self.alt_values]
        if self.scaled:
            candidates += [v * k for v in (self.value,) for k in (100, Fraction(1, 100), 1000, Fraction(1, 1000), 10**6)]
        return any(result_matches(v, self.stated, self.stated_text, rel_tol) for v in candidates)

    @property
    def written(self) -> str:
        """``expr=stated`` as a compact string for flags."""
        return f"{self.expr.replace(' ', '')}={self.stated_text}"


def normalize_math(text: str) -> str:
    """Rewrite LaTeX-light and prose arithmetic into Python syntax (see the module doc)."""
    t = text
    t = t.replace("\\$", "$").replace("−", "-").replace("–", "-").replace("×", "*").replace("·", "*").replace("÷", "/")
    t = re.sub(r"\\left|\\right|\\[,!;: ]", "", t)
    t = replace_fracs(t, lambda m: f"(({m.group(1)})/({m.group(2)}))")
    t = re.sub(r"\\(?:times|cdot|ast)", "*", t)
    t = t.replace("\\div", "/")
    t = re.sub(r"\^\s*\{([^{}]*)\}", r"**(\1)", t)
    t = re.sub(r"\^\s*(\d+)", r"**\1", t)
    t = t.replace("{", "(").replace("}", ")")
    t = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", t)
    t = t.replace("$", "")
    t = re.sub(r"(?<![\d.])(\d+(?:\.\d+)?)\s*%", r"(\1/100)", t)
    t = re.sub(r"(?<![\d./])(\d+)\s+and\s+\(?(\d+)/(\d+)\)?", r"(\1+\2/\3)", t)
    t = re.sub(rf"(\d)\s+(?:{_UNIT}\s+)?{_UNIT}(?:/[A-Za-z]+)?\s*(?=[-+*/=]|[xX×]\s*[(\d])", r"\1 ", t)
    t = re.sub(r"(?<=[\d)])\s*[xX]\s*(?=[(\d])", "*", t)
    t = re.sub(r"(?<=\d)\s+times\s+(?=\d)", "*", t)
    t = re.sub(r"(?<=[\d)])\s*\(", "*(", t)
    t = re.sub(r"\)\s*(?=\d)", ")*", t)
    return t


class _Evaluator:
    def __init__(self) -> None:
        self.operands: list[Fraction] = []
        self.subvalues: list[Fraction] = []

    def run(self, node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return self.run(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            val = Fraction(repr(node.value)) if isinstance(node.value, float) else Fraction(node.value)
            self.operands.append(val)
            return val
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            val = self.run(node.operand)
            return -val if isinstance(node.op, ast.USub) else val
        if isinstance(node, ast.BinOp):
            a, b = self.run(node.left), self.run(node.right)
            if isinstance(node.op, ast.Add):
                out = a + b
            elif isinstance(node.op, ast.Sub):
                out = a - b
            elif isinstance(node.op, ast.Mult):
                out = a * b
            elif isinstance(node.op, ast.Div):
                if b == 0:
                    raise ZeroDivisionError
                out = a / b
            elif isinstance(node.op, ast.Pow):
                if b.denominator != 1 or abs(b) > 64 or (a == 0 and b < 0):
                    raise ValueError("unsupported power")
                out = a ** int(b)
            else:
                raise ValueError("unsupported operator")
            if out.numerator.bit_length() > _MAX_BITS or out.denominator.bit_length() > _MAX_BITS:
                raise OverflowError
            self.subvalues.append(out)
            return out
        raise ValueError(f"unsupported node {type(node).__name__}")


@dataclass(frozen=True)
class _Evaluation:
    value: Fraction
    operands: list[Fraction]
    subvalues: list[Fraction]
    base: Fraction | None


def base_quantity(op: ast.operator, left: Fraction, right: Fraction, value: Fraction) -> Fraction | None:
    """The quantity a top-level operation *updates* rather than creates.

    ``a - b`` and ``a + b`` update ``a`` (the left operand). ``a * f`` and ``a / f`` update ``a`` when
    the result stays within a factor of two of it (a discount, a tax, a share: ``12 * 0.9``); a
    product like ``200 * 12`` makes a new quantity and updates nothing.
    """
    if isinstance(op, (ast.Add, ast.Sub)):
        return left
    if isinstance(op, (ast.Mult, ast.Div)):
        near = [x for x in ((left,) if isinstance(op, ast.Div) else (left, right)) if x != 0 and Fraction(1, 2) <= value / x <= 2]
        return min(near, key=lambda x: abs(value - x)) if near else None
    return None


def _evaluate(expr: str) -> _Evaluation | None:
    expr = expr.strip()
    if not expr or len(expr) > 400 or not set(expr) <= _ARITH_CHARS:
        return None
    try:
        tree = ast.parse(expr, mode="eval")
        ev = _Evaluator()
        val = ev.run(tree)
        base = None
        if isinstance(tree.body, ast.BinOp):
            left, right = _Evaluator().run(tree.body.left), _Evaluator().run(tree.body.right)
            base = base_quantity(tree.body.op, left, right, val)
        return _Evaluation(val, ev.operands, ev.subvalues, base)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, RecursionError, MemoryError):
        return None


def safe_eval(expr: str) -> Fraction | None:
    """The exact value of a plain arithmetic expression in Python syntax, or ``None``."""
    out = _evaluate(expr)
    return out.value if out else None


def subexpression_values(expr: str) -> list[Fraction]:
    """Values of every operator node of ``expr`` (``"4*3*0.9"`` -> [12, 54/5])."""
    out = _evaluate(expr)
    return out.subvalues if out else []


_PERCENT = re.compile(r"^\((\d+(?:\.\d+)?)/100\)$")


def result_matches(value: Fraction, stated: Fraction, stated_text: str, rel_tol: float = STATED.relative) -> bool:
    """Is ``stated`` the value ``value`` written with the decimals of ``stated_text``?

    True if ``|value - stated| <= 0.5 * 10**-d`` (``d`` = decimals written; rounding is allowed), or
    within ``rel_tol`` relatively (large numbers written rounded). A result written as a percentage
    ``p%`` matches both ``p/100`` and ``p`` (``100 - 50 = 50%``).
    """
    pct = _PERCENT.match(stated_text.replace(" ", ""))
    if pct:
        whole = Fraction(pct.group(1))
        return any(result_matches(value, cand, pct.group(1), rel_tol) for cand in (whole, whole / 100))
    d = decimals_of(stated_text) if parse_number(stated_text) is not None else 9
    diff = abs(value - stated)
    return (diff <= Fraction(1, 2 * 10**d) + Fraction(STATED.absolute)
            or float(diff) <= rel_tol * max(abs(float(value)), abs(float(stated))))


def _glued(ch: str) -> bool:
    """A character that, directly touching an arithmetic run, means the run is part of something else
    (a variable ``2x``, a time ``6:00``, a malformed number ``16,0000``)."""
    return ch.isalnum() or ch in ",.:_\\^'"


def _trim_left(side: str) -> str:
    """The arithmetic expression that ends ``side``, or ``""`` if it is glued to non-arithmetic text
    (``X*2 - 40``: the run starts with an operator whose left operand is a variable)."""
    i = len(side)
    while i > 0 and side[i - 1] in _ARITH_CHARS:
        i -= 1
    while side[i:i + 1] == "." and side[i + 1:i + 2].isspace():  # a sentence's full stop, not a decimal point
        i += 1
    raw = side[i:]
    if i > 0 and _glued(side[i - 1]) and not raw[:1].isspace():
        return ""
    s = raw.strip()
    if not s or s[0] in "*/+)":
        return ""
    before = side[:i].rstrip()[-1:]
    if s[0] == "-" and before and (before.isalnum() or before == ")"):
        return ""
    return _balance(s)


def _trim_right(side: str) -> str:
    """The arithmetic expression that starts ``side``, or ``""`` if it is glued to a word (``5A/5``)."""
    i = 0
    while i < len(side) and side[i] in _ARITH_CHARS:
        i += 1
    raw = side[:i]
    if i < len(side) and _glued(side[i]) and raw and not raw[-1].isspace():
        unit = re.match(r"[A-Za-z]{2,}\b", side[i:])
        if not unit:  # "5A/5", "1.2Y", "00:00"; but "322kg" is a number with a unit
            return ""
    if i < len(side) and side[i].isalpha() and raw.strip()[-1:] in ("+", "-", "*", "/", "("):
        return ""  # "30 + M trees": the expression goes on with a variable
    s = re.sub(r"[-+*/(.\s]+$", "", raw.strip())
    return _balance(s)


def _balance(s: str) -> str:
    """Drop unmatched parentheses at the ends."""
    while s.startswith("(") and s.count("(") > s.count(")"):
        s = s[1:].lstrip()
    while s.endswith(")") and s.count(")") > s.count("("):
        s = s[:-1].rstrip()
    if s.count("(") != s.count(")"):
        return ""
    return s


def _has_operator(expr: str) -> bool:
    return bool(re.search(r"\d\s*\)?\s*[-+*/]", expr))


def _computation(step: int, expr: str, stated_text: str, source: str, scaled: bool = False) -> Computation | None:
    stated_text = stated_text.strip()
    stated = parse_number(stated_text)
    if stated is None:
        stated = safe_eval(stated_text)
    ev = _evaluate(expr)
    if ev is None and stated is None:
        return None
    value, operands, subvalues, base = (ev.value, ev.operands, ev.subvalues, ev.base) if ev else (None, [], [], None)
    alts: tuple[Fraction, ...] = ()
    if value is not None and stated is not None and not result_matches(value, stated, stated_text):
        alts = tuple(v for v in (safe_eval(a) for a in alternative_readings(expr)) if v is not None and v != value)
    return Computation(step=step, expr=expr.strip(), stated_text=stated_text, stated=stated, value=value,
                       operands=tuple(operands), subvalues=tuple(subvalues), source=source, base=base, alt_values=alts,
                       scaled=scaled)


def alternative_readings(expr: str) -> list[str]:
    """Charitable re-readings tried before calling a result a slip.

    * a tight fraction is one number: ``28 / 1/5`` -> ``28 / (1/5)``;
    * "multiply by 100%" means "express as a percentage": ``*(100/100)`` -> ``*100``.
    """
    out = []
    tight = re.sub(r"(?<![\d.)])(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)(?![\d.(])", r"(\1/\2)", expr)
    if tight != expr:
        out.append(tight)
    if "*(100/100)" in expr.replace(" ", ""):
        out.append(expr.replace(" ", "").replace("*(100/100)", "*100"))
    return out


def extract_computations(text: str, step: int = 0) -> list[Computation]:
    """Every computation written in one step's raw text (annotations first, then plain text).

    A plain-text computation equal to an annotation of the same step (same value and result) is
    not repeated.
    """
    out: list[Computation] = []
    scaled = bool(_SCALE_WORDS.search(text))
    annotated: set[tuple] = set()
    seen: set[tuple] = set()
    for m in _ANNOTATION.finditer(text):
        c = _computation(step, normalize_math(m.group(1)), m.group(2).replace(",", ""), "annotation", scaled)
        if c is not None and _has_operator(c.expr):
            out.append(c)
            annotated.add((tuple(sorted(c.operands)), c.stated))
    plain = normalize_math(_ANNOTATION.sub(" ", text))
    parts = re.split(r"(?<![<>!=])=(?!=)", plain)
    if len(parts) < 2:
        return out
    sides = [(_trim_left(parts[i]), _trim_right(parts[i + 1])) for i in range(len(parts) - 1)]
    for left, right in sides:
        if not left or not right:
            continue
        if not _has_operator(left):
            continue
        # the right side: a plain number, or the next link of a chain "a = b = c" (an expression)
        c = _computation(step, left, right, "text", scaled)
        if c is None or c.value is None or c.stated is None:
            continue
        key = (c.expr.replace(" ", ""), c.stated_text)
        if key in seen or (tuple(sorted(c.operands)), c.stated) in annotated:
            continue
        seen.add(key)
        out.append(c)
    return out

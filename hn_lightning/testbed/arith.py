"""Exact calculator arithmetic: numbers, ``+ - * /`` and parentheses, nothing else.

One evaluator for the generator (the reference annotations' values), the answer classification
(:mod:`~hn_lightning.testbed.grading`) and the generation-time calculator
(:mod:`hn_lightning.evaluation.calculator`), so the text a model is given by the calculator and the text
the generator writes in its references are the same for the same expression.

:func:`calc_eval` walks the Python AST with :class:`~fractions.Fraction` (no ``eval``, no float noise); any
other node (names, calls, ``**``, ``%``, comparisons) is refused, as are expressions longer than
:data:`MAX_EXPR_CHARS`, results larger than :data:`MAX_ABS` and division by zero. :func:`format_number`
writes a value the way GSM8K's annotations do: integers plainly (``120``), other values as decimals with at
most :data:`DECIMALS` places (``2.5``, ``3.3333``).
"""

from __future__ import annotations

import ast
import re
from fractions import Fraction

__all__ = ["CalcError", "DECIMALS", "MAX_ABS", "MAX_EXPR_CHARS", "calc_eval", "calc_result", "format_number",
           "parse_number"]

MAX_EXPR_CHARS = 120
"""Longer expressions are refused (a model that loops inside ``<<...`` gets no answer written for it)."""
MAX_ABS = Fraction(10) ** 15
"""Results (and intermediate values) beyond this magnitude are refused."""
DECIMALS = 4
"""Decimal places of a non-integer result."""

_ALLOWED_CHARS = re.compile(r"^[0-9.+\-*/() ]+$")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class CalcError(ValueError):
    """An expression the calculator refuses (unsafe, malformed, too large, division by zero)."""


def _value(node: ast.AST) -> Fraction:
    if isinstance(node, ast.Expression):
        return _value(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return Fraction(str(node.value)) if isinstance(node.value, float) else Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _value(node.operand)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Div):
            if right == 0:
                raise CalcError("division by zero")
            out = left / right
        else:
            out = left + right if isinstance(node.op, ast.Add) else left - right if isinstance(node.op, ast.Sub) else left * right
        if abs(out) > MAX_ABS:
            raise CalcError("result too large")
        return out
    raise CalcError(f"not allowed in a calculator expression: {type(node).__name__}")


def calc_eval(expr: str) -> Fraction:
    """The exact value of ``expr`` (numbers, ``+ - * /``, parentheses, spaces); :class:`CalcError` otherwise.

    >>> calc_eval("50*(100+20)/100")
    Fraction(60, 1)
    """
    text = expr.strip()
    if not text or len(text) > MAX_EXPR_CHARS or not _ALLOWED_CHARS.match(text) or "**" in text or "//" in text:
        raise CalcError(f"not a calculator expression: {expr[:40]!r}")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        raise CalcError(f"malformed expression: {expr[:40]!r}") from None
    return _value(tree)


def format_number(value: Fraction) -> str:
    """``value`` as the calculator writes it: ``120``, ``2.5``, ``-3``, ``3.3333`` (at most :data:`DECIMALS` places)."""
    if value.denominator == 1:
        return str(value.numerator)
    scaled = round(value * 10**DECIMALS)
    sign = "-" if scaled < 0 else ""
    whole, frac = divmod(abs(scaled), 10**DECIMALS)
    digits = f"{frac:0{DECIMALS}d}".rstrip("0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def calc_result(expr: str) -> str:
    """What the calculator writes after ``<<expr=``: :func:`format_number` of :func:`calc_eval`."""
    return format_number(calc_eval(expr))


def parse_number(text: str) -> Fraction | None:
    """The value of a plain number written in ``text`` (``1,200`` and ``$12.50`` accepted); ``None`` otherwise."""
    cleaned = text.strip().replace(",", "").replace("$", "").rstrip(".").strip()
    if not _NUMBER.fullmatch(cleaned):
        return None
    return Fraction(cleaned)

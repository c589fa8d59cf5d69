r"""Wrong solutions made from right ones, for training a step judge: errors injected into GSM8K / MATH
**train** reference solutions with the later steps recomputed, so the arithmetic stays right and only the
injected step is wrong (its first error is known exactly).

A solution is split into steps (GSM8K: its lines, calculator annotations removed; MATH: the verifier's
splitter), traced (:mod:`hn_lightning.verifier.trace`), and one computation ``expr = result`` of a step
``k`` is changed:

* ``operation``: one operator of ``expr`` flipped (``+`` <-> ``-``, ``*`` <-> ``/``, sometimes ``+`` <->
  ``*``): a wrong operation or a flipped relation;
* ``operand``: one operand replaced by another number of the problem or of an earlier step: a wrong
  operand;
* ``skip``: step ``k`` dropped; later computations that used its result use its first operand instead
  (the quantity before the skipped update): the first error is the first step that used the result.

The written expression of step ``k`` is rewritten (when it can be found in the text), its result and
every later use of a changed value replaced, and every later computation recomputed with the changed
values (:func:`inject`). A change that makes a value negative, or a fraction with a denominator above
100, is refused (real wrong solutions rarely read like that, and the judge would learn the sign).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from fractions import Fraction

from hn_lightning.verifier.arithmetic import safe_eval
from hn_lightning.verifier.reading import is_latex_style
from hn_lightning.verifier.trace import trace_solution

__all__ = ["KINDS", "Example", "gsm8k_steps", "inject", "math_steps", "number_text"]

KINDS = ("operation", "operand", "skip")
_ANNOTATION = re.compile(r"<<[^<>]*>>")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?!\d|\.\d)")
_OPERATOR = re.compile(r"(?<=[\d)\s])[-+*/](?=[\s\d(])")
_FLIP = {"+": "-", "-": "+", "*": "/", "/": "*"}
_CROSS = {"+": "*", "-": "/", "*": "+", "/": "-"}


@dataclass
class Example:
    """One solution for training: its steps and its first wrong step (``None``: all right)."""

    question: str
    steps: list[str]
    first_error: int | None
    kind: str = "clean"


def number_text(v: Fraction) -> str:
    """``v`` as a solution writes it: an integer, or a decimal with at most two places."""
    if v.denominator == 1:
        return str(v.numerator)
    return f"{round(float(v), 2):.2f}".rstrip("0").rstrip(".")


_ANSWER_FORMS = ("The answer is {}.", "The final answer is $\\boxed{{{}}}$.", "\\boxed{{{}}}")
"""How a solution states its answer (GSM8K's ``#### N`` is no model's style)."""


def gsm8k_steps(answer: str, rng: random.Random | None = None) -> list[str]:
    """A GSM8K answer's lines without calculator annotations, the ``#### N`` line as an answer statement
    (one of :data:`_ANSWER_FORMS`, drawn with ``rng``; the first without)."""
    lines = [ln for ln in answer.split("\n") if ln.strip()]
    final = lines[-1].split("####")[-1].strip() if lines and "####" in lines[-1] else None
    steps = [_ANNOTATION.sub("", ln).strip() for ln in (lines[:-1] if final is not None else lines)]
    if final is not None and steps:
        form = rng.choice(_ANSWER_FORMS) if rng else _ANSWER_FORMS[0]
        steps[-1] = f"{steps[-1]} {form.format(final)}"
    return [s for s in steps if s]


def math_steps(solution: str) -> list[str]:
    """A MATH solution split by the verifier's splitter."""
    from hn_lightning.verifier.steps import split_steps

    return [s.text for s in split_steps(solution)]


def _written_span(text: str, expr: str) -> tuple[int, int] | None:
    """Where ``expr`` (Python syntax) is written in ``text``: its numbers and operators in order, any
    spacing, ``x``/``×``/``\\times``/``\\cdot`` for ``*``, ``÷`` for ``/``, ``$`` before a number."""
    tokens = re.findall(r"\d+(?:\.\d+)?|[-+*/()]", expr)
    if not tokens:
        return None
    alts = {"*": r"(?:\*|x|X|×|\\times|\\cdot)", "/": r"(?:/|÷|\\div)"}
    pattern = r"\s*\$?\s*".join(alts.get(t, re.escape(t)) for t in tokens)
    m = re.search(pattern, text)
    return m.span() if m else None


def _changed(expr: str, kind: str, pool: list[Fraction], rng: random.Random) -> str | None:
    if kind == "operation":
        spots = [m.start() for m in _OPERATOR.finditer(expr)]
        if not spots:
            return None
        k = rng.choice(spots)
        table = _CROSS if rng.random() < 0.3 else _FLIP
        return expr[:k] + table[expr[k]] + expr[k + 1:]
    spots = list(_NUMBER.finditer(expr))
    choices = [v for v in dict.fromkeys(pool) if v > 0]
    if not spots or not choices:
        return None
    m = rng.choice(spots)
    old = Fraction(m.group())
    choices = [v for v in choices if v != old]
    return None if not choices else expr[:m.start()] + number_text(rng.choice(choices)) + expr[m.end():]


def _substitute(text: str, subst: dict[Fraction, Fraction], keep: tuple[int, int] | None = None) -> str:
    """``text`` with every written number that is a key of ``subst`` replaced (outside ``keep``)."""
    def one(m: re.Match) -> str:
        if keep and keep[0] <= m.start() < keep[1]:
            return m.group()
        v = Fraction(m.group())
        return number_text(subst[v]) if v in subst else m.group()
    return _NUMBER.sub(one, text)


def _plausible(v: Fraction | None) -> bool:
    return v is not None and v >= 0 and v.denominator <= 100


def inject(question: str, steps: list[str], kind: str, rng: random.Random) -> Example | None:
    """One error of ``kind`` (:data:`KINDS`) in ``steps`` with the later steps recomputed, or ``None`` when
    this solution offers no place for it (see the module doc)."""
    traces = trace_solution(steps, question)
    spots = [(tr.index, c) for tr in traces for c in tr.computations[:1]
             if c.matches() is True and c.stated is not None and c.operands and tr.index < len(steps) - (kind == "skip")]
    rng.shuffle(spots)
    pool = [v for tr in traces for v in tr.values]
    for k, c in spots:
        subst: dict[Fraction, Fraction] = {}
        out = list(steps[:k])
        if kind == "skip":
            replacement = c.operands[0]
            subst[c.stated] = replacement
            first = None
        else:
            new_expr = _changed(c.expr, kind, pool[:], rng)
            span = _written_span(steps[k], c.expr) if new_expr else None
            value = safe_eval(new_expr) if new_expr else None
            if span is None or not _plausible(value) or value == c.stated:
                continue
            times = " \\times " if is_latex_style(steps[k]) else " x "
            shown = new_expr.replace("*", times).replace("/", " / ")
            text = steps[k][:span[0]] + shown + steps[k][span[1]:]
            subst[c.stated] = value
            out.append(_substitute(text, subst, (span[0], span[0] + len(shown))))
            first = k
        ok = True
        for tr in traces[k + 1:]:
            text = steps[tr.index]
            for later in tr.computations:
                if not any(o in subst for o in later.operands):
                    continue
                expr = _substitute(later.expr, subst)
                value = safe_eval(expr)
                if not _plausible(value) or later.stated is None:
                    ok = False
                    break
                if value != later.stated:
                    subst[later.stated] = value
                if first is None:
                    first = len(out)
            if not ok:
                break
            out.append(_substitute(text, subst))
        if ok and first is not None and out != steps:
            return Example(question, out, first, kind)
    return None

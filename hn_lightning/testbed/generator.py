"""Build one testbed problem: a chain of steps, its question, its GSM8K-form solution and its ground truth.

A problem is drawn from a :class:`Family` with a :class:`random.Random` (so a seed gives the same problem
on every machine and Python version): a first quantity, then steps (:mod:`~hn_lightning.testbed.templates`)
until the chain has the drawn number of annotation lines. Every value is a positive integer no larger than
``Family.max_value``; every trap changes the final answer.

The record (:meth:`Problem.record`)::

    {"id", "question",
     "answer":   "Ben has <<40*3=120>>120 stickers.\\n...\\n#### 135"       GSM8K form
     "solution": "Ben has <<40*3=120>>120 stickers.\\n...\\nThe final answer is $\\\\boxed{135}$."
     "level": 3,                                   annotation lines (the number of steps)
     "truth": {"answer": "135",
               "steps": [{"line": 1, "kind": "times", "expr": "40*3", "value": "120"}, ...],
               "traps": [{"kind": "times_vs_more", "step_kind": "times", "line": 1, "expr": "40+3",
                          "value": "43", "answer": "48"}, ...],
               "skeleton": "..."}}

``truth.traps``: for every step, the plan of a reader who fell into that step's trap, who left the step out
(kind ``skip``) and who did it twice (kind ``repeat``), computed on through the rest of the chain: ``line`` is the first solution line
(1-based) where that plan differs from the reference, ``expr``/``value`` what it writes there (for a
left-out line: the next line, computed from the value it did not update; empty when the plan ends there),
``answer`` its final answer. Traps whose answer equals the gold are left out.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from hn_lightning.testbed.arith import format_number
from hn_lightning.testbed.templates import OPS, STEP_KINDS, Quantity, StepKind

__all__ = ["Family", "Problem", "Step", "generate_problem", "make_problem", "run_chain", "skeleton_bucket"]

NAMES = ("Ann", "Ben", "Cara", "Dan", "Eva", "Finn", "Gina", "Hugo", "Ivy", "Jack", "Kate", "Leo", "Mia", "Nick",
         "Olga", "Paul", "Rosa", "Sam", "Tina", "Omar", "Vera", "Will", "Zoe", "Raj", "Lena", "Tom", "Nora", "Eli")
ITEMS = ("stickers", "marbles", "apples", "cookies", "books", "stamps", "shells", "cards", "pencils", "beads",
         "coins", "buttons", "candles", "eggs", "rocks", "toys", "plums", "cupcakes", "ribbons", "balloons")
_START = ("{a} has {v} {item}.", "{a} has a collection of {v} {item}.", "At first, {a} owns {v} {item}.")
"""Opening sentences; the last one only in ``ood``."""


@dataclass(frozen=True)
class Family:
    """Which problems a split draws: chain length, phrasings, number sizes."""

    min_lines: int = 2
    """Fewest annotation lines (steps) of a problem."""
    max_lines: int = 6
    """Most annotation lines."""
    phrasings: tuple[int, ...] = (0, 1)
    """Phrasing indices drawn from (``2``: the held-out ``ood`` phrasings)."""
    start_range: tuple[int, int] = (10, 99)
    """Range of the first quantity."""
    max_value: int = 999
    """Largest value any step may take."""
    final_only_prob: float = 0.3
    """Chance that the last step is a question-only step (``together``, ``split``) when one applies."""


@dataclass
class Step:
    """One drawn step: its kind, constant, phrasing, the holders it names and the quantity it yields."""

    kind: StepKind
    constant: int
    phrase: int
    before: Quantity
    after: Quantity
    previous_holder: str | None = None
    """The holder the chain had before ``before`` (``together`` names both)."""


@dataclass
class Line:
    """One computed annotation line: its op's template, value, and the operands it was computed from."""

    step: int
    template: str
    value: Fraction
    operands: tuple[Fraction, int, Fraction, Fraction]

    @property
    def expr(self) -> str:
        """The annotation's expression, numbers written as the calculator writes them."""
        v, c, s, u = self.operands
        return self.template.format(v=format_number(v), c=c, s=format_number(s), u=format_number(u))


REPEAT = ("<repeat>",)
"""An override that does a step twice (the second time on the first time's result)."""


def run_chain(start: Fraction, steps: list[Step], override: dict[int, tuple[str, ...]] | None = None) -> tuple[list[Line], Fraction]:
    """The annotation lines and final value of the chain from ``start``; ``override`` replaces the ops of
    some steps (a trapped plan; an empty tuple skips the step, :data:`REPEAT` does it twice)."""
    lines: list[Line] = []
    value, before_previous = start, start
    for i, step in enumerate(steps):
        ops = (override or {}).get(i, step.kind.ops)
        passes = 2 if ops == REPEAT else 1
        for _ in range(passes):
            s = out = value
            for op in step.kind.ops if ops == REPEAT else ops:
                template, compute = OPS[op]
                out = compute(value, step.constant, s, before_previous)
                lines.append(Line(i, template, out, (value, step.constant, s, before_previous)))
                s = out
            before_previous, value = value, out
    return lines, value


@dataclass
class Problem:
    """A generated problem (see the module docstring for its record)."""

    start: int
    steps: list[Step]
    question: str
    lines: list[Line]
    answer: Fraction
    traps: list[dict] = field(default_factory=list)

    @property
    def skeleton(self) -> str:
        """What makes two problems the same exercise: the numbers and the step kinds (not names or nouns)."""
        return _skeleton(self.start, self.steps)

    def solution_lines(self) -> list[str]:
        out, nth = [], 0
        for j, line in enumerate(self.lines):
            nth = nth + 1 if j and self.lines[j - 1].step == line.step else 0
            step = self.steps[line.step]
            r = format_number(line.value)
            out.append(_fill(step.kind.phrases[step.phrase].line[nth], step, calc=f"<<{line.expr}={r}>>{r}"))
        return out

    def record(self, pid: str) -> dict:
        body = "\n".join(self.solution_lines())
        gold = format_number(self.answer)
        return {
            "id": pid,
            "question": self.question,
            "answer": f"{body}\n#### {gold}",
            "solution": f"{body}\nThe final answer is $\\boxed{{{gold}}}$.",
            "level": len(self.lines),
            "truth": {
                "answer": gold,
                "steps": [{"line": j + 1, "kind": self.steps[ln.step].kind.name, "expr": ln.expr, "value": format_number(ln.value)}
                          for j, ln in enumerate(self.lines)],
                "traps": self.traps,
                "skeleton": self.skeleton,
            },
        }


def _skeleton(start: int, steps: list[Step]) -> str:
    return f"{start}|" + "|".join(f"{s.kind.name}:{s.constant}" for s in steps)


def _fill(template: str, step: Step, **extra: str) -> str:
    q, after = step.before, step.after
    return template.format(a=q.holder, b=after.holder, noun=q.noun, item=q.item, verb=q.verb, verb_base=q.verb_base,
                           c=step.constant, p=step.previous_holder or "", **extra)


def _result_quantity(kind: StepKind, q: Quantity, new_holder: str) -> Quantity:
    holder = new_holder if kind.new_holder else q.holder
    if kind.result == "money":
        return Quantity(holder, "dollars", "money", "earns", "earn", q.item)
    if kind.result == "boxes":
        return Quantity(holder, "boxes", "items", "fills", "fill", q.item)
    if kind.result == "rate":
        return Quantity(holder, f"{q.item} per day", "rate", "collects", "collect", q.item)
    if kind.result == "items":
        return Quantity(holder, q.item, "items", "collects", "collect", q.item)
    if kind.name == "give_away":
        return Quantity(holder, q.noun, q.kind, "has", "have", q.item)
    return Quantity(holder, q.noun, q.kind, q.verb, q.verb_base, q.item)


def _applies(kind: StepKind, q: Quantity, last: bool, room: int, previous: Step | None) -> bool:
    if q.kind not in kind.applies_to or len(kind.ops) > room:
        return False
    if kind.final_only and not last:
        return False
    if kind.name == "together" and (previous is None or not previous.kind.new_holder):
        return False
    if kind.name in ("per_day", "pack") and q.noun != q.item:
        return False
    return True


def _values(ops: tuple[str, ...], v: Fraction, c: int, u: Fraction) -> list[Fraction]:
    """The values of a step's lines (see :func:`run_chain`)."""
    out, s = [], v
    for op in ops:
        s = OPS[op][1](v, c, s, u)
        out.append(s)
    return out


def _valid(kind: StepKind, value: Fraction, constant: int, other: Fraction, fam: Family) -> bool:
    """Every line a positive integer within range, and the trapped step different from the right one."""
    lines = _values(kind.ops, value, constant, other)
    if any(x.denominator != 1 or not 1 <= x <= fam.max_value for x in lines):
        return False
    trapped = _values(kind.trap_ops, value, constant, other)
    return (trapped[-1] if trapped else value) != lines[-1]


def _draw_chain(rng: random.Random, fam: Family) -> tuple[int, list[Step]] | None:
    names = rng.sample(NAMES, 10)
    item = rng.choice(ITEMS)
    start = rng.randint(*fam.start_range)
    target = rng.randint(fam.min_lines, fam.max_lines)
    q = Quantity(names.pop(), item, "items", "has", "have", item)
    value = other = Fraction(start)
    steps: list[Step] = []
    used, previous_holder = 0, None
    while used < target:
        room = target - used
        final_ok = rng.random() < fam.final_only_prob
        options = [k for k in STEP_KINDS.values()
                   if _applies(k, q, last=(room == len(k.ops)) and final_ok, room=room, previous=steps[-1] if steps else None)]
        rng.shuffle(options)
        for kind in options:
            constant = next((c for c in rng.sample(kind.constants, len(kind.constants)) if _valid(kind, value, c, other, fam)), None)
            if constant is not None:
                break
        else:
            return None
        step = Step(kind, constant, rng.choice(fam.phrasings), q, q, previous_holder)
        step.after = _result_quantity(kind, q, names[-1])
        if kind.new_holder:
            names.pop()
        previous_holder = q.holder
        other, value = value, _values(kind.ops, value, constant, other)[-1]
        steps.append(step)
        used += len(kind.ops)
        q = step.after
        if kind.final_only:
            break
    return (start, steps) if used == target else None


def _traps(start: int, steps: list[Step], lines: list[Line], answer: Fraction) -> list[dict]:
    out = []
    seen = set()
    for i, step in enumerate(steps):
        plans = [(step.kind.trap, step.kind.trap_ops), ("repeat", REPEAT)]
        if step.kind.trap != "skip" and len(steps) > 1:
            plans.append(("skip", ()))
        for trap_kind, ops in plans:
            trapped, final = run_chain(Fraction(start), steps, {i: ops})
            if final == answer or (trap_kind, i) in seen:
                continue
            seen.add((trap_kind, i))
            j = next(j for j in range(len(lines) + 1)
                     if j >= len(lines) or j >= len(trapped) or (trapped[j].expr, trapped[j].value) != (lines[j].expr, lines[j].value))
            wrote = trapped[j] if j < len(trapped) else None
            out.append({"kind": trap_kind, "step_kind": step.kind.name, "line": j + 1,
                        "expr": wrote.expr if wrote else "", "value": format_number(wrote.value) if wrote else "",
                        "answer": format_number(final)})
    return out


def _question(rng: random.Random, start: int, steps: list[Step], fam: Family) -> str:
    first = steps[0].before
    openings = _START if 2 in fam.phrasings else _START[:2]
    sentences = [rng.choice(openings).format(a=first.holder, v=start, item=first.item)]
    sentences += [_fill(s.kind.phrases[s.phrase].sentence, s) for s in steps if s.kind.phrases[s.phrase].sentence]
    last = steps[-1]
    asked = last.before if last.kind.final_only else last.after
    sentences.append(last.kind.ask.format(a=asked.holder, noun=asked.noun, item=asked.item, verb_base=asked.verb_base,
                                          p=last.previous_holder or ""))
    return " ".join(sentences)


def _complete(rng: random.Random, start: int, steps: list[Step], fam: Family) -> Problem | None:
    """The problem of a drawn chain, or ``None`` when no phrasing trap (other than a skipped or repeated step)
    changes its answer."""
    lines, answer = run_chain(Fraction(start), steps)
    traps = _traps(start, steps, lines, answer)
    if not any(t["kind"] not in ("skip", "repeat") for t in traps):
        return None
    return Problem(start, steps, _question(rng, start, steps, fam), lines, answer, traps)


def generate_problem(rng: random.Random, fam: Family, keep: Callable[[str], bool] | None = None,
                     max_tries: int = 200) -> Problem | None:
    """One problem of ``fam`` (redrawn until the chain fits the family and at least one phrasing trap changes
    the answer); ``None`` as soon as ``keep`` rejects a drawn chain's skeleton (a split's bucket rule)."""
    for _ in range(max_tries):
        drawn = _draw_chain(rng, fam)
        if drawn is None:
            continue
        if keep is not None and not keep(_skeleton(*drawn)):
            return None
        problem = _complete(rng, *drawn, fam)
        if problem is not None:
            return problem
    raise RuntimeError(f"no problem of {fam} after {max_tries} draws")


def make_problem(start: int, plan: list[tuple[str, int]], item: str = "stickers", names: tuple[str, ...] = NAMES,
                 phrase: int = 0) -> Problem:
    """The problem of a given chain (``[("times", 3), ("pct_more", 25)]``): for examples and tests. Raises
    :class:`ValueError` for a chain the generator would not draw (a kind that cannot follow, a trap-free chain)."""
    fam = Family(min_lines=1, max_lines=99, phrasings=(phrase,), max_value=10**9)
    q = Quantity(names[0], item, "items", "has", "have", item)
    steps: list[Step] = []
    holders = iter(names[1:])
    for i, (name, constant) in enumerate(plan):
        kind = STEP_KINDS[name]
        if not _applies(kind, q, last=i == len(plan) - 1, room=len(kind.ops), previous=steps[-1] if steps else None):
            raise ValueError(f"step {i + 1} ({name}) cannot follow a quantity of {q.noun}")
        step = Step(kind, constant, phrase, q, q, steps[-1].before.holder if steps else None)
        step.after = _result_quantity(kind, q, next(holders) if kind.new_holder else q.holder)
        steps.append(step)
        q = step.after
    problem = _complete(random.Random(0), start, steps, fam)
    if problem is None:
        raise ValueError(f"no trap changes the answer of {plan}")
    return problem


def skeleton_bucket(skeleton: str, buckets: int) -> int:
    """A stable bucket of a skeleton (splits are disjoint by bucket)."""
    return int.from_bytes(hashlib.blake2b(skeleton.encode(), digest_size=8).digest(), "big") % buckets

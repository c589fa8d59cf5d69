"""The step kinds of a testbed problem: how a quantity is derived, how it is phrased, and its trap.

A problem is a chain: a first quantity (``Ann has 40 stickers.``) and steps, each deriving the next
quantity from the current one and a constant. Every step kind has

* an **operation** (``ops``: one or two annotation lines, e.g. ``V*c``; ``V*p/100`` then ``V-S``),
* **phrasings** of its sentence in the question; phrasing ``0`` and ``1`` are used in ``train`` and ``test``,
  phrasing ``2`` only in ``ood`` (templates never trained on),
* a **trap**: the operation a reader who confuses this phrasing with its neighbour would apply (``3 times as
  many`` read as ``3 more``; ``20% more`` read as ``20% of``; ``per day`` multiplied instead of divided; what
  was given away instead of what is left; the final addition skipped), with the trap's kind.

Trap kinds (:data:`TRAP_KINDS`): ``percent`` (percent of / percent more or less), ``times_vs_more``,
``more_vs_fewer``, ``rate`` (rate x time vs rate / time), ``per_item`` (per item vs total), ``left_spent``
(what is left vs what was given away), ``skip`` (one step skipped); and, for every step, ``repeat`` (one step
done twice: a chain losing its place, the mirror of a skipped step).

Quantities have a kind (``items``, ``money``, ``rate``) that decides which steps may follow (a rate can be
kept up for some days, money can be split, items can be sold or packed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["OPS", "Phrase", "Quantity", "STEP_KINDS", "StepKind", "TRAP_KINDS"]

TRAP_KINDS = ("percent", "times_vs_more", "more_vs_fewer", "rate", "per_item", "left_spent", "skip", "repeat")

OPS: dict[str, tuple[str, Callable[[Fraction, int, Fraction, Fraction], Fraction]]] = {
    "mul": ("{v}*{c}", lambda v, c, s, u: v * c),
    "div": ("{v}/{c}", lambda v, c, s, u: v / c),
    "add": ("{v}+{c}", lambda v, c, s, u: v + c),
    "sub": ("{v}-{c}", lambda v, c, s, u: v - c),
    "pct": ("{v}*{c}/100", lambda v, c, s, u: v * c / 100),
    "pct_up": ("{v}*(100+{c})/100", lambda v, c, s, u: v * (100 + c) / 100),
    "pct_down": ("{v}*(100-{c})/100", lambda v, c, s, u: v * (100 - c) / 100),
    "minus_prev_line": ("{v}-{s}", lambda v, c, s, u: v - s),
    "sum_with_input": ("{u}+{v}", lambda v, c, s, u: u + v),
}
"""Annotation expressions and their values: ``{v}`` the current value, ``{c}`` the step's constant, ``{s}``
the value of the step's previous line, ``{u}`` the value the previous step started from (the other
holder's). The generator writes the template with the values formatted as the calculator writes them;
the tests check that the calculator evaluates every written expression to the value computed here."""


@dataclass(frozen=True)
class Quantity:
    """What the current value counts, and how sentences talk about it."""

    holder: str
    """Who has it (``Ann``)."""
    noun: str
    """``stickers``, ``dollars``, ``stickers per day``, ``boxes``."""
    kind: str
    """``items``, ``money`` or ``rate``."""
    verb: str
    """Third person: ``has``, ``earns``, ``collects``."""
    verb_base: str
    """For questions: ``have``, ``earn``, ``collect``."""
    item: str
    """The item noun the story is about (``stickers``), kept through unit changes."""


@dataclass(frozen=True)
class Phrase:
    """A question sentence and the solution line(s), as format strings over the quantities and constants.

    Fields: ``{a}`` the current holder, ``{b}`` a new holder, ``{noun}``, ``{item}``, ``{verb}``, ``{c}``.
    ``line`` holds one solution line per annotation line; ``{calc}`` marks where ``<<expr=r>>r`` goes.
    """

    sentence: str
    line: tuple[str, ...]


@dataclass(frozen=True)
class StepKind:
    """One kind of step (see the module docstring)."""

    name: str
    applies_to: tuple[str, ...]
    """Quantity kinds it may follow."""
    ops: tuple[str, ...]
    """One op per annotation line (keys of :data:`OPS`)."""
    trap_ops: tuple[str, ...]
    """The trapped plan's lines for this step (may be fewer: a skipped line)."""
    trap: str
    """The trap's kind (:data:`TRAP_KINDS`)."""
    constants: tuple[int, ...]
    """Constants it draws from."""
    phrases: tuple[Phrase, ...]
    """Phrasings ``0``, ``1`` (train/test) and ``2`` (ood only)."""
    new_holder: bool = False
    """The result belongs to a new person (comparisons)."""
    result: str = "same"
    """What the result counts: ``same`` quantity kind, ``money``, ``rate``, ``items``, ``boxes``, ``share``."""
    final_only: bool = False
    """Only as the last step (it is the question: ``together``)."""
    ask: str = "How many {noun} does {a} {verb_base}?"
    """The question when this step is the last one."""


_PCT = (10, 20, 25, 30, 40, 50, 60, 75)
_CMP = ("items", "money", "rate")

STEP_KINDS: dict[str, StepKind] = {k.name: k for k in (
    StepKind("times", _CMP, ("mul",), ("add",), "times_vs_more", (2, 3, 4, 5, 6), (
        Phrase("{b} {verb} {c} times as many {noun} as {a}.", ("{b} {verb} {calc} {noun}.",)),
        Phrase("{b} {verb} {c} times the number of {noun} that {a} {verb}.", ("{b} {verb} {calc} {noun}.",)),
        Phrase("The number of {noun} {b} {verb} is {c} times {a}'s.", ("{b} {verb} {calc} {noun}.",)),
    ), new_holder=True),
    StepKind("more", _CMP, ("add",), ("mul",), "times_vs_more", tuple(range(2, 41)), (
        Phrase("{b} {verb} {c} more {noun} than {a}.", ("{b} {verb} {calc} {noun}.",)),
        Phrase("{b} {verb} {c} {noun} more than {a} does.", ("{b} {verb} {calc} {noun}.",)),
        Phrase("Compared with {a}, {b} {verb} {c} extra {noun}.", ("{b} {verb} {calc} {noun}.",)),
    ), new_holder=True),
    StepKind("fewer", _CMP, ("sub",), ("add",), "more_vs_fewer", tuple(range(2, 41)), (
        Phrase("{b} {verb} {c} fewer {noun} than {a}.", ("{b} {verb} {calc} {noun}.",)),
        Phrase("{b} {verb} {c} {noun} less than {a} does.", ("{b} {verb} {calc} {noun}.",)),
        Phrase("Compared with {a}, {b} {verb} {c} {noun} short.", ("{b} {verb} {calc} {noun}.",)),
    ), new_holder=True),
    StepKind("pct_of", _CMP, ("pct",), ("pct_up",), "percent", _PCT, (
        Phrase("{b} {verb} {c}% as many {noun} as {a}.", ("{b} {verb} {calc} {noun}.",)),
        Phrase("{b} {verb} {c}% of the number of {noun} {a} {verb}.", ("{b} {verb} {calc} {noun}.",)),
        Phrase("What {b} {verb} is {c} percent of what {a} {verb}.", ("{b} {verb} {calc} {noun}.",)),
    ), new_holder=True),
    StepKind("pct_more", _CMP, ("pct_up",), ("pct",), "percent", _PCT, (
        Phrase("{b} {verb} {c}% more {noun} than {a}.", ("{b} {verb} {calc} {noun}.",)),
        Phrase("{b} {verb} {c}% more {noun} than {a} does.", ("{b} {verb} {calc} {noun}.",)),
        Phrase("{b} {verb} {c} percent more than {a}.", ("{b} {verb} {calc} {noun}.",)),
    ), new_holder=True),
    StepKind("pct_less", _CMP, ("pct_down",), ("pct",), "percent", _PCT, (
        Phrase("{b} {verb} {c}% fewer {noun} than {a}.", ("{b} {verb} {calc} {noun}.",)),
        Phrase("{b} {verb} {c}% less {noun} than {a} does.", ("{b} {verb} {calc} {noun}.",)),
        Phrase("{b} {verb} {c} percent less than {a}.", ("{b} {verb} {calc} {noun}.",)),
    ), new_holder=True),
    StepKind("give_away", ("items", "money"), ("pct", "minus_prev_line"), ("pct",), "left_spent", _PCT, (
        Phrase("{a} gives away {c}% of the {noun}.", ("{a} gives away {calc} {noun}.", "{a} has {calc} {noun} left.")),
        Phrase("{a} gives {c}% of the {noun} to a friend.", ("{a} gives away {calc} {noun}.", "{a} has {calc} {noun} left.")),
        Phrase("Then {c} percent of the {noun} are given away by {a}.", ("{a} gives away {calc} {noun}.", "{a} has {calc} {noun} left.")),
    ), ask="How many {noun} does {a} have left?"),
    StepKind("sell", ("items",), ("mul",), ("div",), "per_item", (2, 3, 4, 5, 6, 7, 8, 9), (
        Phrase("{a} sells the {noun} for {c} dollars each.", ("{a} earns {calc} dollars.",)),
        Phrase("Each of the {noun} sells for {c} dollars, and {a} sells them all.", ("{a} earns {calc} dollars.",)),
        Phrase("{a} sells all of them at a price of {c} dollars apiece.", ("{a} earns {calc} dollars.",)),
    ), result="money", ask="How many dollars does {a} earn?"),
    StepKind("pack", ("items",), ("div",), ("mul",), "per_item", (2, 3, 4, 5, 6, 8, 10, 12), (
        Phrase("{a} packs the {noun} into boxes of {c} each.", ("{a} fills {calc} boxes.",)),
        Phrase("{a} puts {c} {noun} in each box until none are left.", ("{a} fills {calc} boxes.",)),
        Phrase("{a} boxes them up with exactly {c} to a box.", ("{a} fills {calc} boxes.",)),
    ), result="boxes", ask="How many boxes does {a} fill?"),
    StepKind("split", ("money",), ("div",), ("mul",), "per_item", (2, 3, 4, 5, 6), (
        Phrase("{a} splits the money equally among {c} friends.", ("Each friend gets {calc} dollars.",)),
        Phrase("{a} shares the dollars equally between {c} friends.", ("Each friend gets {calc} dollars.",)),
        Phrase("The money is divided evenly by {a} among {c} friends.", ("Each friend gets {calc} dollars.",)),
    ), result="share", final_only=True, ask="How many dollars does each friend get?"),
    StepKind("per_day", ("items",), ("div",), ("mul",), "rate", (2, 3, 4, 5, 6, 7), (
        Phrase("{a} collected them over {c} days, the same number each day.", ("{a} collects {calc} {item} per day.",)),
        Phrase("It took {a} {c} days to collect them, with the same number every day.", ("{a} collects {calc} {item} per day.",)),
        Phrase("{a} gathered them at a steady pace over {c} days.", ("{a} collects {calc} {item} per day.",)),
    ), result="rate", ask="How many {item} does {a} collect per day?"),
    StepKind("keep_up", ("rate",), ("mul",), ("div",), "rate", (2, 3, 4, 5, 6, 7), (
        Phrase("{a} then collects at this rate for {c} days.", ("{a} collects {calc} {item}.",)),
        Phrase("At the same pace, {a} keeps collecting for {c} days.", ("{a} collects {calc} {item}.",)),
        Phrase("{a} goes on at that daily rate for a stretch of {c} days.", ("{a} collects {calc} {item}.",)),
    ), result="items", ask="How many {item} does {a} collect in those days?"),
    StepKind("together", _CMP, ("sum_with_input",), (), "skip", (0,), (
        Phrase("", ("Together they {verb_base} {calc} {noun}.",)),
        Phrase("", ("Together they {verb_base} {calc} {noun}.",)),
        Phrase("", ("Together they {verb_base} {calc} {noun}.",)),
    ), final_only=True, ask="How many {noun} do {p} and {a} {verb_base} together?"),
)}

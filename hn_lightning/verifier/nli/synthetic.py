r"""Synthetic math NLI pairs, built from GSM8K and MATH **train** solutions only.

SNLI teaches the head about everyday sentences; these pairs teach it what a contradiction between
math steps looks like, and (as important) what it does not look like. Every pair is made from one
train problem, with a seeded RNG, so the set is reproducible. Test files are refused
(:func:`hn_lightning.catalog.refuse_test_files`).

Pair kinds (premise -> hypothesis : label):

* ``step_claim``: a step with a computation -> its claim with the computation removed
  ("Natalia sold 48/2 = 24 clips in May." -> "Natalia sold 24 clips in May.") : entailment
* ``claim_reword``: a claim -> the same claim after "So, " / "Therefore, " / "This means " : entailment
* ``step_claim_changed``: a step -> its claim with the result changed ("... 36 clips ...") : contradiction
* ``claim_changed``: a claim -> the same claim with the result changed : contradiction
* ``condition_step``: a problem condition -> a solution step that uses one of its numbers : neutral
* ``condition_step_changed``: a condition -> that step with the condition's number replaced : contradiction
* ``condition_changed``: a condition -> the condition with one number changed : contradiction
* ``question_condition``: the whole problem -> one of its conditions : entailment
* ``condition_any_step``: a condition -> any step of the same solution : neutral (a later state of
  the same quantity, "He started with 180 seashells" -> "He had 140 seashells left", is not a
  contradiction)
* ``successive``: step k -> step k+1 of the reference solution : neutral (new numbers derived from
  old ones are *not* contradictions; this kind keeps the head from flagging every correct chain)
* ``other_problem``: a step -> a step of another problem : neutral
* ``answer_same`` / ``answer_changed``: "The answer is A." -> "The final answer is A." / "... is B." :
  entailment / contradiction; the last step -> "The answer is B." : contradiction

A number is changed by one of: +/- a small offset scaled to its size, doubling, halving (even
integers), or swapping two of its digits, always to a different value, written like the original
(:func:`hn_lightning.verifier.numbers.format_like`).

The held-out split is by problem: ``sha256(question) mod 100 < heldout_percent`` goes to held-out.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from hn_lightning.catalog import refuse_test_files
from hn_lightning.verifier.numbers import NumberSpan, find_numbers, format_like
from hn_lightning.verifier.steps import split_conditions, split_steps

__all__ = ["NLIPair", "STATE_CHANGE_KINDS", "perturb_number", "claim_of", "replace_span", "pairs_for_problem", "build_synthetic"]

STATE_CHANGE_KINDS = frozenset({"condition_any_step"})
"""Neutral kinds added after the first head: kept whole (not balanced) by the trainer.

(A second kind, a step against a *later* step of the same solution, was tried too: it made the
head miss restatements with a changed number, "13 eggs left" -> "So she has 15 eggs left", and
raised false flags on successive steps, so it was dropped.)"""

_EXPR_EQ = re.compile(
    r"(?:\(?\$?\d[\d,]*(?:\.\d+)?%?\)?\s*(?:[-+*/×÷]|x(?=\s*\$?\d))\s*)+\(?\$?\d[\d,]*(?:\.\d+)?%?\)?\s*=\s*"
)
_REWORD = ("So, ", "Therefore, ", "This means ", "Thus, ", "We get that ")
_LEAD = re.compile(r"^(?:so|then|therefore|thus|hence|and)\b,?\s*", re.IGNORECASE)


def _prose(sentence: str) -> bool:
    """Mostly words (drops Asymptote code and bare formulas)."""
    letters = sum(ch.isalpha() for ch in sentence)
    return letters >= 0.3 * len(sentence) and "draw(" not in sentence and "[asy]" not in sentence
_ANSWER_FORMS = ("The answer is {}.", "The final answer is {}.", "So the answer is {}.", "The result is {}.")


@dataclass(frozen=True)
class NLIPair:
    """One labelled pair; ``kind`` names the generator rule, ``source`` the problem it came from."""

    premise: str
    hypothesis: str
    label: str
    kind: str
    source: str


def perturb_number(value: Fraction, literal: str, rng: random.Random) -> str:
    """A different number written like ``literal`` (see the module doc for the rule)."""
    options: list[Fraction] = []
    mag = max(abs(value), Fraction(1))
    step = Fraction(max(1, int(mag) // 10)) if mag >= 20 else Fraction(1)
    for k in (1, 2, 3, 5):
        options.append(value + k * step)
        if value - k * step > 0:
            options.append(value - k * step)
    options.append(value * 2)
    if value.denominator == 1 and value % 2 == 0 and value != 0:
        options.append(value / 2)
    digits = literal.replace(",", "").lstrip("-$")
    if len(set(d for d in digits if d.isdigit())) > 1 and "." not in digits:
        i = rng.randrange(len(digits) - 1)
        swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]
        if swapped[0] != "0":
            options.append(Fraction(swapped))
    options = [o for o in options if o != value]
    new = rng.choice(options)
    text = format_like(new, literal.lstrip("-$"))
    return ("-" if new < 0 and not text.startswith("-") else "") + text


def replace_span(text: str, span: NumberSpan, new: str) -> str:
    """``text`` with the number ``span`` replaced by ``new``."""
    return text[: span.start] + new + text[span.end:]


def claim_of(step: str) -> str | None:
    """The step with its ``a op b = `` computation removed, or ``None`` when it has none."""
    if not _EXPR_EQ.search(step):
        return None
    claim = _EXPR_EQ.sub("", step)
    claim = re.sub(r"\s+", " ", claim).strip()
    return claim if find_numbers(claim) else None


def _change_last(text: str, rng: random.Random) -> str | None:
    nums = find_numbers(text)
    if not nums:
        return None
    span = nums[-1]
    return replace_span(text, span, perturb_number(span.value, span.text, rng))


def _change_random(text: str, rng: random.Random) -> str | None:
    nums = find_numbers(text)
    if not nums:
        return None
    span = rng.choice(nums)
    return replace_span(text, span, perturb_number(span.value, span.text, rng))


def pairs_for_problem(question: str, solution: str, answer: str | None, source: str, rng: random.Random,
                      other_steps: list[str]) -> list[NLIPair]:
    """All pair kinds of the module doc for one problem (at most one of each kind per step)."""
    out: list[NLIPair] = []
    steps = [s.clean for s in split_steps(solution) if not s.clean.startswith("The answer is") and _prose(s.clean)]
    conditions = [c for c in split_conditions(question) if _prose(c)]

    def add(p: str | None, h: str | None, label: str, kind: str) -> None:
        if p and h and p != h:
            out.append(NLIPair(p, h, label, kind, source))

    claims = [(s, claim_of(s)) for s in steps if "\\" not in s]
    with_claim = [(s, c) for s, c in claims if c]
    if with_claim:
        s, c = rng.choice(with_claim)
        add(s, c, "entailment", "step_claim")
        bare = _LEAD.sub("", c)
        add(c, rng.choice(_REWORD) + bare[:1].lower() + bare[1:], "entailment", "claim_reword")
        add(s, _change_last(c, rng), "contradiction", "step_claim_changed")
        s2, c2 = rng.choice(with_claim)
        add(c2, _change_last(c2, rng), "contradiction", "claim_changed")
    for cond in rng.sample(conditions, min(2, len(conditions))):
        cond_vals = {n.value for n in find_numbers(cond)}
        users = [s for s in steps if any(n.value in cond_vals for n in find_numbers(s))]
        if users:
            step = rng.choice(users)
            add(cond, step, "neutral", "condition_step")
            spans = [n for n in find_numbers(step) if n.value in cond_vals]
            span = rng.choice(spans)
            add(cond, replace_span(step, span, perturb_number(span.value, span.text, rng)), "contradiction", "condition_step_changed")
        add(cond, _change_random(cond, rng), "contradiction", "condition_changed")
    if conditions:
        add(question, rng.choice(conditions), "entailment", "question_condition")
    if len(steps) >= 2:
        k = rng.randrange(len(steps) - 1)
        add(steps[k], steps[k + 1], "neutral", "successive")
    # "state change" kinds draw from their own per-problem RNG, so adding them left every other
    # pair (and the embedding cache of earlier trainings) unchanged
    extra = random.Random(f"{source}:state-change")
    if conditions and steps:
        add(extra.choice(conditions), extra.choice(steps), "neutral", "condition_any_step")
    if steps and other_steps:
        add(rng.choice(steps), rng.choice(other_steps), "neutral", "other_problem")
    if answer:
        ans_nums = find_numbers(answer)
        if ans_nums:
            wrong = replace_span(answer, ans_nums[-1], perturb_number(ans_nums[-1].value, ans_nums[-1].text, rng))
            form_a, form_b = rng.sample(_ANSWER_FORMS, 2)
            add(form_a.format(answer), form_b.format(answer), "entailment", "answer_same")
            add(form_a.format(answer), form_b.format(wrong), "contradiction", "answer_changed")
            if steps:
                add(steps[-1], form_b.format(wrong), "contradiction", "answer_changed")
    return out


def _heldout(question: str, percent: int) -> bool:
    return int(hashlib.sha256(question.encode("utf-8")).hexdigest(), 16) % 100 < percent


def build_synthetic(gsm8k_train: str | Path, math_train: str | Path | None, seed: int = 0,
                    heldout_percent: int = 10, max_math_problems: int = 3000) -> tuple[list[NLIPair], list[NLIPair]]:
    """``(train_pairs, heldout_pairs)`` from the GSM8K and MATH train files, split by problem."""
    paths = [Path(gsm8k_train)] + ([Path(math_train)] if math_train else [])
    refuse_test_files(paths, allow=False, what="synthetic NLI training")
    rng = random.Random(seed)
    problems: list[tuple[str, str, str | None, str]] = []
    with open(gsm8k_train, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            rec = json.loads(line)
            answer = rec["answer"].split("####")[-1].strip()
            problems.append((rec["question"], rec["answer"], answer, f"gsm8k/train:{i + 1}"))
    if math_train:
        with open(math_train, encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh]
        picked = random.Random(seed + 1).sample(range(len(rows)), min(max_math_problems, len(rows)))
        for i in sorted(picked):
            rec = rows[i]
            ans = rec.get("answer")
            problems.append((rec["problem"], rec["solution"], ans if ans and find_numbers(ans) else None, f"math/train:{i + 1}"))
    pool = [s.clean for _, sol, _, _ in problems[:: max(1, len(problems) // 2000)] for s in split_steps(sol)]
    train, heldout = [], []
    for question, solution, answer, source in problems:
        pairs = pairs_for_problem(question, solution, answer, source, rng, pool)
        (heldout if _heldout(question, heldout_percent) else train).extend(pairs)
    return train, heldout

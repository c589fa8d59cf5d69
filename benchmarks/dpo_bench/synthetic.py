"""Seeded synthetic math-like preference pairs (lengths documented in ``benchmarks/dpo_throughput.py``)."""

from __future__ import annotations

import math
import random

NAMES = ["Natalia", "Marion", "Stephen", "Aisha", "Tom", "Priya", "Carlos", "Mei", "Olga", "Kwame", "Lena", "Ravi"]
ITEMS = ["apples", "marbles", "books", "stickers", "cookies", "pencils", "tickets", "shells", "coins", "cupcakes"]
PLACES = ["the market", "school", "the fair", "the library", "the bakery", "the park"]


def _question_sentence(rng: random.Random) -> str:
    n, it, pl = rng.choice(NAMES), rng.choice(ITEMS), rng.choice(PLACES)
    a, b, c = rng.randint(2, 90), rng.randint(2, 40), rng.randint(2, 12)
    return rng.choice([
        f"{n} has {a} {it} and buys {b} more at {pl}.",
        f"Each bag holds {c} {it}, and {n} fills {b} bags before going to {pl}.",
        f"At {pl}, {n} sells {it} for ${c} each and sells {a} of them on Monday.",
        f"{n} gives away {b} {it} to friends, which is {c} fewer than last week.",
        f"On Tuesday {n} collects twice as many {it} as on Monday, plus {b} extra.",
        f"A box of {it} costs ${a}, and {n} has a coupon for {c} percent off.",
    ])


def _step_sentence(rng: random.Random) -> str:
    it = rng.choice(ITEMS)
    a, b, c = rng.randint(2, 500), rng.randint(2, 90), rng.randint(2, 12)
    return rng.choice([
        f"First, {a} + {b} = {a + b} {it} in total.",
        f"Each group has {c} {it}, so {b} groups hold {b} * {c} = {b * c} {it}.",
        f"After giving away {b}, there are {a + b} - {b} = {a} {it} left.",
        f"Half of {2 * a} is {2 * a} / 2 = {a}, so that step gives {a} {it}.",
        f"The discount is {c}% of ${a * 100}, which is {a * 100} * {c} / 100 = ${a * c}.",
        f"Adding the two days gives {a} + {2 * a + b} = {3 * a + b} {it}.",
    ])


def _fill(rng: random.Random, tokenizer, target: int, make, start: list[str] | None = None) -> list[str]:
    lines = list(start or [])
    n = sum(len(tokenizer(s, add_special_tokens=False)["input_ids"]) + 1 for s in lines)
    while n < target:
        s = make(rng)
        lines.append(s)
        n += len(tokenizer(s, add_special_tokens=False)["input_ids"]) + 1
    return lines


def synthetic_pairs(tokenizer, n: int, max_length: int, seed: int) -> list[dict]:
    """``n`` pair records in our schema; lengths as documented in the module docstring."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        q_len = int(min(300, max(30, rng.gauss(120, 40))))
        cap = max(16, max_length - q_len - 60)
        c_len, r_len = (int(min(cap, max(16, math.exp(rng.gauss(math.log(200), 0.5))))) for _ in range(2))
        question = _fill(rng, tokenizer, q_len - 12, _question_sentence)
        question = " ".join(question) + f" How many {rng.choice(ITEMS)} are there at the end?"
        answer = rng.randint(10, 5000)
        chosen = _fill(rng, tokenizer, c_len - 12, _step_sentence)
        shared = rng.randint(0, max(0, len(chosen) - 1))
        rejected = _fill(rng, tokenizer, r_len - 12, _step_sentence, start=chosen[:shared])
        records.append({
            "id": f"synthetic-{seed}-{i}",
            "prompt": question,
            "chosen": "\n".join([*chosen, f"The final answer is $\\boxed{{{answer}}}$."]),
            "rejected": "\n".join([*rejected, f"The final answer is $\\boxed{{{answer + rng.randint(1, 9)}}}$."]),
            "w_raw": round(rng.uniform(0.2, 3.0), 4),
            "meta": {"source": "benchmarks/dpo_throughput.py synthetic", "question_tokens_target": q_len,
                     "chosen_tokens_target": c_len, "rejected_tokens_target": r_len},
        })
    return records


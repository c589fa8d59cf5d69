"""The control arms: random-uniform pairs and shuffled verifier weights.

**Random-uniform arm** (``pairs/random``). Built from *answer correctness only*, structurally: the
planner :func:`random_pair_plan` receives :class:`AnswerOnly` items (sample id, problem id, correct)
and nothing else, and those items are made by :func:`answer_only_items` from the *candidate* records
(``candidates/``), which are written before any verifier runs. The only filter is the verifier-free
degenerate rules (``baselines.random_pool: non_degenerate``), the same ones the hard-negative arm
applies first, so the two arms differ only in selection and weighting.

Plan, with ``rng = Random(derive_seed(seed, "random-arm"))``:

1. eligible rejected: every sample with a wrong answer whose problem has a chosen option (a correct
   sample, or the reference when ``pairing.chosen`` allows it), sorted by id;
2. ``rng.sample`` picks ``min(n_pairs, len(eligible))`` of them (uniform, without replacement);
   ``n_pairs`` is the size of the hard-negative arm; a shortfall is reported;
3. each pick gets a chosen drawn uniformly (``rng.choice``) from its problem's correct samples (sorted by
   id), or the reference when there is none (``policy_then_reference``) or always (``reference``).

Pairs carry ``w_raw = weight = 1.0`` and no ``scores``.

**Shuffled-scores control** (``pairs/shuffled``): the hard-negative pairs unchanged except that their
``w_raw`` values are permuted with ``Random(derive_seed(seed, "shuffled"))``: same pairs, same weight
distribution, weights detached from the pairs they were computed for.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hn_lightning.mining.config import FilterConfig
from hn_lightning.mining.filters import degenerate_reason
from hn_lightning.mining.ids import derive_seed, pair_id

__all__ = ["AnswerOnly", "answer_only_items", "random_pair_plan", "random_pairs", "shuffled_pairs"]


@dataclass(frozen=True)
class AnswerOnly:
    """All the random arm may know about a sample."""

    id: str
    problem_id: str
    correct: bool


def answer_only_items(candidates: list[dict[str, Any]], fcfg: FilterConfig, pool: str = "non_degenerate") -> list[AnswerOnly]:
    """:class:`AnswerOnly` items from candidate records (dropping degenerate ones for ``non_degenerate``)."""
    items = []
    for c in candidates:
        if "scores" in c:
            raise ValueError("the random arm is built from candidate records, not scored ones")
        if pool == "non_degenerate" and degenerate_reason(c, fcfg) is not None:
            continue
        items.append(AnswerOnly(c["id"], c["problem_id"], bool(c["answer"]["correct"])))
    return items


def random_pair_plan(items: list[AnswerOnly], n_pairs: int, seed: int, chosen_mode: str,
                     has_reference: Callable[[str], bool]) -> list[tuple[str, str | None]]:
    """``[(rejected id, chosen id or None for the reference), ...]`` (see the module doc)."""
    for it in items:
        if type(it) is not AnswerOnly:
            raise TypeError(f"the random arm accepts AnswerOnly items only, got {type(it).__name__}")
    correct: dict[str, list[str]] = {}
    for it in items:
        if it.correct:
            correct.setdefault(it.problem_id, []).append(it.id)
    for ids in correct.values():
        ids.sort()

    def has_chosen(pid: str) -> bool:
        if chosen_mode == "reference":
            return has_reference(pid)
        if correct.get(pid):
            return True
        return chosen_mode == "policy_then_reference" and has_reference(pid)

    eligible = sorted((it for it in items if not it.correct and has_chosen(it.problem_id)), key=lambda it: it.id)
    rng = random.Random(derive_seed(seed, "random-arm"))
    picks = rng.sample(eligible, min(max(0, n_pairs), len(eligible)))
    plan = []
    for it in picks:
        options = correct.get(it.problem_id, []) if chosen_mode != "reference" else []
        plan.append((it.id, rng.choice(options) if options else None))
    return plan


def random_pairs(plan: list[tuple[str, str | None]], candidates: dict[str, dict[str, Any]],
                 references: dict[str, str]) -> list[dict[str, Any]]:
    """Pair records of a plan (texts from the candidate records, the reference for ``None``)."""
    pairs = []
    for rej_id, ch_id in plan:
        rej = candidates[rej_id]
        chosen = candidates[ch_id]["completion"] if ch_id is not None else references[rej["problem_id"]]
        if chosen == rej["completion"]:
            continue
        pairs.append({
            "id": pair_id(rej_id, ch_id),
            "prompt": rej["prompt"],
            "chosen": chosen,
            "rejected": rej["completion"],
            "w_raw": 1.0,
            "weight": 1.0,
            "meta": {"arm": "random", "problem_id": rej["problem_id"], "rejected_id": rej_id, "chosen_id": ch_id,
                     "chosen_source": "policy" if ch_id is not None else "reference"},
        })
    return pairs


def shuffled_pairs(pairs: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """The same pairs with their ``w_raw`` permuted (seeded); ``meta.w_raw_from`` names the source pair."""
    order = list(range(len(pairs)))
    random.Random(derive_seed(seed, "shuffled")).shuffle(order)
    out = []
    for pair, j in zip(pairs, order):
        donor = pairs[j]
        new = {**pair, "w_raw": donor["w_raw"],
               "meta": {**pair.get("meta", {}), "arm": "shuffled", "w_raw_from": donor["id"], "w_raw_own": pair["w_raw"]}}
        out.append(new)
    return out

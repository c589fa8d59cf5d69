"""Stage 4: hard-negative pairs, in the schema of :mod:`hn_lightning.data.pairs`.

Each hard negative (rejected) is paired with a correct, structurally coherent solution (chosen) of
the same problem:

* *coherent chosen* (:func:`chosen_eligible`): final answer correct, not degenerate,
  ``wrongness <= chosen_max_wrongness`` and none of ``s_struct``/``s_order``/``s_logic`` above
  ``chosen_max_dim`` (a dimension the verifier's gate skipped counts as 0: the gate skips it for
  clean right answers). Trivially-correct samples, removed from the *negative* pool, are the best
  chosen solutions.
* ``pairing.chosen``: ``policy_then_reference`` (default: the policy's own coherent sample, else the
  problem's reference solution), ``policy`` (no fallback: such hard negatives stay unpaired),
  ``reference``.
* several coherent samples: ``cycle`` hands them out by increasing wrongness (ties by id), ``best``
  always uses the first.
* ``max_pairs_per_problem`` keeps the hard negatives with the highest ``w_raw`` (ties by id).

A pair::

    {"id": "gsm8k-train-17#s3-vs-gsm8k-train-17#s1", "prompt": "<user turn>", "chosen": "...",
     "rejected": "...", "w_raw": 1.21,
     "scores": {"rejected": {s_sem.. s_ans, wrongness, absurdity, confidence, ppl, w_raw,
                             answer_correct, extracted_answer, flags, first_error_step,
                             first_error_kind, n_pred_steps}, "chosen": {...} | null},
     "meta": {"arm": "hardneg", "problem_id", "rejected_id", "chosen_id", "chosen_source": "policy" | "reference"}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hn_lightning.mining.config import PairingConfig
from hn_lightning.mining.ids import pair_id
from hn_lightning.mining.problems import Problem
from hn_lightning.mining.scoring import SCORE_FIELDS

__all__ = ["PairingStats", "chosen_eligible", "compact_scores", "hardneg_pairs"]


@dataclass
class PairingStats:
    """How the hard negatives fared in pairing (``hard_negatives = paired + no_chosen + over_cap``)."""

    hard_negatives: int = 0
    paired: int = 0
    no_chosen: int = 0
    over_cap: int = 0
    chosen_policy: int = 0
    chosen_reference: int = 0
    problems_with_pairs: int = 0
    coherent_chosen_available: int = 0
    unpaired_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = dict(vars(self))
        d["unpaired_ids"] = d["unpaired_ids"][:20]
        return d


def compact_scores(scores: dict[str, Any]) -> dict[str, Any]:
    """The verifier numbers a pair carries (plus correctness, the extracted answer and the flags)."""
    out = {k: scores.get(k) for k in SCORE_FIELDS}
    out.update(answer_correct=scores.get("answer_correct"), extracted_answer=scores.get("extracted_answer"),
               flags=list(scores.get("flags") or []), first_error_step=scores.get("first_error_step"),
               first_error_kind=scores.get("first_error_kind"), n_pred_steps=scores.get("n_pred_steps"),
               verified_steps=scores.get("verified_steps"))
    return out


def chosen_eligible(record: dict[str, Any], decision: dict[str, Any], cfg: PairingConfig) -> bool:
    """A correct, non-degenerate, structurally coherent sample (see the module doc)."""
    s = record["scores"]
    if not s.get("answer_correct") or decision.get("degenerate"):
        return False
    if (s.get("wrongness") or 0.0) > cfg.chosen_max_wrongness:
        return False
    return all((s.get(d) or 0.0) <= cfg.chosen_max_dim for d in ("s_struct", "s_order", "s_logic"))


def _chosen_for(index: int, options: list[dict[str, Any]], cfg: PairingConfig) -> dict[str, Any] | None:
    if not options or cfg.chosen == "reference":
        return None
    return options[index % len(options)] if cfg.chosen_strategy == "cycle" else options[0]


def hardneg_pairs(records: list[dict[str, Any]], decisions: dict[str, dict[str, Any]], problems: list[Problem],
                  cfg: PairingConfig) -> tuple[list[dict[str, Any]], PairingStats]:
    """Pairs of the hard-negative arm, in problem order (see the module doc)."""
    by_problem: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        by_problem.setdefault(rec["problem_id"], []).append(rec)
    stats = PairingStats()
    pairs: list[dict[str, Any]] = []
    for problem in problems:
        recs = by_problem.get(problem.id, [])
        negatives = [r for r in recs if decisions[r["id"]]["hard_negative"]]
        stats.hard_negatives += len(negatives)
        if not negatives:
            continue
        def weight(r: dict[str, Any]) -> float:  # w_raw x (1 + progress_weight * hardness), see SelectionConfig
            return float(r["scores"].get("w_raw") or 0.0) * float(decisions[r["id"]].get("weight_factor", 1.0))

        negatives.sort(key=lambda r: (-weight(r), r["id"]))
        cap = cfg.max_pairs_per_problem
        if cap is not None and len(negatives) > cap:
            stats.over_cap += len(negatives) - cap
            negatives = negatives[:cap]
        options = sorted((r for r in recs if chosen_eligible(r, decisions[r["id"]], cfg)),
                         key=lambda r: (r["scores"].get("wrongness") or 0.0, r["id"]))
        stats.coherent_chosen_available += len(options)
        made = 0
        for i, neg in enumerate(negatives):
            chosen = _chosen_for(i, options, cfg)
            if chosen is None and (cfg.chosen == "policy" or not problem.reference.strip()):
                stats.no_chosen += 1
                stats.unpaired_ids.append(neg["id"])
                continue
            text = chosen["completion"] if chosen is not None else problem.reference
            if text == neg["completion"]:
                stats.no_chosen += 1
                stats.unpaired_ids.append(neg["id"])
                continue
            pairs.append({
                "id": pair_id(neg["id"], chosen["id"] if chosen is not None else None),
                "prompt": neg["prompt"],
                "chosen": text,
                "rejected": neg["completion"],
                "w_raw": weight(neg),
                "scores": {"rejected": compact_scores(neg["scores"]),
                           "chosen": compact_scores(chosen["scores"]) if chosen is not None else None},
                "meta": {"arm": "hardneg", "problem_id": problem.id, "rejected_id": neg["id"],
                         "chosen_id": chosen["id"] if chosen is not None else None,
                         "chosen_source": "policy" if chosen is not None else "reference"},
            })
            made += 1
            if chosen is not None:
                stats.chosen_policy += 1
            else:
                stats.chosen_reference += 1
        stats.paired += made
        stats.problems_with_pairs += int(made > 0)
    return pairs, stats

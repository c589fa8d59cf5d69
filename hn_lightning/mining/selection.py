"""Hard-negative selection (stage 3, after the removals): pure checks over one sample's scores.

Two rules (``SelectionConfig.rule``). The default, ``first_error``, reads the verifier's structured
first-error step (:mod:`hn_lightning.verifier.first_error`): **a hard negative is a confident wrong
answer whose first error comes after at least ``min_verified_steps`` verified-correct steps**, whatever
the kind of error (a wrong formula with right arithmetic, a flipped relation, a skipped step, an
inconsistent reuse, a slip). The nearer the end the first error, the harder the negative
(:func:`hardness`; ``pairing.progress_weight`` can put it into the raw weight). ``dimensions`` is the
earlier rule (elevated process dimension and closeness), which never selected right-arithmetic
near-misses (their ``s_sym`` and ``s_logic`` are 0).

Criteria (:data:`CRITERIA`, checked in this order; ``True`` = passes; a criterion the active rule
does not use always passes):

* ``wrong_answer``: the final answer is wrong (when ``require_wrong_answer``).
* ``wrongness_band``: ``min_wrongness <= wrongness <= max_wrongness`` (a moderate error).
* ``verified_prefix`` (rule ``first_error``): the first error is located and at least
  ``min_verified_steps`` steps before it are *verified correct* (the verifier's ``verified_steps``:
  steps that reach a value on a path to the gold or write a computation that checks out; a step that
  merely says nothing checkable does not count, so off-topic prose before a wrong answer fails).
* ``elevated_dim`` (rule ``dimensions``): some dimension of ``elevated_dims`` is at least ``min_elevated`` (the error is in
  the steps: structure, order, logic, arithmetic).
* ``confident``: ``confidence >= min_confidence`` (the policy believed its answer); a sample without
  log-probs passes or fails by ``missing_confidence``.
* ``close`` (rule ``dimensions``): close to a good solution, either a *near-miss answer* (numeric, within
  ``near_miss_rel_tol`` of the gold, relative to ``max(|gold|, 1)``) or *aligned with the reference
  except one or two steps* (at least ``min_reference_coverage`` of the reference steps matched, at most
  ``max_missed_steps`` unmatched, and ``s_sem <= max_sem_for_alignment``; needs the fine channel).
"""

from __future__ import annotations

from typing import Any

from hn_lightning.answers.math_equal import parse_digits
from hn_lightning.mining.config import SelectionConfig

__all__ = ["CRITERIA", "near_miss", "aligned_except_few", "hardness", "selection_checks", "first_failed"]

CRITERIA = ("wrong_answer", "wrongness_band", "verified_prefix", "elevated_dim", "confident", "close")


def hardness(scores: dict[str, Any]) -> float | None:
    """How far the solution got before its first error: ``first_error_step / n_pred_steps`` in [0, 1)
    (``None`` when no first error is recorded). 0: wrong from the first step; near 1: the last step."""
    k, n = scores.get("first_error_step"), scores.get("n_pred_steps") or 0
    if k is None or n <= 0:
        return None
    return min(1.0, k / n)


def near_miss(predicted: str | None, golds: list[str], rel_tol: float) -> bool:
    """A numeric answer within ``rel_tol`` of some numeric gold (``|p - g| / max(|g|, 1) <= rel_tol``).
    Non-numeric answers (most MATH expressions) are never near misses by this rule."""
    if predicted is None:
        return False
    p = parse_digits(str(predicted).strip().strip("$"))
    if p is None or p != p:  # None or NaN
        return False
    for g in golds:
        gv = parse_digits(str(g).strip().strip("$"))
        if gv is not None and gv == gv and abs(p - gv) / max(abs(gv), 1.0) <= rel_tol:
            return True
    return False


def aligned_except_few(scores: dict[str, Any], min_coverage: float, max_missed: int, max_sem: float) -> bool:
    """The Needleman-Wunsch alignment to the reference matches at least ``min_coverage`` of its steps and
    misses at most ``max_missed``, and the steps stay on the problem (``s_sem <= max_sem``). Needs the
    fine channel (``matched_steps`` is recorded only when it ran)."""
    matched = (scores.get("components") or {}).get("matched_steps")
    n_ref = scores.get("n_ref_steps") or 0
    if matched is None or n_ref == 0:
        return False
    return matched / n_ref >= min_coverage and (n_ref - matched) <= max_missed and (scores.get("s_sem") or 0.0) <= max_sem


def selection_checks(scores: dict[str, Any], golds: list[str], cfg: SelectionConfig) -> dict[str, bool]:
    """Every criterion on one sample (``True`` = passes)."""
    wrongness = scores.get("wrongness") or 0.0
    confidence = scores.get("confidence")
    dims = cfg.rule == "dimensions"
    first = scores.get("first_error_step")
    return {
        "wrong_answer": (not scores.get("answer_correct")) or not cfg.require_wrong_answer,
        "wrongness_band": cfg.min_wrongness <= wrongness <= cfg.max_wrongness,
        "verified_prefix": dims or (first is not None and scores.get("verified_steps", first) >= cfg.min_verified_steps),
        "elevated_dim": not dims or any((scores.get(d) or 0.0) >= cfg.min_elevated for d in cfg.elevated_dims),
        "confident": (cfg.missing_confidence == "pass") if confidence is None else confidence >= cfg.min_confidence,
        "close": not dims or near_miss(scores.get("extracted_answer"), golds, cfg.near_miss_rel_tol)
        or aligned_except_few(scores, cfg.min_reference_coverage, cfg.max_missed_steps, cfg.max_sem_for_alignment),
    }


def first_failed(checks: dict[str, bool]) -> str | None:
    """The first criterion in :data:`CRITERIA` order that fails, or ``None`` (a hard negative)."""
    return next((c for c in CRITERIA if not checks[c]), None)

"""The decision knobs of mining: filters, hard-negative selection, pairing and the baseline arms.

Split out of :mod:`hn_lightning.mining.config` (which re-exports them) so each file stays readable; same
convention: every verifier dimension is in [0, 1] and **higher means more wrong**.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hn_lightning.errors import check_range, check_setting
from hn_lightning.verifier.config import DIMENSIONS

__all__ = ["BaselineConfig", "FilterConfig", "PairingConfig", "SelectionConfig"]


# --------------------------------------------------------------------------- filters + selection
@dataclass
class FilterConfig:
    """Stage 3: removals, applied in this order (a sample is counted under the first rule it fails).

    Degenerate rules (no verifier needed): ``empty`` (blank completion), ``truncated`` (stopped at the
    length limit), ``no_answer`` (the answer checker extracts nothing), ``repetition`` (a loop),
    ``nonsensical`` (not text). Then ``trivially_correct`` and ``trivially_wrong`` (verifier scores).
    """

    drop_truncated: bool = True
    """Remove samples that hit ``max_new_tokens``: their chain and answer are incomplete."""
    repetition_ngram: int = 6
    """Word n-gram size of the repetition rule."""
    max_repeated_ngram_fraction: float = 0.5
    """``repetition`` when at least this fraction of the word n-grams are repeats of earlier ones (a normal
    solution repeats few 6-grams; a loop repeats nearly all of them). Needs ``repetition_min_words`` words."""
    repetition_min_words: int = 30
    """Shorter completions are never called loops by the n-gram rule."""
    max_char_run: int = 40
    """``repetition`` when one character repeats this many times in a row (``!!!!``, ``0000``)."""
    min_alnum_fraction: float = 0.4
    """``nonsensical`` when fewer than this fraction of the non-space characters are letters or digits
    (math text with LaTeX is typically 55-75%)."""
    max_non_ascii_fraction: float = 0.3
    """``nonsensical`` when more than this fraction of the characters are non-ASCII (a sign of random
    tokens for English problems). Set 1.0 for problems in other scripts."""
    min_words: int = 3
    """``nonsensical`` when the completion has fewer words than this."""
    trivially_correct_max_dim: float = 0.25
    """``trivially_correct``: final answer correct and every dimension below this. A dimension the
    verifier's gate skipped counts as below (the gate skips it for clean right answers). 0.25 equals the
    verifier's ``gate_min_sem_right``: a right answer whose steps stay on the reference is no use as a
    negative. (Trivially correct samples stay available as *chosen* solutions.)"""
    trivially_wrong_min_wrongness: float = 0.75
    """``trivially_wrong``: wrongness above this **and** absurdity above ``trivially_wrong_min_absurdity``:
    completely off-track, an easy negative that teaches little. Text the verifier's gate keeps out of the
    fine channel (semantic drift > 0.75) scores wrongness ~0.95 and absurdity ~0.8. On-topic chains with a
    wrong step stay below: on the CPU demo they reach wrongness 0.71-0.76 and absurdity 0.55-0.61 when
    an NLI contradiction saturates ``s_logic``, and a one-slip near miss scores 0.45-0.65 / 0.1-0.35."""
    trivially_wrong_min_absurdity: float = 0.6
    """See ``trivially_wrong_min_wrongness``."""

    def __post_init__(self) -> None:
        for name in ("max_repeated_ngram_fraction", "min_alnum_fraction", "max_non_ascii_fraction", "trivially_correct_max_dim",
                     "trivially_wrong_min_wrongness", "trivially_wrong_min_absurdity"):
            check_range(f"filters.{name}", getattr(self, name), 0, 1)
        check_range("filters.repetition_ngram", self.repetition_ngram, 1)
        check_range("filters.repetition_min_words", self.repetition_min_words, 0)
        check_range("filters.max_char_run", self.max_char_run, 2, why="a run of one character is every character")
        check_range("filters.min_words", self.min_words, 0)


@dataclass
class SelectionConfig:
    """Stage 3 (continued): which of the remaining samples are hard negatives. Criteria are checked in
    this order and a sample is counted under the first one it fails."""

    rule: Literal["first_error", "dimensions"] = "first_error"
    """``first_error``: a confident wrong answer whose first wrong step (``first_error_step``) comes
    after at least ``min_verified_steps`` verified-correct steps, whatever the error's kind.
    ``dimensions``: the earlier rule (``elevated_dim``, ``close``; misses right-arithmetic near misses)."""
    min_verified_steps: int = 1
    """``verified_prefix``: this many steps before the first error are verified correct (step-1 errors: off-track)."""
    progress_weight: float = 0.0
    """Pair weight ``w_raw * (1 + progress_weight * first_error_step / n_pred_steps)``; 0: ``w_raw`` as is."""
    require_wrong_answer: bool = True
    """``wrong_answer``: a hard negative has a wrong final answer (answer correctness is the most
    reliable signal a verifier has; set false to also mine right answers reached by flawed steps)."""
    min_wrongness: float = 0.35
    """``wrongness_band``: wrongness in [min, max]. 0.35 is the floor of a wrong answer whose other
    dimensions are all 0 under the default weights (s_ans weighs 0.35)."""
    max_wrongness: float = 0.85
    """Upper end of the band: above it nearly every dimension is high (not a *moderate* error)."""
    elevated_dims: list[str] = field(default_factory=lambda: ["s_struct", "s_order", "s_logic", "s_sym"])
    """``elevated_dim``: at least one of these process dimensions is at least ``min_elevated`` (the error
    is in the steps, not only in the last line). The issue names structural and logical dimensions;
    ``s_sym`` is included because arithmetic slips, the most common GSM8K near miss, land there. Use
    ``[s_struct, s_logic]`` for the strict reading."""
    min_elevated: float = 0.3
    """See ``elevated_dims``. 0.3 is the severity of the weakest real finding (a final answer no step produced)."""
    min_confidence: float = 0.5
    """``confident``: the verifier's answer confidence at least this: ``sigmoid((p - 0.5) / 0.1) >= 0.5``
    means the policy gave its own wrong answer tokens a mean probability of at least 0.5. Errors the
    policy believes in are the ones DPO must push down."""
    missing_confidence: Literal["pass", "fail"] = "pass"
    """What ``confident`` does when the sample has no log-probs (confidence is null)."""
    near_miss_rel_tol: float = 0.25
    """``close``, first way: a numeric answer within this relative distance of the gold
    (``|pred - gold| / max(|gold|, 1)``): an error late in the chain or of small size."""
    min_reference_coverage: float = 0.5
    """``close``, second way: the solution follows the reference except one or two steps: at least this
    fraction of the reference steps have an aligned predicted step (Needleman-Wunsch matches) ..."""
    max_missed_steps: int = 2
    """... at most this many reference steps are unmatched ..."""
    max_sem_for_alignment: float = 0.4
    """(rule ``dimensions``) ... and the steps stay on the problem: ``s_sem`` (drift, coverage, redundancy) at most this.
    On-topic samples of the CPU demo score 0.08-0.38; unrelated text scores 0.45 and more, and a short
    reference can match one of its steps by chance. Coverage is used rather than ``s_struct``
    (1 - F1): F1 also punishes a verbose but faithful chain for its extra steps."""

    def __post_init__(self) -> None:
        for name in ("min_wrongness", "max_wrongness", "min_elevated", "min_confidence", "min_reference_coverage",
                     "max_sem_for_alignment"):
            check_range(f"selection.{name}", getattr(self, name), 0, 1)
        check_range("selection.max_wrongness", self.max_wrongness, self.min_wrongness, why="the band is [min_wrongness, max_wrongness]")
        check_range("selection.min_verified_steps", self.min_verified_steps, 0)
        check_range("selection.progress_weight", self.progress_weight, 0, why="a negative weight favours the earliest errors")
        check_range("selection.near_miss_rel_tol", self.near_miss_rel_tol, 0)
        check_range("selection.max_missed_steps", self.max_missed_steps, 0)
        unknown = sorted(set(self.elevated_dims) - set(DIMENSIONS))
        check_setting("selection.elevated_dims", self.elevated_dims, not unknown, f"dimensions among {list(DIMENSIONS)}", f"unknown {unknown}")


@dataclass
class PairingConfig:
    """Stage 4: pair each hard negative with a correct, structurally coherent solution of the same problem."""

    chosen: Literal["policy_then_reference", "policy", "reference"] = "policy_then_reference"
    """Chosen side: a verified-correct sample of the policy's own (on-policy, the paper's preference) and
    the reference solution when the policy has none; ``policy`` only (hard negatives without a correct
    sample stay unpaired); ``reference`` only."""
    chosen_strategy: Literal["cycle", "best"] = "cycle"
    """With several coherent correct samples: ``cycle`` through them by increasing wrongness (more
    chosen diversity), or always take the ``best``."""
    chosen_max_wrongness: float = 0.3
    """A policy sample is a coherent chosen when its answer is correct, it is not degenerate, its
    wrongness is at most this ..."""
    chosen_max_dim: float = 0.5
    """... and none of ``s_struct``, ``s_order``, ``s_logic`` exceeds this (a gated-off dimension counts as 0)."""
    max_pairs_per_problem: int | None = None
    """Cap on hard-negative pairs per problem (highest ``w_raw`` kept); ``null``: no cap."""
    pairs_per_shard: int = 10_000
    """Pairs per output shard."""

    def __post_init__(self) -> None:
        check_range("pairing.chosen_max_wrongness", self.chosen_max_wrongness, 0, 1)
        check_range("pairing.chosen_max_dim", self.chosen_max_dim, 0, 1)
        check_range("pairing.max_pairs_per_problem", self.max_pairs_per_problem, 1, optional=True)
        check_range("pairing.pairs_per_shard", self.pairs_per_shard, 1)


@dataclass
class BaselineConfig:
    """The control arms, built from the same samples."""

    random: bool = True
    """Write ``pairs/random``: the random-uniform baseline. Rejected samples are drawn uniformly (seeded)
    among the samples with a wrong final answer, chosen ones uniformly among the same problem's correct
    samples (reference fallback as ``pairing.chosen``); weight 1; as many pairs as the hard-negative arm.
    It is built from answer correctness only: it never reads verifier scores."""
    random_pool: Literal["non_degenerate", "all"] = "non_degenerate"
    """Samples the random arm draws from: ``non_degenerate`` applies the same verifier-free degenerate
    rules as the hard-negative arm (so the arms differ only in selection and weighting), ``all`` does not."""
    shuffled: bool = True
    """Write ``pairs/shuffled``: the hard-negative pairs with their ``w_raw`` permuted (seeded), which
    separates the effect of the weights from the effect of the pair selection."""

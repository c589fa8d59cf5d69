"""Settings of the MathVerifier, with the documented defaults.

Every field has a docstring (they double as CLI help). Weights are relative: ``wrongness`` and
``absurdity`` divide by the sum of the weights of the dimensions that were computed, so they stay
in [0, 1] whether or not the fine channel ran. All dimensions follow one convention: **higher means
more wrong**.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from hn_lightning.errors import SettingError, check_range, check_setting

__all__ = ["VerifierConfig", "DIMENSIONS", "DEFAULT_WRONGNESS_WEIGHTS", "DEFAULT_ABSURDITY_WEIGHTS"]

DIMENSIONS = ("s_sem", "s_struct", "s_order", "s_logic", "s_sym", "s_ans")
SEM_PARTS = ("drift", "uncovered", "redundancy")
"""The parts of ``s_sem`` (``sem_weights`` keys)."""

_KEY = "VerifierConfig"
_UNIT_INTERVAL = ("hard_negative_min_wrongness", "hard_negative_max_absurdity", "gate_max_sem_wrong", "gate_min_sem_right",
                  "match_threshold", "relevance_low", "relevance_high", "duplicate_threshold", "nli_contradiction_threshold",
                  "nli_condition_threshold", "non_sequitur_threshold", "logic_non_sequitur_severity",
                  "logic_inconsistent_severity", "sym_slip_severity", "sym_inconsistent_severity", "sym_unsupported_severity",
                  "sym_answer_severity", "confidence_center", "neutral_confidence")
"""Scores, cosines used as thresholds, probabilities and severities: documented in [0, 1]."""
_POSITIVE = ("sympy_timeout_s", "answer_timeout_s", "confidence_temperature", "ppl_normalizer")
_AT_LEAST = {"min_step_chars": 0, "max_steps": 1, "nli_conditions_top_k": 0, "answer_span_fallback_tokens": 1,
             "neutral_ppl": 1, "batch_size": 1, "encoder_batch_size": 1, "round_digits": 1}

DEFAULT_WRONGNESS_WEIGHTS: dict[str, float] = {
    "s_ans": 0.35, "s_logic": 0.20, "s_sym": 0.15, "s_struct": 0.10, "s_order": 0.10, "s_sem": 0.10,
}
"""Wrongness: the final answer and the logic weigh most (arXiv 2512.19728, section 3.2)."""

DEFAULT_ABSURDITY_WEIGHTS: dict[str, float] = {
    "s_struct": 0.25, "s_logic": 0.25, "s_sem": 0.20, "s_order": 0.15, "s_sym": 0.10, "s_ans": 0.05,
}
"""Absurdity: structural and logical failures weigh most; numeric and answer errors little, so a
near-correct solution with a wrong number stays low-absurdity (a hard-negative candidate)."""


@dataclass
class VerifierConfig:
    """All knobs of :class:`~hn_lightning.verifier.MathVerifier` (defaults are the documented ones)."""

    # --- aggregation -------------------------------------------------------------------------
    wrongness_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WRONGNESS_WEIGHTS))
    """Weights of the six dimensions in ``wrongness = sum_d w_d s_d / sum_d w_d`` (computed dims only)."""
    absurdity_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_ABSURDITY_WEIGHTS))
    """Weights of the six dimensions in ``absurdity`` (same formula)."""
    hard_negative_min_wrongness: float = 0.3
    """``hard_negative`` needs a wrong final answer and at least this wrongness ..."""
    hard_negative_max_absurdity: float = 0.35
    """... and at most this absurdity (near-correct yet flawed)."""

    # --- fine-channel gating -----------------------------------------------------------------
    fine_channel: Literal["gated", "always", "never"] = "gated"
    """When to run alignment, NLI and symbolic checks. ``gated``: on samples with a wrong final
    answer whose semantic score is at most ``gate_max_sem_wrong`` (plausible wrong answers: the
    hard-negative candidates), and on samples with a right answer whose semantic score is at least
    ``gate_min_sem_right`` (a right answer reached by drifting reasoning). Dimensions of a channel
    that did not run are ``None`` and left out of the weighted sums."""
    gate_max_sem_wrong: float = 0.75
    """Gate for wrong answers (see ``fine_channel``)."""
    gate_min_sem_right: float = 0.25
    """Gate for right answers (see ``fine_channel``)."""

    # --- steps -------------------------------------------------------------------------------
    min_step_chars: int = 8
    """Steps shorter than this are merged into the next one (:func:`~hn_lightning.verifier.steps.split_steps`)."""
    max_steps: int = 40
    """Steps after this many are merged into the last one (bounds the cost of long chains)."""

    # --- fast channel (semantic) -------------------------------------------------------------
    match_threshold: float = 0.60
    """Cosine at which a predicted step counts as matching a reference step (coverage, order)."""
    relevance_low: float = 0.20
    """Cosine (to the question or any reference step) at or below which a step has fully drifted."""
    relevance_high: float = 0.55
    """Cosine at or above which a step has not drifted at all (linear ramp in between)."""
    duplicate_threshold: float = 0.95
    """Cosine above which a predicted step is a near-duplicate of an earlier one (redundancy)."""
    sem_weights: dict[str, float] = field(default_factory=lambda: {"drift": 0.4, "uncovered": 0.4, "redundancy": 0.2})
    """``s_sem = 0.4 drift + 0.4 (1 - coverage) + 0.2 redundancy`` by default."""

    # --- fine channel: alignment -------------------------------------------------------------
    nw_gap: float = -0.1
    """Needleman-Wunsch gap score (match score is ``cos - match_threshold``)."""

    # --- fine channel: NLI / logic -----------------------------------------------------------
    nli_backend: str = "minilm-head"
    """``minilm-head`` (default: trained head on MiniLM features) or ``hf:<local checkpoint dir>`` /
    ``hf:<Hub id org/name[@revision]>`` for an MNLI-style cross-encoder such as DeBERTa-v3-base-MNLI."""
    nli_head_dir: str | None = None
    """Folder of the MiniLM head for successive-step pairs (``head.npz`` + ``head.json``); default:
    the packaged ``hn_lightning/assets/nli/steps``."""
    nli_condition_head_dir: str | None = None
    """Folder of the MiniLM head for (problem condition, step) pairs; default: the packaged
    ``hn_lightning/assets/nli/conditions`` (trained with extra "state change" neutrals). An ``hf:``
    backend judges both kinds of pairs."""
    nli_contradiction_threshold: float = 0.9
    """A successive-step pair with P(contradiction) at least this is a contradiction (flag + logic
    evidence). Set on held-out GSM8K train references (few false flags on correct solutions)."""
    nli_condition_threshold: float = 0.9
    """The same for (problem condition, step) pairs, which are noisier: a later state of a quantity
    ("he had 140 seashells left" after "he started with 180") is easily mistaken for a contradiction."""
    nli_conditions_top_k: int = 2
    """Each step is checked against its ``k`` most similar problem conditions."""
    non_sequitur_threshold: float = 0.15
    """A step whose best cosine to the question and all earlier steps is below this is a non-sequitur."""
    logic_non_sequitur_severity: float = 0.3
    """Logic evidence of one non-sequitur step."""
    logic_inconsistent_severity: float = 0.7
    """Logic evidence of an inconsistent use of a computed value (symbolic data-flow finding)."""

    # --- fine channel: symbolic --------------------------------------------------------------
    sym_slip_severity: float = 0.8
    """Severity of an arithmetic slip (``s_sym`` is the noisy-OR of the findings)."""
    sym_inconsistent_severity: float = 0.6
    """Severity of an inconsistent use of a computed value (paper Table 2)."""
    sym_unsupported_severity: float = 0.15
    """Severity of an operand that appears nowhere before."""
    sym_answer_severity: float = 0.3
    """Severity of a final answer no step produced."""
    sympy_timeout_s: float = 1.0
    """Timeout of each SymPy call (signal-based on the main thread, a helper process elsewhere)."""

    # --- first error step ----------------------------------------------------------------------
    first_error_reference: bool = True
    """Locate the first wrong step with the reference solution and gold answer (the mining setting;
    :mod:`hn_lightning.verifier.first_error`). ``False``: reference-free mode, from the problem and the
    steps alone (the exact checks and the step judge; ``docs/verifier-rules.md``)."""
    reference_plain_math: bool = False
    """Read the reference's LaTeX arithmetic as plain text in the first-error stage
    (:func:`~hn_lightning.verifier.plain_math.plain_math`: ``\\[ 4 \\times 4 = 16 \\]`` -> ``4 * 4 = 16``).
    For references a chat model wrote on word problems (the self-reference setting: a solver's solution
    stands in for a missing human one), which then get the word-problem rules instead of those for
    competition-math references. Off for human references (MATH's LaTeX stays LaTeX)."""
    step_judge: dict[str, Any] | None = field(default_factory=lambda: {"class_path": "TrainedStepJudge"})
    """A step judge beside the rules (``{"class_path": ..., "init_args": {...}}``, see
    :mod:`hn_lightning.verifier.judges`): its first step at or above its threshold is the first error where
    no rule found one (the ``step_judge`` rule). Default: the packaged judge trained on GSM8K/MATH train
    (CPU, no reference needed; with a reference and a known answer the rules' fallbacks always find a step
    first, so it changes only reference-free results). ``HFProcessRewardJudge`` runs a Hugging Face PRM
    (a GPU model). ``None``: the rules alone."""

    # --- answer ------------------------------------------------------------------------------
    answer_mode: Literal["stepdpo", "hendrycks", "math_verify"] = "stepdpo"
    """Checker of :mod:`hn_lightning.answers` (the one evaluation uses)."""
    answer_timeout_s: float = 5.0
    """Timeout of one answer check."""

    # --- confidence, perplexity, w_raw -------------------------------------------------------
    confidence_center: float = 0.5
    """``confidence = sigmoid((mean answer-token probability - center) / temperature)``."""
    confidence_temperature: float = 0.1
    """See ``confidence_center``."""
    answer_span_fallback_tokens: int = 8
    """When the final answer cannot be located in the tokens, the last this many tokens are used."""
    ppl_normalizer: float = 10.0
    """``w_raw = wrongness + (1 - confidence) + ppl / ppl_normalizer``; a typical sampled-CoT
    perplexity of 1.2-3 then adds 0.12-0.3, less than either other term."""
    neutral_confidence: float = 0.5
    """Confidence used in ``w_raw`` when no log-probs were given (``confidence`` itself is ``None``)."""
    neutral_ppl: float = 1.0
    """Perplexity used in ``w_raw`` when no log-probs were given (``ppl`` itself is ``None``)."""

    # --- runtime -----------------------------------------------------------------------------
    cache_dir: str | None = None
    """Folder of the sqlite caches (``embeddings.sqlite``, ``nli.sqlite``); default
    ``$HN_LIGHTNING_CACHE/verifier`` (``~/.cache/hn_lightning/verifier``)."""
    use_cache: bool = True
    """Use the on-disk caches (``False``: memory only, for experiments)."""
    batch_size: int = 64
    """Samples per :meth:`~hn_lightning.verifier.MathVerifier.score_batch` call from the CLI."""
    encoder_batch_size: int = 64
    """Sentences per MiniLM forward pass."""
    encoder_precision: Literal["fp32", "bf16"] = "fp32"
    """MiniLM matmuls in ``fp32`` or under ``bf16`` autocast: about 2x faster cold scoring on CPUs with
    native bf16 (AVX512-BF16, AMX; check ``lscpu``) and GPUs, but 5-70x *slower* on CPUs without it.
    bf16 embeddings are within ~1e-4 of fp32 (1 - cosine) and get their own cache entries; the packaged
    NLI heads (fitted on fp32 features) take them, with NLI cache entries of their own too. On the
    ProcessBench dev half the first-error outputs are the same (``benchmarks/RESULTS.md``)."""
    round_digits: int = 6
    """Scores are rounded to this many digits (stable JSON, identical reruns)."""

    def __post_init__(self) -> None:
        """Every documented range, once, when the settings are read (one line naming the key, value and range)."""
        for name in ("wrongness_weights", "absurdity_weights", "sem_weights"):
            weights, known = getattr(self, name), SEM_PARTS if name == "sem_weights" else DIMENSIONS
            unknown = set(weights) - set(known)
            check_setting(f"{_KEY}.{name}", weights, not unknown, f"keys among {list(known)}",
                          f"unknown {'parts' if name == 'sem_weights' else 'dimensions'} {sorted(unknown)}")
            ok = all(isinstance(w, (int, float)) and w >= 0 for w in weights.values()) and sum(weights.values()) > 0
            check_setting(f"{_KEY}.{name}", weights, ok, "non-negative weights with a positive sum")
        check_setting(f"{_KEY}.encoder_precision", self.encoder_precision, self.encoder_precision in ("fp32", "bf16"), "fp32 or bf16")
        check_setting(f"{_KEY}.fine_channel", self.fine_channel, self.fine_channel in ("gated", "always", "never"), "gated, always or never")
        check_setting(f"{_KEY}.nli_backend", self.nli_backend, self.nli_backend == "minilm-head" or self.nli_backend.startswith("hf:"),
                      "'minilm-head' or 'hf:<dir or Hub id>'")
        for name in _UNIT_INTERVAL:
            check_range(f"{_KEY}.{name}", getattr(self, name), 0, 1)
        for name in _POSITIVE:
            check_range(f"{_KEY}.{name}", getattr(self, name), 0, low_open=True)
        for name, low in _AT_LEAST.items():
            check_range(f"{_KEY}.{name}", getattr(self, name), low)
        judge = self.step_judge
        check_setting(f"{_KEY}.step_judge", judge, judge is None or (isinstance(judge, dict) and "class_path" in judge
                      and set(judge) <= {"class_path", "init_args"}), "null or {class_path, init_args}")
        check_range(f"{_KEY}.nw_gap", self.nw_gap, high=0, why="a gap is a penalty")
        check_range(f"{_KEY}.relevance_high", self.relevance_high, self.relevance_low, low_open=True, why="above relevance_low")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> VerifierConfig:
        """Build from a mapping; unknown keys are an error naming the valid ones."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise SettingError(f"unknown VerifierConfig keys {sorted(unknown)}; valid: {sorted(names)}")
        base = cls()
        merged = {}
        for k, v in values.items():
            default = getattr(base, k)
            if isinstance(default, dict) and isinstance(v, dict):
                v = {**default, **v}
            merged[k] = v
        return cls(**merged)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

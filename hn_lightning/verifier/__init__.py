"""MathVerifier: a six-dimensional error profile of a math solution (arXiv 2512.19728, section 3.2).

Convention: every dimension is a score in [0, 1] where **higher means more wrong**:

=========  ====================================================================  =========
dimension  what it measures                                                      channel
=========  ====================================================================  =========
s_sem      drift from the problem, uncovered reference steps, redundancy        fast
s_struct   1 - F2 of the Needleman-Wunsch alignment to the reference steps      fine
s_order    swapped steps (Spearman rho and inversions of matched positions)     fine
s_logic    NLI contradictions, non-sequiturs, inconsistent use of results       fine
s_sym      arithmetic slips, inconsistent use, numbers from nowhere (exact /    fine
           SymPy, with timeouts)
s_ans      1 if the final answer is wrong (shared :mod:`hn_lightning.answers`)  always
=========  ====================================================================  =========

``wrongness`` and ``absurdity`` are weighted means of the computed dimensions;
``w_raw = wrongness + (1 - confidence) + ppl / normalizer``. Every result also carries the **first
wrong step** (``first_error_step``, ``first_error_span``, ``first_error_kind``, ``step_scores``,
``verified_steps``; :mod:`hn_lightning.verifier.first_error`: one table of named rules,
:mod:`hn_lightning.verifier.rules`, plus a step judge, :mod:`hn_lightning.verifier.judges`). Quick start::

    from hn_lightning.verifier import MathVerifier, VerifierConfig, VerifierInput
    verifier = MathVerifier(VerifierConfig(fine_channel="always"))
    [result] = verifier.score_batch([VerifierInput(id="1", question=q, reference=ref, gold="18", prediction=sol)])
    result.wrongness, result.flags

CLI: ``python cli.py verify --input samples.jsonl --output scored.jsonl`` (:mod:`hn_lightning.commands.verify`).
"""

from hn_lightning.verifier.config import DIMENSIONS, VerifierConfig
from hn_lightning.verifier.encoder import INSTALL_HINT, MiniLMEncoder, MissingEncoderError
from hn_lightning.verifier.evidence import Evidence
from hn_lightning.verifier.first_error import ERROR_KINDS, FirstError, locate, locate_first_error
from hn_lightning.verifier.judges import JudgeInput, StepJudge, build_judge
from hn_lightning.verifier.logprobs import (
    answer_token_indices,
    compute_w_raw,
    confidence_from_logprobs,
    perplexity,
)
from hn_lightning.verifier.nli import CachedNLI, HFCrossEncoderNLI, MiniLMHeadNLI, NLIBackend, NLIHead
from hn_lightning.verifier.records import VerifierInput, VerifierResult
from hn_lightning.verifier.scores import weighted_score
from hn_lightning.verifier.verifier import MathVerifier

__all__ = [
    "DIMENSIONS",
    "ERROR_KINDS",
    "Evidence",
    "FirstError",
    "INSTALL_HINT",
    "CachedNLI",
    "JudgeInput",
    "HFCrossEncoderNLI",
    "MathVerifier",
    "MiniLMEncoder",
    "MiniLMHeadNLI",
    "MissingEncoderError",
    "NLIBackend",
    "NLIHead",
    "StepJudge",
    "VerifierConfig",
    "VerifierInput",
    "VerifierResult",
    "answer_token_indices",
    "build_judge",
    "compute_w_raw",
    "confidence_from_logprobs",
    "locate",
    "locate_first_error",
    "perplexity",
    "weighted_score",
]

r"""Answer extraction, normalisation and equivalence: the single source of truth for "is this right".

Used by the evaluation harness and by the MathVerifier. Start with :class:`AnswerChecker`::

    from hn_lightning.answers import AnswerChecker
    checker = AnswerChecker(mode="stepdpo")            # "stepdpo" | "hendrycks" | "math_verify"
    verdict = checker.check(completion, gold, question)
    verdict.correct, verdict.extracted, verdict.gold, verdict.error, verdict.timed_out
    checker.stats.as_dict()

The lower-level pieces mirror the Step-DPO evaluator (dvlab-research/Step-DPO ``evaluation/``) and
the hendrycks/math metric; see shared/docs/eval-protocol.md and each module's docstring.
"""

from hn_lightning.answers.boxed import last_boxed, last_boxed_only_string, remove_boxed, stepdpo_boxed_answers
from hn_lightning.answers.checker import MODES, AnswerChecker, Mode, Verdict
from hn_lightning.answers.eval_math import eval_math, is_correct_pair
from hn_lightning.answers.extraction import extract_math_answer, extract_program_output
from hn_lightning.answers.gold import gold_list, gsm8k_gold
from hn_lightning.answers.guard import DEFAULT_TIMEOUT_S, Guard
from hn_lightning.answers.hendrycks import hendrycks_extract, is_equiv
from hn_lightning.answers.latex_guard import ANTLR_FIX, check_latex_parser
from hn_lightning.answers.math_equal import math_equal, parse_digits, symbolic_equal
from hn_lightning.answers.normalize_hendrycks import hendrycks_strip_string
from hn_lightning.answers.normalize_stepdpo import stepdpo_strip_string
from hn_lightning.answers.stats import CallLog, CheckStats
from hn_lightning.answers.timeouts import CheckTimeout, call_with_timeout

__all__ = [
    "AnswerChecker",
    "Verdict",
    "Mode",
    "MODES",
    "CheckStats",
    "CallLog",
    "Guard",
    "DEFAULT_TIMEOUT_S",
    "last_boxed",
    "last_boxed_only_string",
    "remove_boxed",
    "stepdpo_boxed_answers",
    "extract_math_answer",
    "extract_program_output",
    "gsm8k_gold",
    "gold_list",
    "stepdpo_strip_string",
    "hendrycks_strip_string",
    "math_equal",
    "symbolic_equal",
    "parse_digits",
    "eval_math",
    "is_correct_pair",
    "is_equiv",
    "hendrycks_extract",
    "check_latex_parser",
    "ANTLR_FIX",
    "CheckTimeout",
    "call_with_timeout",
]

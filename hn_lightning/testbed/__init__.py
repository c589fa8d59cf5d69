"""A synthetic testbed: multi-step word problems with exact GSM8K-form solutions and known traps.

Pure Python, no model. The data names ``testbed:train``, ``testbed:test`` and ``testbed:ood`` work
wherever data is taken (SFT ``train_files``, mining ``problems``, ``eval --task``), generated into the cache
on first use (:mod:`~hn_lightning.testbed.splits`); ``testbed:test`` and ``testbed:ood`` are refused as
training data like ``gsm8k:test``. Design, ground truth and measured numbers: ``docs/testbed.md``.

* :mod:`~hn_lightning.testbed.templates`: the step kinds, their phrasings and traps;
* :mod:`~hn_lightning.testbed.generator`: one problem, its GSM8K-form ``answer``, the SFT ``solution`` and the
  ground truth (every step's value, every trapped plan's first wrong line and final answer);
* :mod:`~hn_lightning.testbed.splits`: ``train``/``test``/``ood``, disjoint by construction, cached by fingerprint;
* :mod:`~hn_lightning.testbed.grading`: a completion classified as correct, structured error (which trap),
  arithmetic slip or other;
* :mod:`~hn_lightning.testbed.arith`: exact calculator arithmetic (shared with the generation-time calculator,
  :mod:`hn_lightning.evaluation.calculator`).
"""

from hn_lightning.testbed.arith import CalcError, calc_eval, calc_result, format_number
from hn_lightning.testbed.grading import classify, final_answer, summarize_errors
from hn_lightning.testbed.splits import DATA_NAMES, SPLITS, TEST_NAMES, generate_split, materialize

__all__ = [
    "CalcError",
    "DATA_NAMES",
    "SPLITS",
    "TEST_NAMES",
    "calc_eval",
    "calc_result",
    "classify",
    "final_answer",
    "format_number",
    "generate_split",
    "materialize",
    "summarize_errors",
]

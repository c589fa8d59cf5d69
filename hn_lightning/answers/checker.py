r"""The one facade everyone uses: ``AnswerChecker(mode).check(completion, gold) -> Verdict``.

Modes:

* ``"stepdpo"`` (default): Step-DPO's evaluator. All answers are extracted
  (:func:`extract_math_answer`), golds are normalised (see below), and the
  list-covering :func:`eval_math` decides, with sympy under a timeout. The first check of a process
  verifies that sympy's LaTeX parser works (:func:`ensure_latex_parser`) and raises
  ``RuntimeError`` naming the fix if it does not.
* ``"hendrycks"``: the original MATH metric: the last ``\boxed{}`` against the *last* gold with
  :func:`is_equiv` (pure string matching). A list of golds is reduced to its last element, since
  Step-DPO's gold lists hold every box of the reference solution in order and hendrycks grades
  the last one.
* ``"math_verify"``: HuggingFace math-verify; any gold may match.

``gold`` may be a GSM8K answer text (the part after ``####`` is used), a plain answer string, or a
list of answer strings (Step-DPO files). In ``stepdpo`` mode a string gold is cleaned, normalised
with :func:`stepdpo_strip_string` and split (``separated by commas`` questions, ``\text{ and }``)
exactly as Step-DPO built the golds of its files, while a list is used verbatim, as Step-DPO's
driver uses the already-normalised ``answer`` lists of its files.

A timeout, an input no parser can read, or an unexpected
error never raises: it makes that comparison "not equal", is recorded in the verdict
(``error``, ``timed_out``) and counted in :attr:`AnswerChecker.stats`. The only exception that
escapes is the broken-LaTeX-parser ``RuntimeError``, on purpose.

A checker is picklable (mode, timeout, backend and counters only), so it can be handed to
DataLoader workers; each process then keeps its own counters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from hn_lightning.answers.eval_math import eval_math
from hn_lightning.answers.extraction import clean_candidate, extract_math_answer, split_answer
from hn_lightning.answers.gold import gold_list
from hn_lightning.answers.guard import DEFAULT_TIMEOUT_S, Guard
from hn_lightning.answers.hendrycks import hendrycks_extract, hendrycks_normalise_or_raw, is_equiv
from hn_lightning.answers.latex_guard import ensure_latex_parser
from hn_lightning.answers.mathverify_mode import import_math_verify, mv_check_raw
from hn_lightning.answers.stats import CallLog, CheckStats
from hn_lightning.answers.timeouts import Backend, call_with_timeout

__all__ = ["AnswerChecker", "Verdict", "Mode", "MODES"]

Mode = Literal["stepdpo", "hendrycks", "math_verify"]
MODES: tuple[str, ...] = get_args(Mode)
_IMPORT_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check.

    ``extracted``: the answers read from the completion, normalised as the mode does (Step-DPO:
    every extracted answer; hendrycks: the last box, or nothing; math_verify: math-verify's string
    matches). ``gold``: the golds as the mode compared them. ``error``: the first problem met
    (timeout, unparsable input, exception), or ``None``. ``timed_out``: some guarded call timed out.
    """

    correct: bool
    extracted: list[str]
    gold: list[str]
    error: str | None = None
    timed_out: bool = False
    mode: str = "stepdpo"
    problems: list[str] = field(default_factory=list)


class AnswerChecker:
    """Decide whether a completion's answer matches the gold (see the module doc).

    ``timeout_s`` bounds each sympy / math-verify call (not the whole check: a check with several
    answers and golds makes several calls). ``backend`` picks how (see
    :mod:`hn_lightning.answers.timeouts`; ``"auto"`` is right almost always).
    ``Verdict.error`` is informational: a check can be correct and still report, say, a gold that
    sympy could not parse on one of its comparisons.
    """

    def __init__(
        self, mode: Mode = "stepdpo", timeout_s: float = DEFAULT_TIMEOUT_S, backend: Backend = "auto"
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown answer-checking mode {mode!r}; expected one of {', '.join(MODES)}")
        if backend not in get_args(Backend):
            raise ValueError(
                f"unknown timeout backend {backend!r}; expected one of {', '.join(get_args(Backend))}"
            )
        self.mode: Mode = mode
        self.timeout_s = float(timeout_s)
        self.backend: Backend = backend
        self.stats = CheckStats()

    def __repr__(self) -> str:
        return f"AnswerChecker(mode={self.mode!r}, timeout_s={self.timeout_s:g}, backend={self.backend!r})"

    # ---- extraction -------------------------------------------------------------------------
    def extract(self, completion: str, question: str = "") -> list[str]:
        """The answers this mode reads from ``completion``, normalised as the mode does.

        For ``math_verify`` this runs math-verify's parser under the timeout (``[]`` on failure).
        """
        if self.mode == "stepdpo":
            return extract_math_answer(question, completion)
        if self.mode == "hendrycks":
            answer = hendrycks_extract(completion)
            return [] if answer is None else [hendrycks_normalise_or_raw(answer)]
        guard = Guard(self.timeout_s, self.backend)
        call_with_timeout(import_math_verify, (), _IMPORT_TIMEOUT_S, self.backend)
        _, extracted, _ = guard.run(mv_check_raw, (completion, []), (False, [], []), "math_verify.parse")
        return extracted

    def gold_answers(self, gold: str | Sequence[str], question: str = "") -> list[str]:
        """The golds this mode compares against (normalised as the mode does)."""
        golds = gold_list(gold)
        if self.mode == "stepdpo":
            if not isinstance(gold, str):
                # A Step-DPO gold list, normalised when the file was made: used verbatim (4 MATH golds
                # such as "x\\in[-2,7]" would change if normalised again).
                return golds
            # A raw gold goes through the same cleaning and splitting that built Step-DPO's golds.
            return [part for g in golds for part in split_answer(question, clean_candidate(g))]
        if self.mode == "hendrycks":
            return [hendrycks_normalise_or_raw(golds[-1])] if golds else []
        return golds

    # ---- checking ---------------------------------------------------------------------------
    def check(self, completion: str, gold: str | Sequence[str], question: str = "") -> Verdict:
        """Score one completion against its gold(s); never raises except for a broken LaTeX parser."""
        if self.mode == "stepdpo":
            ensure_latex_parser()  # loud failure on the antlr trap, once per process
        guard = Guard(self.timeout_s, self.backend)
        try:
            if self.mode == "stepdpo":
                correct, extracted, golds = self._check_stepdpo(completion, gold, question, guard)
            elif self.mode == "hendrycks":
                correct, extracted, golds = self._check_hendrycks(completion, gold)
            else:
                correct, extracted, golds = self._check_math_verify(completion, gold, guard)
        except Exception as exc:  # a bug or a malformed gold: score wrong, count, keep going
            guard.log.note("errors", f"{type(exc).__name__}: {str(exc)[:200]}")
            correct, extracted, golds = False, [], []
        self.stats.record(correct, guard.log)
        return _verdict(self.mode, correct, extracted, golds, guard.log)

    __call__ = check

    def _check_stepdpo(
        self, completion: str, gold: str | Sequence[str], question: str, guard: Guard
    ) -> tuple[bool, list[str], list[str]]:
        golds = self.gold_answers(gold, question)
        # Step-DPO's driver: "The answer is:" with a single pmatrix gold -> "\\" becomes "\" in both.
        if "The answer is:" in completion and len(golds) == 1 and "\\begin{pmatrix}" in golds[0]:
            golds = [golds[0].replace("\\\\", "\\")]
            completion = completion.replace("\\\\", "\\")
        preds = extract_math_answer(question, completion)
        return eval_math(preds, golds, guard), preds, golds

    def _check_hendrycks(
        self, completion: str, gold: str | Sequence[str]
    ) -> tuple[bool, list[str], list[str]]:
        golds = gold_list(gold)
        gold_raw = golds[-1] if golds else None
        answer = hendrycks_extract(completion)
        correct = answer is not None and gold_raw is not None and is_equiv(answer, gold_raw)
        extracted = [] if answer is None else [hendrycks_normalise_or_raw(answer)]
        return correct, extracted, self.gold_answers(gold)

    def _check_math_verify(
        self, completion: str, gold: str | Sequence[str], guard: Guard
    ) -> tuple[bool, list[str], list[str]]:
        golds = gold_list(gold)
        call_with_timeout(import_math_verify, (), _IMPORT_TIMEOUT_S, self.backend)  # a no-op once imported
        return guard.run(mv_check_raw, (completion, golds), (False, [], golds), "math_verify")


def _verdict(mode: str, correct: bool, extracted: list[str], golds: list[str], log: CallLog) -> Verdict:
    return Verdict(
        correct=bool(correct),
        extracted=list(extracted),
        gold=list(golds),
        error=log.first_problem,
        timed_out=log.timeouts > 0,
        mode=mode,
        problems=list(log.problems),
    )

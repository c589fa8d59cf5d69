r"""The ``math_verify`` mode: HuggingFace's math-verify package (``parse`` + ``verify``).

* The completion is parsed as is (math-verify finds the answer itself: boxed, "final answer",
  last expression...). Each gold is parsed wrapped in ``$...$`` (unless it already has an unescaped ``$``
  or a ``\boxed``), so that LaTeX golds such as ``\frac{1}{2}`` are read as LaTeX. The check is
  ``verify(golds, prediction)``: true if any gold matches any parsed form of the prediction.
* Timeouts: math-verify's own timeout uses ``signal.alarm`` and raises ``ValueError`` off the main
  thread, and its ``signal.alarm(0)`` would cancel our timer. So it is called with its timeouts
  disabled (``parsing_timeout=None``, ``timeout_seconds=None``) and the whole check runs under our
  guard (:mod:`hn_lightning.answers.timeouts`), which works on any thread. The one-time "timeout is
  disabled" warning math-verify logs for this is filtered out.
* Verdicts depend on the antlr version math-verify's LaTeX parser runs on: with the project's pin
  (``antlr4-python3-runtime`` 4.11.1) ``\boxed{50\%}`` against ``50`` is judged wrong, with 4.13.2
  right (shared/docs/eval-protocol.md, section 6). The tests pin the 4.11.1 verdicts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["mv_check_raw", "wrap_gold", "import_math_verify"]


class _DropDisabledTimeoutWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timeout is disabled")


for _name in ("math_verify.parser", "math_verify.grader"):
    logging.getLogger(_name).addFilter(_DropDisabledTimeoutWarning())


_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")


def wrap_gold(gold: str) -> str:
    r"""``$gold$`` unless the gold already has an unescaped ``$`` or a ``\boxed`` (``\$6`` is wrapped)."""
    return gold if (_UNESCAPED_DOLLAR.search(gold) or "\\boxed" in gold) else f"${gold}$"


def _as_strings(parsed: Sequence[Any]) -> list[str]:
    strings = [p for p in parsed if isinstance(p, str)]
    return strings if strings else [str(p) for p in parsed[:1]]


def mv_check_raw(completion: str, golds: Sequence[str]) -> tuple[bool, list[str], list[str]]:
    """``(correct, extracted, gold_strings)`` with math-verify, untimed (the caller guards it)."""
    from math_verify import parse, verify

    gold_parsed: list[Any] = []
    for gold in golds:
        gold_parsed.extend(parse(wrap_gold(gold), parsing_timeout=None))
    pred_parsed = parse(completion, parsing_timeout=None)
    correct = (
        bool(gold_parsed)
        and bool(pred_parsed)
        and bool(verify(gold_parsed, pred_parsed, timeout_seconds=None))
    )
    return correct, _as_strings(pred_parsed), _as_strings(gold_parsed)


def import_math_verify() -> None:
    """Import math-verify where the checks will run (in the helper process for the process backend),
    so that its one-second import is not charged to the first check's timeout."""
    import math_verify  # noqa: F401

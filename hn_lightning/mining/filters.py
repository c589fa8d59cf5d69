"""Removal rules of stage 3, as small pure functions. Each returns True when the sample FAILS (is removed).

Degenerate rules (:data:`DEGENERATE_RULES`, in this order) look only at the candidate itself (text,
finish reason, the answer checker's extraction): no verifier score, so the random-uniform arm can
apply them too.

* ``empty``: the completion is blank after stripping whitespace.
* ``truncated``: ``finish_reason == "length"``: the sample hit ``max_new_tokens``; its chain and
  answer are unfinished (switch off with ``drop_truncated: false``).
* ``no_answer``: the answer checker extracts no final answer
  (:meth:`hn_lightning.answers.AnswerChecker.extract`; in the default Step-DPO mode: a boxed answer,
  "The answer is", or failing those the last number).
* ``repetition``: a loop: at least ``max_repeated_ngram_fraction`` of the word ``repetition_ngram``-grams
  repeat an earlier one (completions of at least ``repetition_min_words`` words), or a single
  character repeated ``max_char_run`` times in a row.
* ``nonsensical``: fewer than ``min_words`` words, or fewer than ``min_alnum_fraction`` of the
  non-space characters are letters/digits, or more than ``max_non_ascii_fraction`` of the characters are
  non-ASCII (random-token soup), or the text contains the Unicode replacement character.

Verifier rules:

* ``trivially_correct``: final answer correct and every dimension below ``trivially_correct_max_dim``
  (``None`` = skipped by the verifier's gate = clean, counts as below).
* ``trivially_wrong``: ``wrongness > trivially_wrong_min_wrongness`` and ``absurdity >
  trivially_wrong_min_absurdity`` (completely off-track).
"""

from __future__ import annotations

import re
from typing import Any

from hn_lightning.mining.config import FilterConfig
from hn_lightning.verifier.config import DIMENSIONS

__all__ = [
    "DEGENERATE_RULES",
    "degenerate_checks",
    "degenerate_reason",
    "longest_char_run",
    "repeated_ngram_fraction",
    "trivially_correct",
    "trivially_wrong",
]

DEGENERATE_RULES = ("empty", "truncated", "no_answer", "repetition", "nonsensical")

_WORD = re.compile(r"\S+")


def repeated_ngram_fraction(text: str, n: int) -> float:
    """Fraction of word n-grams that already occurred earlier in the text (0 for fewer than n words)."""
    words = _WORD.findall(text.lower())
    grams = [tuple(words[i: i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


def longest_char_run(text: str) -> int:
    """Length of the longest run of one repeated non-space character."""
    best, run, prev = 0, 0, None
    for ch in text:
        run = run + 1 if ch == prev and not ch.isspace() else 1
        prev = ch
        best = max(best, run)
    return best if text else 0


def _is_loop(text: str, cfg: FilterConfig) -> bool:
    if longest_char_run(text) >= cfg.max_char_run:
        return True
    if len(_WORD.findall(text)) < cfg.repetition_min_words:
        return False
    return repeated_ngram_fraction(text, cfg.repetition_ngram) >= cfg.max_repeated_ngram_fraction


def _is_nonsense(text: str, cfg: FilterConfig) -> bool:
    if len(_WORD.findall(text)) < cfg.min_words or "\ufffd" in text:
        return True
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return True
    alnum = sum(c.isalnum() for c in visible) / len(visible)
    non_ascii = sum(ord(c) > 127 for c in text) / len(text)
    return alnum < cfg.min_alnum_fraction or non_ascii > cfg.max_non_ascii_fraction


def degenerate_checks(candidate: dict[str, Any], cfg: FilterConfig) -> dict[str, bool]:
    """Every degenerate rule on one candidate (``True`` = fails). Reads ``completion``,
    ``finish_reason`` and ``answer.extracted`` only."""
    text = candidate.get("completion") or ""
    extracted = (candidate.get("answer") or {}).get("extracted") or []
    return {
        "empty": not text.strip(),
        "truncated": cfg.drop_truncated and candidate.get("finish_reason") == "length",
        "no_answer": not any(str(a).strip() for a in extracted),
        "repetition": _is_loop(text, cfg),
        "nonsensical": _is_nonsense(text, cfg),
    }


def degenerate_reason(candidate: dict[str, Any], cfg: FilterConfig) -> str | None:
    """The first degenerate rule the candidate fails, or ``None``."""
    checks = degenerate_checks(candidate, cfg)
    return next((rule for rule in DEGENERATE_RULES if checks[rule]), None)


def trivially_correct(scores: dict[str, Any], cfg: FilterConfig) -> bool:
    """Right answer and all six dimensions below the threshold (gated-off ``None`` counts as below)."""
    if not scores.get("answer_correct"):
        return False
    return all((scores.get(d) or 0.0) < cfg.trivially_correct_max_dim for d in DIMENSIONS)


def trivially_wrong(scores: dict[str, Any], cfg: FilterConfig) -> bool:
    """Off-track: wrongness and absurdity both above their thresholds."""
    return (scores.get("wrongness") or 0.0) > cfg.trivially_wrong_min_wrongness and \
        (scores.get("absurdity") or 0.0) > cfg.trivially_wrong_min_absurdity

r"""Turning the many shapes of a gold answer into a list of gold strings.

* GSM8K answer text (contains ``####``): the text after the last ``####``, stripped
  (:func:`gsm8k_gold`; Step-DPO's ``GSM8K_test_data.jsonl`` golds were made this way, thousands
  commas kept).
* A list of strings (Step-DPO's ``answer`` field): used as is, one gold per entry.
* Any other string: one gold.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["gsm8k_gold", "gold_list"]


def gsm8k_gold(answer_text: str) -> str:
    """The final answer of a GSM8K ``answer`` field: the text after ``####``, stripped.

    Raises ``ValueError`` when there is no ``####``.
    """
    if "####" not in answer_text:
        raise ValueError(f"not a GSM8K answer (no '####'): {answer_text[-80:]!r}")
    return answer_text.split("####")[-1].strip()


def gold_list(gold: str | Sequence[str]) -> list[str]:
    """The gold answers as a list of raw strings (not yet normalised), see the module doc."""
    if isinstance(gold, str):
        return [gsm8k_gold(gold)] if "####" in gold else [gold]
    golds = [str(g) for g in gold]
    return golds

r"""Step-DPO answer extraction from a model completion (``extract_math_answer``).

Mirrors ``evaluation/data_processing/answer_extraction.py`` of dvlab-research/Step-DPO
(``extract_answer(exhaust=True)`` and ``extract_math_answer``; shared/docs/eval-protocol.md,
section 2). The first rule that applies wins:

1. Minerva style: text between ``final answer is $`` and ``$. I hope``.
2. ``boxed`` anywhere in the text: *every* boxed content (see :func:`stepdpo_boxed_answers`).
   A text that says ``boxed`` without any closed ``boxed{...}`` yields no answer at all.
3. ``he answer is``: everything after its last occurrence.
4. The last fenced block opened with the literal ``output`` tag; failing that, the last number.

Every candidate is then stripped, loses a leading ``:`` and trailing ``.``/``/``, and goes
through :func:`stepdpo_strip_string`. Finally it may be split on commas (when the question says
``separated by commas`` and the answer has no brackets) or on ``\text{ and }``.
"""

from __future__ import annotations

import re

from hn_lightning.answers.boxed import stepdpo_boxed_answers
from hn_lightning.answers.normalize_stepdpo import stepdpo_strip_string

__all__ = [
    "extract_answer_candidates",
    "extract_math_answer",
    "extract_program_output",
    "last_number",
    "clean_candidate",
    "split_answer",
]

_NUMBER = re.compile(r"-?\d*\.?\d+")
_TEXT_AND = re.compile(r"\\text\{\s*and\s*\}")


def extract_program_output(text: str) -> str:
    """The stripped content of the last block opened with ```` ```output ```` (up to the next
    ```` ``` ````), or ``""`` when there is none (Step-DPO ``extract_program_output``)."""
    if "```output" not in text:
        return ""
    tail = text.split("```output")[-1]
    if "```" in tail:
        tail = tail.split("```")[0]
    return tail.strip()


def last_number(text: str) -> str:
    r"""The last match of ``-?\d*\.?\d+`` after removing every comma, or ``""``."""
    found = _NUMBER.findall(text.replace(",", ""))
    return found[-1] if found else ""


def extract_answer_candidates(completion: str) -> list[str]:
    """The raw (un-normalised) candidates of rules 1 to 4 in the module doc."""
    if "final answer is $" in completion and "$. I hope" in completion:
        tail = completion.split("final answer is $", 1)[1]
        return [tail.split("$. I hope", 1)[0].strip()]
    if "boxed" in completion:
        return stepdpo_boxed_answers(completion)
    if "he answer is" in completion:
        return [completion.split("he answer is")[-1].strip()]
    program_output = extract_program_output(completion)
    if program_output != "":
        return [program_output]
    number = last_number(completion)
    return [number] if number else []


def clean_candidate(candidate: str, first_line_only: bool = False) -> str:
    """Strip, drop a leading ``:`` and trailing ``.`` and ``/``, then :func:`stepdpo_strip_string`.

    ``first_line_only`` keeps only the first line of the stripped candidate first: the released
    Step-DPO MATH golds were made with that cut (a commented-out line in the current code).
    """
    candidate = candidate.strip()
    if first_line_only:
        candidate = candidate.split("\n")[0]
    candidate = candidate.lstrip(":").rstrip(".").rstrip("/")
    return stepdpo_strip_string(candidate)


def extract_math_answer(question: str, completion: str, first_line_only: bool = False) -> list[str]:
    r"""Every normalised answer Step-DPO reads from ``completion`` (possibly an empty list).

    ``question`` is only used for the ``separated by commas`` rule (Step-DPO passes the whole
    prompt, which contains the question). ``first_line_only=True`` reproduces how the released
    ``MATH_test_data.jsonl`` golds were built from reference solutions (see :func:`clean_candidate`).
    """
    answers: list[str] = []
    for candidate in extract_answer_candidates(completion):
        answers.extend(split_answer(question, clean_candidate(candidate, first_line_only)))
    return answers


def split_answer(question: str, answer: str) -> list[str]:
    r"""Step-DPO's final split of one normalised answer into several.

    If the question says ``separated by commas`` and the answer has none of ``()[]``, it is split on
    commas; else if it contains ``\text{ and }`` (any spaces) it is split there; each part stripped.
    """
    if "separated by commas" in question and all(ch not in answer for ch in "()[]"):
        return [part.strip() for part in answer.split(",")]
    if _TEXT_AND.search(answer):
        return [part.strip() for part in _TEXT_AND.sub("[SEP]", answer).split("[SEP]")]
    return [answer.strip()]

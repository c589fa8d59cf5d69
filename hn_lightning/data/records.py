"""Turn SFT records of the supported shapes into chat messages.

Accepted shapes (checked in this order):

* ``{"messages": [{"role": ..., "content": ...}, ...]}`` (last message must be the assistant's);
* ``{"question", "solution"}`` (the paper's format);
* ``{"question", "answer"}`` with a GSM8K answer (calculator annotations ``<<a*b=c>>`` and a final
  ``#### N``): the annotations are removed and ``#### N`` becomes ``The final answer is $\\boxed{N}$.``
  so the model learns the boxed answer format used by the evaluation (``gsm8k_style: raw`` keeps it);
* ``{"problem", "solution"}`` (MATH; solutions already end in ``\\boxed{}``).

Anything else is an error naming the file, line and the keys that were found.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from hn_lightning.io.jsonl import JsonlError

_CALC = re.compile(r"<<[^<>]*>>")
_EMPTY = " (an empty target is a bad record, for SFT and DPO alike: it trains nothing)"
_GSM_FINAL = re.compile(r"\n?####\s*(.+?)\s*$", re.DOTALL)


def gsm8k_solution(answer: str, style: Literal["boxed", "raw"] = "boxed") -> str:
    """A GSM8K ``answer`` field as a chain of thought ending in a boxed answer."""
    if style == "raw":
        return answer
    text = _CALC.sub("", answer)
    match = _GSM_FINAL.search(text)
    if not match:
        return text.strip()
    final = match.group(1).strip().replace(",", "")
    return f"{text[: match.start()].rstrip()}\nThe final answer is $\\boxed{{{final}}}$."


def rename_fields(record: dict[str, Any], fields: dict[str, str], path: str, line: int) -> dict[str, Any]:
    """``record`` with ``fields`` (``{new: old}``) renamed; a missing ``old`` is an error naming file and line."""
    if not fields:
        return record
    missing = [old for old in fields.values() if old not in record]
    if missing:
        raise JsonlError(path, line, f"missing field(s) {missing} of the field mapping {fields}; the record has {sorted(record)}")
    renamed = {k: v for k, v in record.items() if k not in fields.values()}
    renamed.update({new: record[old] for new, old in fields.items()})
    return renamed


def to_messages(
    record: dict[str, Any],
    path: str,
    line: int,
    system_prompt: str | None,
    gsm8k_style: Literal["boxed", "raw"] = "boxed",
) -> list[dict[str, str]]:
    """Chat messages for one record; raises :class:`JsonlError` (file:line) if the shape is unknown."""
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    if "messages" in record:
        messages = record["messages"]
        if not isinstance(messages, list) or not messages:
            raise JsonlError(path, line, "'messages' must be a non-empty list")
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
                raise JsonlError(path, line, f"messages[{i}] must be an object with string 'role' and 'content'")
        if messages[-1]["role"] != "assistant":
            raise JsonlError(path, line, "the last message must have role 'assistant' (it is the training target)")
        if not messages[-1]["content"].strip():
            raise JsonlError(path, line, f"messages[{len(messages) - 1}] (the assistant's, the training target) is empty"
                                         f"{_EMPTY}")
        if messages[0]["role"] != "system":
            messages = system + messages
        return messages
    key = "question" if "question" in record else "problem"
    question = record.get(key)
    if isinstance(question, str) and isinstance(record.get("solution"), str):
        for name, text in ((key, question), ("solution", record["solution"])):
            if not text.strip():
                raise JsonlError(path, line, f"'{name}' is empty" + (_EMPTY if name == "solution" else ""))
        return [*system, {"role": "user", "content": question}, {"role": "assistant", "content": record["solution"]}]
    if isinstance(question, str) and isinstance(record.get("answer"), str) and "####" in record["answer"]:
        if not question.strip():
            raise JsonlError(path, line, f"'{key}' is empty")
        solution = gsm8k_solution(record["answer"], gsm8k_style)
        return [*system, {"role": "user", "content": question}, {"role": "assistant", "content": solution}]
    raise JsonlError(
        path,
        line,
        f"unrecognised SFT record with keys {sorted(record)}; expected 'messages', 'question'+'solution', "
        "'problem'+'solution', or a GSM8K 'question'+'answer' with '####'",
    )

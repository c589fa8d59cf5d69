"""Mapping JSONL records onto :class:`~hn_lightning.verifier.records.VerifierInput`.

Field names may be dotted paths into nested objects, so the GPT-3 samples file can be read
directly: ``--prediction_field 175b_verification.solution``. A missing optional field
(``token_logprobs``, ``tokens``) is ``None``; a missing required field is an error naming it. When
the id field is absent from a record (and was not asked for explicitly) the id is ``line:<n>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hn_lightning.verifier.records import VerifierInput

__all__ = ["FieldMap", "get_path", "record_to_input"]

_MISSING = object()


@dataclass
class FieldMap:
    """Which record field feeds which :class:`VerifierInput` field (dotted paths allowed)."""

    id: str = "id"
    question: str = "question"
    reference: str = "reference"
    gold: str = "gold"
    prediction: str = "prediction"
    token_logprobs: str = "token_logprobs"
    tokens: str = "tokens"
    id_required: bool = False
    """When ``False`` a record without the id field gets ``line:<n>``."""


def get_path(record: dict[str, Any], path: str, default: Any = _MISSING) -> Any:
    """``record["a"]["b"]`` for ``path="a.b"`` (a key containing the full dotted name wins)."""
    if path in record:
        return record[path]
    node: Any = record
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            if default is _MISSING:
                raise KeyError(path)
            return default
    return node


def record_to_input(record: dict[str, Any], fields: FieldMap, lineno: int) -> VerifierInput:
    """Build and validate one input; ``ValueError`` names the missing or bad field."""
    values: dict[str, Any] = {}
    for name in ("question", "reference", "gold", "prediction"):
        path = getattr(fields, name)
        try:
            values[name] = get_path(record, path)
        except KeyError:
            raise ValueError(f"missing required field {path!r} (for {name})") from None
    rid = get_path(record, fields.id, None)
    if rid is None:
        if fields.id_required:
            raise ValueError(f"missing id field {fields.id!r}")
        rid = f"line:{lineno}"
    values["id"] = str(rid)
    values["token_logprobs"] = get_path(record, fields.token_logprobs, None)
    values["tokens"] = get_path(record, fields.tokens, None)
    inp = VerifierInput(**values)
    inp.validate()
    return inp

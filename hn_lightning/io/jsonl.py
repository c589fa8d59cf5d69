"""JSONL reading with precise errors.

Every record is yielded with its origin (file, 1-based line number). A malformed line raises
:class:`JsonlError` naming the file and line, unless the caller passes a :class:`SkipPolicy`, in which
case the line is logged, counted and skipped (never silently dropped).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from hn_lightning.errors import UserError

log = logging.getLogger(__name__)


class JsonlError(UserError, ValueError):
    """A bad JSONL record; the message names the file and the line."""

    def __init__(self, path: str | os.PathLike, line: int, reason: str):
        self.path, self.line, self.reason = str(path), line, reason
        super().__init__(f"{path}:{line}: {reason}")


@dataclass
class SkipPolicy:
    """What to do with a malformed record.

    ``on_error="raise"`` stops with a :class:`JsonlError`; ``"skip"`` logs a warning, counts the line in
    :attr:`skipped` and goes on. ``max_skips`` bounds how many lines may be skipped before it raises
    anyway (a file that is mostly garbage is a mistake, not noise).
    """

    on_error: Literal["raise", "skip"] = "raise"
    max_skips: int | None = None
    skipped: int = 0
    examples: list[str] = field(default_factory=list)

    def handle(self, error: JsonlError) -> None:
        if self.on_error == "raise":
            raise error
        self.skipped += 1
        if len(self.examples) < 5:
            self.examples.append(str(error))
        log.warning("skipping malformed record (%d so far): %s", self.skipped, error)
        if self.max_skips is not None and self.skipped > self.max_skips:
            raise JsonlError(error.path, error.line, f"more than max_skips={self.max_skips} malformed records; last: {error.reason}")


def count_lines(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> int:
    """Non-blank lines in one file or in all of ``paths`` (an upper bound on the records)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    total = 0
    for path in paths:
        with open(path, "rb") as handle:
            total += sum(1 for line in handle if line.strip())
    return total


def iter_jsonl(
    path: str | os.PathLike,
    policy: SkipPolicy | None = None,
    validate: Callable[[dict[str, Any]], str | None] | None = None,
    start_line: int = 1,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)`` for each non-blank line of a JSONL file.

    ``validate(record)`` may return an error message, which is treated like a parse error.
    ``start_line`` skips lines before it without parsing them (for resuming).
    """
    policy = policy or SkipPolicy()
    with open(path, "rb") as handle:  # bytes: a bad UTF-8 sequence is one bad line, not a crash
        for lineno, raw in enumerate(handle, start=1):
            if lineno < start_line or not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                policy.handle(JsonlError(path, lineno, f"invalid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"))
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                # some messages end in "at" ("Invalid control character at"): no "at at column"
                reason = exc.msg.removesuffix(" at")
                policy.handle(JsonlError(path, lineno, f"invalid JSON ({reason} at column {exc.colno})"))
                continue
            if not isinstance(record, dict):
                policy.handle(JsonlError(path, lineno, f"expected a JSON object, got {type(record).__name__}"))
                continue
            if validate is not None and (problem := validate(record)):
                policy.handle(JsonlError(path, lineno, problem))
                continue
            yield lineno, record


def read_jsonl(path: str | os.PathLike, policy: SkipPolicy | None = None) -> list[dict[str, Any]]:
    """All records of a JSONL file (see :func:`iter_jsonl`)."""
    return [rec for _, rec in iter_jsonl(path, policy)]

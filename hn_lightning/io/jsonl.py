"""JSONL reading with precise errors.

Every record is yielded with its origin (file, 1-based line number). A malformed line raises
:class:`JsonlError` naming the file and line, unless the caller passes a :class:`SkipPolicy`, in which
case the line is logged, counted and skipped (never silently dropped).

This is where all text of the package's inputs enters, so it is checked here once: invalid UTF-8, and
a lone UTF-16 surrogate (``"\\ud800"`` is valid JSON but no Unicode text: tokenizers and UTF-8 encoders
fail on it), are bad lines. Compressed files are recognised by their first bytes, whatever their name:
gzip, xz and bzip2 are read as they are (``zstd`` too when the ``zstandard`` package is installed).
"""

from __future__ import annotations

import bz2
import gzip
import json
import logging
import lzma
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Literal

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


_MAGIC = ((b"\x1f\x8b", "gzip"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bzip2"), (b"\x28\xb5\x2f\xfd", "zstd"))
"""First bytes of the compressed formats a ``.jsonl`` file may really be."""


def compression(path: str | os.PathLike) -> str | None:
    """``gzip``, ``xz``, ``bzip2`` or ``zstd`` when the file starts with that format's magic bytes, else None."""
    with open(path, "rb") as handle:
        head = handle.read(6)
    return next((name for magic, name in _MAGIC if head.startswith(magic)), None)


def open_jsonl(path: str | os.PathLike) -> IO[bytes]:
    """``path`` opened for reading bytes, decompressed when it is compressed (see :func:`compression`)."""
    kind = compression(path)
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "xz":
        return lzma.open(path, "rb")
    if kind == "bzip2":
        return bz2.open(path, "rb")
    if kind == "zstd":
        try:
            import zstandard
        except ImportError:
            raise UserError(f"{path}: a zstd-compressed file (whatever its name says); decompress it first "
                            f"(zstd -d {path}) or pip install zstandard to read it as it is") from None
        return zstandard.open(path, "rb")
    return open(path, "rb")


def _lines(path: str | os.PathLike) -> Iterator[bytes]:
    """The raw lines of ``path`` (decompressed); a truncated or corrupt compressed stream is a :class:`UserError`."""
    with open_jsonl(path) as handle:
        try:
            yield from handle
        except (EOFError, OSError, lzma.LZMAError) as exc:
            kind = compression(path)
            if kind is None:
                raise
            raise UserError(f"{path}: truncated or corrupt {kind} data ({exc})") from None


def count_lines(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> int:
    """Non-blank lines in one file or in all of ``paths`` (an upper bound on the records)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    total = 0
    for path in paths:
        total += sum(1 for line in _lines(path) if line.strip())
    return total


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""A ``\\uD800``-``\\uDFFF`` escape in the JSON text: the only way a surrogate gets into a decoded record."""


def lone_surrogate(value: Any, where: str = "") -> str | None:
    """Where ``value`` (a decoded JSON value) holds a string with a lone UTF-16 surrogate (``prompt``,
    ``messages[1].content``), or None. A valid pair (an escaped emoji) was combined by the decoder."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where or "the record"
        return None
    if isinstance(value, dict):
        items = ((f"{where}.{k}" if where else str(k), v) for k, v in value.items())
        return next((w for k, v in items if (w := lone_surrogate(v, k))), None)
    if isinstance(value, list):
        return next((w for i, v in enumerate(value) if (w := lone_surrogate(v, f"{where}[{i}]"))), None)
    return None


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
    # bytes: a bad UTF-8 sequence is one bad line, not a crash
    for lineno, raw in enumerate(_lines(path), start=1):
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
        if _SURROGATE_ESCAPE.search(line) and (where := lone_surrogate(record)):
            policy.handle(JsonlError(path, lineno, f"field {where} holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff "
                                                   f"escape): not Unicode text"))
            continue
        if validate is not None and (problem := validate(record)):
            policy.handle(JsonlError(path, lineno, problem))
            continue
        yield lineno, record


def read_jsonl(path: str | os.PathLike, policy: SkipPolicy | None = None) -> list[dict[str, Any]]:
    """All records of a JSONL file (see :func:`iter_jsonl`)."""
    return [rec for _, rec in iter_jsonl(path, policy)]

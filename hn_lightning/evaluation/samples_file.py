"""The per-sample JSONL of an evaluation: appended one finished item at a time, resumable.

* Each record is written as one line and flushed + fsynced at once, so an interrupted run keeps
  every item it finished.
* On (re)open, an unterminated last line (a write torn by a crash or kill) is cut off; every other
  line must parse, or a :class:`~hn_lightning.io.JsonlError` names the file and line.
* Records are keyed by ``id``; a repeated id keeps its first record (a line is never counted twice).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from hn_lightning.io import JsonlError, iter_jsonl

log = logging.getLogger(__name__)

__all__ = ["SampleLog", "repair_torn_tail"]


def repair_torn_tail(path: Path) -> int:
    """Cut an unterminated last line off ``path``; returns the number of bytes removed."""
    if not path.is_file():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "rb+") as handle:
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return 0
        # walk back to the previous newline in blocks
        end = size
        keep = 0
        while end > 0:
            start = max(0, end - 65536)
            handle.seek(start)
            block = handle.read(end - start)
            idx = block.rfind(b"\n")
            if idx >= 0:
                keep = start + idx + 1
                break
            end = start
        handle.truncate(keep)
    removed = size - keep
    log.warning("%s: dropped a torn last line (%d bytes) left by an interrupted run", path, removed)
    return removed


class SampleLog:
    """Append-only per-sample records at ``path`` (see the module doc)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.records: dict[str, dict[str, Any]] = {}
        self.duplicates = 0
        self._handle = None

    def load(self) -> dict[str, dict[str, Any]]:
        """Repair a torn tail, then read every record (id -> record)."""
        self.records = {}
        self.duplicates = 0
        if not self.path.is_file():
            return self.records
        repair_torn_tail(self.path)
        for lineno, record in iter_jsonl(self.path):
            if "id" not in record:
                raise JsonlError(self.path, lineno, "sample record without an 'id'")
            key = str(record["id"])
            if key in self.records:
                self.duplicates += 1
                continue
            self.records[key] = record
        return self.records

    def append(self, record: dict[str, Any]) -> None:
        """Write one record durably (one line, flushed and fsynced). A known id is not written again."""
        key = str(record["id"])
        if key in self.records:
            return
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8")
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.records[key] = record

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> SampleLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

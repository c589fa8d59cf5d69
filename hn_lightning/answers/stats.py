"""Counters: per check (:class:`CallLog`) and cumulative per checker (:class:`CheckStats`)."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["CallLog", "CheckStats"]


@dataclass
class CallLog:
    """What went wrong during one check: guarded calls that timed out, inputs no parser could read,
    and unexpected exceptions. Each of those scored its comparison as "not equal"."""

    calls: int = 0
    timeouts: int = 0
    parse_errors: int = 0
    errors: int = 0
    problems: list[str] = field(default_factory=list)

    def note(self, kind: str, message: str) -> None:
        """Count one problem of ``kind`` (``timeouts``, ``parse_errors`` or ``errors``)."""
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.problems) < 8:
            self.problems.append(message)

    @property
    def first_problem(self) -> str | None:
        return self.problems[0] if self.problems else None


@dataclass
class CheckStats:
    """Cumulative counts of a checker: ``checks`` done, how many ``correct``, how many checks had at
    least one timeout / parse error / unexpected error, and the totals of guarded ``calls``,
    ``timeouts``, ``parse_errors`` and ``errors`` across them. Thread-safe, picklable."""

    checks: int = 0
    correct: int = 0
    checks_with_timeout: int = 0
    checks_with_parse_error: int = 0
    checks_with_error: int = 0
    calls: int = 0
    timeouts: int = 0
    parse_errors: int = 0
    errors: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def record(self, correct: bool, log: CallLog) -> None:
        """Add one finished check."""
        with self._lock:
            self.checks += 1
            self.correct += int(correct)
            self.checks_with_timeout += int(log.timeouts > 0)
            self.checks_with_parse_error += int(log.parse_errors > 0)
            self.checks_with_error += int(log.errors > 0)
            self.calls += log.calls
            self.timeouts += log.timeouts
            self.parse_errors += log.parse_errors
            self.errors += log.errors

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def reset(self) -> None:
        with self._lock:
            for f in fields(self):
                setattr(self, f.name, 0)

    def __getstate__(self) -> dict[str, Any]:
        return asdict(self)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

"""The per-check guard: runs each sympy / math-verify call under the timeout and logs failures.

A :class:`Guard` is cheap and made once per check. It never raises for a timeout or an error of
the guarded call: it returns the caller's ``default`` (a "not equal" verdict) and counts the event
in its :class:`~hn_lightning.answers.stats.CallLog`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hn_lightning.answers.stats import CallLog
from hn_lightning.answers.timeouts import Backend, CheckTimeout, call_with_timeout

__all__ = ["Guard", "DEFAULT_TIMEOUT_S"]

DEFAULT_TIMEOUT_S = 5.0
T = TypeVar("T")


@dataclass
class Guard:
    """Timeout settings plus the log of one check."""

    timeout_s: float | None = DEFAULT_TIMEOUT_S
    backend: Backend = "auto"
    log: CallLog = field(default_factory=CallLog)

    def run(self, fn: Callable[..., T], args: tuple[Any, ...], default: T, what: str) -> T:
        """``fn(*args)`` under the timeout; ``default`` (and a logged event) on timeout or error."""
        self.log.calls += 1
        try:
            return call_with_timeout(fn, args, self.timeout_s, self.backend)
        except CheckTimeout:
            self.log.note("timeouts", f"timeout after {self.timeout_s:g} s in {what}")
        except Exception as exc:
            self.log.note("errors", f"{type(exc).__name__} in {what}: {str(exc)[:200]}")
        return default

"""Running a possibly-hanging call (sympy, math-verify) under a wall-clock timeout.

Backends (``backend=``):

* ``"signal"``: a ``SIGALRM`` timer (``setitimer``) whose handler raises :class:`CheckTimeout`.
  Cheap (microseconds). Only possible on the main thread of the main interpreter on POSIX.
  DataLoader worker processes run their loop on their own main thread, so they use this too.
* ``"process"``: the call is sent to a persistent helper interpreter (one per thread, see
  :mod:`hn_lightning.answers.worker_process`) which is killed and restarted on a timeout. Works on
  any thread and inside daemonic processes (it uses ``subprocess``, not ``multiprocessing``); the
  first call of a thread pays about a second of start-up (importing sympy there).
* ``"auto"`` (default): ``"signal"`` where possible, else ``"process"``.
* ``"none"``: no timeout at all (debugging only; a hang then hangs).

:class:`CheckTimeout` derives from ``BaseException`` so that the ``except Exception`` clauses in
sympy, math-verify and the Step-DPO logic cannot swallow it. If a library still swallows it, the
timer fires again every ``_REFIRE_S`` seconds until the call returns.

Caveat of the signal backend: a Python signal handler only runs between bytecodes, so a single
long C-level operation (for instance a huge integer power inside CPython) is interrupted only when
it returns. Use ``backend="process"`` if that matters more than speed.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from hn_lightning.answers.check_timeout import CheckTimeout

__all__ = ["CheckTimeout", "Backend", "call_with_timeout", "signal_backend_available", "resolve_backend"]

Backend = Literal["auto", "signal", "process", "none"]
T = TypeVar("T")

_REFIRE_S = 0.25


class _AlarmState:
    """The currently armed deadline on this process's main thread (``None`` when disarmed)."""

    token: object | None = None


def signal_backend_available() -> bool:
    """True on the main thread of the main interpreter of a POSIX process."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def resolve_backend(backend: Backend) -> Literal["signal", "process", "none"]:
    """The backend a call on the current thread will really use."""
    if backend == "none":
        return "none"
    if backend in ("auto", "signal") and signal_backend_available():
        return "signal"
    return "process"


def _on_alarm(signum: int, frame: Any) -> None:
    if _AlarmState.token is None:
        return  # a late signal after disarming: ignore it
    signal.setitimer(signal.ITIMER_REAL, _REFIRE_S)  # fire again if the raise below gets swallowed
    raise CheckTimeout("timed out")


def _arm_sigalrm(seconds: float) -> Callable[[], None]:
    """Arm a ``SIGALRM`` deadline that raises :class:`CheckTimeout`; return the function that disarms it.

    Raises ``ValueError`` off the main thread / main interpreter (from ``signal.signal``).
    An outer ``ITIMER_REAL`` timer (someone else's alarm) is honoured: when it is due sooner it
    bounds this one, and it is re-armed with its remaining time when disarming.
    """
    previous_handler = signal.signal(signal.SIGALRM, _on_alarm)
    previous_token = _AlarmState.token  # an enclosing deadline of ours, if any
    _AlarmState.token = object()
    started = time.monotonic()
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    if 0 < previous_delay < seconds:
        signal.setitimer(signal.ITIMER_REAL, previous_delay)

    def disarm() -> None:
        # Retry if a (re-)fired alarm interrupts the disarming itself.
        while True:
            try:
                _AlarmState.token = previous_token
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous_handler)
                if previous_delay > 0:
                    left = max(previous_delay - (time.monotonic() - started), 1e-6)
                    signal.setitimer(signal.ITIMER_REAL, left, previous_interval)
                return
            except CheckTimeout:
                continue

    return disarm


def call_with_timeout(
    fn: Callable[..., T], args: tuple[Any, ...], timeout_s: float | None, backend: Backend = "auto"
) -> T:
    """``fn(*args)``, raising :class:`CheckTimeout` if it takes longer than ``timeout_s`` seconds.

    Exceptions raised by ``fn`` propagate (with the process backend they arrive as
    :class:`~hn_lightning.answers.worker_process.WorkerError`). ``fn`` and ``args`` must be
    picklable (a module-level function and plain values) for the process backend.
    ``timeout_s`` of ``None`` or ``<= 0`` means no timeout.
    """
    if timeout_s is None or timeout_s <= 0:
        return fn(*args)
    chosen = resolve_backend(backend)
    if chosen == "none":
        return fn(*args)
    if chosen == "signal":
        try:
            disarm = _arm_sigalrm(timeout_s)
        except ValueError:  # not the main interpreter after all
            chosen = "process"
        else:
            try:
                return fn(*args)
            finally:
                disarm()
    from hn_lightning.answers.worker_process import thread_worker

    return thread_worker().call(fn, args, timeout_s)

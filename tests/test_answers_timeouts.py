"""Timeouts and failures are counted, never raised, on the main thread, other threads and workers."""

from __future__ import annotations

import multiprocessing as mp
import signal
import threading
import time

import pytest

from hn_lightning.answers import AnswerChecker, CheckTimeout, Guard, call_with_timeout, math_equal
from hn_lightning.answers.symbolic import safe_parse_expr, symbolic_equal_raw
from hn_lightning.answers.timeouts import resolve_backend

# simplify(10**(10**10) - 5) tries to evaluate the power: it runs (practically) forever.
PATHOLOGICAL = r"\boxed{10^{10^{10}}}"


def _run_in_thread(fn):
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # surfaced to the test below
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "check hung in a thread"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]


def test_pathological_expression_times_out_and_is_counted_on_main_thread() -> None:
    assert resolve_backend("auto") == "signal"
    checker = AnswerChecker("stepdpo", timeout_s=0.3)
    checker.check(r"\boxed{1}", "1")  # the one-time LaTeX-parser check, outside the timing
    start = time.monotonic()
    verdict = checker.check(PATHOLOGICAL, "5")
    assert time.monotonic() - start < 5
    assert not verdict.correct and verdict.timed_out
    assert verdict.error is not None and "timeout" in verdict.error
    assert checker.stats.timeouts == 1 and checker.stats.checks_with_timeout == 1
    # the checker still works afterwards, and no alarm is left armed
    assert checker.check(r"\boxed{\frac12}", "0.5").correct
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_outer_alarm_is_preserved() -> None:
    fired: list[int] = []
    old = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        assert call_with_timeout(sum, ([1, 2],), 5.0) == 3
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25.0 < left <= 30.0
        assert signal.getsignal(signal.SIGALRM) is not None and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_signal_backend_raises_checktimeout_directly() -> None:
    with pytest.raises(CheckTimeout):
        call_with_timeout(time.sleep, (5,), 0.1, backend="signal")


def test_guard_counts_errors_and_returns_default() -> None:
    guard = Guard(timeout_s=1.0)

    def boom() -> bool:
        raise ZeroDivisionError("x")

    assert guard.run(boom, (), False, "boom") is False
    assert guard.log.errors == 1 and "ZeroDivisionError" in guard.log.problems[0]


def test_unparsable_inputs_count_as_parse_errors() -> None:
    guard = Guard()
    assert not math_equal("a@@b", "x", guard)
    assert guard.log.parse_errors == 1


def test_parse_expr_cannot_run_code() -> None:
    equal, parse_failed = symbolic_equal_raw("__import__('os').getcwd()", "1")
    assert not equal and parse_failed
    with pytest.raises(ValueError):
        safe_parse_expr("open('x')")
    # names of dangerous builtins become plain sympy functions, not Python calls
    assert str(safe_parse_expr("open(1)")) == "open(1)"


def test_non_main_thread_uses_process_backend_and_counts_timeouts() -> None:
    checker = AnswerChecker("stepdpo", timeout_s=1.0)

    def work():
        assert resolve_backend("auto") == "process"
        ok = checker.check(r"\boxed{x^2+2x}", "2x+x^2")  # needs sympy: goes through the helper
        slow = checker.check(PATHOLOGICAL, "5")
        again = checker.check(r"\boxed{\sqrt{8}}", r"2\sqrt{2}")  # helper restarted after the kill
        return ok, slow, again

    ok, slow, again = _run_in_thread(work)
    assert ok.correct and again.correct
    assert not slow.correct and slow.timed_out
    assert checker.stats.timeouts == 1


def test_process_backend_explicitly() -> None:
    with pytest.raises(CheckTimeout):
        call_with_timeout(time.sleep, (10,), 0.5, backend="process")
    assert call_with_timeout(sum, ([2, 3],), 30.0, backend="process") == 5


def test_math_verify_works_off_the_main_thread() -> None:
    # math-verify's own signal-based timeout raises ValueError off the main thread; ours does not.
    checker = AnswerChecker("math_verify", timeout_s=30.0)
    verdict = _run_in_thread(lambda: checker.check(r"so $\boxed{\frac{1}{2}}$", "0.5"))
    assert verdict.correct and verdict.error is None


def _daemon_worker(queue) -> None:  # pragma: no cover - runs in a child process
    checker = AnswerChecker("stepdpo", timeout_s=0.5)
    main_thread = checker.check(PATHOLOGICAL, "5")
    results: dict[str, object] = {}

    def in_thread() -> None:
        results["v"] = checker.check(r"\boxed{x^2+2x}", "2x+x^2")

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(60)
    verdict = results.get("v")
    queue.put((main_thread.timed_out, getattr(verdict, "correct", None), checker.stats.timeouts))


def test_inside_a_daemonic_worker_process_like_a_dataloader_worker() -> None:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_daemon_worker, args=(queue,), daemon=True)
    proc.start()
    try:
        timed_out, thread_correct, timeouts = queue.get(timeout=90)
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    assert timed_out and thread_correct and timeouts == 1

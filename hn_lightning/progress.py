"""One rich progress bar for every long job (verify, mine, eval): description, bar, done/total, an
optional per-task field, elapsed time and ETA; and plain progress lines where rich draws nothing.

Off a terminal (output to a file: CI, ``nohup``, a scheduler's log) rich hides its live bars and prints
only the last frame, so a long stage was silent between its start and end lines. There each task
prints a plain line instead (:class:`PlainReporter`), ``<label>: 120/1000 (12%), 3.4/s, ETA 4m20s``, at a
steady pace: when at least 30 s **and** 10 % of the total have passed since the last line (the rarer of
the two, so a short job prints nothing extra and a long one a dozen lines). ``HN_LIGHTNING_PROGRESS_EVERY=
"<seconds>[,<fraction>]"`` changes the pace (``0,0``: every update).
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["PACE_ENV", "PlainReporter", "off_terminal", "progress_bar"]

PACE_ENV = "HN_LIGHTNING_PROGRESS_EVERY"
"""Environment variable: ``<seconds>[,<fraction>]`` between plain progress lines (default ``30,0.1``)."""


def _pace() -> tuple[float, float]:
    raw = os.environ.get(PACE_ENV, "").strip()
    if not raw:
        return 30.0, 0.1
    try:
        parts = [float(x) for x in raw.split(",")]
        return parts[0], parts[1] if len(parts) > 1 else 0.1
    except ValueError:
        return 30.0, 0.1


def off_terminal(console: Console | None = None) -> bool:
    """True when rich would draw no live bar on ``console`` (stderr by default): output to a file or a pipe."""
    console = console or Console(stderr=True)
    return not (console.is_terminal or console.is_jupyter)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class PlainReporter:
    """Plain progress lines for one task: ``<label>: done/total (pct), rate/s, ETA, <fields>``.

    The rate counts only what this process did (a resumed task starts from its resumed count), so the
    ETA is not flattered by work done before a restart."""

    def __init__(self, label: str, total: float | None = None, done: float = 0, unit: str = "",
                 stream: IO[str] | None = None, pace: tuple[float, float] | None = None):
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream
        self.every_s, self.every_fraction = pace or _pace()
        self.start_time = self.last_time = time.monotonic()
        self.start_done = self.last_done = done

    def update(self, done: float, total: float | None = None, fields: dict[str, Any] | None = None) -> str | None:
        """Record progress; print and return a line when one is due, else None."""
        if total is not None:
            self.total = total
        now = time.monotonic()
        if now - self.last_time < self.every_s:
            return None
        if self.total and (done - self.last_done) < self.every_fraction * self.total and done < self.total:
            return None
        if not self.total and done == self.last_done and self.every_s > 0:
            return None  # no total and nothing new
        self.last_time, self.last_done = now, done
        line = self.line(done, now, fields)
        stream = self.stream or sys.stderr
        stream.write(line + "\n")
        stream.flush()
        return line

    def line(self, done: float, now: float | None = None, fields: dict[str, Any] | None = None) -> str:
        now = time.monotonic() if now is None else now
        elapsed = now - self.start_time
        rate = (done - self.start_done) / elapsed if elapsed > 0 else 0.0
        unit = f" {self.unit}" if self.unit else ""
        text = f"{self.label}: {done:g}"
        if self.total:
            text += f"/{self.total:g}{unit} ({100 * done / self.total:.0f}%)"
        else:
            text += unit
        text += f", {rate:.3g}{unit}/s" if rate < 1 else f", {rate:.1f}{unit}/s"
        if self.total and rate > 0:
            text += f", ETA {_duration(max(0.0, self.total - done) / rate)}"
        text += f", elapsed {_duration(elapsed)}"
        extra = ", ".join(f"{k} {v}" for k, v in (fields or {}).items() if v not in (None, "", "-"))
        return f"{text}, {extra}" if extra else text


class _PlainLinesProgress(Progress):
    """A rich ``Progress`` that also prints :class:`PlainReporter` lines (used off a terminal only)."""

    def __init__(self, *columns, plain_fields: tuple[str, ...] = (), **kwargs):
        super().__init__(*columns, **kwargs)
        self._plain: dict[TaskID, PlainReporter] = {}
        self._plain_fields = plain_fields

    def add_task(self, description: str, start: bool = True, total: float | None = 100.0, completed: int = 0,
                 visible: bool = True, **fields: Any) -> TaskID:
        task_id = super().add_task(description, start, total, completed, visible, **fields)
        self._plain[task_id] = PlainReporter(description, total, completed, str(fields.get("unit", "")), stream=self.console.file)
        return task_id

    def update(self, task_id: TaskID, **kwargs: Any) -> None:
        super().update(task_id, **kwargs)
        self._report(task_id)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._report(task_id)

    def _report(self, task_id: TaskID) -> None:
        reporter = self._plain.get(task_id)
        if reporter is None:
            return
        task = self._tasks[task_id]
        fields = {k: task.fields.get(k) for k in self._plain_fields}
        reporter.update(task.completed, task.total, fields)


def progress_bar(console: Console | None = None, enabled: bool = True, extra: str | None = None,
                 plain_fields: tuple[str, ...] = ()) -> Progress:
    """A ``rich.progress.Progress`` with ETA; off a terminal it also prints plain progress lines.

    Args:
        console: where to draw (default: rich's console on stdout).
        enabled: ``False`` gives a disabled bar (same API, draws nothing, prints no line).
        extra: a format string over the task's fields shown after the count, e.g.
            ``"acc {task.fields[acc]}"`` (then ``add_task(..., acc="-")``).
        plain_fields: task fields repeated in the plain lines (e.g. ``("acc",)``).

    ``with progress_bar() as p: t = p.add_task("score", total=n); p.advance(t, k)``.
    """
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn()]
    if extra:
        columns.append(TextColumn(extra))
    columns += [TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    if enabled and off_terminal(console or Console()):
        return _PlainLinesProgress(*columns, console=console, transient=False, plain_fields=plain_fields)
    return Progress(*columns, console=console, disable=not enabled, transient=False)

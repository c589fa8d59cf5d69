"""One rich progress bar for every long job (verify, mine, eval): description, bar, done/total, an
optional per-task field, elapsed time and ETA."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["progress_bar"]


def progress_bar(console: Console | None = None, enabled: bool = True, extra: str | None = None) -> Progress:
    """A ``rich.progress.Progress`` with ETA.

    Args:
        console: where to draw (default: rich's console on stdout).
        enabled: ``False`` gives a disabled bar (same API, draws nothing).
        extra: a format string over the task's fields shown after the count, e.g.
            ``"acc {task.fields[acc]}"`` (then ``add_task(..., acc="-")``).

    ``with progress_bar() as p: t = p.add_task("score", total=n); p.advance(t, k)``.
    """
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn()]
    if extra:
        columns.append(TextColumn(extra))
    columns += [TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    return Progress(*columns, console=console, disable=not enabled, transient=False)

"""A rich progress bar with ETA for every stage (on stderr, so stdout stays clean)."""

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

__all__ = ["stage_progress", "console"]

console = Console(stderr=True)
"""The console every stage prints to."""


def stage_progress(enabled: bool = True) -> Progress:
    """``with stage_progress() as p: task = p.add_task("score", total=n); p.advance(task, k)``."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )

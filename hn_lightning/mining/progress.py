"""A rich progress bar with ETA for every stage (on stderr, so stdout stays clean)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import Progress

from hn_lightning.progress import progress_bar

__all__ = ["stage_progress", "console"]

console = Console(stderr=True)
"""The console every stage prints to."""


def stage_progress(enabled: bool = True) -> Progress:
    """``with stage_progress() as p: task = p.add_task("score", total=n, unit="samples"); p.advance(task, k)``."""
    return progress_bar(console=console, enabled=enabled, extra="{task.fields[unit]}")

"""User-facing errors: one clear line on stderr and exit code 2, for every command.

Bad input (a malformed line, a missing file, a truncated model file, data that cannot form one
optimizer step, an output written with other settings) raises a :class:`UserError` (or a subclass).
The entry point (:func:`hn_lightning.cli.main`) prints ``error: <message>`` as one unwrapped line and
exits with code 2. ``--debug`` on the command line, or ``HN_LIGHTNING_DEBUG=1`` in the environment,
shows the full traceback instead.

Imports nothing from the package (everything may raise it).
"""

from __future__ import annotations

import os
import sys

__all__ = ["UserError", "EXIT_USER_ERROR", "debug_enabled", "print_error", "one_line"]

EXIT_USER_ERROR = 2
"""Exit code of a run stopped by bad input or settings (argparse and jsonargparse use 2 as well)."""

DEBUG_ENV = "HN_LIGHTNING_DEBUG"
"""Environment variable that turns on full tracebacks (``1``); ``--debug`` sets it."""


class UserError(Exception):
    """An error caused by the user's input or settings; its message says what and where (file:line)."""


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def one_line(message: object) -> str:
    """``message`` as one line (newlines folded), so logs and ``grep`` keep it whole."""
    return " ".join(str(message).split("\n")).strip()


def print_error(message: object, prefix: str = "error: ") -> None:
    """Write one unwrapped line to stderr (never through a width-limited console)."""
    sys.stderr.write(f"{prefix}{one_line(message)}\n")
    sys.stderr.flush()

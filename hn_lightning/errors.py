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
import re
import sys

__all__ = ["UserError", "EXIT_USER_ERROR", "debug_enabled", "from_worker", "print_error", "one_line"]

EXIT_USER_ERROR = 2
"""Exit code of a run stopped by bad input or settings (argparse and jsonargparse use 2 as well)."""

DEBUG_ENV = "HN_LIGHTNING_DEBUG"
"""Environment variable that turns on full tracebacks (``1``); ``--debug`` sets it."""


class UserError(Exception):
    """An error caused by the user's input or settings; its message says what and where (file:line)."""


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def from_worker(text: str) -> str:
    """The message of an error raised in a DataLoader worker process. torch re-raises it in the main
    process as the same class with ``"Caught X in DataLoader worker process N.\nOriginal Traceback ...\nX:
    message"``: keep the original message and say which worker it came from."""
    head, sep, rest = text.partition("\nOriginal Traceback (most recent call last):")
    if not sep or not head.startswith("Caught "):
        return text
    kind = head.removeprefix("Caught ").split(" ", 1)[0]
    # the original "module.Class: message" is the last unindented line naming the class, then its lines
    found = list(re.finditer(rf"^(?:[\w.]+\.)?{re.escape(kind)}: ", rest, flags=re.MULTILINE))
    if not found:
        return text
    original = rest[found[-1].end():].rstrip()
    where = head.removeprefix("Caught ").split(" in ", 1)
    return f"{original} (in {where[1].rstrip('.')})" if len(where) == 2 else original


def one_line(message: object) -> str:
    """``message`` as one line (newlines folded), so logs and ``grep`` keep it whole; an error re-raised
    from a DataLoader worker shows its original message (:func:`from_worker`), not the worker's traceback."""
    return " ".join(from_worker(str(message)).split("\n")).strip()


def print_error(message: object, prefix: str = "error: ") -> None:
    """Write one unwrapped line to stderr (never through a width-limited console)."""
    sys.stderr.write(f"{prefix}{one_line(message)}\n")
    sys.stderr.flush()

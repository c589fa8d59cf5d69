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

__all__ = ["UserError", "SettingError", "EXIT_USER_ERROR", "check_range", "check_setting", "debug_enabled", "from_worker",
           "worker_error_class", "print_error", "one_line"]

EXIT_USER_ERROR = 2
"""Exit code of a run stopped by bad input or settings (argparse and jsonargparse use 2 as well)."""

DEBUG_ENV = "HN_LIGHTNING_DEBUG"
"""Environment variable that turns on full tracebacks (``1``); ``--debug`` sets it."""


class UserError(Exception):
    """An error caused by the user's input or settings; its message says what and where (file:line)."""


class SettingError(UserError, ValueError):
    """A setting outside its documented range: the message names the key, the value and the allowed range."""


def check_setting(key: str, value: object, ok: bool, allowed: str, why: str = "") -> None:
    """:class:`SettingError` ``<key> = <value> is out of range: allowed <allowed> (<why>)`` unless ``ok``."""
    if not ok:
        raise SettingError(f"{key} = {value!r} is out of range: allowed {allowed}" + (f" ({why})" if why else ""))


def check_range(key: str, value: object, low: float | None = None, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False, optional: bool = False, why: str = "") -> None:
    """Check a number against ``[low, high]`` (``low_open``/``high_open``: strict bounds; ``None``: unbounded
    on that side; ``optional``: ``None`` is allowed). NaN and non-numbers are out of every range."""
    if value is None and optional:
        return
    if low is not None and high is not None:
        allowed = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    elif low is not None:
        allowed = f"{'>' if low_open else '>='} {low}"
    else:
        allowed = f"{'<' if high_open else '<='} {high}"
    if optional and not key.startswith("-"):  # a flag left out is the unset case; a config key says null
        allowed += " or null"
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = number and value == value  # NaN compares unequal to itself
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    check_setting(key, value, ok, allowed, why)


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


_WORKER = re.compile(r"Caught (\w+) (in DataLoader worker process \d+)")
"""How torch's ``ExceptionWrapper.reraise`` opens the message of an error raised in a worker."""


def worker_error_class(text: str) -> str | None:
    """The class name of the error a DataLoader worker raised, when ``text`` is torch's re-raised
    message (``Caught JsonlError in DataLoader worker process 0. ...``), else ``None``."""
    found = _WORKER.match(text)
    return found.group(1) if found else None


def from_worker(text: str) -> str:
    """The message of an error raised in a DataLoader worker process. torch re-raises it in the main
    process as the same class with ``"Caught X in DataLoader worker process N.\nOriginal Traceback ...\nX:
    message"``: keep the original message and say which worker it came from."""
    head, sep, rest = text.partition("\nOriginal Traceback (most recent call last):")
    worker = _WORKER.match(head)
    if not sep or not worker:
        return text
    kind = worker.group(1)
    # the original "module.Class: message" is the last unindented line naming the class, then its lines
    found = list(re.finditer(rf"^(?:[\w.]+\.)?{re.escape(kind)}: ", rest, flags=re.MULTILINE))
    if not found:
        return text
    return f"{rest[found[-1].end():].rstrip()} ({worker.group(2)})"


def one_line(message: object) -> str:
    """``message`` as one line (newlines folded), so logs and ``grep`` keep it whole; an error re-raised
    from a DataLoader worker shows its original message (:func:`from_worker`), not the worker's traceback."""
    return " ".join(from_worker(str(message)).split("\n")).strip()


def print_error(message: object, prefix: str = "error: ") -> None:
    """Write one unwrapped line to stderr (never through a width-limited console)."""
    sys.stderr.write(f"{prefix}{one_line(message)}\n")
    sys.stderr.flush()

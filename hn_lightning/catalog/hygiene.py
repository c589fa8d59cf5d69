"""Test-set hygiene: benchmark test data is refused as training input unless the user forces it.

A file is test data when its name has a ``test`` word, when one of its two enclosing folders is named
``test``, ``stepdpo``, ``sampled_solutions`` or ``processbench``, or when it was resolved from a shipped test
dataset name (``gsm8k:test``, ``math:test``, ``math500``) or a Hub / ``datasets`` split named ``test``
(:func:`~hn_lightning.catalog.resolve.origin`). Judged on the path as given and on its real path.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from hn_lightning.catalog.resolve import is_test_name, origin

__all__ = ["TestDataRefused", "looks_like_test_file", "refuse_test_files", "why_test_data"]

# Files built on test problems (shared/data/README.md, "Test-set hygiene"). They may be used for
# evaluation and pipeline tests, never as training input unless the user forces it.
_TEST_NAME = re.compile(r"(^|[_\-.])test([_\-.]|$)", re.IGNORECASE)
_TEST_FOLDERS = {"test", "stepdpo", "sampled_solutions", "processbench"}


_TEST_FOLDER_DEPTH = 2
"""How many enclosing folders name a split (``gsm8k/test/x.jsonl``, ``test/gsm8k/x.jsonl``); folders further
up are the user's workspace (a checkout under ``~/test/``) and say nothing about the data."""


def _test_reason(p: Path) -> str | None:
    if _TEST_NAME.search(p.name):
        return f"{p.name!r} has a 'test' word in its name"
    for parent in list(p.parents)[:_TEST_FOLDER_DEPTH]:
        if parent.name.lower() in _TEST_FOLDERS:
            return f"it lies in a folder named {parent.name!r}"
    return None


def why_test_data(path: str | os.PathLike) -> str | None:
    """Why a data file is benchmark test data, or ``None``. Judged on the path as given, on its real path
    (symlinks resolved), and on the name it was resolved from (``gsm8k:test``, ``math500``, ``hf:...:test``,
    a ``datasets`` folder): a ``test`` word in the file name (``test.jsonl``, ``GSM8K_test_data.jsonl``,
    ``math500_test.jsonl``), or a folder named ``test``, ``stepdpo``, ``sampled_solutions`` or ``processbench``
    among its two enclosing folders."""
    p = Path(path).expanduser()
    source = origin(p)
    if source is not None:
        if is_test_name(source):
            return f"it is the shipped test dataset {source!r}"
        reason = _test_reason(Path(source.rsplit(":", 1)[-1] if source.startswith("hf:") else source))
        if reason:
            return f"{source!r}: {reason}"
    reason = _test_reason(p.absolute())
    if reason is None and p.exists() and p.resolve() != p.absolute():
        reason = _test_reason(p.resolve())
        reason = reason and f"it is a link to {p.resolve()}: {reason}"
    return reason


def looks_like_test_file(path: str | os.PathLike) -> bool:
    """True if a data file is benchmark test data (:func:`why_test_data`)."""
    return why_test_data(path) is not None


class TestDataRefused(ValueError):
    """Raised when a test-set file is given as training data without ``allow_test_data=True``."""

    __test__ = False  # not a pytest class


def refuse_test_files(paths: list[Path], allow: bool, what: str = "training") -> None:
    """Raise :class:`TestDataRefused` if any path looks like a test file and ``allow`` is False."""
    if allow:
        return
    bad = [f"{p} ({reason})" for p in paths if (reason := why_test_data(p))]
    if bad:
        raise TestDataRefused(
            f"refusing to use test-set file(s) as {what} data: {', '.join(bad)}. Benchmarks built on test "
            "problems must only be used for evaluation (shared/data/README.md). If you really mean it, set "
            "allow_test_data: true."
        )

"""Where things live on disk: the shared data folder, the cache, test-set hygiene.

* ``HN_SHARED_DATA`` points at a folder laid out like ``../shared/data`` (gsm8k/, math/, stepdpo/...).
  By default it is ``<repository>/../shared/data``, which is where tests and CI find it.
* ``HN_LIGHTNING_CACHE`` is the cache root (converted models, embedding and NLI caches, reference
  log-prob caches). Default: ``~/.cache/hn_lightning``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """The shared data folder (``$HN_SHARED_DATA`` or ``<repo>/../shared/data``)."""
    env = os.environ.get("HN_SHARED_DATA")
    return Path(env).expanduser().resolve() if env else (REPO_ROOT.parent / "shared" / "data").resolve()


def cache_dir(*parts: str) -> Path:
    """A folder under the cache root, created on demand."""
    root = Path(os.environ.get("HN_LIGHTNING_CACHE", "~/.cache/hn_lightning")).expanduser()
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_data_path(path: str | os.PathLike) -> Path:
    """Resolve a user-given data path.

    ``shared:gsm8k/train.jsonl`` (or ``shared://gsm8k/train.jsonl``) is relative to :func:`shared_data_dir`;
    anything else is an ordinary path (``~`` expanded).
    """
    text = str(path)
    for prefix in ("shared://", "shared:"):
        if text.startswith(prefix):
            return shared_data_dir() / text[len(prefix):]
    return Path(text).expanduser()


# Files built on test problems (shared/data/README.md, "Test-set hygiene"). They may be used for
# evaluation and pipeline tests, never as training input unless the user forces it.
_TEST_NAME = re.compile(r"(^|[_\-.])test([_\-.]|$)", re.IGNORECASE)
_TEST_FOLDERS = {"stepdpo", "sampled_solutions"}


def looks_like_test_file(path: str | os.PathLike) -> bool:
    """True if a data file is a benchmark test file: a ``test`` word in its name (``test.jsonl``,
    ``GSM8K_test_data.jsonl``, ``math500_test.jsonl``) or a parent folder of evaluation-only files
    (``stepdpo/``, ``sampled_solutions/``)."""
    p = Path(path)
    return bool(_TEST_NAME.search(p.name)) or p.parent.name.lower() in _TEST_FOLDERS


class TestDataRefused(ValueError):
    """Raised when a test-set file is given as training data without ``allow_test_data=True``."""

    __test__ = False  # not a pytest class


def refuse_test_files(paths: list[Path], allow: bool, what: str = "training") -> None:
    """Raise :class:`TestDataRefused` if any path looks like a test file and ``allow`` is False."""
    if allow:
        return
    bad = [str(p) for p in paths if looks_like_test_file(p)]
    if bad:
        raise TestDataRefused(
            f"refusing to use test-set file(s) as {what} data: {', '.join(bad)}. Benchmarks built on test "
            "problems must only be used for evaluation (shared/data/README.md). If you really mean it, set "
            "allow_test_data: true."
        )

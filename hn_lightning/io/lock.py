"""An advisory lock file shared by the processes (ranks) that write one output folder.

``with file_lock(folder / ".merge.lock"):`` blocks until no other process holds the lock (``fcntl.flock``
on Linux and macOS, so it is released by the kernel when a holder dies, even by ``kill -9``). Ranks use it
for short read-modify-write sections (the mining manifest) and for merging their shards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["file_lock"]


@contextmanager
def file_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if missing) for the ``with`` block."""
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

"""Refuse an output path the command cannot write, before any work starts: one line naming the path and why.

Outputs are written atomically (a temporary file or folder next to the target, then a rename), so what
must be writable is the folder that will hold them: the target's parent for a file, the folder itself
for an output folder, or, when they do not exist yet, the nearest folder that does (the rest is created).
Permission bits do not tell (root ignores them; a read-only mount or an ACL overrides them), so the check
creates and removes one empty hidden file there.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hn_lightning.errors import UserError

__all__ = ["check_writable"]


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def check_writable(label: str, path: str | os.PathLike, folder: bool = False) -> None:
    """:class:`UserError` ``<label> <path>: <why>`` unless the command can create or replace ``path``.

    ``folder``: ``path`` is a folder the command writes into (else a file it replaces)."""
    target = Path(os.path.abspath(os.path.expanduser(path)))
    if target.exists():
        if folder and not target.is_dir():
            raise UserError(f"{label} {path}: exists and is a file, not a folder; choose a folder")
        if not folder and target.is_dir():
            raise UserError(f"{label} {path}: is an existing folder, not a file; give a file name (e.g. {Path(path) / 'out.jsonl'})")
        where = target if folder else target.parent
    else:
        where = _nearest_existing(target.parent)
        if not where.is_dir():
            raise UserError(f"{label} {path}: {where} is a file, so the folder {target.parent} cannot be created")
    try:
        fd, probe = tempfile.mkstemp(prefix=".hn-write-check.", dir=where)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(f"{label} {path}: cannot write in {where} ({exc.strerror or type(exc).__name__})") from None

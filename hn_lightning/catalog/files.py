"""Data specs to files: names, folders and globs expanded into the JSONL files to read."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from pathlib import Path

from hn_lightning.catalog.resolve import resolve_spec, unresolvable

__all__ = ["expand_paths"]


def expand_paths(specs: str | os.PathLike | Iterable[str | os.PathLike], suffixes: tuple[str, ...] = (".jsonl",)) -> list[Path]:
    """Expand files, directories (recursively, files ending in ``suffixes``) and globs, sorted, deduplicated.

    Data names (``gsm8k:train``, ``hf:...``, ``shared:...``, ``datasets`` folders) are resolved first
    (:func:`~hn_lightning.catalog.resolve.resolve_spec`). A spec that matches nothing is an error saying what was tried.
    """
    if isinstance(specs, (str, os.PathLike)):
        specs = [specs]
    out: list[Path] = []
    for spec in specs:
        path = resolve_spec(spec)
        text = str(path)
        if any(ch in text for ch in "*?["):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            matches = [m for m in matches if m.is_file()]
        elif path.is_dir():
            matches = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(suffixes) and not p.name.startswith("."))
        elif path.is_file():
            matches = [path]
        else:
            raise unresolvable(spec)
        if not matches:
            raise FileNotFoundError(f"{spec} matched no {'/'.join(suffixes)} files")
        out.extend(matches)
    seen: set[Path] = set()
    unique = []
    for p in out:
        rp = p.resolve()
        if rp not in seen:
            seen.add(rp)
            unique.append(p)
    return unique

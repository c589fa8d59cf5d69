"""Refuse a run whose outputs would overwrite or delete its own inputs, before anything is touched.

A command that reads JSONL and writes JSONL (``verify``, ``eval``, ``mine``, ``experiment``) replaces its
output atomically and, with ``--overwrite``, deletes it first: when the output is the input (the same
path, ``./x`` and ``x``, a symbolic link or a hard link to it) or the input lies inside a folder the command
writes, that destroys the user's only copy. Paths are compared after :func:`os.path.realpath` (symbolic
links and ``..`` resolved) and, where both exist, by device and inode (hard links).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hn_lightning.errors import UserError

__all__ = ["Output", "refuse_overlap"]


@dataclass(frozen=True)
class Output:
    """A path the command writes: a file it replaces, or a folder it writes into (and may clear)."""

    label: str
    """How the user named it (``--output``, ``out``)."""
    path: Path
    """The path."""
    folder: bool = False
    """True when everything under ``path`` is the command's to write and delete."""


def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(os.path.expanduser(path)))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def refuse_overlap(inputs: Iterable[tuple[str, str | os.PathLike]], outputs: Iterable[Output],
                   outputs_inside_inputs: bool = False) -> None:
    """:class:`UserError` naming both paths when an input is an output, or lies in an output folder, or an
    input folder holds an output (the next run would read the output as input).

    ``inputs``: ``(label, path)`` of every file or folder the command reads (data names already resolved).
    ``outputs_inside_inputs``: allow an output inside an input folder (for input folders never scanned
    for data, such as a model directory).
    """
    outs = [(o, _real(o.path)) for o in outputs]
    for label, raw in inputs:
        src = _real(raw)
        for out, dst in outs:
            if src == dst or _same_file(src, dst):
                why = "is the same folder as" if src.is_dir() else "is the same file as"
            elif out.folder and _inside(src, dst):
                why = "lies inside the output folder"
            elif not outputs_inside_inputs and src.is_dir() and _inside(dst, src):
                why = "is a folder that holds the output"
            else:
                continue
            raise UserError(
                f"{label} {raw} {why} {out.label} {out.path} (both resolve under {src if src != dst else dst}); "
                f"writing the output would destroy the input: choose another {out.label}")

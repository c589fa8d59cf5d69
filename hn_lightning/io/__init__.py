"""File I/O shared by every stage: JSONL with file:line errors, atomic writes, sharded outputs."""

from hn_lightning.io.aliasing import Output, refuse_overlap
from hn_lightning.io.atomic import atomic_directory, atomic_write_json, atomic_write_text, atomic_writer
from hn_lightning.io.jsonl import JsonlError, SkipPolicy, count_lines, iter_jsonl, read_jsonl
from hn_lightning.io.writable import check_writable

__all__ = [
    "JsonlError",
    "Output",
    "SkipPolicy",
    "atomic_directory",
    "atomic_write_json",
    "atomic_write_text",
    "atomic_writer",
    "check_writable",
    "count_lines",
    "iter_jsonl",
    "read_jsonl",
    "refuse_overlap",
]

"""Sharded, atomic stage outputs and the run manifest.

Layout: ``<out>/<stage>/shard-XXXXX.jsonl``. A shard is written in one go through
:func:`hn_lightning.io.atomic_writer` (temporary file in the same folder, fsync, rename), so a shard
that exists is complete: a crash leaves at most a hidden ``.shard-XXXXX.jsonl.*.tmp`` file, which the
next run deletes. Shard numbers are meaningful: candidates shard ``i`` holds problem batch ``i``, and
scored/filtered shard ``i`` are computed from candidates shard ``i``. A stage resumes by skipping the
shards that exist, so nothing is done twice and nothing is lost.

``manifest.json`` records, per stage, whether it completed, a fingerprint of the settings it ran
with, its item counts and its accumulated wall time (over all resumed runs, summed over ranks). Ranks
that share an output folder change it one at a time: every change re-reads the file under a lock.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from hn_lightning.faults import fault_point
from hn_lightning.io.atomic import atomic_write_json, atomic_writer
from hn_lightning.io.jsonl import count_lines, iter_jsonl
from hn_lightning.io.lock import file_lock

__all__ = [
    "Manifest",
    "clean_stale_temps",
    "iter_records",
    "read_records",
    "shard_index",
    "shard_path",
    "shard_paths",
    "write_shard",
]

_SHARD = re.compile(r"^shard-(\d{5,})\.jsonl$")
_TEMP = re.compile(r"^\.shard-(\d{5,})\.jsonl\..*\.tmp$")


def shard_path(stage_dir: Path, index: int) -> Path:
    return Path(stage_dir) / f"shard-{index:05d}.jsonl"


def shard_index(path: Path) -> int:
    match = _SHARD.match(Path(path).name)
    if not match:
        raise ValueError(f"not a shard file name: {path}")
    return int(match.group(1))


def shard_paths(stage_dir: Path) -> list[Path]:
    """Completed shards of a stage, by index (hidden temporary files are never listed)."""
    d = Path(stage_dir)
    if not d.is_dir():
        return []
    return sorted((p for p in d.iterdir() if _SHARD.match(p.name)), key=shard_index)


def clean_stale_temps(stage_dir: Path, owns: Callable[[int], bool] | None = None) -> int:
    """Delete temporary files left by a killed writer; returns how many. With ``owns`` (a rank among
    several), only the temporary files of the shards it writes: the others may be another rank's, in use."""
    d = Path(stage_dir)
    if not d.is_dir():
        return 0
    stale = [p for p in d.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")
             and (owns is None or ((m := _TEMP.match(p.name)) is not None and owns(int(m.group(1)))))]
    for p in stale:
        p.unlink(missing_ok=True)
    return len(stale)


def write_shard(stage_dir: Path, index: int, records: Iterable[dict[str, Any]]) -> Path:
    """Write one shard atomically; returns its path."""
    path = shard_path(stage_dir, index)
    with atomic_writer(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    fault_point("mine.shard")  # tests: die after a shard is written
    return path


def iter_records(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    """Records of shards in order (a malformed line is an error naming file:line)."""
    for path in paths:
        for _, record in iter_jsonl(path):
            yield record


def read_records(stage_dir: Path) -> list[dict[str, Any]]:
    return list(iter_records(shard_paths(stage_dir)))


class Manifest:
    """``<out>/manifest.json``: per-stage status, fingerprint, counts and seconds (atomic writes)."""

    def __init__(self, out: Path):
        self.path = Path(out) / "manifest.json"
        self._lock = Path(out) / ".manifest.lock"
        self.data: dict[str, Any] = {"stages": {}}
        self.reload()

    def reload(self) -> Manifest:
        """Read the file again (another rank may have changed it)."""
        if self.path.is_file():
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
            self.data.setdefault("stages", {})
        return self

    def _update(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Apply ``change`` to the stages of the current file and save it, holding the lock."""
        with file_lock(self._lock):
            self.reload()
            change(self.data["stages"])
            self.save()

    def stage(self, name: str) -> dict[str, Any]:
        return self.data["stages"].get(name, {})

    def is_complete(self, name: str, fp: str | None = None) -> bool:
        st = self.stage(name)
        return bool(st.get("complete")) and (fp is None or st.get("fingerprint") == fp)

    def start(self, name: str, fp: str, keep_complete: bool = False) -> None:
        """Mark a stage as running with settings ``fp`` (keeps accumulated seconds of the same settings).
        ``keep_complete``: a stage another rank completed with the same settings stays complete."""
        def change(stages: dict[str, Any]) -> None:
            st = stages.get(name, {})
            if keep_complete and st.get("complete") and st.get("fingerprint") == fp:
                return
            seconds = st.get("seconds", 0.0) if st.get("fingerprint") == fp else 0.0
            stages[name] = {"complete": False, "fingerprint": fp, "seconds": seconds,
                            "started": time.strftime("%Y-%m-%dT%H:%M:%S")}

        self._update(change)

    def add_seconds(self, name: str, seconds: float) -> None:
        def change(stages: dict[str, Any]) -> None:
            st = stages.setdefault(name, {})
            st["seconds"] = round(st.get("seconds", 0.0) + seconds, 3)

        self._update(change)

    def finish(self, name: str, counts: dict[str, Any]) -> None:
        self._update(lambda stages: stages.setdefault(name, {}).update(
            complete=True, counts=counts, finished=time.strftime("%Y-%m-%dT%H:%M:%S")))

    def drop(self, names: Iterable[str]) -> None:
        def change(stages: dict[str, Any]) -> None:
            for n in names:
                stages.pop(n, None)

        self._update(change)

    def save(self) -> None:
        atomic_write_json(self.path, self.data)


def count_pairs(folder: Path) -> int:
    """Records in the ``*.jsonl`` shards of a pair folder (``pairs/hardneg`` ...); 0 when it does not exist."""
    return count_lines(sorted(folder.glob("*.jsonl"))) if folder.is_dir() else 0

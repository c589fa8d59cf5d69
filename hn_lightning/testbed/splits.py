"""The testbed's splits, their data names, and their files in the cache.

=================  ======  ==========================================================================
name               size    problems
=================  ======  ==========================================================================
``testbed:train``  20,000  2-6 annotation lines, phrasings 0 and 1, skeleton bucket != 0
``testbed:test``    2,000  the same family, skeleton bucket == 0
``testbed:ood``     1,000  7-8 lines; half the sentences in phrasings never trained on (``2``)
=================  ======  ==========================================================================

**Disjoint by construction.** A problem's *skeleton* is its first number and its steps' kinds and
constants (:attr:`~hn_lightning.testbed.generator.Problem.skeleton`: names, nouns and phrasings do not
count). ``test`` takes only skeletons whose hash bucket (of :data:`BUCKETS`) is 0 and ``train`` only the
others, so no test exercise is a train exercise with other names; ``ood`` chains are longer than any
``train`` chain. Skeletons are unique within a split.

**Deterministic.** Problem ``k`` of a split is drawn from ``random.Random("testbed:<split>:<attempt>")``
(string seeds hash the same on every machine and Python version), attempts counted from 0 and skipped
when their skeleton is in the other split's buckets or already taken.

**Cached with a fingerprint.** :func:`materialize` writes ``<cache>/datasets/testbed/<fingerprint>/
{train,test,ood_test}.jsonl`` (the ``ood`` file keeps a ``test`` word in its name, so the test-set rule
refuses it as training data even by path) and a ``manifest.json`` with each file's sha256 and record
count. The fingerprint hashes the generator's source files, so any change to the generator writes new
files instead of reusing stale ones; a cached file that does not match its manifest is rewritten.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
from dataclasses import dataclass
from pathlib import Path

from hn_lightning.io.atomic import atomic_write_json, atomic_writer
from hn_lightning.paths import cache_dir
from hn_lightning.testbed.generator import Family, generate_problem, skeleton_bucket

__all__ = ["BUCKETS", "DATA_NAMES", "SPLITS", "SplitSpec", "TEST_NAMES", "fingerprint", "generate_split", "materialize"]

BUCKETS = 10
"""Skeleton hash buckets; bucket 0 is ``test`` (10% of skeletons)."""


@dataclass(frozen=True)
class SplitSpec:
    """One split: its family, size, buckets and file name."""

    family: Family
    size: int
    buckets: str
    """``test`` (bucket 0), ``train`` (the others) or ``any``."""
    file: str


SPLITS: dict[str, SplitSpec] = {
    "train": SplitSpec(Family(), 20_000, "train", "train.jsonl"),
    "test": SplitSpec(Family(), 2_000, "test", "test.jsonl"),
    "ood": SplitSpec(Family(min_lines=7, max_lines=8, phrasings=(0, 1, 2, 2)), 1_000, "any", "ood_test.jsonl"),
}
DATA_NAMES = tuple(f"testbed:{s}" for s in SPLITS)
"""``testbed:train``, ``testbed:test``, ``testbed:ood``."""
TEST_NAMES = ("testbed:test", "testbed:ood")
"""Refused as training data (:mod:`hn_lightning.catalog.hygiene`)."""

_SOURCES = ("arith.py", "templates.py", "generator.py", "splits.py")
_lock = threading.Lock()
_ready: dict[tuple[str, str], Path] = {}


def fingerprint(sources: Path = Path(__file__).parent) -> str:
    """A hash of the generator's source files in ``sources`` (16 hex digits): any change gives new files."""
    h = hashlib.sha256()
    for name in _SOURCES:
        h.update((sources / name).read_bytes())
    return h.hexdigest()[:16]


def _keep(spec: SplitSpec, skeleton: str) -> bool:
    if spec.buckets == "any":
        return True
    return (skeleton_bucket(skeleton, BUCKETS) == 0) == (spec.buckets == "test")


def generate_split(split: str, size: int | None = None) -> list[dict]:
    """The records of ``split`` (the first ``size`` of them; default: all)."""
    spec = SPLITS[split]
    size = spec.size if size is None else size
    records, taken, attempt = [], set(), 0
    while len(records) < size:
        problem = generate_problem(random.Random(f"testbed:{split}:{attempt}"), spec.family,
                                   keep=lambda sk: sk not in taken and _keep(spec, sk))
        attempt += 1
        if problem is None:
            continue
        taken.add(problem.skeleton)
        records.append(problem.record(f"testbed-{split}-{len(records):05d}"))
    return records


def _digest(path: Path) -> tuple[str, int]:
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), data.count(b"\n")


def materialize(name: str, cache: Path | None = None) -> Path:
    """The JSONL file of the data name ``testbed:<split>``, generated into the cache on first use."""
    split = name.split(":", 1)[1]
    if split not in SPLITS:
        raise KeyError(f"unknown testbed split {name!r}; expected one of {', '.join(DATA_NAMES)}")
    folder = (cache or cache_dir("datasets", "testbed")) / fingerprint()
    key = (str(folder), split)
    with _lock:
        if key in _ready and _ready[key].is_file():
            return _ready[key]
        target = folder / SPLITS[split].file
        manifest_path = folder / f"{SPLITS[split].file}.manifest.json"
        if target.is_file() and manifest_path.is_file():
            expected = json.loads(manifest_path.read_text(encoding="utf-8"))
            if list(_digest(target)) == [expected.get("sha256"), expected.get("records")]:
                _ready[key] = target
                return target
        records = generate_split(split)
        with atomic_writer(target) as handle:
            for rec in records:
                handle.write(json.dumps(rec) + "\n")
        sha, n = _digest(target)
        atomic_write_json(manifest_path, {"name": name, "fingerprint": folder.name, "sha256": sha, "records": n})
        _ready[key] = target
        return target

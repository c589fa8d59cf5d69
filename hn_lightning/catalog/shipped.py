"""The datasets that ship with the package: GSM8K and MATH, train and test, and MATH-500.

The files live xz-compressed in ``hn_lightning/assets/datasets/`` with a ``manifest.json`` that gives
each one's sha256 (of the JSONL bytes and of the ``.xz``) and record count. The first time a dataset
is asked for on a machine it is decompressed, checked against the manifest and written (atomically)
to ``<cache>/datasets/shipped/<sha256[:16]>/<path>`` (e.g. ``.../gsm8k/test.jsonl``: the file keeps
its split in its name, so the test-set rule sees it). In every later process the cached file is
hashed once (a few ms) before its first use; the result is remembered for the rest of the process.
A file that does not match is a :class:`ShippedDataError` naming it (a cached copy that went bad
is rebuilt from the package; a damaged package file is not: reinstall).

``math500`` is cut out of ``math:test``: its ``in_math500`` rows, in the order of PRM800K's
``math_splits/test.jsonl``, without the ``in_math500`` field; the result is byte for byte that file
(sha256 ``35dc4108...``, the PRM800K Git LFS oid).
"""

from __future__ import annotations

import hashlib
import json
import lzma
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from hn_lightning.io.atomic import atomic_writer
from hn_lightning.paths import cache_dir

__all__ = ["ASSETS_DIR", "ShippedDataError", "dataset_names", "load_manifest", "materialize", "math500_bytes"]

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets" / "datasets"
_verified: dict[tuple[str, str], Path] = {}
_lock = threading.Lock()


class ShippedDataError(RuntimeError):
    """A shipped dataset file (or its cached copy) does not match the manifest."""


@lru_cache(maxsize=4)
def load_manifest(assets_dir: Path = ASSETS_DIR) -> dict[str, Any]:
    """The ``manifest.json`` of ``assets_dir``: ``{"format", "compression", "datasets": {name: entry}}``."""
    path = assets_dir / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ShippedDataError(f"{path}: cannot read the shipped datasets' manifest ({exc}); reinstall hn_lightning") from None


def dataset_names(assets_dir: Path = ASSETS_DIR) -> list[str]:
    """The names of the shipped datasets (``gsm8k:train``, ``gsm8k:test``, ``math:train``, ...)."""
    return list(load_manifest(assets_dir)["datasets"])


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _records(data: bytes) -> int:
    return sum(1 for line in data.splitlines() if line.strip())


def math500_bytes(math_test: bytes, entry: dict[str, Any]) -> bytes:
    """The MATH-500 file rebuilt from the MATH test file's bytes: the rows whose ``entry["where"]`` field
    is true, in ``entry["order"]`` (``unique_id`` list), without the ``entry["drop"]`` fields."""
    rows = {}
    for line in math_test.decode("utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            if rec.get(entry["where"]):
                rows[rec["unique_id"]] = {k: v for k, v in rec.items() if k not in entry["drop"]}
    if set(rows) != set(entry["order"]):
        raise ShippedDataError(f"the {entry['where']} rows of {entry['from']} are not the {len(entry['order'])} listed in the manifest")
    return "".join(json.dumps(rows[uid]) + "\n" for uid in entry["order"]).encode("utf-8")


def _check(data: bytes, entry: dict[str, Any], what: str) -> None:
    got_sha, got_n = _sha256(data), _records(data)
    if got_sha != entry["sha256"] or got_n != entry["records"]:
        raise ShippedDataError(
            f"{what} is corrupt or truncated: {got_n} records, sha256 {got_sha[:16]}..., expected {entry['records']} "
            f"records, sha256 {entry['sha256'][:16]}... (manifest {ASSETS_DIR.name}/manifest.json)"
        )


def _unpack(name: str, assets_dir: Path) -> bytes:
    """The verified JSONL bytes of a shipped dataset, from the package files."""
    entry = load_manifest(assets_dir)["datasets"][name]
    if "from" in entry:
        data = math500_bytes(_unpack(entry["from"], assets_dir), entry)
        _check(data, entry, f"dataset {name} (rebuilt from {entry['from']})")
        return data
    path = assets_dir / entry["file"]
    what = f"shipped dataset file {path}"
    try:
        packed = path.read_bytes()
    except OSError as exc:
        raise ShippedDataError(f"{what} cannot be read ({exc}); reinstall hn_lightning") from None
    if _sha256(packed) != entry["xz_sha256"]:
        raise ShippedDataError(f"{what} is corrupt or truncated (sha256 {_sha256(packed)[:16]}..., expected "
                               f"{entry['xz_sha256'][:16]}...); reinstall hn_lightning")
    try:
        data = lzma.decompress(packed)
    except lzma.LZMAError as exc:
        raise ShippedDataError(f"{what} is corrupt ({exc}); reinstall hn_lightning") from None
    _check(data, entry, what)
    return data


def materialize(name: str, assets_dir: Path = ASSETS_DIR, cache: Path | None = None) -> Path:
    """The path of a verified plain-JSONL copy of the shipped dataset ``name`` (see the module docstring).

    ``cache`` defaults to ``<HN_LIGHTNING_CACHE>/datasets/shipped``. Raises :class:`KeyError` for an unknown
    name and :class:`ShippedDataError` for a file that does not match the manifest.
    """
    if cache is None:
        cache = cache_dir("datasets", "shipped")
    key = (str(assets_dir), name, str(cache))
    with _lock:
        if key in _verified and _verified[key].is_file():
            return _verified[key]
        entry = load_manifest(assets_dir)["datasets"][name]
        target = cache / entry["sha256"][:16] / entry["path"]
        if target.is_file():
            try:
                _check(target.read_bytes(), entry, f"cached copy {target}")
                _verified[key] = target
                return target
            except ShippedDataError:
                pass  # a bad cached copy is rebuilt from the package below
        data = _unpack(name, assets_dir)
        with atomic_writer(target, "wb") as handle:
            handle.write(data)
        _verified[key] = target
        return target

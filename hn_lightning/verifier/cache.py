"""A small on-disk key/value cache (sqlite) for embeddings and NLI probabilities.

* Keys are ``sha256(namespace + NUL + text...)`` hex digests, so a cache entry can only be reused by
  the same encoder / NLI backend (the namespace is its fingerprint) for the same text.
* Values are raw ``float32`` bytes (a vector); they are returned bit-for-bit, so a warm run gives
  exactly the numbers of the cold run that filled the cache.
* Writes happen in one transaction per batch (``put_many``): a crash leaves the cache without that
  batch, never with a half-written row. sqlite's WAL mode lets several processes read and write the
  same file; ``INSERT OR IGNORE`` makes concurrent fills of the same key harmless.
* Hit/miss counters (:attr:`hits`, :attr:`misses`) are kept per instance for benchmarks and tests.

An in-memory dict in front of sqlite (bounded by ``memory_items``) saves repeated lookups of the same
text inside one run (a question shared by many samples).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

__all__ = ["VectorCache", "text_key"]

_SCHEMA = "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL)"
_CHUNK = 500  # sqlite's default limit on host parameters is 999 (older builds)


def text_key(namespace: str, *texts: str) -> str:
    """The cache key of one or more texts under ``namespace`` (a fingerprint)."""
    h = hashlib.sha256(namespace.encode("utf-8"))
    for t in texts:
        h.update(b"\0")
        # surrogatepass: a lone UTF-16 surrogate (valid JSON, no Unicode) still gets a key instead of a crash;
        # every other text encodes exactly as with plain UTF-8, so existing keys are unchanged
        h.update(t.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


class VectorCache:
    """A persistent ``key -> float32 vector`` map in one sqlite file (``path=None``: memory only)."""

    def __init__(self, path: str | os.PathLike | None, memory_items: int = 200_000):
        self.path = Path(path) if path is not None else None
        self.memory_items = memory_items
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self._conn: sqlite3.Connection | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=60.0, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
            self._conn.commit()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``keys`` (missing keys are absent); counts hits and misses."""
        found: dict[str, np.ndarray] = {}
        wanted = []
        with self._lock:
            for k in keys:
                if k in self._memory:
                    self._memory.move_to_end(k)
                    found[k] = self._memory[k]
                else:
                    wanted.append(k)
            if wanted and self._conn is not None:
                unique = list(dict.fromkeys(wanted))
                for i in range(0, len(unique), _CHUNK):
                    chunk = unique[i:i + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    for key, blob in self._conn.execute(f"SELECT key, value FROM kv WHERE key IN ({marks})", chunk):
                        vec = np.frombuffer(blob, dtype=np.float32).copy()
                        found[key] = vec
                        self._remember(key, vec)
            for k in keys:
                if k in found:
                    self.hits += 1
                else:
                    self.misses += 1
        return found

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store vectors (as float32) in one transaction."""
        rows = [(k, np.ascontiguousarray(v, dtype=np.float32)) for k, v in items]
        if not rows:
            return
        with self._lock:
            for k, v in rows:
                self._remember(k, v)
            if self._conn is not None:
                with self._conn:
                    self._conn.executemany(
                        "INSERT OR IGNORE INTO kv (key, value) VALUES (?, ?)", [(k, v.tobytes()) for k, v in rows]
                    )

    def _remember(self, key: str, vec: np.ndarray) -> None:
        self._memory[key] = vec
        if len(self._memory) > self.memory_items:
            self._memory.popitem(last=False)

    def __len__(self) -> int:
        if self._conn is None:
            return len(self._memory)
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM kv").fetchone()[0])

    def reset_counters(self) -> None:
        """Zero :attr:`hits` and :attr:`misses`."""
        self.hits = self.misses = 0

    def close(self) -> None:
        """Close the sqlite connection (the memory layer stays usable)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass

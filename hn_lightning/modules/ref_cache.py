"""An on-disk cache of reference log-probs, keyed by the content hash of each sequence's token ids.

One SQLite file per *reference fingerprint* (weights, quantization, dtype, tokenizer, chat template,
max_length). SQLite gives atomic commits, so an interrupted precompute pass keeps what it finished and
the next run only computes the rest. The cache is shared across runs: a sweep over beta, lambda or the
loss type reuses it for free.

Why it lives in ``modules/``: it is the storage of one component, the DPO reference
(:mod:`hn_lightning.modules.reference`, its only user), and what it stores is a model's output keyed by a
model's fingerprint (weight files, dtype, quantization, tokenizer), which is not the data layer's concern
(``data/`` reads, tokenizes and batches pairs and may not import ``models/``). It imports nothing of the
package but :mod:`hn_lightning.paths`. The batches the reference pass scores are built by the data layer's
:func:`hn_lightning.data.pair_collate.collate_pairs`, the same collate as training, so that the keys and
log-probs of the pass are those of the training batches: the reference imports it, downwards in the layers
(losses <- data <- models <- modules), and nothing in ``data/`` imports ``modules/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hn_lightning.paths import cache_dir


class RefLogpCache:
    """``key -> summed completion log-prob`` under one reference."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=60)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS logps (key TEXT PRIMARY KEY, logp REAL NOT NULL)")
        self._conn.execute("CREATE TABLE IF NOT EXISTS info (name TEXT PRIMARY KEY, value TEXT)")
        self._conn.commit()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM logps").fetchone()[0])

    def set_info(self, info: dict[str, Any]) -> None:
        """Record what the fingerprint was made of (for humans inspecting the cache)."""
        self._conn.executemany("INSERT OR REPLACE INTO info VALUES (?, ?)", [(k, json.dumps(v)) for k, v in info.items()])
        self._conn.commit()

    def get_many(self, keys: Sequence[str]) -> list[float | None]:
        """Cached values for ``keys`` (None where missing)."""
        found: dict[str, float] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            found.update(self._conn.execute(f"SELECT key, logp FROM logps WHERE key IN ({marks})", chunk).fetchall())
        out = [found.get(k) for k in keys]
        hits = sum(v is not None for v in out)
        self.hits += hits
        self.misses += len(out) - hits
        return out

    def put_many(self, items: Iterable[tuple[str, float]]) -> None:
        """Insert values and commit."""
        self._conn.executemany("INSERT OR REPLACE INTO logps VALUES (?, ?)", list(items))
        self._conn.commit()

    def close(self) -> None:
        self._conn.close()

    def __getstate__(self):  # a cache is opened per process, never pickled with a live connection
        raise TypeError("RefLogpCache cannot be pickled; open it again in the other process")


def _file_digest(path: Path) -> str:
    """sha256 of a file, memoised on disk by (path, size, mtime)."""
    stat = path.stat()
    memo_file = cache_dir("fingerprints") / (hashlib.sha1(str(path.resolve()).encode()).hexdigest() + ".json")
    tag = [stat.st_size, stat.st_mtime_ns]
    if memo_file.is_file():
        memo = json.loads(memo_file.read_text())
        if memo.get("tag") == tag:
            return memo["sha256"]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    memo_file.write_text(json.dumps({"tag": tag, "sha256": digest.hexdigest()}))
    return digest.hexdigest()


def weights_digest(model_dir: str | os.PathLike) -> str:
    """A digest of every weight file in a Hugging Face directory."""
    model_dir = Path(model_dir)
    files = sorted(p for p in model_dir.iterdir() if p.suffix in (".safetensors", ".bin", ".pt") and p.is_file())
    if not files:
        raise FileNotFoundError(f"no weight files in {model_dir}")
    return hashlib.sha256("".join(f"{p.name}:{_file_digest(p)}" for p in files).encode()).hexdigest()


def reference_fingerprint(model_dir: str | os.PathLike, tokenizer, *, dtype: str, quantization: str, max_length: int, extra: dict | None = None) -> tuple[str, dict]:
    """``(hex fingerprint, parts)`` of a reference model as used for log-probs."""
    vocab = tokenizer.get_vocab()
    tok_digest = hashlib.sha256(json.dumps(sorted(vocab.items())).encode()).hexdigest()
    parts = {
        "weights": weights_digest(model_dir),
        "dtype": dtype,
        "quantization": quantization,
        "tokenizer": tok_digest,
        "chat_template": hashlib.sha256(str(getattr(tokenizer, "chat_template", "") or "").encode()).hexdigest(),
        "max_length": max_length,
        **(extra or {}),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24], parts

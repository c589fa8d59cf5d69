"""The reference cache under concurrent writers (several ranks, or several runs sharing a cache folder):
no lost entry, no corrupt file, no 'database is locked' error."""

from __future__ import annotations

import multiprocessing as mp

from hn_lightning.modules.ref_cache import RefLogpCache


def _writer(path: str, start: int, n: int) -> None:
    cache = RefLogpCache(path)  # every process opens (and may create) the file itself
    for i in range(start, start + n, 25):  # many small transactions interleave with the other writer's
        cache.put_many((f"k{j}", j / 7) for j in range(i, min(i + 25, start + n)))
    cache.close()


def test_two_processes_write_overlapping_keys_into_one_cache(tmp_path):
    path = str(tmp_path / "ref.sqlite")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, start, 1500)) for start in (0, 1000)]  # keys 1000..1499 written twice
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    cache = RefLogpCache(path)
    assert len(cache) == 2500
    assert cache.get_many([f"k{j}" for j in range(2500)]) == [j / 7 for j in range(2500)]
    assert cache._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

"""Fault injection for tests: kill the process at a named point, so crash windows are exercised on purpose.

Product code marks its crash windows with :func:`fault_point`::

    fault_point("verify.finalize:after_write")   # the output is written, the parts not yet deleted

which does nothing unless the environment variable ``HN_FAULT`` names that point. Then the process
dies at once with ``os._exit(137)`` (what ``kill -9`` leaves: no ``finally``, no atexit, no flush).
``HN_FAULT=name@N`` kills at the N-th time the point is reached (1-based; default 1). With several
processes, ``HN_FAULT_RANK=r`` arms it in rank ``r`` only (``RANK``, else ``LOCAL_RANK``, else 0).

Points (see docs/reliability.md): ``fit.step`` (after a micro-batch's backward, before the optimizer
step), ``fit.checkpoint`` (a checkpoint is being saved), ``verify.shard`` (a result shard was written),
``verify.finalize:after_write``, ``eval.record`` (an item was appended), ``eval.finalize`` (before
the summary is written), ``mine.shard`` and ``mine.finalize``.
"""

from __future__ import annotations

import os
import sys

__all__ = ["fault_point", "FAULT_ENV", "FAULT_RANK_ENV", "FAULT_EXIT_CODE"]

FAULT_ENV = "HN_FAULT"
FAULT_RANK_ENV = "HN_FAULT_RANK"
FAULT_EXIT_CODE = 137
_hits: dict[str, int] = {}


def fault_point(name: str) -> None:
    """Die here (``os._exit(137)``) if ``HN_FAULT`` is ``name`` or ``name@N`` and this is the N-th hit."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    target, _, nth = spec.partition("@")
    if target != name:
        return
    only = os.environ.get(FAULT_RANK_ENV)
    if only is not None and only != (os.environ.get("RANK") or os.environ.get("LOCAL_RANK") or "0"):
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == (int(nth) if nth else 1):
        sys.stderr.write(f"[fault] killed at {name} (hit {_hits[name]})\n")
        sys.stderr.flush()
        os._exit(FAULT_EXIT_CODE)

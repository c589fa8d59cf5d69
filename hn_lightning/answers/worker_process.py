"""A persistent helper interpreter that runs guarded calls and can be killed on a timeout.

Used by the ``"process"`` timeout backend (non-main threads, or when asked for). Design choices:

* ``subprocess.Popen`` of ``python -m hn_lightning.answers._worker_main``, not ``multiprocessing``:
  it works inside daemonic processes (DataLoader workers may not start ``multiprocessing``
  children) and is safe to start from a multi-threaded parent (no bare ``fork``).
* One helper per thread (``threading.local``), so threads never wait on each other, and one
  request at a time per helper. A helper is started on first use (about a second: it imports
  sympy and warms the LaTeX parser), killed on a timeout, and started again on the next call.
* Frames are a 4-byte big-endian length and a pickle, both ways. The helper's stdout is reserved
  for frames; anything the called code prints goes to its stderr, which is discarded.
* A helper inherited through ``fork`` (its pid differs) is abandoned, never shared.
"""

from __future__ import annotations

import atexit
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hn_lightning.answers.check_timeout import CheckTimeout

__all__ = ["WorkerError", "WorkerProcess", "thread_worker", "WARM_UP"]

_HEADER = struct.Struct(">I")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_STARTUP_TIMEOUT_S = 120.0

# "module:function" entries the helper runs once at start-up, before it reports ready.
WARM_UP: tuple[str, ...] = ("hn_lightning.answers.symbolic:warm_up",)


class WorkerError(RuntimeError):
    """The called function raised inside the helper (message: ``TypeName: text``), or the helper died."""


def _read_exact(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            raise EOFError("helper process closed its output")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _wait_readable(fd: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            ready, _, _ = select.select([fd], [], [], left)
        except InterruptedError:  # pragma: no cover - PEP 475 retries for us
            continue
        return bool(ready)


class WorkerProcess:
    """One helper interpreter; see the module doc. Not thread-safe: use :func:`thread_worker`."""

    def __init__(self, warm_up: tuple[str, ...] = WARM_UP) -> None:
        self._warm_up = warm_up
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner_pid = os.getpid()
        self.starts = 0
        self.kills = 0

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        proc = subprocess.Popen(
            [sys.executable, "-m", "hn_lightning.answers._worker_main", *self._warm_up],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        if not _wait_readable(fd, _STARTUP_TIMEOUT_S):
            self._kill(proc)
            raise WorkerError(f"helper process did not start within {_STARTUP_TIMEOUT_S:.0f} s")
        try:
            status = self._read_frame(proc)
        except (EOFError, OSError) as exc:
            self._kill(proc)
            raise WorkerError(f"helper process failed to start: {exc}") from exc
        if status != ("ready", None):
            self._kill(proc)
            raise WorkerError(f"helper process failed to start: {status!r}")
        self.starts += 1
        return proc

    @staticmethod
    def _read_frame(proc: subprocess.Popen[bytes]) -> Any:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size))
        return pickle.loads(_read_exact(fd, size))

    def _kill(self, proc: subprocess.Popen[bytes]) -> None:
        self.kills += 1
        try:
            proc.kill()
        except OSError:
            pass
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], timeout_s: float) -> Any:
        """``fn(*args)`` in the helper; :class:`CheckTimeout` after ``timeout_s`` (helper killed)."""
        if os.getpid() != self._owner_pid:  # inherited through fork: never talk to the parent's helper
            self._abandon_inherited()
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._start()
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        payload = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            proc.stdin.write(_HEADER.pack(len(payload)) + payload)
            proc.stdin.flush()
            if not _wait_readable(proc.stdout.fileno(), timeout_s):
                self._kill(proc)
                self._proc = None
                raise CheckTimeout(f"timed out after {timeout_s:g} s (helper process killed)")
            status, value = self._read_frame(proc)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            self._kill(proc)
            self._proc = None
            raise WorkerError(f"helper process died: {exc}") from exc
        if status == "ok":
            return value
        raise WorkerError(value)

    def _abandon_inherited(self) -> None:
        """Drop (without killing) a helper inherited from the parent through ``fork``; closing our
        copies of its pipes lets it see end-of-input when the parent closes its own."""
        proc, self._proc, self._owner_pid = self._proc, None, os.getpid()
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass

    def close(self) -> None:
        """Stop the helper (it also exits by itself when its input closes)."""
        if self._proc is not None and os.getpid() == self._owner_pid:
            proc, self._proc = self._proc, None
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._kill(proc)
            if proc.stdout is not None:
                proc.stdout.close()


_local = threading.local()
_all_workers: weakref.WeakSet[WorkerProcess] = weakref.WeakSet()


def thread_worker() -> WorkerProcess:
    """The calling thread's helper (created lazily)."""
    worker = getattr(_local, "worker", None)
    if worker is None:
        worker = WorkerProcess()
        _local.worker = worker
        _all_workers.add(worker)
        weakref.finalize(worker, _close_quietly, worker.__dict__)
    return worker


def _close_quietly(state: dict[str, Any]) -> None:
    proc = state.get("_proc")
    if proc is not None and state.get("_owner_pid") == os.getpid():
        try:
            proc.kill()
            proc.wait()
        except OSError:
            pass


@atexit.register
def _close_all() -> None:
    for worker in list(_all_workers):
        worker.close()

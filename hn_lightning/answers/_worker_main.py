"""Entry point of the helper interpreter (``python -m hn_lightning.answers._worker_main [mod:fn ...]``).

Protocol (see :mod:`hn_lightning.answers.worker_process`): after running the warm-up functions
given on the command line it writes the frame ``("ready", None)``; then, for each request frame
``(fn, args)``, it writes ``("ok", result)`` or ``("err", "TypeName: message")``. It exits when its
input closes.
"""

from __future__ import annotations

import importlib
import os
import pickle
import struct
import sys

_HEADER = struct.Struct(">I")


def _read_exact(stream, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _write(out, obj: object) -> None:
    try:
        payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # an unpicklable result
        payload = pickle.dumps(("err", f"{type(exc).__name__}: result not picklable: {exc}"))
    out.write(_HEADER.pack(len(payload)) + payload)
    out.flush()


def main(argv: list[str]) -> int:
    # Keep the real stdout for frames; send everything the called code prints to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    inp = sys.stdin.buffer
    for spec in argv:
        module, _, name = spec.partition(":")
        try:
            getattr(importlib.import_module(module), name)()
        except Exception as exc:
            _write(out, ("error", f"warm-up {spec} failed: {type(exc).__name__}: {exc}"))
            return 1
    _write(out, ("ready", None))
    while True:
        header = _read_exact(inp, _HEADER.size)
        if header is None:
            return 0
        body = _read_exact(inp, _HEADER.unpack(header)[0])
        if body is None:
            return 0
        try:
            fn, args = pickle.loads(body)
            reply = ("ok", fn(*args))
        except BaseException as exc:  # report everything; the parent decides what it means
            reply = ("err", f"{type(exc).__name__}: {exc}")
        _write(out, reply)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

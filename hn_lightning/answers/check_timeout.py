"""The exception of a guarded call that ran past its timeout, shared by both timeout backends.

Its own module so that imports run one way: :mod:`hn_lightning.answers.timeouts` (the API, the signal
backend) imports :mod:`hn_lightning.answers.worker_process` (the process backend), and both raise this.
"""

from __future__ import annotations

__all__ = ["CheckTimeout"]


class CheckTimeout(BaseException):
    """A guarded call ran past its timeout.

    Deliberately not an ``Exception``: the ``except Exception`` clauses in sympy, math-verify and the
    Step-DPO logic cannot swallow it (see :mod:`hn_lightning.answers.timeouts`)."""

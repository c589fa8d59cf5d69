"""What the trained step judge reads in a step: sparse named features, hashed into a fixed-size vector.

Per step of a solution (:func:`step_features`), from its text and its quantity trace
(:mod:`hn_lightning.verifier.trace`):

* ``op:<o>``: how many times each operator (``+ - * /``) occurs in the step's computations;
* ``w:<word>`` and ``wo:<word>|<o>``: the step's content words, alone and with each operator it uses
  (*left* with ``+``, *each* with ``+``: the relation and the operation disagree);
* ``src:<kind>``: where the operands come from (``problem``, ``prev`` step, an ``earlier`` step, this step
  ``self``, a ``constant``, ``nowhere``), ``reuse_problem``: a problem number used a second time,
  ``unused_after``: problem numbers still unused after the step (bucketed);
* ``res_nonint``, ``res_neg``, ``res_big``: a result that is no integer, negative, or above 10x every
  problem number;
* ``pos:<i>``, ``last``, ``nocomp``: where the step is, and whether it computes at all;
* with the ``question_ops`` option, ``qo:<word>|<o>``: the words of the problem's question sentence with
  each operator the step uses (*how many more* with ``+``).

Names are hashed (``crc32 mod`` :data:`N_FEATURES`) so the head is one weight vector; the recipe's version
(:data:`FEATURE_VERSION`) is stored beside the weights.
"""

from __future__ import annotations

import re
import zlib

import numpy as np
from scipy import sparse

from hn_lightning.verifier.trace import problem_values, trace_solution

__all__ = ["FEATURE_VERSION", "N_FEATURES", "OPTIONS", "hashed", "step_features"]

FEATURE_VERSION = 1
N_FEATURES = 2**15
_STOP = frozenset(
    "the and for that this with from then have has had will would are was were its his her their they them into than "
    "what when where which who how many much each per step".split())
_OPS = re.compile(r"(?<=[\d)\s])[-+*/]")


def _source_kind(src: str, i: int) -> str:
    if not src.startswith("step"):
        return src
    return "prev" if src == f"step {i - 1}" else "self" if src == f"step {i}" else "earlier"


OPTIONS = ("question_ops",)
"""Optional feature groups (stored with a trained head)."""


def _question_words(question: str) -> set[str]:
    """Content words of the sentence that asks (the last one with a ``?``, else the last sentence)."""
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", question.strip()) if s]
    asked = next((s for s in reversed(sentences) if "?" in s), sentences[-1] if sentences else "")
    return {w for w in re.findall(r"[a-z]{3,}", asked.lower()) if w not in _STOP}


def step_features(question: str, steps: list[str], options: tuple[str, ...] = ()) -> list[dict[str, float]]:
    """Named features of every step (see the module doc; ``options``: of :data:`OPTIONS`)."""
    traces = trace_solution(steps, question)
    asked = _question_words(question) if "question_ops" in options else set()
    problem = problem_values(question)
    givens = {v for v in problem}
    top = max((abs(float(v)) for v in givens), default=1.0)
    used: set = set()
    out = []
    for i, (text, tr) in enumerate(zip(steps, traces, strict=True)):
        f: dict[str, float] = {"bias": 1.0, f"pos:{min(i, 4)}": 1.0}
        if i == len(steps) - 1:
            f["last"] = 1.0
        ops = [o for c in tr.computations for o in _OPS.findall(c.expr)]
        for o in ops:
            f[f"op:{o}"] = f.get(f"op:{o}", 0.0) + 1.0
        for w in {w for w in re.findall(r"[a-z]{3,}", text.lower()) if w not in _STOP}:
            f[f"w:{w}"] = 1.0
            for o in set(ops):
                f[f"wo:{w}|{o}"] = 1.0
        for w in asked:
            for o in set(ops):
                f[f"qo:{w}|{o}"] = 1.0
        if not tr.computations:
            f["nocomp"] = 1.0
        for c, sources in zip(tr.computations, tr.operand_sources, strict=True):
            for operand, src in sources.items():
                kind = _source_kind(src, i)
                f[f"src:{kind}"] = f.get(f"src:{kind}", 0.0) + 1.0
                if kind == "problem":
                    if operand in used:
                        f["reuse_problem"] = f.get("reuse_problem", 0.0) + 1.0
                    used.add(operand)
            v = c.stated
            if v is not None:
                f["res_nonint"] = max(f.get("res_nonint", 0.0), float(v.denominator != 1))
                f["res_neg"] = max(f.get("res_neg", 0.0), float(v < 0))
                f["res_big"] = max(f.get("res_big", 0.0), float(abs(float(v)) > 10 * top))
        f[f"unused_after:{min(len({str(v) for v in givens}) - len(used), 3)}"] = 1.0
        out.append(f)
    return out


def hashed(features: list[dict[str, float]]) -> sparse.csr_matrix:
    """``[len(features), N_FEATURES]`` float32, sparse (a step sets a few dozen features)."""
    rows, cols, vals = [], [], []
    for row, f in enumerate(features):
        for name, value in f.items():
            rows.append(row)
            cols.append(zlib.crc32(name.encode("utf-8")) % N_FEATURES)
            vals.append(value)
    return sparse.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(features), N_FEATURES))

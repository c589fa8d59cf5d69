r"""Input features of the MiniLM-feature NLI head.

For a premise ``p`` and hypothesis ``h`` with unit-norm MiniLM embeddings ``u`` and ``v``:

    x = [u, v, |u - v|, u * v, numeric(p, h)]          (4 * 384 + 16 = 1552 values)

The first four blocks are the InferSent / sentence-BERT pair features. SNLI-only heads on them
miss numeric contradictions ("the total is 72" vs "the total is 36" embed almost identically;
shared/docs/offline-models.md, section 3), so ``numeric(p, h)`` adds 16 cheap text features about
the numbers the two sentences state (recipe ``"num_v1"``):

====  =========================================================================================
 0    premise states a number
 1    hypothesis states a number
 2    share of hypothesis numbers whose value occurs in the premise (1 if it states none)
 3    share of premise numbers whose value occurs in the hypothesis (1 if it states none)
 4    Jaccard overlap of the word sets with numbers masked
 5    Jaccard overlap of the plain word sets
 6    same template (masked token sequences equal) and the number multisets differ
 7    same template and the same numbers
 8    strong slot conflict: a hypothesis number whose left and right neighbour tokens match a
      premise number with a different value (share of hypothesis numbers, at most 1)
 9    strong slot agreement: same neighbours, same value (share)
10    weak slot conflict: one neighbour matches, value differs (share)
11    weak slot agreement (share)
12    the last numbers of premise and hypothesis differ (0 when either has none)
13    negation mismatch: one sentence has not/no/never/n't/nobody/nothing, the other not
14    ``min(len(h), len(p)) / max(len(h), len(p))`` in tokens
15    share of hypothesis numbers absent from the premise, capped at 3 new numbers / 3
====  =========================================================================================
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from hn_lightning.verifier.numbers import parse_number

__all__ = ["NUMERIC_RECIPE", "N_NUMERIC", "numeric_features", "pair_features"]

NUMERIC_RECIPE = "num_v1"
N_NUMERIC = 16

_TOKEN = re.compile(r"[A-Za-z]+(?:'t)?|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+|[=+\-*/×÷%]")
_NEG = {"not", "no", "never", "nobody", "nothing", "none", "nor", "cannot"}


def _tokens(text: str) -> list[tuple[str, Fraction | None]]:
    out = []
    for tok in _TOKEN.findall(text):
        if tok[0].isdigit() or tok[0] == ".":
            out.append(("#", parse_number(tok)))
        else:
            out.append((tok.lower(), None))
    return out


def _slots(tokens: list[tuple[str, Fraction | None]]) -> list[tuple[str, str, Fraction]]:
    slots = []
    for i, (_, val) in enumerate(tokens):
        if val is None:
            continue
        prev = tokens[i - 1][0] if i > 0 else "<s>"
        nxt = tokens[i + 1][0] if i + 1 < len(tokens) else "</s>"
        slots.append((prev, nxt, val))
    return slots


def _negated(tokens: list[tuple[str, Fraction | None]]) -> bool:
    return any(t in _NEG or t.endswith("n't") for t, _ in tokens)


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if (a or b) else 1.0


def numeric_features(premise: str, hypothesis: str) -> np.ndarray:
    """The 16 numeric/lexical features of the table in the module doc (float32)."""
    tp, th = _tokens(premise), _tokens(hypothesis)
    np_vals = [v for _, v in tp if v is not None]
    nh_vals = [v for _, v in th if v is not None]
    p_set, h_set = set(np_vals), set(nh_vals)
    f = np.zeros(N_NUMERIC, dtype=np.float32)
    f[0] = float(bool(np_vals))
    f[1] = float(bool(nh_vals))
    f[2] = sum(v in p_set for v in nh_vals) / len(nh_vals) if nh_vals else 1.0
    f[3] = sum(v in h_set for v in np_vals) / len(np_vals) if np_vals else 1.0
    masked_p = [t for t, _ in tp]
    masked_h = [t for t, _ in th]
    f[4] = _jaccard(set(masked_p), set(masked_h))
    f[5] = _jaccard({t if v is None else str(v) for t, v in tp}, {t if v is None else str(v) for t, v in th})
    same_template = masked_p == masked_h and bool(nh_vals)
    f[6] = float(same_template and sorted(np_vals) != sorted(nh_vals))
    f[7] = float(same_template and sorted(np_vals) == sorted(nh_vals))
    sp, sh = _slots(tp), _slots(th)
    if sh:
        strong_c = strong_a = weak_c = weak_a = 0
        for prev, nxt, val in sh:
            strong = [pv for pp, pn, pv in sp if pp == prev and pn == nxt]
            weak = [pv for pp, pn, pv in sp if (pp == prev) != (pn == nxt)]
            if strong:
                if val in strong:
                    strong_a += 1
                else:
                    strong_c += 1
            elif weak:
                if val in weak:
                    weak_a += 1
                else:
                    weak_c += 1
        n = len(sh)
        f[8], f[9], f[10], f[11] = strong_c / n, strong_a / n, weak_c / n, weak_a / n
    f[12] = float(bool(np_vals) and bool(nh_vals) and np_vals[-1] != nh_vals[-1])
    f[13] = float(_negated(tp) != _negated(th))
    lp, lh = len(tp), len(th)
    f[14] = min(lp, lh) / max(lp, lh) if max(lp, lh) else 1.0
    f[15] = min(sum(v not in p_set for v in nh_vals), 3) / 3.0
    return f


def pair_features(u: np.ndarray, v: np.ndarray, premises: list[str], hypotheses: list[str]) -> np.ndarray:
    """``[u, v, |u-v|, u*v, numeric(p, h)]`` for a batch: ``u``, ``v`` are ``[N, d]`` embeddings."""
    num = np.stack([numeric_features(p, h) for p, h in zip(premises, hypotheses, strict=True)]) if premises else np.zeros((0, N_NUMERIC), np.float32)
    return np.concatenate([u, v, np.abs(u - v), u * v, num], axis=1).astype(np.float32, copy=False)

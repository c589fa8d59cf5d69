"""Train the MathVerifier's step judge from TRAIN data only (GSM8K train, MATH train).

Errors are injected into the reference solutions of the train problems with the later steps recomputed
(:mod:`hn_lightning.verifier.judges.synthetic`: a flipped operation, a wrong operand, a skipped step); the
judge (:mod:`hn_lightning.verifier.judges.trained`) learns, per step, whether it is the first wrong one
(steps after it are not used). One problem in twenty is held out, by problem, for the metrics in
``head.json``. No test problem and no ProcessBench record is read here; the threshold stored with the head
is chosen separately, across folds of the ProcessBench dev half (``benchmarks/processbench.py --folds 5
--step_judge ...`` prints it) and passed back with ``--threshold``.

    OMP_NUM_THREADS=1 python benchmarks/train_step_judge.py --threshold 0.2

Deterministic for a seed; about a minute of one CPU core. Writes hn_lightning/assets/step_judge/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from scipy import sparse  # noqa: E402

from hn_lightning.catalog import resolve_data_file  # noqa: E402
from hn_lightning.verifier.judges.features import OPTIONS, hashed, step_features  # noqa: E402
from hn_lightning.verifier.judges.synthetic import KINDS, Example, gsm8k_steps, inject, math_steps  # noqa: E402
from hn_lightning.verifier.judges.trained import default_judge_dir, save_head  # noqa: E402


def held_out(question: str, every: int) -> bool:
    return int(hashlib.sha1(question.encode("utf-8")).hexdigest(), 16) % every == 0


def examples(rows: list[tuple[str, list[str]]], clean_share: float, rng: random.Random,
             kinds: tuple[str, ...] = KINDS, paired: bool = False, variants: int = 1) -> list[Example]:
    """Per problem: the right solution (with probability ``clean_share``) or ``variants`` solutions with an
    error injected (each a random kind; the others when it offers no place for it); with ``paired``, both."""
    out = []
    for question, steps in rows:
        if not steps:
            continue
        clean = paired or rng.random() < clean_share
        if clean:
            out.append(Example(question, steps, None))
        if clean and not paired:
            continue
        for _ in range(variants):
            order = list(kinds)
            rng.shuffle(order)
            ex = next((e for k in order if (e := inject(question, steps, k, rng)) is not None), None)
            if ex is not None and all(ex.steps != o.steps for o in out[-variants:]):
                out.append(ex)
    return out


def matrix(exs: list[Example], options: tuple[str, ...] = ()) -> tuple[sparse.csr_matrix, np.ndarray, list[int]]:
    """Rows: the steps up to and including each first error; labels; the example of each row."""
    blocks, labels, owner = [], [], []
    for n, ex in enumerate(exs):
        feats = step_features(ex.question, ex.steps, options)
        end = len(feats) if ex.first_error is None else ex.first_error + 1
        blocks.append(hashed(feats[:end]))
        labels += [int(i == ex.first_error) for i in range(end)]
        owner += [n] * end
    return sparse.vstack(blocks).tocsr(), np.asarray(labels), owner


def first_error_metrics(exs: list[Example], probs: np.ndarray, owner: list[int], threshold: float) -> dict:
    """On held-out examples: how often the first step at ``threshold`` is the injected one, and how often a
    right solution gets a step flagged."""
    by: dict[int, list[float]] = {}
    for n, p in zip(owner, probs, strict=True):
        by.setdefault(n, []).append(float(p))
    hit = flagged = wrong = right = 0
    for n, ex in enumerate(exs):
        first = next((i for i, p in enumerate(by.get(n, [])) if p >= threshold), None)
        if ex.first_error is None:
            right += 1
            flagged += first is not None
        else:
            wrong += 1
            hit += first == ex.first_error
    return {"threshold": threshold, "exact_first_error": round(hit / max(1, wrong), 3),
            "right_solutions_flagged": round(flagged / max(1, right), 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gsm8k", default="gsm8k:train")
    ap.add_argument("--math", default="math:train")
    ap.add_argument("--math_problems", type=int, default=7500, help="MATH train problems to use (0: none)")
    ap.add_argument("--clean_share", type=float, default=0.35)
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS, help="error kinds to inject")
    ap.add_argument("--paired", action="store_true", help="every problem gives its right solution and one with an error")
    ap.add_argument("--variants", type=int, default=1, help="solutions with an error injected per problem that gets any")
    ap.add_argument("--options", nargs="*", default=[], choices=OPTIONS, help="optional feature groups")
    ap.add_argument("--heldout_every", type=int, default=20, help="one problem in this many is held out")
    ap.add_argument("--C", type=float, default=1.0, help="inverse L2 strength of the logistic regression")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threshold", type=float, default=0.5, help="stored with the head (choose it across ProcessBench dev folds)")
    ap.add_argument("--out", type=Path, default=default_judge_dir())
    args = ap.parse_args(argv)
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    t0 = time.perf_counter()
    rng = random.Random(args.seed)
    rows = [(r["question"], gsm8k_steps(r["answer"], rng)) for r in map(json.loads, open(resolve_data_file(args.gsm8k), encoding="utf-8"))]
    if args.math_problems:
        math_rows = [json.loads(line) for line in open(resolve_data_file(args.math), encoding="utf-8")][:args.math_problems]
        rows += [(r["problem"], math_steps(r["solution"])) for r in math_rows]
    train_rows = [r for r in rows if not held_out(r[0], args.heldout_every)]
    test_rows = [r for r in rows if held_out(r[0], args.heldout_every)]
    kinds = tuple(args.kinds)
    options = tuple(args.options)
    train = examples(train_rows, args.clean_share, rng, kinds, args.paired, args.variants)
    test = examples(test_rows, args.clean_share, rng, kinds, args.paired, args.variants)
    x, y, _ = matrix(train, options)
    xt, yt, owner = matrix(test, options)
    t_data = time.perf_counter() - t0
    clf = LogisticRegression(C=args.C, max_iter=3000)
    clf.fit(x, y)
    pt = clf.predict_proba(xt)[:, 1]
    counts = {k: sum(e.kind == k for e in train) for k in ("clean", *KINDS)}
    meta = {
        "data": f"{args.gsm8k} + {args.math}[:{args.math_problems}] train solutions, errors injected "
                f"(hn_lightning/verifier/judges/synthetic.py), 1 problem in {args.heldout_every} held out",
        "examples": {"train": len(train), "held_out": len(test), "train_kinds": counts, "train_steps": int(len(y))},
        "kinds": list(kinds), "paired": args.paired, "variants": args.variants, "options": list(options), "C": args.C, "seed": args.seed, "clean_share": args.clean_share, "threshold": args.threshold,
        "held_out": {"step_auc": round(float(roc_auc_score(yt, pt)), 4),
                     "at_threshold": first_error_metrics(test, pt, owner, args.threshold),
                     "at_0.5": first_error_metrics(test, pt, owner, 0.5)},
        "seconds": {"data": round(t_data, 1), "fit": round(time.perf_counter() - t0 - t_data, 1)},
    }
    save_head(args.out, clf.coef_[0], float(clf.intercept_[0]), meta)
    print(json.dumps(meta, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

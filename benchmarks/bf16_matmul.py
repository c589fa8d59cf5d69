"""Is bf16 native on this CPU? Times one linear layer forward and backward in float32 and bfloat16, and
prints what ``dtype: auto`` decides here (``hn_lightning/models/dtype.py``).

    OMP_NUM_THREADS=1 python benchmarks/bf16_matmul.py            # the issue's [512x896]x[896x4864]
    OMP_NUM_THREADS=1 python benchmarks/bf16_matmul.py --m 512 --k 896 --n 4864 --reps 5
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def bench(m: int, k: int, n: int, dtype: torch.dtype, reps: int) -> tuple[float, float]:
    """Best-of-``reps`` milliseconds of ``x @ w.T`` forward and its backward."""
    torch.manual_seed(0)
    x = torch.randn(m, k).to(dtype).requires_grad_(True)
    w = (torch.randn(n, k) * 0.03).to(dtype).requires_grad_(True)
    fwd, bwd = [], []
    for _ in range(reps):
        t = time.perf_counter()
        y = torch.nn.functional.linear(x, w)
        fwd.append(time.perf_counter() - t)
        t = time.perf_counter()
        y.backward(torch.ones_like(y))
        bwd.append(time.perf_counter() - t)
        x.grad = w.grad = None
    return 1e3 * min(fwd), 1e3 * min(bwd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", type=int, default=512)
    ap.add_argument("--k", type=int, default=896)
    ap.add_argument("--n", type=int, default=4864)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from hn_lightning.models.dtype import auto_dtype

    auto_dtype()
    print(f"threads {torch.get_num_threads()}, [{args.m}x{args.k}]x[{args.k}x{args.n}], best of {args.reps}")
    for dtype in (torch.float32, torch.bfloat16):
        f, b = bench(args.m, args.k, args.n, dtype, args.reps)
        print(f"{str(dtype):15s} forward {f:8.1f} ms   backward {b:8.1f} ms")


if __name__ == "__main__":
    main()

"""The design arithmetic of the testbed experiment: minimum detectable effect and wall time.

    python benchmarks/testbed_sizing.py                       # the tables in docs/testbed.md
    python benchmarks/testbed_sizing.py --eval_s 0.25 --dpo_s 6 --sft_min 13 --mine_min 10

**Minimum detectable effect** of a paired comparison of two arms on the same problems (McNemar, two-sided
``alpha``, power ``1 - beta``), from the discordance ``d`` (the fraction of problem x seed pairs where exactly
one arm is right) and ``n`` pairs (problems x seeds, pooled): the smallest ``delta`` with
``n = (z_{1-alpha/2} sqrt(d) + z_{1-beta} sqrt(d - delta^2))^2 / delta^2`` (Connor 1987), i.e. about
``2.8 sqrt(d / n)`` for small ``delta``.

**Wall time**: SFT + mining + ``cells`` DPO runs of ``dpo_steps`` steps + evaluations (every cell and the SFT
baseline on ``test`` problems, and on ``ood`` ones) from the per-unit costs given (measured by
``benchmarks/testbed_speed.py``; defaults: the numbers in docs/testbed.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hn_lightning.experiments.stats import mcnemar_mde  # noqa: E402


def mde(d: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest difference (fraction) McNemar detects with ``n`` pairs of discordance ``d`` (the report's
    own formula, :func:`hn_lightning.experiments.stats.mcnemar_mde`); NaN when no difference the discordance
    allows is detectable."""
    delta = mcnemar_mde(n, d, alpha, power)
    return delta if delta <= d else float("nan")


def wall_minutes(a) -> dict[str, float]:
    cells = a.arms * a.seeds
    evals = cells + 1  # every cell and the SFT model
    parts = {
        "sft": a.sft_min,
        "mine": a.mine_min,
        "dpo": cells * a.dpo_steps * a.dpo_s / 60,
        "eval_test": evals * a.test * a.eval_s / 60,
        "eval_ood": evals * a.ood * a.eval_ood_s / 60,
        "eval_base": a.base * a.eval_base_s / 60,
    }
    parts["total"] = sum(parts.values())
    return {k: round(v, 1) for k, v in parts.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arms", type=int, default=5, help="hardneg-w, hardneg-w lambda=1, same pairs w=1, random, shuffled")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--ood", type=int, default=500)
    ap.add_argument("--base", type=int, default=500, help="problems the base model is evaluated on")
    ap.add_argument("--eval_s", type=float, default=0.25, help="s per test problem (greedy, calculator)")
    ap.add_argument("--eval_ood_s", type=float, default=0.45, help="s per ood problem (7-8 steps)")
    ap.add_argument("--eval_base_s", type=float, default=0.8, help="s per problem of the base model (runs to the cap)")
    ap.add_argument("--dpo_steps", type=int, default=30)
    ap.add_argument("--dpo_s", type=float, default=6.0, help="s per DPO step")
    ap.add_argument("--sft_min", type=float, default=13.0)
    ap.add_argument("--mine_min", type=float, default=10.0)
    args = ap.parse_args(argv)
    print("Minimum detectable effect (points), 80% power, alpha 0.05, McNemar, pooled over seeds")
    ds = (0.05, 0.1, 0.15, 0.2, 0.3)
    print("| problems x seeds | " + " | ".join(f"d = {d:.2f}" for d in ds) + " |")
    print("| --- | " + " | ".join("---:" for _ in ds) + " |")
    for n, s in ((500, 1), (1000, 1), (2000, 1), (1000, 3), (2000, 2), (2000, 3)):
        print(f"| {n} x {s} | " + " | ".join(f"{100 * mde(d, n * s):.1f}" for d in ds) + " |")
    print("\nWall time (minutes):", wall_minutes(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

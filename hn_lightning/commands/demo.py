"""``python cli.py demo [overrides]``: the README's first command, the whole method end to end on the CPU
with the embedded default model. It is the experiment ``configs/experiments/demo.yaml``, i.e. exactly

  python cli.py experiment --config configs/experiments/demo.yaml [overrides]

SFT -> mining with the SFT model -> the SFT model evaluated as the baseline -> a hard-negative and a random-uniform
DPO cell from it -> evaluation of both on the same problems -> ``runs/demo/report.md``, CSVs and plots.
It ends with the result table, the paths of the report and plots, and the page to open first:
``runs/demo/report.html`` (results, plots, cells and the mined pairs in one self-contained file). Every stage is skipped when
finished and resumes when interrupted: rerun the same command. Any key of the experiment can be
overridden (``--sft.max_steps 12``, ``--mine.problems.limit 10``, ``--eval.limit 40``, ``--policy
org/name``, ``--out runs/demo2``); ``--print_config`` prints them all, documented.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

DEMO_CONFIG = "configs/experiments/demo.yaml"


def main(argv: list[str] | None = None) -> int:
    from hn_lightning.commands.experiment import config_from_args
    from hn_lightning.commands.experiment import main as experiment_main
    from hn_lightning.paths import REPO_ROOT

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        print("The experiment's options follow.\n", flush=True)
    t0 = time.time()
    args = ["--config", str(REPO_ROOT / DEMO_CONFIG), *argv]
    rc = experiment_main(args)
    if rc == 0 and not any(a.startswith("--print_config") or a in ("-h", "--help") for a in argv):
        print(f"Demo finished in {(time.time() - t0) / 60:.1f} min.", flush=True)
        print(f"Open the report in a browser: {Path(config_from_args(args)[0].out) / 'report.html'}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())

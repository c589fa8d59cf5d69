"""``python cli.py mine [STAGE] --config configs/mine.yaml``: hard-negative mining.

Stages (default ``all``: every stage in order; each resumes where an interrupted run stopped):

  candidates  sample K solutions per problem from the policy (or ingest an offline pool)
  score       MathVerifier scores of every candidate
  filter      degenerate / trivially-correct / trivially-wrong removal and hard-negative selection
  pair        hard-negative pairs, random-uniform and shuffled-weight arms, funnel.json, report.md
  report      rewrite report.md from the existing outputs

Examples:

  python cli.py mine --config configs/mine_demo.yaml
  python cli.py mine filter --config configs/mine.yaml --selection.min_confidence 0.6   # re-select, no resampling
  python cli.py mine --config configs/mine.yaml --print_config                        # every key, commented
  python cli.py mine candidates --config configs/mine.yaml --overwrite true           # start over

Outputs under ``out``: pairs/hardneg, pairs/random, pairs/shuffled (train with
``data.init_args.train_files: [<out>/pairs/hardneg]``), funnel.json, report.md, manifest.json.
"""

from __future__ import annotations

import sys
import time

__all__ = ["main", "build_parser", "config_from_args", "STAGE_CHOICES"]

STAGE_CHOICES = ("all", "candidates", "score", "filter", "pair", "report")


def build_parser():
    """The jsonargparse parser: ``--config``, ``--print_config``, ``--overwrite`` and every MineConfig key."""
    from hn_lightning.config_tools import dataclass_parser
    from hn_lightning.mining.config import MineConfig

    return dataclass_parser(MineConfig, "cli.py mine [STAGE]", __doc__, "YAML config (configs/mine.yaml, configs/mine_demo.yaml)",
                            "overwrite", "Delete the outputs of the first requested stage and every later stage, then run.")


def config_from_args(argv: list[str]):
    """``(stage, MineConfig, overwrite)`` from a command line (the stage is an optional first word)."""
    from hn_lightning.config_tools import parse_dataclass
    from hn_lightning.mining.config import MineConfig

    args = list(argv)
    stage = args.pop(0) if args and args[0] in STAGE_CHOICES else "all"
    cfg, ns = parse_dataclass(build_parser(), MineConfig, args)
    return stage, cfg, bool(ns.overwrite)


def main(argv: list[str] | None = None) -> int:
    stage, cfg, overwrite = config_from_args(sys.argv[1:] if argv is None else argv)
    from hn_lightning.mining.pipeline import STAGES, MiningPipeline, StageNotReady, StageSettingsChanged
    from hn_lightning.mining.progress import console

    pipeline = MiningPipeline(cfg)
    t0 = time.time()
    try:
        if stage == "report":
            console.print(f"report: {pipeline.write_report()}")
            return 0
        pipeline.run(STAGES if stage == "all" else (stage,), overwrite=overwrite)
    except (StageSettingsChanged, StageNotReady, FileNotFoundError) as exc:
        from hn_lightning.errors import EXIT_USER_ERROR, print_error

        print_error(exc)  # one unwrapped line (the rich console wraps at 80 columns when not a terminal)
        return EXIT_USER_ERROR
    console.print(f"mine {stage}: done in {time.time() - t0:.1f}s. Outputs in {pipeline.out}")
    if stage in ("all", "pair"):
        console.print(f"  train on:  {pipeline.out / 'pairs' / 'hardneg'}  (baseline: pairs/random with weighting none; "
                      f"control: pairs/shuffled)\n  report:    {pipeline.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
  python cli.py mine --config configs/mine.yaml --devices 8                           # 8 ranks on this machine
  torchrun --nproc_per_node 8 cli.py mine --config configs/mine.yaml                  # the same through torchrun
  python cli.py mine --config configs/mine.yaml --rank 3 --world_size 8               # rerun rank 3 alone

Several ranks (``--devices N``, torchrun, SLURM) share the candidates and score shards (rank k takes
problem batches k, k+N, ...); the last rank to finish completes each stage and runs filter and pair. The
outputs equal one process's with the same seed.

Outputs under ``out``: pairs/hardneg, pairs/random, pairs/shuffled (train with
``data.init_args.train_files: [<out>/pairs/hardneg]``), funnel.json, report.md, manifest.json.
"""

from __future__ import annotations

import sys
import time

from hn_lightning.ranks import add_rank_arguments

__all__ = ["main", "build_parser", "config_from_args", "STAGE_CHOICES"]

STAGE_CHOICES = ("all", "candidates", "score", "filter", "pair", "report")


def build_parser():
    """The jsonargparse parser: ``--config``, ``--print_config``, ``--overwrite`` and every MineConfig key."""
    from hn_lightning.config_tools import dataclass_parser
    from hn_lightning.mining.config import MineConfig

    parser = dataclass_parser(MineConfig, "cli.py mine [STAGE]", __doc__, "YAML config (configs/mine.yaml, configs/mine_demo.yaml)",
                              "overwrite", "Delete the outputs of the first requested stage and every later stage, then run.")
    add_rank_arguments(parser)
    return parser


def _parse(argv: list[str]):
    from hn_lightning.config_tools import parse_dataclass
    from hn_lightning.mining.config import MineConfig

    args = list(argv)
    if args and not args[0].startswith("-") and args[0] not in STAGE_CHOICES:
        from hn_lightning.errors import UserError

        raise UserError(f"mine: unknown stage {args[0]!r}; choices: {', '.join(STAGE_CHOICES)}")
    stage = args.pop(0) if args and args[0] in STAGE_CHOICES else "all"
    cfg, ns = parse_dataclass(build_parser(), MineConfig, args)
    return stage, cfg, bool(ns.overwrite), ns


def config_from_args(argv: list[str]):
    """``(stage, MineConfig, overwrite)`` from a command line (the stage is an optional first word)."""
    return _parse(argv)[:3]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    stage, cfg, overwrite, ns = _parse(argv)
    from hn_lightning.errors import check_range
    from hn_lightning.ranks import launch_local, rank_from_env, setup_rank_device, without_flag

    check_range("--devices", ns.devices, 1)

    rank = rank_from_env(ns.rank, ns.world_size)
    if ns.devices > 1 and not rank.distributed:
        return launch_local("mine", without_flag(argv, "--devices"), ns.devices)
    setup_rank_device(rank)
    from hn_lightning.mining.pipeline import STAGES, MiningPipeline, StageNotReady, StageSettingsChanged
    from hn_lightning.mining.progress import console

    pipeline = MiningPipeline(cfg, rank=rank)
    t0 = time.time()
    try:
        if stage == "report":
            console.print(f"report: {pipeline.write_report()}")
            return 0
        results = pipeline.run(STAGES if stage == "all" else (stage,), overwrite=overwrite)
    except (StageSettingsChanged, StageNotReady, FileNotFoundError) as exc:
        from hn_lightning.errors import EXIT_USER_ERROR, print_error

        print_error(exc)  # one unwrapped line (the rich console wraps at 80 columns when not a terminal)
        return EXIT_USER_ERROR
    if any(r.get("waiting") for r in results.values()):
        console.print(f"mine {stage}: {rank.label()} finished its shards in {time.time() - t0:.1f}s; the last rank to "
                      f"finish completes the run. Outputs in {pipeline.out}")
        return 0
    console.print(f"mine {stage}: done in {time.time() - t0:.1f}s. Outputs in {pipeline.out}")
    pairs = (results.get("pair") or {}).get("hardneg")
    if pairs == 0:
        # a warning, not an error: every stage's output is complete and funnel.json says where the samples went;
        # the fix is new thresholds, and `mine filter` reuses the candidates and scores to try them
        from hn_lightning.errors import print_error

        print_error(f"0 hard-negative pairs, nothing to train with: {pipeline.out / 'funnel.json'} and report.md show which "
                    f"rule removed the samples; loosen filters.* / selection.* and rerun `mine filter` (no resampling)",
                    prefix="warning: ")
    elif stage in ("all", "pair"):
        console.print(f"  train on:  {pipeline.out / 'pairs' / 'hardneg'}  (baseline: pairs/random with weighting none; "
                      f"control: pairs/shuffled)\n  report:    {pipeline.out / 'report.html'} (and report.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

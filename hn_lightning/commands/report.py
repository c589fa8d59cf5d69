"""``report``: (re)build the self-contained HTML report of a run.

    python cli.py report runs/demo                 # an experiment        -> runs/demo/report.html
    python cli.py report runs/mine                 # a mining run         -> runs/mine/report.html
    python cli.py report scored.jsonl              # a scored file        -> scored.html
    python cli.py report scored.jsonl --input samples.jsonl   # a verify output, first time without --html

What the path is comes from what it holds: ``cells.csv`` (an experiment), ``manifest.json`` and
``scored/`` (a mining run), a JSONL file with verifier scores (a scored file: a mining run's
``scored/shard-*.jsonl`` or the output of ``python cli.py verify``). The page is one file (styles,
script and plots inside) that opens from disk in any browser, without a server or network.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    from hn_lightning.reports.mining import DEFAULT_MAX_PAIRS

    ap = argparse.ArgumentParser(prog="report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", help="experiment folder, mining run folder, or scored JSONL file")
    ap.add_argument("--max_pairs", type=int, default=DEFAULT_MAX_PAIRS,
                    help="pairs per arm (mining, experiment) or solutions (scored file) in the page; the first ones of the files")
    ap.add_argument("--input", default=None,
                    help="for the output of verify: the samples file it read (default: the one recorded by its previous page)")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from hn_lightning.errors import UserError
    from hn_lightning.reports import report_kind, write_report

    if args.max_pairs < 1:
        raise UserError(f"--max_pairs must be at least 1, got {args.max_pairs}")
    if report_kind(args.path) == "mining":  # testbed problems: the ground truth is recomputed from the run's files
        from hn_lightning.testbed.truth_run import write_truth

        write_truth(args.path)
    print(f"report: {write_report(args.path, args.max_pairs, args.input)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

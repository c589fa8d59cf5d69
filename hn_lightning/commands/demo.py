"""``python cli.py demo``: the end-to-end demo on the embedded default model, on CPU.

Stages (each skipped when its output already exists, so an interrupted demo resumes):

1. SFT: a few dozen LoRA steps of ``configs/sft_demo.yaml`` -> ``runs/demo/sft/hf_model``.

Later stages (mining, weighted DPO, evaluation) are appended as they land; see the README.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

log = logging.getLogger("hn_lightning.demo")


def _fit(config: str, out_dir: Path, model=None, data=None, trainer=None) -> None:
    """Run ``fit`` on a copy of a shipped config retargeted to ``out_dir`` (saved as ``run_config.yaml``)."""
    from hn_lightning.cli import lightning_main
    from hn_lightning.config_tools import retarget, write_config
    from hn_lightning.paths import REPO_ROOT

    cfg = retarget(REPO_ROOT / "configs" / config, out_dir, model, data, trainer)
    path = write_config(cfg, out_dir / "run_config.yaml")
    lightning_main(["fit", "--config", str(path)])


def stage_sft(out: Path, args) -> Path:
    """SFT with LoRA on a seeded subset of GSM8K + MATH train; returns the exported HF directory."""
    target = out / "sft"
    export = target / "hf_model"
    if (export / "config.json").is_file():
        log.info("SFT: %s exists, skipping", export)
        return export
    _fit("sft_demo.yaml", target, trainer={"max_steps": args.sft_steps})
    return export


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cli.py demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    parser.add_argument("--sft_steps", type=int, default=24, help="SFT optimizer steps (default: 24)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    sft = stage_sft(out, args)
    print(f"\nDemo finished in {(time.time() - t0) / 60:.1f} min.\n  SFT model: {sft}\n  metrics:   {out}/sft/csv (CSV), {out}/sft/tensorboard")
    return 0

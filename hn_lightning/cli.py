"""Command line: ``python cli.py fit|validate --config ...`` (LightningCLI) plus pipeline commands.

Training (``fit``, ``validate``) goes through LightningCLI, so every typed, documented ``__init__``
argument of the chosen LightningModule / DataModule / callbacks is a config key, and ``--print_config``
prints a complete, commented YAML. The data commands (``verify``, ``eval``, ``mine``, ...) are plain
functions in :mod:`hn_lightning.commands`, each with its own ``--help``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from hn_lightning.env import configure_environment

COMMANDS: dict[str, str] = {
    "verify": "hn_lightning.commands.verify",
    "eval": "hn_lightning.commands.eval",
    "mine": "hn_lightning.commands.mine",
    "demo": "hn_lightning.commands.demo",
    "experiment": "hn_lightning.commands.experiment",
}
"""Non-training subcommands: name -> module exposing ``main(argv: list[str] | None) -> int``."""


def _lightning_cli_class():
    import lightning as L
    from lightning.pytorch.callbacks import Callback, LearningRateMonitor, ProgressBar
    from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

    from hn_lightning.callbacks import HFExport, MemoryMonitor, StepProgressBar, TokenThroughput

    class HNLightningCLI(LightningCLI):
        """LightningCLI with our defaults: rich progress bar, throughput/MFU and memory logging,
        learning-rate logging, CSV + TensorBoard loggers, and a Hugging Face export at the end."""

        def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
            parser.add_lightning_class_args(HFExport, "export")

        def _instantiate_trainer(self, config: dict[str, Any], callbacks: list[Callback]) -> L.Trainer:
            present = [*(config.get("callbacks") or []), *callbacks]
            have = lambda kind: any(isinstance(c, kind) for c in present)  # noqa: E731
            if config.get("enable_progress_bar", True) is not False and not have(ProgressBar):
                callbacks.append(StepProgressBar())
            if not have(TokenThroughput):
                callbacks.append(TokenThroughput())
            if not have(MemoryMonitor):
                callbacks.append(MemoryMonitor())
            if config.get("logger", True) is not False and not have(LearningRateMonitor):
                callbacks.append(LearningRateMonitor(logging_interval="step"))
            return super()._instantiate_trainer(config, callbacks)

        def after_fit(self) -> None:
            _print_run_summary(self.trainer)

    return HNLightningCLI


def _print_run_summary(trainer) -> None:
    from hn_lightning.callbacks import HFExport

    if trainer.global_rank != 0:
        return
    lines = ["", "Run finished.", f"  steps:        {trainer.global_step}"]
    for logger in trainer.loggers:
        lines.append(f"  {type(logger).__name__:<13} {logger.log_dir}")
    ckpt = trainer.checkpoint_callback
    if ckpt is not None and (ckpt.last_model_path or ckpt.best_model_path):
        lines.append(f"  checkpoint:   {ckpt.last_model_path or ckpt.best_model_path}")
    for cb in trainer.callbacks:
        if isinstance(cb, HFExport) and cb.last_export:
            lines.append(f"  HF model:     {cb.last_export}  (AutoModelForCausalLM.from_pretrained loads it)")
    print("\n".join(lines), flush=True)


def lightning_main(args: list[str] | None = None, run: bool = True):
    """Run LightningCLI (``fit``, ``validate``, ...) and return the CLI object."""
    import jsonargparse
    import lightning as L

    # dataclass attribute docstrings become --help text and comments in --print_config
    jsonargparse.set_parsing_settings(docstring_parse_attribute_docstrings=True)
    # a bare --print_config prints the commented YAML (needs ruamel.yaml, a core dependency)
    if args is None:
        sys.argv[1:] = ["--print_config=comments" if a == "--print_config" else a for a in sys.argv[1:]]
    else:
        args = ["--print_config=comments" if a == "--print_config" else a for a in args]

    cls = _lightning_cli_class()
    return cls(
        L.LightningModule,
        L.LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        args=args,
        run=run,
        save_config_kwargs={"overwrite": True},
        trainer_defaults={
            "logger": [
                {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": "runs", "name": "csv"}},
                {"class_path": "lightning.pytorch.loggers.TensorBoardLogger", "init_args": {"save_dir": "runs", "name": "tensorboard"}},
            ],
        },
        parser_kwargs={"parser_mode": "yaml"},
        auto_configure_optimizers=False,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cli.py``."""
    configure_environment()
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in COMMANDS:
        module = importlib.import_module(COMMANDS[args[0]])
        return int(module.main(args[1:]) or 0)
    lightning_main(argv)  # None: LightningCLI reads sys.argv itself
    return 0

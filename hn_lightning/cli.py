"""Command line: ``python cli.py fit|validate --config ...`` (LightningCLI) plus pipeline commands.

Training (``fit``, ``validate``) goes through LightningCLI, so every typed, documented ``__init__``
argument of the chosen LightningModule / DataModule / callbacks is a config key, and ``--print_config``
prints a complete, commented YAML. The data commands (``verify``, ``eval``, ``mine``, ...) are plain
functions in :mod:`hn_lightning.commands`, each with its own ``--help``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from hn_lightning.env import configure_environment
from hn_lightning.quiet import silence_expected_noise

COMMANDS: dict[str, str] = {
    "verify": "hn_lightning.commands.verify",
    "eval": "hn_lightning.commands.eval",
    "mine": "hn_lightning.commands.mine",
    "demo": "hn_lightning.commands.demo",
    "experiment": "hn_lightning.commands.experiment",
    "report": "hn_lightning.commands.report",
}
"""Non-training subcommands: name -> module exposing ``main(argv: list[str] | None) -> int``."""

TRAINING_COMMANDS = ("fit", "validate", "test", "predict")
"""LightningCLI's subcommands."""


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

        def before_instantiate_classes(self) -> None:
            _check_strategy_config(self.config)
            _check_fit_config(self.config)

        def after_fit(self) -> None:
            _print_run_summary(self.trainer)

        def _parse_ckpt_path(self) -> None:
            """Resume: the config is the source of truth, the checkpoint's hyper-parameters only a check.

            LightningCLI would re-parse the checkpoint's ``hyper_parameters`` as the model's config. Ours
            are plain values (so checkpoints load with ``weights_only=True``) without class paths, and
            the re-parse fails ("Parsing of ckpt_path hyperparameters failed!"). Instead the saved model
            settings that decide which tensors the checkpoint holds are compared with the config."""
            _check_ckpt_model(self.config)

    return HNLightningCLI


def _check_ckpt_model(config) -> None:
    """Refuse ``--ckpt_path`` when the checkpoint was trained with another fine-tuning mode or LoRA shape."""
    from pathlib import Path

    import torch

    from hn_lightning.errors import UserError

    sub = config.get("subcommand")
    ckpt_path = config[sub].get("ckpt_path") if sub else None
    if not ckpt_path or ckpt_path in ("last", "best", "hpc", "registry") or not Path(ckpt_path).is_file():
        return  # Lightning's own resolution and errors apply
    try:
        ckpt = torch.load(ckpt_path, weights_only=True, map_location="cpu", mmap=True)
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"{ckpt_path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from exc
    saved = (ckpt.get("hyper_parameters") or {}).get("model")
    model_cfg = config[sub].get("model")
    current = getattr(getattr(model_cfg, "init_args", None), "model", None)
    if not isinstance(saved, dict) or current is None:
        return
    for key in ("finetuning", "lora"):
        now = current.get(key) if hasattr(current, "get") else getattr(current, key, None)
        now = now.as_dict() if hasattr(now, "as_dict") else now
        if key == "lora" and isinstance(now, dict) and isinstance(saved.get(key), dict):
            now = {k: (list(v) if isinstance(v, tuple) else v) for k, v in now.items() if k in ("r", "alpha", "target_modules")}
            was = {k: v for k, v in saved[key].items() if k in ("r", "alpha", "target_modules")}
        else:
            was = saved.get(key)
        if saved.get("finetuning") not in ("lora", "qlora") and key == "lora":
            continue
        if now != was:
            raise UserError(f"{ckpt_path}: trained with model.{key}={was!r}, the config says {now!r}; "
                            f"resume with the checkpoint's settings or start a new run")


def _check_strategy_config(config) -> None:
    """Refuse strategy/fine-tuning combinations that cannot work before anything is built (one line)."""
    from hn_lightning.modules.strategy_checks import check_strategy

    sub = config.get("subcommand")
    node = config[sub] if sub else config
    strategy = node.get("trainer", {}).get("strategy") if hasattr(node, "get") else None
    model = getattr(getattr(node.get("model"), "init_args", None), "model", None) if hasattr(node, "get") else None
    finetuning = model.get("finetuning") if hasattr(model, "get") else getattr(model, "finetuning", None)
    if strategy is not None and finetuning:
        check_strategy(strategy, finetuning)


def _check_fit_config(config) -> None:
    """``fit`` settings that would train nothing, and output folders that cannot be written or would
    replace an input, refused before anything is built (one line each)."""
    from pathlib import Path

    from hn_lightning.errors import check_setting
    from hn_lightning.io import Output, check_writable, refuse_overlap

    if config.get("subcommand") != "fit":
        return
    node = config["fit"]
    trainer = node.get("trainer") or {}
    untrained = "trains nothing and would export the untrained model as the result"
    steps = trainer.get("max_steps")
    check_setting("trainer.max_steps", steps, steps is None or steps == -1 or steps >= 1, ">= 1, or -1 for no step limit", f"0 {untrained}")
    epochs = trainer.get("max_epochs")
    check_setting("trainer.max_epochs", epochs, epochs is None or epochs == -1 or epochs >= 1, ">= 1, or -1 for no epoch limit", f"0 {untrained}")
    limit = trainer.get("limit_train_batches")
    check_setting("trainer.limit_train_batches", limit, limit is None or limit > 0, "> 0 (a fraction or a number of batches)", f"0 {untrained}")
    accumulate = trainer.get("accumulate_grad_batches")
    check_setting("trainer.accumulate_grad_batches", accumulate, accumulate is None or accumulate >= 1, ">= 1")
    outputs = [("trainer.default_root_dir", trainer.get("default_root_dir")), ("export.out_dir", (node.get("export") or {}).get("out_dir"))]
    for label, out in outputs:
        if out:
            check_writable(label, out, folder=True)
    export_dir = outputs[1][1]
    if export_dir:  # the export replaces this folder as a whole: no input, nor the run's own folder, may be in it
        run_dir = ("trainer.default_root_dir (the run's checkpoints and logs)", trainer.get("default_root_dir") or os.getcwd())
        refuse_overlap([(label, p) for label, p in [*_fit_inputs(node), run_dir] if Path(p).exists()],
                       [Output("export.out_dir", Path(export_dir), folder=True)], outputs_inside_inputs=True)


def _fit_inputs(node) -> list[tuple[str, str]]:
    """``(key, path)`` of the local paths a training config reads: its config files, the starting model and the data."""
    def init_args(section):
        args = getattr(node.get(section), "init_args", None)
        return args if hasattr(args, "get") else {}

    found = [("--config", str(getattr(c, "absolute", c))) for c in node.get("config") or []]
    model = init_args("model").get("model")
    name = model.get("name_or_path") if hasattr(model, "get") else getattr(model, "name_or_path", None)
    if isinstance(name, str):
        found.append(("model.init_args.model.name_or_path", name))
    for key in ("train_files", "val_files"):
        found += [(f"data.init_args.{key}", f) for f in init_args("data").get(key) or [] if isinstance(f, str)]
    return found


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
        # exit_on_error=False: a parse error raises ArgumentError, printed by main() as one line
        parser_kwargs={"parser_mode": "yaml", "exit_on_error": False},
        auto_configure_optimizers=False,
    )


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception classes whose message is the whole story (printed as one line, exit code 2)."""
    from hn_lightning.catalog import TestDataRefused
    from hn_lightning.errors import UserError
    from hn_lightning.losses import LossSettingError

    return (UserError, FileNotFoundError, TestDataRefused, LossSettingError)


def _find_user_error(exc: BaseException) -> BaseException | None:
    """``exc`` or the first exception it was raised from (jsonargparse wraps errors raised by a class's
    ``__init__`` in a ValueError that dumps the whole Namespace) that is a user error."""
    kinds = _user_errors()
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kinds) or _from_worker_of(exc, kinds):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _from_worker_of(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    """A user error raised in a DataLoader worker: torch re-raises it as its own class when that class
    takes one message, else as ``RuntimeError("Caught <Class> in DataLoader worker process N. ...")``."""
    from hn_lightning.errors import worker_error_class

    name = worker_error_class(str(exc))
    if name is None:
        return False
    names, todo = set(), list(kinds)
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return name in names


EXIT_PEER_LOST = 3
"""Exit code of a rank whose peer process died or stopped answering (the job cannot continue)."""

_PEER_SIGNS = ("Connection reset by peer", "Connection closed by peer", "Connection refused", "Broken pipe",
               "timed out", "Timed out", "NCCL communicator was aborted", "ProcessGroupNCCL", "DistNetworkError")


def _lost_peer(exc: BaseException) -> str | None:
    """One line for a collective that failed because another rank died or hung, else None: the error (or
    one it came from) was raised inside ``torch.distributed`` / DDP and reads like a lost connection or a
    timeout."""
    import traceback

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        text = f"{type(exc).__name__}: {exc}"
        frames = traceback.extract_tb(exc.__traceback__)
        collective = any("torch/distributed" in f.filename or "torch/nn/parallel" in f.filename for f in frames)
        if collective and any(sign in text for sign in _PEER_SIGNS):
            first = str(exc).strip().splitlines()[0][:240]
            rank = os.environ.get("RANK") or os.environ.get("LOCAL_RANK") or "0"
            return (f"rank {rank}: another rank died or stopped answering, so the job cannot continue ({first}); "
                    f"restart every rank with --ckpt_path <run>/checkpoints/last.ckpt")
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cli.py``. Bad input ends with one ``error: ...`` line on stderr and exit code 2;
    ``--debug`` (anywhere on the command line) or ``HN_LIGHTNING_DEBUG=1`` shows the traceback instead."""
    from hn_lightning.errors import DEBUG_ENV, EXIT_USER_ERROR, debug_enabled, print_error

    configure_environment()
    silence_expected_noise()
    args = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in args:
        args = [a for a in args if a != "--debug"]
        os.environ[DEBUG_ENV] = "1"
    try:
        if not args or not (args[0].startswith("-") or args[0] in COMMANDS or args[0] in TRAINING_COMMANDS):
            from hn_lightning.errors import UserError

            given = f"unknown command {args[0]!r}" if args else "no command given"
            raise UserError(f"{given}; choices: {', '.join([*TRAINING_COMMANDS, *COMMANDS])} (cli.py <command> --help)")
        if args[0] in COMMANDS:
            module = importlib.import_module(COMMANDS[args[0]])
            return int(module.main(args[1:]) or 0)
        if argv is None:
            sys.argv[1:] = args  # LightningCLI reads sys.argv itself
            lightning_main(None)
        else:
            lightning_main(args)
        return 0
    except argparse.ArgumentError as exc:  # a parser's error (exit_on_error=False): one line, not the usage block
        if debug_enabled():
            raise
        from hn_lightning.config_tools import parser_error_line

        print_error(parser_error_line(exc))
        return EXIT_USER_ERROR
    except Exception as exc:  # noqa: BLE001 - re-raised unless it is the user's input
        found = None if debug_enabled() else _find_user_error(exc)
        if found is None:
            lost = None if debug_enabled() else _lost_peer(exc)
            if lost is None:
                raise
            print_error(lost)
            return EXIT_PEER_LOST
        print_error(found)
        return EXIT_USER_ERROR

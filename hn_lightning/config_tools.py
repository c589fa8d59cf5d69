"""Derive run configs from the shipped YAML files (used by the demo pipeline and the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hn_lightning.io.atomic import atomic_write_text


def retarget(config: str | Path, out_dir: str | Path, model: dict[str, Any] | None = None,
             data: dict[str, Any] | None = None, trainer: dict[str, Any] | None = None) -> dict[str, Any]:
    """Load a LightningCLI config and point every output (root dir, loggers, checkpoints, export) at
    ``out_dir``; ``model``/``data``/``trainer`` entries override ``model.init_args.model``,
    ``data.init_args`` and ``trainer`` keys."""
    cfg = yaml.safe_load(Path(config).read_text())
    out = str(out_dir)
    cfg["trainer"]["default_root_dir"] = out
    for logger in cfg["trainer"].get("logger") or []:
        logger.setdefault("init_args", {})["save_dir"] = out
    for cb in cfg["trainer"].get("callbacks") or []:
        if "dirpath" in cb.get("init_args", {}):
            cb["init_args"]["dirpath"] = str(Path(out) / "checkpoints")
    cfg.setdefault("export", {})["out_dir"] = str(Path(out) / "hf_model")
    cfg["model"]["init_args"]["model"].update(model or {})
    cfg["data"]["init_args"].update(data or {})
    cfg["trainer"].update(trainer or {})
    return cfg


def write_config(cfg: dict[str, Any], path: str | Path) -> Path:
    """Write a config dict as YAML (atomically) and return its path."""
    atomic_write_text(path, yaml.safe_dump(cfg, sort_keys=False))
    return Path(path)


def dataclass_parser(cls: type, prog: str, description: str | None, config_help: str, flag: str, flag_help: str):
    """A jsonargparse parser for a command configured by one documented dataclass: ``--config`` (YAML),
    ``--print_config`` (commented), one boolean ``--<flag>``, and every field of ``cls`` as a key."""
    import jsonargparse
    from jsonargparse import ActionConfigFile, ArgumentParser

    jsonargparse.set_parsing_settings(docstring_parse_attribute_docstrings=True)
    parser = ArgumentParser(prog=prog, description=description, parser_mode="yaml",
                            formatter_class=jsonargparse.DefaultHelpFormatter)
    parser.add_argument("--config", action=ActionConfigFile, help=config_help)
    parser.add_argument(f"--{flag}", type=bool, default=False, help=flag_help)
    parser.add_class_arguments(cls, None, as_group=False)
    return parser


def parse_dataclass(parser, cls: type, argv: list[str]):
    """``(cls instance, namespace)`` from a command line; a bare ``--print_config`` prints comments."""
    from dataclasses import fields

    ns = parser.parse_args(["--print_config=comments" if a == "--print_config" else a for a in argv])
    init = parser.instantiate(ns)
    return cls(**{f.name: getattr(init, f.name) for f in fields(cls)}), ns

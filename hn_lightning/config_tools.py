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

"""Run ``cli.py`` in a subprocess as a user would, and rewrite shipped configs to write under tmp."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def run_cli(args: list[str], cwd: Path, timeout: int = 1800) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HN_SHARED_DATA": os.environ.get("HN_SHARED_DATA", str(REPO.parent / "shared" / "data"))}
    proc = subprocess.run([sys.executable, str(REPO / "cli.py"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"cli failed ({proc.returncode}):\nSTDOUT:\n{proc.stdout[-4000:]}\nSTDERR:\n{proc.stderr[-6000:]}")
    return proc


def retarget_config(config: str, tmp_path: Path, name: str, model_overrides: dict | None = None, data_overrides: dict | None = None) -> Path:
    """A copy of ``configs/<config>`` whose outputs all go under ``tmp_path/run``."""
    cfg = yaml.safe_load((REPO / "configs" / config).read_text())
    out = tmp_path / "run"
    cfg["trainer"]["default_root_dir"] = str(out)
    for logger in cfg["trainer"]["logger"]:
        logger["init_args"]["save_dir"] = str(out)
    for cb in cfg["trainer"].get("callbacks", []):
        if "dirpath" in cb.get("init_args", {}):
            cb["init_args"]["dirpath"] = str(out / "checkpoints")
    cfg["export"]["out_dir"] = str(out / "hf_model")
    cfg["model"]["init_args"]["model"].update(model_overrides or {})
    cfg["data"]["init_args"].update(data_overrides or {})
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def metrics(run: Path) -> list[dict]:
    files = sorted(run.glob("csv/version_*/metrics.csv"))
    assert files, f"no metrics.csv under {run}"
    return list(csv.DictReader(open(files[-1])))

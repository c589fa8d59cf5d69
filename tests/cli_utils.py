"""Run ``cli.py`` in a subprocess as a user would, and rewrite shipped configs to write under tmp."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_cli(args: list[str], cwd: Path, timeout: int = 1800) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HN_SHARED_DATA": os.environ.get("HN_SHARED_DATA", str(REPO.parent / "shared" / "data"))}
    proc = subprocess.run([sys.executable, str(REPO / "cli.py"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"cli failed ({proc.returncode}):\nSTDOUT:\n{proc.stdout[-4000:]}\nSTDERR:\n{proc.stderr[-6000:]}")
    return proc


def retarget_config(config: str, tmp_path: Path, name: str, model_overrides: dict | None = None, data_overrides: dict | None = None) -> Path:
    """A copy of ``configs/<config>`` whose outputs all go under ``tmp_path/run``."""
    from hn_lightning.config_tools import retarget, write_config

    cfg = retarget(REPO / "configs" / config, tmp_path / "run", model_overrides, data_overrides)
    return write_config(cfg, tmp_path / name)


def metrics(run: Path) -> list[dict]:
    files = sorted(run.glob("csv/version_*/metrics.csv"))
    assert files, f"no metrics.csv under {run}"
    return list(csv.DictReader(open(files[-1])))


def run_cli_raw(args: list[str], cwd: Path, timeout: int = 1800, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Like :func:`run_cli`, but returns whatever happened (exit code, stdout, stderr) instead of asserting."""
    full = {**os.environ, "PYTHONPATH": str(REPO), "HN_SHARED_DATA": os.environ.get("HN_SHARED_DATA", str(REPO.parent / "shared" / "data")),
            "COLUMNS": "80", **(env or {})}
    if not (env and "HN_FAULT" in env):
        full.pop("HN_FAULT", None)
    return subprocess.run([sys.executable, str(REPO / "cli.py"), *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout)


def losses_by_step(run: Path, key: str = "train/loss") -> dict[int, float]:
    """``step -> value`` of a logged training metric over every CSV version under ``run`` (later versions win)."""
    out: dict[int, float] = {}
    for f in sorted(run.glob("csv/version_*/metrics.csv"), key=lambda p: int(p.parent.name.split("_")[1])):
        for row in csv.DictReader(open(f)):
            if row.get(key):
                out[int(row["step"])] = float(row[key])
    return out

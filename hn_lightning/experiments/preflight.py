"""Everything an experiment checks before its first stage runs, so that a bad input stops it at once
with one line instead of after hours of earlier cells:

- the configs: ``base_config``, ``sft.config`` (and the SFT data it names) exist;
- every arm with ``train_files`` expands to at least one non-empty pair file, none of them test data
  (as training would refuse them); ``val_files`` resolve; every evaluation task (``eval``,
  ``extra_evals``) resolves; the starting policy is a model folder, a ``.gguf`` file, a registered name
  or a Hub id; with ``mine``, its problem files resolve;
- no input lies in a folder the experiment writes or clears (``sft/``, ``baseline/``, ``mining/``,
  ``split/``, ``cells/``, ``rounds/``, ``plots/``), is one of its report files, or is a folder holding
  ``out`` (it would read its own outputs as input next time): :func:`hn_lightning.io.refuse_overlap`. An
  input elsewhere under ``out`` is fine: the experiment writes only :meth:`Layout.written
  <hn_lightning.experiments.layout.Layout.written>` and deletes only inside those folders.

Every file read is hashed here once (:class:`~hn_lightning.experiments.inputs.Inputs`), so the stages'
fingerprints cost nothing more.
"""

from __future__ import annotations

import glob
from pathlib import Path

from hn_lightning.errors import UserError
from hn_lightning.experiments.config import ExperimentConfig, read_base_config, resolve_config_path
from hn_lightning.experiments.inputs import Inputs
from hn_lightning.experiments.layout import Layout

__all__ = ["preflight"]


def _expand(label: str, spec: str, inputs: Inputs, read: list[tuple[str, Path]]) -> list[Path]:
    """The files of one spec (hashed), recorded in ``read`` with the folder (or recursive glob's root) it
    names; ``label``: the key, for the error line (the resolver's message names the path)."""
    from hn_lightning.catalog import expand_paths, resolve_spec

    try:
        paths = expand_paths([spec])
    except FileNotFoundError as exc:
        raise UserError(f"{label}: {exc}") from None
    root = str(resolve_spec(spec))
    if glob.has_magic(root):  # a recursive glob reads everything below its fixed part, a flat one its matches
        root = root.split("**", 1)[0] if "**" in root else ""
    if root and not glob.has_magic(root) and Path(root).is_dir():
        read.append((label, Path(root)))
    read += [(label, p) for p in paths]
    for p in paths:
        inputs.file(p)
    return paths


def _config_file(label: str, path: str, read: list[tuple[str, Path]]) -> None:
    try:
        read.append((label, resolve_config_path(path)))
    except FileNotFoundError as exc:
        raise UserError(f"{label}: {exc}") from None


def preflight(cfg: ExperimentConfig, layout: Layout, inputs: Inputs) -> None:
    """Check every input of ``cfg`` (see the module doc); one :class:`UserError` line naming the key (the
    arm) and the path at fault."""
    from hn_lightning.catalog import refuse_test_files
    from hn_lightning.io import Output, refuse_overlap
    from hn_lightning.io.jsonl import count_lines

    read: list[tuple[str, Path]] = []
    _config_file("base_config", cfg.base_config, read)
    base = read_base_config(cfg)
    allow_test = bool(((base.get("data") or {}).get("init_args") or {}).get("allow_test_data", False))
    if cfg.sft is not None:
        from hn_lightning.experiments.policy import sft_run_config

        _config_file("sft.config", cfg.sft.config, read)
        data = sft_run_config(cfg, layout.root)["data"]["init_args"]
        for spec in [*(data.get("train_files") or []), *(data.get("val_files") or [])]:
            _expand(f"sft.config {cfg.sft.config} data", spec, inputs, read)
    for arm in cfg.grid.arms:
        paths = [p for spec in arm.train_files for p in _expand(f"arm {arm.name!r} train_files", spec, inputs, read)]
        if arm.train_files and not count_lines(paths):
            raise UserError(f"arm {arm.name!r}: train_files {', '.join(arm.train_files)}: no pairs (the files are empty)")
        refuse_test_files(paths, allow_test, f"DPO training (arm {arm.name!r})")
    for spec in cfg.val_files or []:
        _expand("val_files", spec, inputs, read)
    evals = {"eval": cfg.eval, **{f"extra_evals.{k}": v for k, v in cfg.extra_evals.items()}}
    for label, spec in evals.items():
        if spec is not None:
            _task(f"{label}.task", spec.task, inputs, read)
    policy = _policy_name(cfg, layout)
    inputs.policy(policy)
    if Path(policy).expanduser().exists():
        read.append(("policy", Path(policy).expanduser()))
    if cfg.mine is not None:
        problems = cfg.mine.problems
        for label, spec in [("mine.problems.gsm8k", problems.gsm8k), ("mine.problems.math", problems.math),
                            *(("mine.problems.custom", c.path) for c in problems.custom)]:
            if spec:
                _task(label, spec, inputs, read, kind="problems")
    folders, files = layout.written(cfg.extra_evals)
    refuse_overlap(read, [Output("out", f, folder=True) for f in folders] + [Output("out", f) for f in files])


def _task(label: str, task: str, inputs: Inputs, read: list[tuple[str, Path]], kind: str = "task") -> None:
    """A task or problems spec that must resolve to one file (hashed)."""
    from hn_lightning.catalog import DataNotFound, resolve_data_file
    from hn_lightning.evaluation.tasks import task_source

    try:
        path = task_source(task) if kind == "task" else resolve_data_file(task, "problems")
    except DataNotFound as exc:
        raise UserError(f"{label}: {exc}") from None
    inputs.file(path)
    read.append((label, path))


def _policy_name(cfg: ExperimentConfig, layout: Layout) -> str:
    """The model the experiment starts from: SFT's starting model with ``sft``, else the starting policy."""
    if cfg.sft is not None:
        from hn_lightning.experiments.policy import sft_run_config

        return str(sft_run_config(cfg, layout.root)["model"]["init_args"]["model"]["name_or_path"])
    from hn_lightning.experiments.policy import starting_policy

    return starting_policy(cfg)

"""Every path under an experiment's output folder ``<out>``: the one module that knows the layout.

::

    <out>/
      sft/                   the SFT stage: a fit folder (below), settings.json (the settings and inputs it
                             started with) and sft.json (when finished)
      baseline/              eval/ and eval_<task>/ (the starting policy's evaluations), settings.json and
                             baseline.json
      baseline_base/         the same for the model SFT started from (base_row)
      mining/                the `cli.py mine` output (pairs/<arm>/, funnel.json, report.md, ...) and
                             inputs.json (the policy and problem files it was mined from)
        split/               val_split of the mined problems: a split folder (below)
      split/                 val_split of the arms' pair files (no mine): a split folder
      cells/<cell>/          one cell: a fit folder and settings.json (settings and inputs it started with),
                             train.json, pair_log.csv, kl.json, eval/, eval_<task>/, cell.json (finished)
      rounds/round<k>/       round k (rounds:): a whole experiment folder of this layout
      report.md, stages.json, stages.csv, design.json, cells.csv, conditions.csv, comparisons.csv (and
      *_<task>.csv per extra evaluation), funnel.csv, rounds.csv, plots/ (accuracy, forest, funnel; curves/<cell>.png,
      weights/<cell>.png)

A *fit folder* is where :func:`hn_lightning.config_tools.retarget` points a training config:
``run_config.yaml``, ``csv/version_<n>/metrics.csv`` (one per fit, resumed fits add one), ``metrics.csv``
(their concatenation), ``checkpoints/last.ckpt``, ``hf_model/`` (the export). A *split folder* holds
``<arm>/pairs.jsonl`` (an arm's training pairs without the held-out problems), ``val.jsonl`` (the
held-out pairs) and ``split.json`` (the split's settings and counts).

The experiment writes nothing else under ``<out>``: :meth:`Layout.written` lists it (what no input may
lie in), and a finished stage is deleted only inside these folders (``on_change: rerun``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FitDir", "CellDir", "SplitDir", "Layout"]


@dataclass(frozen=True)
class FitDir:
    """A folder a ``fit`` writes into (the SFT stage, a cell)."""

    path: Path

    @property
    def run_config(self) -> Path:
        return self.path / "run_config.yaml"

    @property
    def last_checkpoint(self) -> Path:
        """What an interrupted fit resumes from."""
        return self.path / "checkpoints" / "last.ckpt"

    @property
    def model(self) -> Path:
        """The exported Hugging Face model."""
        return self.path / "hf_model"

    @property
    def exported(self) -> bool:
        """Whether the fit finished (its model is exported)."""
        return (self.model / "config.json").is_file()

    @property
    def metrics(self) -> Path:
        """Every fit's logged metrics, concatenated."""
        return self.path / "metrics.csv"

    def logged_metrics(self) -> list[Path]:
        """``csv/version_<n>/metrics.csv`` of every (resumed) fit, in version order."""
        return sorted(self.path.glob("csv/version_*/metrics.csv"), key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))


@dataclass(frozen=True)
class CellDir(FitDir):
    """One cell's folder, ``<out>/cells/<cell>``."""

    @property
    def result(self) -> Path:
        """``cell.json``: the finished cell's summary (written last)."""
        return self.path / "cell.json"

    @property
    def started(self) -> Path:
        """``settings.json``: the settings the cell started with (an interrupted cell resumes only with them)."""
        return self.path / "settings.json"

    @property
    def train_time(self) -> Path:
        return self.path / "train.json"

    @property
    def pair_log(self) -> Path:
        return self.path / "pair_log.csv"

    @property
    def kl(self) -> Path:
        return self.path / "kl.json"

    def eval(self, task: str | None = None) -> Path:
        """The evaluation folder: ``eval/`` (the experiment's ``eval``), ``eval_<task>/`` (an extra one)."""
        return self.path / ("eval" if task is None else f"eval_{task}")


@dataclass(frozen=True)
class SplitDir:
    """A held-out split of pairs (see the module doc)."""

    path: Path

    def arm(self, arm: str) -> Path:
        """The folder of an arm's training pairs (``pairs.jsonl`` in it)."""
        return self.path / arm

    @property
    def heldout(self) -> Path:
        return self.path / "val.jsonl"

    @property
    def marker(self) -> Path:
        return self.path / "split.json"


@dataclass(frozen=True)
class Layout:
    """The paths of one experiment folder ``root`` (``cfg.out``)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    # the starting policy
    @property
    def sft(self) -> FitDir:
        return FitDir(self.root / "sft")

    @property
    def sft_marker(self) -> Path:
        return self.root / "sft" / "sft.json"

    @property
    def sft_started(self) -> Path:
        """The settings and inputs the SFT stage started with (an interrupted SFT resumes only with them)."""
        return self.root / "sft" / "settings.json"

    @property
    def baseline(self) -> Path:
        return self.root / "baseline"

    @property
    def baseline_base(self) -> Path:
        """The base row (``base_row``: the model SFT started from), laid out like ``baseline/``."""
        return self.root / "baseline_base"

    @property
    def baseline_eval(self) -> Path:
        return self.baseline / "eval"

    @property
    def baseline_marker(self) -> Path:
        return self.baseline / "baseline.json"

    @property
    def baseline_started(self) -> Path:
        return self.baseline / "settings.json"

    # pairs
    @property
    def mining(self) -> Path:
        """The mining run's ``out``."""
        return self.root / "mining"

    def mined_pairs(self, arm: str) -> Path:
        return self.mining / "pairs" / arm

    @property
    def mining_split(self) -> SplitDir:
        return SplitDir(self.mining / "split")

    @property
    def mining_report(self) -> Path:
        return self.mining / "report.md"

    @property
    def funnel(self) -> Path:
        return self.mining / "funnel.json"

    @property
    def mining_manifest(self) -> Path:
        """The mining run's stage record (it exists once mining has started)."""
        return self.mining / "manifest.json"

    @property
    def mining_inputs(self) -> Path:
        """The fingerprints of the policy and problem files the pairs were mined from."""
        return self.mining / "inputs.json"

    @property
    def file_split(self) -> SplitDir:
        return SplitDir(self.root / "split")

    # cells and rounds
    @property
    def cells(self) -> Path:
        return self.root / "cells"

    def cell(self, cell_id: str) -> CellDir:
        return CellDir(self.cells / cell_id)

    def round(self, k: int) -> Layout:
        return Layout(self.root / "rounds" / f"round{k}")

    # report
    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def stages(self) -> Path:
        """Wall time of every stage run now."""
        return self.root / "stages.json"

    @property
    def design(self) -> Path:
        """Problems, seeds, cells and the minimum detectable effect (planned and measured)."""
        return self.root / "design.json"

    def table(self, name: str) -> Path:
        """``<name>.csv`` (``cells``, ``conditions_<task>``, ``funnel``, ``rounds``, ...)."""
        return self.root / f"{name}.csv"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    def written(self, evals: Iterable[str] = ()) -> tuple[list[Path], list[Path]]:
        """``(folders, files)`` the experiment writes under ``root``: every folder above (it writes, and
        may delete, anything inside them) and the report files at the top (``evals``: the names of the
        extra evaluations, whose tables get a suffix)."""
        folders = [self.sft.path, self.baseline, self.baseline_base, self.mining, self.file_split.path, self.cells,
                   self.root / "rounds", self.plots]
        tables = ["cells", "conditions", "comparisons", "funnel", "rounds", "stages"]
        tables += [f"{t}_{name}" for name in evals for t in ("cells", "conditions", "comparisons")]
        files = [self.report, self.report.with_suffix(".html"), self.stages, self.design, *(self.table(t) for t in tables)]
        return folders, files

"""The experiment config (``python cli.py experiment --config configs/experiments/NAME.yaml``) and its grid
of cells. Every field is documented here, so ``--print_config`` documents every key."""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hn_lightning.errors import UserError
from hn_lightning.mining.config import MineConfig


@dataclass
class ArmSpec:
    """One set of training pairs (an "arm" of the comparison)."""

    name: str
    """Short name used in cell ids and tables (letters, digits, ``_``, ``.``): e.g. hardneg, random, shuffled."""
    train_files: list[str] = field(default_factory=list)
    """Pair files, folders of ``*.jsonl`` shards or globs (``shared:`` allowed), e.g. an earlier ``mine``
    run's ``pairs/hardneg``. Every cell of this arm trains on exactly these pairs. Empty when ``mined``."""
    mined: Literal["hardneg", "random", "shuffled"] | None = None
    """Train on a pair set of the experiment's own mining run (``mine``; ``<out>/mining/pairs/<mined>``):
    ``hardneg`` (verifier-selected hard negatives with verifier weights), ``random`` (random-uniform pairs
    from answer correctness alone, weight 1, as many as hardneg) or ``shuffled`` (the hardneg pairs with
    their weights permuted). Null: ``train_files``."""
    weighting: Literal["normalized", "none"] | None = None
    """Fix this arm's weighting instead of crossing it with ``grid.weightings``: ``none`` on ``mined:
    hardneg`` is the paper's missing ablation (the same pairs, every weight 1: selection without
    weighting). Null: every weighting of the grid."""
    lambdas: list[float] | None = None
    """This arm's tempering lambdas instead of ``grid.lambdas`` (its ``normalized`` cells only), e.g. the
    shuffled-weights control at lambda 1 alone. Null: the grid's."""


@dataclass
class LossSpec:
    """One preference loss of the grid (any ``hn_lightning.losses`` class)."""

    name: str
    """Short name used in cell ids and tables, e.g. sigmoid, robust, simpo."""
    loss_class: str = "hn_lightning.losses.SigmoidDPO"
    """Loss class (becomes ``model.init_args.loss.class_path``): SigmoidDPO (the paper), RobustDPO, IPO, Hinge,
    SimPO or ORPO (the last two need no reference)."""
    args: dict[str, Any] = field(default_factory=dict)
    """Its arguments (``model.init_args.loss.init_args``), e.g. ``{beta: 0.1}``."""


@dataclass
class GridSpec:
    """The cells: every combination arm x loss x weighting x lambda x seed (lambda only varies the
    ``normalized`` weighting; ``none`` ignores it, so it yields one cell per arm x loss x seed)."""

    arms: list[ArmSpec]
    """Pair sets to compare."""
    losses: list[LossSpec] = field(default_factory=lambda: [LossSpec("sigmoid")])
    """Preference losses to compare."""
    weightings: list[Literal["normalized", "none"]] = field(default_factory=lambda: ["normalized"])
    """``normalized``: the paper's per-step verifier weights; ``none``: every pair weighs 1 (the uniform
    ablation of the same pairs: selection without weighting)."""
    lambdas: list[float] = field(default_factory=lambda: [0.3])
    """Tempering lambda of the normalized weights (the paper: 0.3)."""
    seeds: list[int] = field(default_factory=lambda: [0])
    """Training seeds (``seed_everything`` and the data shuffle); cells with the same other settings and
    different seeds are pooled in the comparisons."""


@dataclass
class EvalSpec:
    """Task accuracy of every trained cell on the same problems (``cli.py eval``, Step-DPO protocol)."""

    task: str = "gsm8k"
    """gsm8k, math, math500 or a JSONL path (test problems: never trained on)."""
    limit: int | None = 20
    """The first N problems (null: all)."""
    max_new_tokens: int = 384
    """Generation cap (the protocol uses 2048)."""
    batch_size: int = 8
    """Prompts per generate call."""
    prompt: Literal["qwen2-boxed", "sft-system", "chat-template"] = "qwen2-boxed"
    """Prompt style (``cli.py eval --prompt``): ``qwen2-boxed`` (the protocol) or ``sft-system`` (the
    paper's SFT system prompt: use it when the SFT stage trained with that prompt, as the testbed does)."""
    calculator: bool = False
    """GSM8K's calculator (``cli.py eval --calculator``): after ``<<expr=`` the result and ``>>`` are
    written for the model, so its answers depend on its plan, not its digits (the testbed; HF backend)."""

    def settings(self) -> dict[str, Any]:
        """The settings that decide an evaluation's result, for fingerprints: the prompt and calculator
        only when set, so folders evaluated before those keys existed keep their fingerprint."""
        unset = {f.name for f in dataclasses.fields(self) if f.name in ("prompt", "calculator") and getattr(self, f.name) == f.default}
        return {k: v for k, v in vars(self).items() if k not in unset}


@dataclass
class KLSpec:
    """A sampled estimate of KL(trained policy || reference) on held-out prompts (the distinct prompts of
    ``val_files``): one completion per prompt sampled from the policy (temperature 1, seeded), KL ~ the mean
    over sampled tokens of ``log p_policy - log p_ref``. Needs ``val_files``."""

    prompts: int = 8
    """Held-out prompts (the first distinct ones of ``val_files``)."""
    max_new_tokens: int = 64
    """Tokens sampled per prompt."""
    seed: int = 0
    """Sampling seed (prompt i uses seed + i), the same for every cell."""


@dataclass
class RoundsSpec:
    """Iterative rounds (beyond the paper): round k+1 starts from the trained policy of one cell of round k
    (``follow`` with ``seed``), re-samples and re-mines with it (``mine``), trains every cell of the grid
    from it as policy and reference, and is evaluated on the same problems. Round k lives in
    ``<out>/rounds/round<k>/`` (a whole experiment folder); ``<out>/rounds.csv`` and the report give the
    accuracy per round."""

    count: int = 1
    """Rounds after the first (round 0 is the experiment itself)."""
    follow: str = "hardneg-sigmoid-w0.3"
    """The condition (cell id without the seed, e.g. ``hardneg-sigmoid-w0.3``) whose trained policy starts
    the next round."""
    seed: int = 0
    """The seed of the followed cell."""


@dataclass
class SFTSpec:
    """Supervised fine-tuning of the starting policy inside the experiment, before mining (the paper's
    first stage): a ``fit`` of ``config`` from ``policy`` (null: the SFT config's model) with the
    experiment's ``model`` overrides, exported to ``<out>/sft/hf_model``. The SFT model is then the policy
    that is mined with, the start of every cell and their reference. Skipped when finished with the same
    settings, resumed from ``<out>/sft/checkpoints/last.ckpt`` after an interruption."""

    config: str = "configs/sft_demo.yaml"
    """The SFT ``fit`` config (``python cli.py fit --config ...``): data, LoRA, optimizer; its outputs are
    moved under ``<out>/sft/``."""
    max_steps: int = 24
    """SFT optimizer steps."""


@dataclass
class ExperimentConfig:
    """A grid of DPO runs from one starting policy, each evaluated on the same problems, compared with
    paired statistics; resumable (finished cells are skipped, added cells run alone)."""

    grid: GridSpec
    """The cells."""
    out: str = "runs/experiment"
    """Output folder: ``mining/`` (when ``mine``), ``cells/<cell>/`` per cell, then ``report.md``, ``*.csv``
    and ``plots/``."""
    base_config: str = "configs/dpo_demo.yaml"
    """The ``fit`` config every cell starts from (trainer, optimizer, LoRA, batch sizes); the grid
    overrides its loss, pairs, weighting, lambda, seed and steps, and all its output paths."""
    policy: str | None = None
    """Starting policy (``model.init_args.model.name_or_path``; also the reference and, with ``mine``, the
    sampling policy); null: the base config's. With ``sft``: the model SFT starts from (null: the SFT
    config's), and the SFT model is the starting policy."""
    sft: SFTSpec | None = None
    """Fine-tune the starting policy first (``<out>/sft/``); null: start from ``policy`` as it is."""
    baseline: bool = False
    """Also evaluate the starting policy (the SFT model with ``sft``) on the same problems as every cell:
    a row ``sft`` (or ``policy``) in the tables, paired with every condition in the comparisons (its
    outcomes repeated for each seed); outputs in ``<out>/baseline/``."""
    base_row: bool = False
    """With ``sft`` and ``baseline``: also evaluate the model SFT started from, on the same problems (every
    ``eval`` and ``extra_evals`` task): a row ``base`` beside ``sft``, so a reader sees what SFT did
    before any DPO; outputs in ``<out>/baseline_base/``."""
    model: dict[str, Any] = field(default_factory=dict)
    """Further ``model.init_args.model`` overrides, e.g. ``{dtype: float32}``."""
    mine: MineConfig | None = None
    """Mine the training pairs once, inside the experiment, before any cell (``python cli.py mine``
    settings, every key of ``configs/mine.yaml``): outputs in ``<out>/mining/`` (its ``out`` and its
    ``policy.name_or_path`` are overridden by the experiment's), resumable stage by stage and shared by
    every cell; arms pick a pair set with ``mined``. Null: arms name pair files."""
    val_split: float = 0.0
    """With ``mine``: hold out this fraction of the problems that have hard-negative pairs (seeded by
    ``mine.seed``): their pairs leave every mined arm, and their hard-negative pairs become held-out pairs
    for every cell (added to ``val_files``): reward accuracy, margin, drift and the sampled KL on pairs no
    cell trained on. Without ``mine``: the problems of the arms' ``train_files`` are split (seed 0; a
    problem is ``meta.problem_id`` or the prompt): every file arm trains on its pairs of the other problems
    (``<out>/split/<arm>``), the first arm's pairs of the held-out problems are every cell's held-out pairs
    (``<out>/split/val.jsonl``); with ``mine``, arms that name files are not split. 0: no split."""
    max_steps: int = 8
    """Optimizer steps per cell (the same for every cell: same number of pairs seen)."""
    val_files: list[str] | None = None
    """Held-out pairs (e.g. a validation split of the mined pairs), the same for every cell: after the last
    step each cell reports its reward accuracy and mean margin on them (``val/*`` metrics). Null: none."""
    kl: KLSpec | None = field(default_factory=KLSpec)
    """Sampled KL estimate of every cell on held-out prompts (only with ``val_files``); null: none."""
    eval: EvalSpec | None = field(default_factory=EvalSpec)
    """Evaluation of every cell; null: train only (no accuracy, no comparisons)."""
    extra_evals: dict[str, EvalSpec] = field(default_factory=dict)
    """More evaluation tasks of every cell, by a short name (``{math500: {task: math500, limit: null}}``):
    each gets its own accuracy table and paired comparisons (``conditions_<name>.csv``,
    ``comparisons_<name>.csv``); outputs in ``cells/<cell>/eval_<name>/``."""
    rounds: RoundsSpec | None = None
    """Iterative rounds (needs ``mine``); null: one round."""
    bootstrap: int = 10_000
    """Paired bootstrap replicates per comparison."""
    bootstrap_seed: int = 0
    """Seed of the paired bootstrap."""
    alpha: float = 0.05
    """Significance level of the McNemar tests (the bootstrap interval covers 1 - alpha)."""
    design_discordance: float | None = None
    """The assumed discordance rate of two conditions (the fraction of paired outcomes where exactly one is
    right), in (0, 1]: the report's Design section, ``design.json`` and the line printed before the first
    cell give the *planned* minimum detectable effect of the evaluation from it (80% power, ``alpha``).
    Take it from a quick run's measured discordance (its report's Design section). Null: no planned
    effect (the measured one of each comparison is reported either way)."""
    on_change: Literal["refuse", "rerun"] = "refuse"
    """A finished or started stage (a cell, ``sft``, ``baseline``, ``mining``) whose inputs or settings
    differ from today's: every pair file (by content: the arms' files, the split or mined pairs, the
    held-out files), the starting policy (a local folder by the content of its weights and config), the
    eval task file (content) and settings, the run config. ``refuse``: stop before anything runs, with one
    line naming the stage and what changed; ``rerun``: delete what the change invalidates (a cell's folder;
    only its evaluation when only the eval set changed; ``sft/``, ``baseline/``, ``mining/``) and run it
    again. Inputs are never deleted (none may lie in a folder the experiment writes)."""
    accept_unrecorded: bool = False
    """Stages finished or started by a version that recorded no input fingerprints: true keeps them and
    records today's inputs as theirs (say so only when the files have not changed since); false: they
    count as changed (``on_change`` decides)."""


BASELINE_NAMES = ("sft", "policy", "base")
"""The baseline rows (evaluated, never trained): ``sft`` with an SFT stage, else ``policy`` (the starting
policy); ``base`` with ``base_row`` (the model SFT started from). What each is, in words:
:data:`hn_lightning.reports.words.BASELINE_ROWS`."""

MINED_ARMS = ("hardneg", "random", "shuffled")
"""The pair sets a mining run writes (``pairs/<arm>``), one of which an arm's ``mined`` names."""

_NAME = re.compile(r"^[A-Za-z0-9_.]+$")


@dataclass(frozen=True)
class Cell:
    """One training run of the grid."""

    arm: str
    loss: str
    weighting: str
    lam: float | None
    seed: int

    @property
    def condition(self) -> str:
        """Everything but the seed: cells of one condition are pooled over seeds."""
        w = f"w{self.lam:g}" if self.weighting == "normalized" else "uniform"
        return f"{self.arm}-{self.loss}-{w}"

    @property
    def id(self) -> str:
        return f"{self.condition}-s{self.seed}"


def cells(grid: GridSpec) -> list[Cell]:
    """The grid's cells in a stable order; ``ValueError`` for bad or duplicate names."""
    for kind, names in (("arm", [a.name for a in grid.arms]), ("loss", [s.name for s in grid.losses])):
        for name in names:
            if not _NAME.match(name):
                raise UserError(f"{kind} name {name!r}: use letters, digits, '_' or '.' (it becomes a folder name)")
        if len(set(names)) != len(names):
            raise UserError(f"duplicate {kind} names: {names}")
    if not grid.arms or not grid.losses or not grid.seeds or not grid.weightings:
        raise ValueError("grid: arms, losses, weightings and seeds must each name at least one entry")
    for arm in grid.arms:
        if bool(arm.train_files) == bool(arm.mined):
            raise ValueError(f"arm {arm.name!r}: give exactly one of train_files and mined")
    out: list[Cell] = []
    for arm, loss, weighting, seed in itertools.product(grid.arms, grid.losses, grid.weightings, grid.seeds):
        weighting = arm.weighting or weighting
        for lam in ((arm.lambdas or grid.lambdas) if weighting == "normalized" else [None]):
            cell = Cell(arm.name, loss.name, weighting, lam, seed)
            if cell not in out:
                out.append(cell)
    return out


def check(cfg: ExperimentConfig) -> list[Cell]:
    """Validate what :func:`cells` cannot see alone; returns the cells. ``ValueError`` with the key at fault."""
    grid = cells(cfg.grid)
    for name in cfg.extra_evals:
        if not _NAME.match(name):
            raise ValueError(f"extra_evals name {name!r}: use letters, digits, '_' or '.' (it becomes a file name)")
    mined = [a.name for a in cfg.grid.arms if a.mined]
    if mined and cfg.mine is None:
        raise ValueError(f"arm(s) {', '.join(mined)} train on mined pairs ('mined'), but the experiment has no 'mine' settings")
    if cfg.rounds is not None:
        if cfg.mine is None:
            raise ValueError("rounds re-mine with each round's policy: they need the experiment's 'mine' settings")
        if cfg.rounds.count < 1:
            raise ValueError("rounds.count must be at least 1 (or set rounds: null)")
        follow = [c for c in grid if c.condition == cfg.rounds.follow and c.seed == cfg.rounds.seed]
        if not follow:
            raise ValueError(f"rounds.follow {cfg.rounds.follow!r} with seed {cfg.rounds.seed} is no cell of the grid; "
                             f"conditions: {sorted({c.condition for c in grid})}")
    if cfg.sft is not None and cfg.sft.max_steps < 1:
        raise ValueError("sft.max_steps must be at least 1 (or set sft: null)")
    if cfg.baseline and cfg.eval is None:
        raise ValueError("baseline evaluates the starting policy with 'eval': set eval, or baseline: false")
    if cfg.base_row and not (cfg.baseline and cfg.sft is not None):
        raise ValueError("base_row evaluates the model SFT started from beside the SFT model: it needs sft and baseline: true")
    if cfg.baseline and any(c.arm in BASELINE_NAMES for c in grid):
        raise ValueError(f"with baseline: true, no arm may be named {' or '.join(BASELINE_NAMES)} (the baseline's row)")
    for lam in {c.lam for c in grid if c.lam is not None}:
        if not 0.0 <= lam <= 1.0:  # checked here, not when the first cell with it trains
            raise ValueError(f"lambda = {lam:g} is out of range: allowed 0 <= lambda <= 1 (grid.lambdas, arms' lambdas)")
    if not 0.0 <= cfg.val_split < 1.0:
        raise ValueError(f"val_split {cfg.val_split}: a fraction in [0, 1)")
    if cfg.design_discordance is not None and not 0.0 < cfg.design_discordance <= 1.0:
        raise ValueError(f"design_discordance {cfg.design_discordance}: a fraction in (0, 1] (or null)")
    if cfg.kl is not None and cfg.kl.prompts < 1:
        raise ValueError("kl.prompts must be at least 1 (or set kl: null)")
    return grid


def resolve_config_path(path: str) -> Path:
    """``path`` as given when it exists, else relative to the repository (shipped configs)."""
    from hn_lightning.paths import REPO_ROOT

    p = Path(path)
    if p.is_file():
        return p
    if (REPO_ROOT / path).is_file():
        return REPO_ROOT / path
    raise FileNotFoundError(f"base_config {path}: no such file (relative paths are tried from here and from {REPO_ROOT})")


def read_base_config(cfg: ExperimentConfig) -> dict[str, Any]:
    """The ``base_config`` YAML as a dict (empty for an empty file)."""
    import yaml

    return yaml.safe_load(resolve_config_path(cfg.base_config).read_text(encoding="utf-8")) or {}

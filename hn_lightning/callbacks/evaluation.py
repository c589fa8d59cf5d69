"""In-training GSM8K / MATH evaluation of the current policy (adapters on).

Add it to any config::

    trainer:
      callbacks:
        - class_path: hn_lightning.callbacks.evaluation.MathEvalCallback
          init_args: {tasks: [gsm8k, math], every_n_steps: 200, limit: 100}

Every ``every_n_steps`` optimizer steps and at the end of training, it generates greedily (the
``qwen2-boxed`` protocol prompt by default) for a fixed, seeded subset of each task with
``pl_module.policy`` and ``pl_module.tokenizer``, scores with the shared answer checker, logs
``eval/<task>_acc`` (``eval/gsm8k_acc``, ``eval/math_acc``), ``eval/<task>_tokens_per_sec`` and
``eval/<task>_seconds`` to every logger, and writes ``<out_dir>/step_<N>/<task>/samples.jsonl`` and
``summary.json``.

It leaves training exactly as it found it: the train/eval mode of every submodule and the python,
numpy, torch (and CUDA) RNG states are saved and restored, generation runs under
``torch.inference_mode()``, and the optimizer and dataloader are never touched.

Under DDP every rank evaluates its share of the subset (shards of ``shard_size`` problems, round robin,
:mod:`~hn_lightning.evaluation.sharded`), the per-problem verdicts are all-gathered, and every rank logs
the same accuracy over the whole subset, equal to one process's (the shards, their batches and seeds do
not depend on the number of ranks). The last rank to finish merges ``samples.jsonl`` and writes
``summary.json``. (Sharded strategies such as FSDP or DeepSpeed stage 3, whose parameters only exist
across ranks, are not supported.)
"""

from __future__ import annotations

import logging
import random
import shutil
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from hn_lightning.evaluation.engine import HFEngine
from hn_lightning.evaluation.generate import GenerationConfig
from hn_lightning.evaluation.prompts import PromptStyle
from hn_lightning.evaluation.runner import RunSettings, evaluate_items
from hn_lightning.evaluation.sharded import DEFAULT_SHARD_SIZE, combine_rank_correctness, rank_correctness
from hn_lightning.evaluation.tasks import EvalItem, load_task, task_name
from hn_lightning.ranks import RankSpec

log = logging.getLogger(__name__)

__all__ = ["MathEvalCallback", "RNGState"]


class RNGState:
    """Snapshot of the python, numpy, torch CPU and CUDA generators; :meth:`restore` puts them back."""

    def __init__(self) -> None:
        self.python = random.getstate()
        self.numpy = np.random.get_state()
        self.torch = torch.get_rng_state()
        self.cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None

    def restore(self) -> None:
        random.setstate(self.python)
        np.random.set_state(self.numpy)
        torch.set_rng_state(self.torch)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)


class MathEvalCallback(Callback):
    """Evaluate GSM8K / MATH accuracy of the policy during training (see the module doc)."""

    def __init__(
        self,
        tasks: list[str] | None = None,
        every_n_steps: int | None = None,
        limit: int = 100,
        seed: int = 0,
        batch_size: int = 8,
        max_new_tokens: int = 2048,
        prompt: PromptStyle = "qwen2-boxed",
        checker: Literal["stepdpo", "hendrycks", "math_verify"] = "stepdpo",
        out_dir: str | None = None,
        at_train_end: bool = True,
        system: str | None = None,
        requeue_fraction: float = 0.5,
        shard_size: int = DEFAULT_SHARD_SIZE,
    ):
        """
        Args:
            tasks: what to evaluate: ``gsm8k``, ``math`` (full MATH test), ``math500`` or JSONL paths.
                Default ``[gsm8k, math]``.
            every_n_steps: evaluate after every N optimizer steps; null evaluates only at the end.
            limit: problems per task: a fixed random subset drawn with ``seed`` (the same every time).
            seed: seed of the subset draw.
            batch_size: prompts per ``generate`` call.
            max_new_tokens: generation budget per problem (the protocol's is 2048; lower it for speed,
                completions that hit it are counted in the summary's ``finish_reasons``).
            prompt: ``qwen2-boxed`` (Step-DPO protocol), ``sft-system`` (the paper's SFT system prompt)
                or ``chat-template`` (the tokenizer's template).
            checker: answer checker mode (``stepdpo`` = Step-DPO's evaluator).
            out_dir: where ``step_<N>/<task>/samples.jsonl`` and ``summary.json`` go; null puts them
                under the trainer's log directory (or ``default_root_dir``) in ``eval/``.
            at_train_end: also evaluate when training ends (unless that step was just evaluated).
            system: override the prompt's system message.
            requeue_fraction: generation batching (see :class:`GenerationConfig`); 0 is plain HF generate.
            shard_size: problems per shard, the unit spread over ranks and generated in one call (the
                results depend on it, not on the number of ranks).
        """
        super().__init__()
        if every_n_steps is not None and every_n_steps < 1:
            raise ValueError(f"every_n_steps must be >= 1 or null, got {every_n_steps}")
        self.tasks = list(tasks) if tasks is not None else ["gsm8k", "math"]
        self.every_n_steps = every_n_steps
        self.limit = limit
        self.seed = seed
        self.prompt = prompt
        self.checker = checker
        self.out_dir = out_dir
        self.at_train_end = at_train_end
        self.system = system
        self.generation = GenerationConfig(max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed,
                                           requeue_fraction=requeue_fraction)
        if shard_size < 1:
            raise ValueError(f"shard_size must be >= 1, got {shard_size}")
        self.shard_size = shard_size
        self._items: dict[str, list[EvalItem]] | None = None
        self._last_step: int | None = None
        self.last_metrics: dict[str, float] = {}
        """The metrics of the latest evaluation (accuracy over every rank's share; tokens/s of this rank)."""

    # -- hooks --------------------------------------------------------------------------------------
    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        step = trainer.global_step
        if self.every_n_steps and step > 0 and step % self.every_n_steps == 0 and step != self._last_step:
            self.evaluate(trainer, pl_module)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.at_train_end and trainer.global_step != self._last_step:
            self.evaluate(trainer, pl_module)

    # -- evaluation ---------------------------------------------------------------------------------
    def _root(self, trainer: Trainer) -> Path:
        if self.out_dir is not None:
            return Path(self.out_dir)
        return Path(trainer.log_dir or trainer.default_root_dir) / "eval"

    def items(self) -> dict[str, list[EvalItem]]:
        """The fixed evaluation subsets (loaded once)."""
        if self._items is None:
            self._items = {task_name(t): load_task(t, self.limit, seed=self.seed) for t in self.tasks}
        return self._items

    def evaluate(self, trainer: Trainer, pl_module: LightningModule) -> dict[str, float]:
        """Evaluate now (every rank its share), log and return the metrics; training state is left untouched."""
        step = trainer.global_step
        self._last_step = step
        world = RankSpec(trainer.global_rank, trainer.world_size)
        if world.distributed:  # a re-evaluation of this step (after a resume) starts from an empty folder
            if trainer.is_global_zero:
                for name in self.items():
                    shutil.rmtree(self._step_dir(trainer, step, name), ignore_errors=True)
            trainer.strategy.barrier("MathEvalCallback.start")
        metrics = self._evaluate_share(trainer, pl_module, step, world)
        trainer.strategy.barrier("MathEvalCallback")
        return metrics

    def _step_dir(self, trainer: Trainer, step: int, name: str) -> Path:
        return self._root(trainer) / f"step_{step:06d}" / name

    def _evaluate_share(self, trainer: Trainer, pl_module: LightningModule, step: int, world: RankSpec) -> dict[str, float]:
        policy, tokenizer = getattr(pl_module, "policy", None), getattr(pl_module, "tokenizer", None)
        if policy is None or tokenizer is None:
            raise AttributeError("MathEvalCallback needs pl_module.policy (a HF causal LM) and pl_module.tokenizer")
        rng = RNGState()
        modes = {m: m.training for m in pl_module.modules()}
        metrics: dict[str, float] = {}
        try:
            engine = HFEngine(policy, tokenizer)
            with trainer.precision_plugin.forward_context():
                for name, items in self.items().items():
                    metrics.update(self._evaluate_task(trainer, pl_module, engine, step, world, name, items))
        finally:
            for module, was_training in modes.items():
                module.training = was_training
            rng.restore()
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)
        trainer.callback_metrics.update({k: torch.tensor(v) for k, v in metrics.items()})
        self.last_metrics = metrics
        return metrics

    def _evaluate_task(self, trainer: Trainer, pl_module: LightningModule, engine: HFEngine, step: int, world: RankSpec,
                       name: str, items: list[EvalItem]) -> dict[str, float]:
        """This rank's shards of one task, then the accuracy over every rank's verdicts (all-gathered)."""
        start = time.perf_counter()
        settings = RunSettings(task=name, prompt=self.prompt, system=self.system, checker=self.checker,
                               max_new_tokens=self.generation.max_new_tokens, seed=self.seed,
                               extra={"global_step": step, "limit": self.limit})
        verdicts: dict[str, bool] = {}
        summary = evaluate_items(engine, items, settings, self.generation, self._step_dir(trainer, step, name),
                                 overwrite=not world.distributed, rank=world, shard_size=self.shard_size,
                                 on_record=lambda r: verdicts.__setitem__(str(r["id"]), bool(r["correct"])))
        local = rank_correctness([it.id for it in items], verdicts).to(pl_module.device)
        correct = combine_rank_correctness(trainer.strategy.all_gather(local))
        accuracy = float(correct.float().mean()) if len(items) else 0.0
        if trainer.is_global_zero:
            log.info("step %d: %s accuracy %.3f (%d/%d%s)", step, name, accuracy, int(correct.sum()), len(items),
                     f", {world.world_size} ranks" if world.distributed else "")
        return {f"eval/{name}_acc": accuracy, f"eval/{name}_tokens_per_sec": float(summary["tokens_per_sec"] or 0.0),
                f"eval/{name}_seconds": time.perf_counter() - start}

    # -- checkpointing ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"last_step": self._last_step}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._last_step = state_dict.get("last_step")

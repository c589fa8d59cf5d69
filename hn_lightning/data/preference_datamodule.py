"""Streaming DataModule of verifier-scored preference pairs (see :mod:`hn_lightning.data.pair_stream`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import lightning as L
from torch.utils.data import DataLoader

from hn_lightning import SYSTEM_PROMPT
from hn_lightning.catalog import expand_paths, refuse_test_files
from hn_lightning.data.pair_packing import Packing
from hn_lightning.data.pair_stream import FlattenSteps, PairStream, StreamConfig, Weighting
from hn_lightning.data.tokenizer_source import resolve_tokenizer
from hn_lightning.errors import check_range
from hn_lightning.io.jsonl import count_lines

log = logging.getLogger(__name__)


KEY = "data.init_args"
"""Where the DataModule's settings live in a training config (named in range errors)."""


def _check_settings(args: dict[str, Any]) -> None:
    """Every documented range, once, before anything is read (one line naming the key, value and range)."""
    check_range(f"{KEY}.max_length", args["max_length"], 2, why="the prompt and at least one completion token")
    check_range(f"{KEY}.micro_batch_size", args["micro_batch_size"], 1)
    check_range(f"{KEY}.packing_length", args["packing_length"], 1, optional=True)
    if args["packing"] == "rows" and args["packing_length"] is not None:
        check_range(f"{KEY}.packing_length", args["packing_length"], args["max_length"],
                    why=f"packing_length {args['packing_length']} < max_length {args['max_length']}: a full-length "
                        f"sequence would not fit a row")
    check_range(f"{KEY}.shuffle_buffer", args["shuffle_buffer"], 1)
    check_range(f"{KEY}.num_workers", args["num_workers"], 0)
    check_range(f"{KEY}.dataset_weight_lambda", args["dataset_weight_lambda"], 0, 1,
                why="w = 1 + lambda (w_raw / mean - 1): above 1 exaggerates the weights, below 0 reverses them")
    lo, hi = args["dataset_weight_min"], args["dataset_weight_max"]
    check_range(f"{KEY}.dataset_weight_min", lo, 0, 1, low_open=True,
                why="the tempered weights have mean 1: a clip range that leaves out 1 clips every weight to one value")
    check_range(f"{KEY}.dataset_weight_max", hi, 1, why="the tempered weights have mean 1, the clip range must hold 1")
    if args["weighting"] == "normalized" and (args["dataset_weight_lambda"] == 0 or lo == hi):
        log.warning("weighting: normalized with dataset_weight_lambda=%s, dataset_weight_min=%s, dataset_weight_max=%s "
                    "gives every pair the same weight (plain DPO, as weighting: none)", args["dataset_weight_lambda"], lo, hi)


class PreferenceDataModule(L.LightningDataModule):
    """Streams ``{"id", "prompt", "chosen", "rejected", "w_raw", ...}`` pairs from JSONL shards.

    Weights are normalized per optimizer step over the whole global batch (all micro-batches of the
    step and all ranks), then the step is split into micro-batches. Resuming from a checkpoint
    continues at the first pair not yet trained on.
    """

    def __init__(
        self,
        train_files: list[str],
        val_files: list[str] | None = None,
        tokenizer: str | None = None,
        system_prompt: str | None = SYSTEM_PROMPT,
        max_length: int = 1024,
        micro_batch_size: int = 1,
        packing: Packing = "none",
        packing_length: int | None = None,
        shuffle: bool = True,
        shuffle_buffer: int = 10_000,
        seed: int = 0,
        weighting: Weighting = "normalized",
        dataset_weight_lambda: float = 0.3,
        dataset_weight_min: float = 0.5,
        dataset_weight_max: float = 2.0,
        renormalize_after_clip: bool = False,
        num_workers: int = 0,
        on_error: Literal["raise", "skip"] = "raise",
        overlong: Literal["skip", "raise"] = "skip",
        allow_test_data: bool = False,
    ):
        """
        Args:
            train_files: pair shards: JSONL files, directories or globs (data names: see :mod:`hn_lightning.catalog`).
            val_files: optional held-out pair shards for validation metrics (read in order, unshuffled).
            tokenizer: tokenizer directory; default: the tokenizer of the model being trained.
            system_prompt: system message prepended to string prompts (the paper's SFT prompt); null for none.
            max_length: tokens per sequence (prompt + one completion). The prompt is kept whole and
                completions are cut from the end; a pair whose prompt does not fit is reported and skipped.
            micro_batch_size: pairs per micro-batch (each gives 2 sequences: prompt + chosen, prompt + rejected).
            packing: ``none``: one padded row per sequence; ``rows``: the micro-batch's sequences packed end to
                end into rows no wider than the padded batch (``position_ids`` restart per sequence, no
                cross-sequence attention; same log-probs, less padding); ``flat``: all of them in one row
                (for FlashAttention-2 varlen). The pairs per micro-batch, their weights and resuming are the same.
            packing_length: row capacity in tokens for ``rows`` (default: the micro-batch's longest sequence).
            shuffle: shuffle through a buffer (seeded by ``seed + epoch``).
            shuffle_buffer: records held in the shuffle buffer (bounded memory).
            seed: shuffle seed.
            weighting: ``normalized``: the paper's per-step normalization of ``w_raw``; ``none``: all
                weights 1 (plain DPO, the random-uniform baseline); ``precomputed``: use each pair's ``weight``.
            dataset_weight_lambda: tempering toward 1, ``w = 1 + lambda (w_raw / mean - 1)`` (paper: 0.3).
            dataset_weight_min: lower clip of the tempered weight (paper: 0.5).
            dataset_weight_max: upper clip of the tempered weight (paper: 2.0).
            renormalize_after_clip: rescale to unit mean after clipping (default false: the mean can drift
                from 1 when clipping binds; see ``hn_lightning.losses.weights``).
            num_workers: DataLoader workers (each prepares whole optimizer steps).
            on_error: ``raise`` stops at a malformed line naming file:line; ``skip`` logs and counts it.
            overlong: what to do with a pair whose prompt leaves no room for a completion.
            allow_test_data: allow benchmark test files as training data (refused by default).
        """
        super().__init__()
        _check_settings(locals())
        self.train_files, self.val_files = train_files, val_files or []
        self.tokenizer_path = tokenizer
        self.micro_batch_size = micro_batch_size
        self.num_workers = num_workers
        self.allow_test_data = allow_test_data
        self.cfg = StreamConfig(
            micro_batch_size=micro_batch_size, max_length=max_length, system_prompt=system_prompt, shuffle=shuffle,
            shuffle_buffer=shuffle_buffer, seed=seed, weighting=weighting, weight_lambda=dataset_weight_lambda,
            weight_min=dataset_weight_min, weight_max=dataset_weight_max, renormalize=renormalize_after_clip,
            on_error=on_error, overlong=overlong, packing=packing, packing_length=packing_length,
        )
        self.tokenizer = None
        self.train_stream: PairStream | None = None
        self._paths: list[Path] = []
        self._resume: tuple[int, int] | None = None

    # -- setup --------------------------------------------------------------------------------------
    def _resolve_tokenizer(self):
        return resolve_tokenizer(self, self.tokenizer_path)

    @property
    def accumulate(self) -> int:
        return int(self.trainer.accumulate_grad_batches) if self.trainer is not None else self.cfg.accumulate

    def setup(self, stage: str | None = None) -> None:
        self.tokenizer = self._resolve_tokenizer()
        self._paths = expand_paths(self.train_files)
        refuse_test_files(self._paths, self.allow_test_data, "DPO training")
        if self.trainer is not None:
            self.cfg.accumulate = self.accumulate
            self.cfg.world_size, self.cfg.rank = self.trainer.world_size, self.trainer.global_rank

    def _stream(self, paths: list[Path], shuffle: bool) -> PairStream:
        cfg = StreamConfig(**{**vars(self.cfg), "shuffle": shuffle})
        return PairStream(paths, self.tokenizer, cfg)

    def _loader(self, stream: PairStream, epoch_fn, num_pairs: int, on_report=None, what: str = "training") -> FlattenSteps:
        loader = DataLoader(stream, batch_size=None, num_workers=self.num_workers)
        steps = num_pairs // stream.cfg.pairs_per_step
        return FlattenSteps(loader, stream, epoch_fn, max(1, steps) * stream.cfg.accumulate, on_report, what)

    def _log_report(self, report) -> None:
        """The epoch's counts (records, malformed, overlong, truncated, indistinct, dropped, steps) to the loggers."""
        trainer = self.trainer
        if trainer is None or trainer.global_rank != 0:
            return
        for logger in trainer.loggers:
            logger.log_metrics(report.as_metrics(), step=trainer.global_step)

    def train_dataloader(self) -> FlattenSteps:
        if self.tokenizer is None:
            self.setup("fit")
        self.train_stream = self._stream(self._paths, self.cfg.shuffle)
        self.train_stream.resume, self._resume = self._resume, None
        epoch_fn = (lambda: self.trainer.current_epoch) if self.trainer is not None else (lambda: 0)
        return self._loader(self.train_stream, epoch_fn, count_lines(self._paths), self._log_report)

    def val_dataloader(self) -> FlattenSteps | list:
        if not self.val_files:
            return []
        paths = expand_paths(self.val_files)
        # every held-out pair counts once: micro-batches, no accumulation groups, the last one may be short
        stream = self._stream(paths, shuffle=False)
        stream.cfg.accumulate, stream.cfg.drop_incomplete = 1, False
        return self._loader(stream, lambda: 0, count_lines(paths), what="validation")

    def iter_pairs_for_reference(self):
        """Every tokenized training pair once, in file order (for the reference precompute pass)."""
        if self.tokenizer is None:
            self.setup("fit")
        stream = self._stream(self._paths, shuffle=False)
        stream.cfg.accumulate, stream.cfg.world_size, stream.cfg.drop_incomplete = 1, 1, False
        stream.cfg.micro_batch_size = 1
        for group in stream.steps():
            yield from group

    # -- resume -------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        from hn_lightning.data.resumable import processed_batches

        epoch, batches = processed_batches(self.trainer)
        return {"epoch": epoch, "steps_done": batches // max(1, self.accumulate), "pairs_per_step": self.cfg.pairs_per_step,
                "seed": self.cfg.seed, "files": [str(p) for p in self._paths]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("seed") != self.cfg.seed or state.get("pairs_per_step") != self.cfg.pairs_per_step:
            from hn_lightning.errors import UserError

            raise UserError(
                f"cannot resume the pair stream: seed/pairs per step changed since the checkpoint "
                f"({state.get('seed')}/{state.get('pairs_per_step')} -> {self.cfg.seed}/{self.cfg.pairs_per_step})"
            )
        if state.get("files") != [str(p) for p in self._paths]:
            log.warning("the pair files differ from the checkpoint's; resuming by step count anyway")
        self._resume = (int(state["epoch"]), int(state["steps_done"]))
        log.info("resuming the pair stream at epoch %d after %d optimizer steps", *self._resume)

"""A streaming, resumable reader of preference-pair shards that yields whole optimizer steps.

Order of operations for one epoch:

1. read the JSONL shards line by line (bounded memory: only the shuffle buffer is held), validate
   each record (file:line errors, or counted skips);
2. shuffle through a buffer of ``shuffle_buffer`` records seeded by ``seed + epoch``;
3. tokenize; pairs whose prompt does not fit are reported by id and skipped;
4. cut the stream into *global batches* of ``pairs_per_step = world_size x micro_batch_size x
   accumulate_grad_batches`` pairs: one per optimizer step. Weights are normalized over the whole
   global batch here (arXiv 2512.19728; normalizing per micro-batch would flatten the weights to 1
   when micro-batches hold one pair). An incomplete last global batch is dropped and counted;
5. give each rank its slice, split it into micro-batches (padded, or packed without padding between
   sequences: :mod:`hn_lightning.data.pair_packing`; the split and the weights do not depend on it), and hand whole steps to DataLoader workers
   round-robin (a step never spans two workers, so its micro-batches stay together and in order).

Everything is a pure function of ``(files, seed, epoch)``: resuming after ``k`` optimizer steps replays
the stream and skips the first ``k`` steps without collating them.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch.utils.data import IterableDataset, get_worker_info

from hn_lightning.data.pair_packing import Packing, collate_preference_batch
from hn_lightning.data.pairs import OverlongPrompt, TokenizedPair, tokenize_pair, validate_pair
from hn_lightning.errors import UserError
from hn_lightning.io.jsonl import SkipPolicy, iter_jsonl
from hn_lightning.losses.weights import WeightStats, normalize_weights, uniform_stats

log = logging.getLogger(__name__)

Weighting = Literal["normalized", "none", "precomputed"]


@dataclass
class StreamConfig:
    """How pairs are read, shuffled, weighted and batched (filled in by the DataModule)."""

    micro_batch_size: int = 1
    accumulate: int = 1
    world_size: int = 1
    rank: int = 0
    max_length: int = 1024
    system_prompt: str | None = None
    shuffle: bool = True
    shuffle_buffer: int = 10_000
    seed: int = 0
    weighting: Weighting = "normalized"
    weight_lambda: float = 0.3
    weight_min: float = 0.5
    weight_max: float = 2.0
    renormalize: bool = False
    on_error: Literal["raise", "skip"] = "raise"
    overlong: Literal["skip", "raise"] = "skip"
    drop_incomplete: bool = True
    packing: Packing = "none"
    packing_length: int | None = None

    @property
    def pairs_per_step(self) -> int:
        return self.world_size * self.micro_batch_size * self.accumulate


@dataclass
class StreamReport:
    """Counts for one pass (logged at the end of each epoch, exposed for tests)."""

    records: int = 0
    """Valid pair records read (after validation; before tokenization)."""
    malformed: int = 0
    """Lines skipped as malformed (``on_error: skip``)."""
    overlong: int = 0
    """Pairs skipped because the prompt leaves no room for a completion."""
    truncated: int = 0
    """Pairs kept with completions cut to ``max_length``."""
    indistinct: int = 0
    """Pairs skipped because chosen and rejected are identical once cut to ``max_length`` (no preference left)."""
    dropped_incomplete: int = 0
    """Pairs of an incomplete last global batch (fewer than one optimizer step), dropped."""
    steps: int = 0
    """Optimizer steps formed."""
    zero_weight_steps: int = 0
    """Steps whose pairs all have ``w_raw`` 0 (``weighting: normalized``): legal, but they train with uniform
    weights, as plain DPO. Warned about once."""

    @property
    def kept(self) -> int:
        return self.records - self.overlong - self.indistinct

    def summary(self) -> str:
        return (f"{self.records + self.malformed} record(s) read, {self.malformed} malformed skipped, "
                f"{self.overlong} overlong skipped, {self.indistinct} identical after truncation skipped, "
                f"{self.kept} pair(s) kept ({self.truncated} truncated), {self.dropped_incomplete} dropped "
                f"(incomplete last step), {self.steps} optimizer step(s)"
                + (f" ({self.zero_weight_steps} with every w_raw 0: uniform weights)" if self.zero_weight_steps else ""))

    def as_metrics(self, prefix: str = "data/") -> dict[str, float]:
        return {f"{prefix}{k}": float(v) for k, v in vars(self).items()}


class NoTrainingSteps(UserError):
    """The data give no optimizer step (empty, all malformed or overlong, or fewer pairs than one step)."""


def group_weights(group: list[TokenizedPair], cfg: StreamConfig) -> tuple[torch.Tensor, WeightStats]:
    """Weights of one optimizer step's pairs under ``cfg.weighting``."""
    n = len(group)
    if cfg.weighting == "none":
        return torch.ones(n, dtype=torch.float64), uniform_stats(n)
    ids = [p.id for p in group]
    if cfg.weighting == "precomputed":
        w = torch.tensor([p.weight for p in group], dtype=torch.float64)
        _, stats = normalize_weights(w, lam=1.0, w_min=0.0, w_max=float("inf"), ids=ids)  # checks + stats only
        stats.mean, stats.min, stats.max = float(w.mean()), float(w.min()), float(w.max())
        return w, stats
    w_raw = torch.tensor([p.w_raw for p in group], dtype=torch.float64)
    return normalize_weights(w_raw, cfg.weight_lambda, cfg.weight_min, cfg.weight_max, cfg.renormalize, ids)


class PairStream(IterableDataset):
    """Yields ``(step_index, [micro_batch, ...])`` for this rank/worker (see the module doc)."""

    def __init__(self, files: list[Path], tokenizer, cfg: StreamConfig):
        super().__init__()
        self.files, self.tokenizer, self.cfg = list(files), tokenizer, cfg
        self.epoch = 0
        self.resume: tuple[int, int] | None = None  # (epoch, optimizer steps already trained on)
        self.report = StreamReport()
        self._warned_zero_weights = False

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    # -- stages ---------------------------------------------------------------------------------
    def _records(self, policy: SkipPolicy) -> Iterator[dict[str, Any]]:
        cfg = self.cfg
        need_w = cfg.weighting == "normalized"
        need_weight = cfg.weighting == "precomputed"
        validate = lambda rec: validate_pair(rec, need_w_raw=need_w, need_weight=need_weight)  # noqa: E731
        for path in self.files:
            for _, record in iter_jsonl(path, policy, validate=validate):
                yield record

    def _shuffled(self, records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        cfg = self.cfg
        if not cfg.shuffle:
            yield from records
            return
        rng = random.Random(cfg.seed * 1_000_003 + self.epoch)
        buffer: list[dict[str, Any]] = []
        for record in records:
            if len(buffer) < cfg.shuffle_buffer:
                buffer.append(record)
                continue
            i = rng.randrange(len(buffer))
            buffer[i], record = record, buffer[i]
            yield record
        rng.shuffle(buffer)
        yield from buffer

    def _tokenized(self, records: Iterator[dict[str, Any]], report: StreamReport) -> Iterator[TokenizedPair]:
        cfg = self.cfg
        for record in records:
            report.records += 1
            try:
                pair = tokenize_pair(record, self.tokenizer, cfg.max_length, cfg.system_prompt)
            except OverlongPrompt as err:
                if cfg.overlong == "raise":
                    raise
                report.overlong += 1
                log.warning("skipping overlong pair (%d so far): %s", report.overlong, err)
                continue
            if pair.chosen_ids == pair.rejected_ids:
                report.indistinct += 1
                log.warning("skipping pair %s (%d so far): chosen and rejected differ only past max_length=%d",
                            pair.id, report.indistinct, cfg.max_length)
                continue
            report.truncated += int(pair.truncated)
            yield pair

    def steps(self) -> Iterator[list[TokenizedPair]]:
        """Every global batch of this epoch, in order (no rank/worker split, no collation)."""
        report = StreamReport()
        policy = SkipPolicy(on_error=self.cfg.on_error)
        group: list[TokenizedPair] = []
        n = self.cfg.pairs_per_step
        for pair in self._tokenized(self._shuffled(self._records(policy)), report):
            group.append(pair)
            if len(group) == n:
                self._count_step(group, report)
                yield group
                group = []
        report.malformed = policy.skipped
        if group:
            if self.cfg.drop_incomplete:
                report.dropped_incomplete = len(group)
                log.info("dropping the last %d pair(s): fewer than one optimizer step (%d pairs)", len(group), n)
            else:
                self._count_step(group, report)
                yield group
        self.report = report
        info = get_worker_info()
        if info is None or info.id == 0:
            log.info("pair stream, epoch %d: %s", self.epoch, report.summary())

    def _count_step(self, group: list[TokenizedPair], report: StreamReport) -> None:
        report.steps += 1
        if self.cfg.weighting == "normalized" and all(p.w_raw == 0 for p in group):
            report.zero_weight_steps += 1
            if not self._warned_zero_weights:
                self._warned_zero_weights = True
                log.warning("every pair of optimizer step %d has w_raw 0: its weights are uniform (plain DPO); such "
                            "steps are counted in data/zero_weight_steps (warned once)", report.steps - 1)

    def no_step_error(self, report: StreamReport, what: str = "training") -> NoTrainingSteps:
        cfg = self.cfg
        files = ", ".join(map(str, self.files[:3])) + (f" (+{len(self.files) - 3} more)" if len(self.files) > 3 else "")
        return NoTrainingSteps(
            f"{files}: the {what} pairs give no optimizer step: {report.records + report.malformed} record(s) read "
            f"({report.malformed} malformed skipped), {report.kept} pair(s) kept ({report.overlong} overlong, "
            f"{report.indistinct} identical within max_length={cfg.max_length}), one step needs {cfg.pairs_per_step} "
            f"(micro_batch_size {cfg.micro_batch_size} x accumulate_grad_batches {cfg.accumulate} x {cfg.world_size} device(s))"
        )

    # -- iteration ------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        cfg = self.cfg
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        pad_id = self.tokenizer.pad_token_id
        skip = self.resume[1] if self.resume is not None and self.resume[0] == self.epoch else 0
        self.resume = None
        per_rank = cfg.micro_batch_size * cfg.accumulate
        for index, group in enumerate(self.steps()):
            if index < skip or index % workers != worker:
                continue
            weights, stats = group_weights(group, cfg)
            lo = cfg.rank * per_rank
            mine, w_mine = group[lo : lo + per_rank], weights[lo : lo + per_rank]
            micro = []
            for m, start in enumerate(range(0, len(mine), cfg.micro_batch_size)):
                sl = slice(start, start + cfg.micro_batch_size)
                batch = collate_preference_batch(mine[sl], w_mine[sl], pad_id, cfg.packing, cfg.packing_length)
                batch["step_index"] = index
                batch["micro_index"] = m
                batch["weight_stats"] = stats.as_dict()
                micro.append(batch)
            for m in micro:
                m["micro_count"] = len(micro)
            yield index, micro


class FlattenSteps:
    """What Lightning iterates: the micro-batches of each step, in order, from a DataLoader of steps.

    Each ``iter()`` is one epoch; the epoch number comes from ``epoch_fn`` (the trainer's current epoch,
    which is right after a resume too) and seeds the shuffle. ``len()`` is an upper bound on the
    micro-batches of an epoch (from line counts), so the progress bar has an ETA; an epoch that turns
    out shorter (malformed or overlong pairs) just ends early.
    """

    def __init__(self, loader, stream: PairStream, epoch_fn, max_micro_batches: int, on_report=None, what: str = "training"):
        self.loader, self.stream, self.epoch_fn = loader, stream, epoch_fn
        self.max_micro_batches = max_micro_batches
        self.on_report, self.what = on_report, what

    def __len__(self) -> int:
        return self.max_micro_batches

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.stream.set_epoch(int(self.epoch_fn()))
        self.stream.report = None
        # one step of look-ahead: the loader (and so the stream's pass) is exhausted before the last
        # step is handed out, so the epoch's counts are logged even when Lightning stops right after it
        steps = iter(self.loader)
        current = next(steps, None)
        if current is None:
            self._end_of_epoch(yielded=0)
        while current is not None:
            following = next(steps, None)
            if following is None:
                self._end_of_epoch(yielded=1)
            yield from current[1]
            current = following

    def _end_of_epoch(self, yielded: int) -> None:
        report = self.stream.report  # None when DataLoader workers read the stream
        if not yielded:
            if report is None:  # count in this process (the data gave nothing, so this is quick)
                for _ in self.stream.steps():
                    pass
                report = self.stream.report
            # no training step is an error (a resume may skip a whole epoch: then steps > 0); held-out
            # pairs that give nothing just validate nothing
            if report.steps == 0 and self.what == "training":
                raise self.stream.no_step_error(report, self.what)
        if report is not None and self.on_report is not None:
            self.on_report(report)

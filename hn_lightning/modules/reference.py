"""The DPO reference as one component: where reference log-probs come from, and everything that goes with it.

Modes: a separate frozen copy (full fine-tuning), the LoRA/QLoRA policy with its adapters disabled, or
``none`` for reference-free losses (SimPO, ORPO). With ``precompute`` the log-probs of every training pair
are computed in one pass before the first step into an on-disk SQLite cache keyed by content hash and
reference fingerprint (:mod:`hn_lightning.modules.ref_cache`); no reference model is then kept in memory.

:class:`Reference` owns the mode, the in-memory copy, the cache and its fingerprint, and the precompute
pass, sharded over ranks: each rank computes its share of every chunk's missing batches, writes it (SQLite
transactions, WAL), and the ranks exchange what they computed, so every rank sees the whole cache before
training starts, whether or not the cache folder is shared between them. The pass batches pairs with the
training collate (:func:`hn_lightning.data.pair_collate.collate_pairs`), so its keys and log-probs are those
of the training batches; the cache itself is this component's (:mod:`hn_lightning.modules.ref_cache` says why).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from hn_lightning.data.pair_collate import collate_pairs
from hn_lightning.models import ModelConfig, load_causal_lm
from hn_lightning.models.forward import disable_dropout
from hn_lightning.modules.ranks import Ranks
from hn_lightning.modules.ref_cache import RefLogpCache, reference_fingerprint
from hn_lightning.paths import cache_dir

log = logging.getLogger(__name__)

LogpsFn = Callable[[nn.Module, dict[str, Any]], torch.Tensor]
"""``(model, batch) -> [2B]`` summed completion log-probs of ``[chosen_1..B; rejected_1..B]``."""


@dataclass
class ReferenceConfig:
    """Where reference log-probs come from."""

    mode: Literal["auto", "copy", "adapters_off"] = "auto"
    """``copy``: a separate frozen copy of the starting model (eval mode, no grad, dropout off).
    ``adapters_off``: the LoRA/QLoRA policy with its adapters disabled, i.e. exactly the starting policy,
    4-bit quantization included, at no extra memory. ``auto``: adapters_off for LoRA/QLoRA, copy otherwise."""
    precompute: bool = False
    """Before the first step, compute reference log-probs for every pair of the training stream in one
    pass and keep them in an on-disk cache keyed by content hash and reference fingerprint (reused across
    runs). For full fine-tuning the pass uses the policy itself before it is updated, so no reference copy
    is ever loaded; during training no reference is kept in memory. With several ranks the pass is
    sharded: each rank computes a share and every rank ends with the whole cache."""
    cache_dir: str | None = None
    """Cache folder; default ``$HN_LIGHTNING_CACHE/ref_logps``. Several nodes: prefer a node-local disk
    (SQLite's WAL mode needs every writer on one host); each node's cache is filled with every rank's values."""
    batch_size: int = 8
    """Pairs per forward pass in the precompute pass."""


def resolve_mode(config: ReferenceConfig, is_peft: bool, requires_reference: bool = True) -> str:
    """The concrete mode for this policy and loss: ``copy``, ``adapters_off`` or ``none`` (the loss needs no
    reference; any reference settings are then ignored, with a warning when they ask for something)."""
    if not requires_reference:
        if config.mode != "auto" or config.precompute:
            log.warning("the loss needs no reference model: ignoring reference.mode=%s, reference.precompute=%s",
                        config.mode, config.precompute)
        return "none"
    if config.mode == "auto":
        return "adapters_off" if is_peft else "copy"
    if config.mode == "adapters_off" and not is_peft:
        raise ValueError("reference.mode adapters_off needs a LoRA/QLoRA policy (model.finetuning: lora or qlora)")
    return config.mode


@contextlib.contextmanager
def adapters_disabled(policy: nn.Module):
    """Run ``policy`` as its frozen base (PEFT ``disable_adapter``), without gradients.

    The train/eval mode is left alone: the DPO module has already set every dropout to 0, so both modes
    compute the same function, and flipping to eval would make bitsandbytes (>= 0.48, CPU) repack 4-bit
    weights into an inference-only layout that breaks the next training step.
    """
    with torch.no_grad(), policy.disable_adapter():
        yield policy


def frozen_copy(model: nn.Module) -> nn.Module:
    """Freeze ``model`` in place as a reference: eval mode, no grad."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


class Reference:
    """The reference of one DPO run: ``logps(batch)`` gives ``(ref_chosen [B], ref_rejected [B])``.

    Not an ``nn.Module`` and not registered on the LightningModule: the frozen copy is never checkpointed,
    optimized or wrapped by DDP/FSDP.
    """

    def __init__(self, config: ReferenceConfig, is_peft: bool, requires_reference: bool = True):
        self.config = config
        self.mode = resolve_mode(config, is_peft, requires_reference)
        self.model: nn.Module | None = None
        self.cache: RefLogpCache | None = None

    @property
    def uses_cache(self) -> bool:
        return self.config.precompute and self.mode != "none"

    @property
    def costs_forward(self) -> bool:
        """Whether each training step runs a reference forward (for FLOP accounting)."""
        return self.mode != "none" and self.cache is None

    def describe(self) -> str:
        return self.mode + (" + precomputed cache" if self.uses_cache else "")

    # -- lifecycle --------------------------------------------------------------------------------
    def load(self, model_config: ModelConfig, model_dir: Path) -> None:
        """Load the frozen copy when one is needed in memory (mode ``copy`` without precompute)."""
        if self.mode != "copy" or self.config.precompute or self.model is not None:
            return
        ref = load_causal_lm(model_config.__class__(**{**vars(model_config), "finetuning": "full"}), model_dir)
        disable_dropout(ref)
        self.model = frozen_copy(ref)
        log.info("reference: a frozen copy of %s", model_config.name_or_path)

    def to(self, device: torch.device) -> None:
        if self.model is not None:
            self.model.to(device)

    def open_cache(self, model_dir: Path, tokenizer, model_config: ModelConfig, max_length: int,
                   system_prompt: str | None, ranks: Ranks = Ranks()) -> RefLogpCache | None:
        """Open (rank 0 first: it creates the file and sets WAL mode) the cache of this reference's fingerprint."""
        if not self.uses_cache or self.cache is not None:
            return self.cache
        quant = "nf4-double-quant-bf16" if model_config.finetuning == "qlora" else "none"
        fingerprint, parts = reference_fingerprint(
            model_dir, tokenizer, dtype=model_config.dtype, quantization=quant, max_length=max_length,
            extra={"system_prompt": system_prompt},
        )
        path = Path(self.config.cache_dir or cache_dir("ref_logps")) / f"{fingerprint}.sqlite"
        for turn in (0, 1):
            if (ranks.rank == 0) == (turn == 0):
                self.cache = RefLogpCache(path)
                if ranks.rank == 0:
                    self.cache.set_info(parts)
            ranks.barrier()
        log.info("reference log-prob cache: %s (%d entries)", self.cache.path, len(self.cache))
        return self.cache

    def release(self) -> None:
        """Drop the in-memory copy (the cache replaces it for the rest of training)."""
        self.model = None

    # -- log-probs --------------------------------------------------------------------------------
    @torch.no_grad()
    def online(self, batch: dict[str, Any], policy: nn.Module, logps_fn: LogpsFn) -> torch.Tensor:
        """``[2B]`` reference log-probs computed now (adapters off, the copy, or the step-0 policy itself)."""
        if self.mode == "adapters_off":
            with adapters_disabled(policy) as base:
                return logps_fn(base, batch)
        if self.model is not None:
            return logps_fn(self.model, batch)
        if self.cache is not None:  # full fine-tuning, precompute before the first update: policy == reference
            return logps_fn(policy, batch)
        raise RuntimeError("no reference model in memory and the reference cache misses these pairs")

    def logps(self, batch: dict[str, Any], policy: nn.Module, logps_fn: LogpsFn) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``(ref_chosen [B], ref_rejected [B])`` from the cache where present, else computed online;
        ``(None, None)`` for a reference-free loss."""
        B = len(batch["ids"])
        if self.mode == "none":
            return None, None
        if self.cache is None:
            ref = self.online(batch, policy, logps_fn)
            return ref[:B], ref[B:]
        keys = batch["chosen_keys"] + batch["rejected_keys"]
        cached = self.cache.get_many(keys)
        if any(v is None for v in cached):
            if self.mode == "copy" and self.model is None:
                raise RuntimeError("the reference cache misses pairs of this batch and no reference model is in memory")
            ref = self.online(batch, policy, logps_fn)
            self.cache.put_many(zip(keys, ref.tolist()))
        else:
            device = batch["input_ids"].device
            ref = torch.tensor(cached, dtype=torch.float32, device=device)
        return ref[:B], ref[B:]

    # -- precompute pass --------------------------------------------------------------------------
    def prepare(self, pairs_fn: Callable[[], Iterable], policy: nn.Module, logps_fn: LogpsFn, pad_id: int,
                device: torch.device, ranks: Ranks, resumed: bool) -> None:
        """Before the first step: fill the cache for every pair of the stream (``pairs_fn()``), then drop
        any in-memory copy. On resume a full fine-tuning run can no longer compute the reference (the
        policy has moved), so missing pairs are then an error; adapters off stays exact and fills them."""
        if not self.uses_cache:
            return
        missing = self.precompute(pairs_fn(), policy, logps_fn, pad_id, device, ranks, dry_run=resumed)
        if missing and resumed:
            if self.mode == "copy":
                raise RuntimeError(
                    f"resuming a full fine-tuning run with reference.precompute, but the cache lacks {missing} pair(s): "
                    "the reference (the step-0 policy) no longer exists. Re-run from step 0 or set reference.precompute: false."
                )
            self.precompute(pairs_fn(), policy, logps_fn, pad_id, device, ranks, dry_run=False)
        self.release()

    @torch.no_grad()
    def precompute(self, pairs: Iterable, policy: nn.Module, logps_fn: LogpsFn, pad_id: int, device: torch.device,
                   ranks: Ranks = Ranks(), dry_run: bool = False, chunk: int = 256) -> int:
        """Fill the cache for every pair of ``pairs`` (TokenizedPair, the same sequence on every rank).
        Returns how many pairs were missing. For full fine-tuning this runs at step 0, where the policy *is*
        the reference. Dropout is off, so train mode computes the reference function exactly."""
        missing_total, seen, buffer = 0, 0, []
        for pair in pairs:
            buffer.append(pair)
            seen += 1
            if len(buffer) == chunk:
                missing_total += self._fill(buffer, policy, logps_fn, pad_id, device, ranks, dry_run)
                buffer = []
        if buffer:
            missing_total += self._fill(buffer, policy, logps_fn, pad_id, device, ranks, dry_run)
        if not dry_run:
            log.info("reference cache: %d pair(s) in the stream, %d computed now over %d rank(s), %d entries in %s",
                     seen, missing_total, ranks.world, len(self.cache), self.cache.path)
        return missing_total

    def _fill(self, items: list, policy: nn.Module, logps_fn: LogpsFn, pad_id: int, device: torch.device,
              ranks: Ranks, dry_run: bool) -> int:
        """One chunk: the ranks agree on what is missing (the union of what each reads), then each computes
        every ``world``-th batch of it (the batches are those of one process, so the values are too), writes
        its share, and the ranks exchange their values so each cache holds the whole chunk."""
        keys = [p.key("chosen") for p in items] + [p.key("rejected") for p in items]
        have = self.cache.get_many(keys)
        lacking = [i for i in range(len(items)) if have[i] is None or have[i + len(items)] is None]
        if ranks.world > 1:  # the union over ranks (caches on separate disks may differ); also a barrier
            lacking = sorted(set().union(*ranks.gather(lacking)))
        todo = [items[i] for i in lacking]
        if dry_run or not todo:
            return len(todo)
        bs = self.config.batch_size
        batches = [todo[s : s + bs] for s in range(0, len(todo), bs)]
        rounds = math.ceil(len(batches) / ranks.world)
        mine: list[tuple[str, float]] = []
        for r in range(rounds):
            b = r * ranks.world + ranks.rank
            if b >= len(batches) and not ranks.lockstep:
                break
            part = batches[min(b, len(batches) - 1)]  # lockstep ranks past the end repeat the last batch, unused
            batch = collate_pairs(part, torch.ones(len(part)), pad_id)
            batch = {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in batch.items()}
            ref = self.online(batch, policy, logps_fn)
            if b < len(batches):
                mine.extend(zip(batch["chosen_keys"] + batch["rejected_keys"], ref.tolist()))
        if mine:
            self.cache.put_many(mine)
        if ranks.world > 1:
            others = [kv for r, got in enumerate(ranks.gather(mine)) if r != ranks.rank for kv in got]
            present = self.cache.get_many([k for k, _ in others])
            absent = [kv for kv, v in zip(others, present) if v is None]  # a cache folder not shared with that rank
            if absent:
                self.cache.put_many(absent)
        return len(todo)

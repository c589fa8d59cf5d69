"""Weighted DPO against an explicit frozen reference (arXiv 2512.19728). The module only wires the
model, the pure losses in :mod:`hn_lightning.losses` and the metrics together."""

from __future__ import annotations

import logging
from typing import Any

import torch
from jsonargparse import lazy_instance
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable

from hn_lightning.data.ref_cache import RefLogpCache, reference_fingerprint
from hn_lightning.losses.dpo import PairLogps, PreferenceLoss, SigmoidDPO, nll_term, weighted_mean
from hn_lightning.losses.logprobs import chunked_token_logprobs, gather_targets, sequence_logprobs
from hn_lightning.models import ModelConfig, load_causal_lm
from hn_lightning.models.forward import disable_dropout, forward_hidden, output_head
from hn_lightning.modules.base import CausalLMModule
from hn_lightning.modules.reference import ReferenceConfig, adapters_disabled, frozen_copy, resolve_mode
from hn_lightning.modules.step_metrics import StepMetrics
from hn_lightning.paths import cache_dir

log = logging.getLogger(__name__)


class DPOModule(CausalLMModule):
    """Verifier-weighted DPO against an explicit frozen reference: ``loss = mean_i(w_i * l_i)``.

    ``l_i`` comes from the selected preference loss and ``w_i`` from the DataModule, normalized over the
    pairs of each optimizer step. A reference-free loss (``loss.requires_reference`` False: SimPO, ORPO)
    runs without any reference: ``reference_mode`` is ``none`` and the ``ref_*`` outputs are absent.

    ``training_step`` returns per-pair tensors for callbacks: ``losses``, ``weights``,
    ``chosen_rewards``, ``rejected_rewards``, ``policy_chosen_logps``, ``policy_rejected_logps``,
    ``ref_chosen_logps``, ``ref_rejected_logps`` (all ``[B]``, detached) and ``ids``.
    """

    def __init__(
        self,
        model: ModelConfig,
        loss: PreferenceLoss = lazy_instance(SigmoidDPO, beta=0.1),
        reference: ReferenceConfig | None = None,
        nll_alpha: float = 0.0,
        optimizer: OptimizerCallable = torch.optim.AdamW,
        scheduler: LRSchedulerCallable | None = None,
        logprob_chunk_size: int = 1024,
    ):
        """
        Args:
            model: the policy: the SFT model to start from and how to train it (full, LoRA, QLoRA).
            loss: preference loss (``hn_lightning.losses.SigmoidDPO`` [paper], ``RobustDPO``, ``IPO``,
                ``Hinge``; cDPO via ``SigmoidDPO.label_smoothing``; reference-free ``SimPO`` and ``ORPO``).
            reference: where reference log-probs come from (frozen copy, adapters off, precomputed cache);
                ignored for reference-free losses.
            nll_alpha: weight of an NLL term on the chosen completion (RPO); 0 disables it. The term is
                added to each pair's loss before weighting.
            optimizer: optimizer factory (class_path + init_args).
            scheduler: learning-rate schedule factory; null for constant.
            logprob_chunk_size: completion tokens per LM-head chunk (logits memory = chunk x vocab).
        """
        super().__init__(model, optimizer, scheduler, logprob_chunk_size)
        self.loss_fn = loss
        self.reference_config = reference or ReferenceConfig()
        self.nll_alpha = nll_alpha
        self.reference_mode = resolve_mode(self.reference_config, self.is_peft, loss.requires_reference)
        self._reference: torch.nn.Module | None = None  # not a registered submodule: never checkpointed or optimized
        self.ref_cache: RefLogpCache | None = None
        self.step_metrics = {"train": StepMetrics(), "val": StepMetrics()}
        self.hparams.update({"loss": repr(loss), "reference": vars(self.reference_config), "nll_alpha": nll_alpha})

    # -- models ---------------------------------------------------------------------------------------
    def configure_model(self) -> None:
        if self.policy is not None:
            return
        super().configure_model()
        n = disable_dropout(self.policy)  # dropout would make policy != reference at step 0
        if n:
            log.info("disabled %d dropout setting(s) in the policy", n)
        needs_copy = self.reference_mode == "copy" and not self.reference_config.precompute
        if needs_copy:
            ref = load_causal_lm(self.model_config.__class__(**{**vars(self.model_config), "finetuning": "full"}), self.model_dir)
            disable_dropout(ref)
            self._reference = frozen_copy(ref)
            log.info("reference: a frozen copy of %s", self.model_config.name_or_path)
        else:
            log.info("reference: %s%s", self.reference_mode, " + precomputed cache" if self.uses_reference_cache else "")

    @property
    def uses_reference_cache(self) -> bool:
        return self.reference_config.precompute and self.reference_mode != "none"

    def setup(self, stage: str) -> None:
        if self._reference is not None:
            self._reference.to(self.device)
        if self.uses_reference_cache and self.ref_cache is None:
            self.ref_cache = self._open_cache()

    def on_fit_start(self) -> None:
        if self._reference is not None:
            self._reference.to(self.device)

    def _open_cache(self) -> RefLogpCache:
        dm = self.trainer.datamodule if self.trainer is not None else None
        max_length = getattr(getattr(dm, "cfg", None), "max_length", 0)
        quant = "nf4-double-quant-bf16" if self.model_config.finetuning == "qlora" else "none"
        fingerprint, parts = reference_fingerprint(
            self.model_dir, self.tokenizer, dtype=self.model_config.dtype, quantization=quant, max_length=max_length,
            extra={"system_prompt": getattr(getattr(dm, "cfg", None), "system_prompt", None)},
        )
        root = self.reference_config.cache_dir or str(cache_dir("ref_logps"))
        cache = RefLogpCache(f"{root}/{fingerprint}.sqlite")
        cache.set_info(parts)
        log.info("reference log-prob cache: %s (%d entries)", cache.path, len(cache))
        return cache

    # -- log-probs --------------------------------------------------------------------------------------
    def _sequence_logps(self, model: torch.nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        """``[2B]`` summed completion log-probs of the ``[chosen_1..B; rejected_1..B]`` sequences (one per
        padded row, or several per packed row, named by ``sequence_ids``)."""
        hidden = forward_hidden(model, batch["input_ids"], position_ids=batch["position_ids"])
        h, targets, seqs = gather_targets(hidden, batch["input_ids"], batch["loss_mask"], batch.get("sequence_ids"))
        token_logps = chunked_token_logprobs(h, output_head(model), targets, self.logprob_chunk_size)
        return sequence_logprobs(token_logps, seqs, 2 * len(batch["ids"]))

    @torch.no_grad()
    def _online_reference(self, batch: dict[str, Any]) -> torch.Tensor:
        if self.reference_mode == "adapters_off":
            with adapters_disabled(self.policy) as base:
                return self._sequence_logps(base, batch)
        if self._reference is None:
            raise RuntimeError("no reference model in memory and the reference cache misses these pairs")
        return self._sequence_logps(self._reference, batch)

    def reference_logps(self, batch: dict[str, Any]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``(ref_chosen [B], ref_rejected [B])`` from the cache where present, else computed online;
        ``(None, None)`` for a reference-free loss."""
        B = len(batch["ids"])
        if self.reference_mode == "none":
            return None, None
        if self.ref_cache is None:
            ref = self._online_reference(batch)
            return ref[:B], ref[B:]
        keys = batch["chosen_keys"] + batch["rejected_keys"]
        cached = self.ref_cache.get_many(keys)
        if any(v is None for v in cached):
            ref = self._online_reference(batch)
            self.ref_cache.put_many(zip(keys, ref.tolist()))
        else:
            ref = torch.tensor(cached, dtype=torch.float32, device=self.device)
        return ref[:B], ref[B:]

    # -- precompute pass --------------------------------------------------------------------------------
    def on_train_start(self) -> None:
        if not self.uses_reference_cache:
            return
        missing = self._precompute(self.trainer.datamodule.iter_pairs_for_reference(), dry_run=self.global_step > 0)
        if missing and self.global_step > 0:
            if self.reference_mode == "copy":
                raise RuntimeError(
                    f"resuming a full fine-tuning run with reference.precompute, but the cache lacks {missing} pair(s): "
                    "the reference (the step-0 policy) no longer exists. Re-run from step 0 or set reference.precompute: false."
                )
            self._precompute(self.trainer.datamodule.iter_pairs_for_reference(), dry_run=False)  # adapters off is exact
        self._reference = None  # the cache replaces any in-memory reference for the rest of training

    @torch.no_grad()
    def _precompute(self, pairs, dry_run: bool = False, chunk: int = 256) -> int:
        """Fill the cache for every pair of ``pairs`` (an iterable of TokenizedPair). Returns how many
        pairs were missing. For full fine-tuning this runs at step 0, where the policy *is* the reference."""
        from hn_lightning.data.pair_collate import collate_pairs

        missing_total, seen = 0, 0  # dropout is off, so train mode computes the reference function exactly
        buffer: list = []

        def flush(items: list) -> int:
            keys = [p.key("chosen") for p in items] + [p.key("rejected") for p in items]
            have = self.ref_cache.get_many(keys)
            todo = [p for i, p in enumerate(items) if have[i] is None or have[i + len(items)] is None]
            if dry_run or not todo:
                return len(todo)
            bs = self.reference_config.batch_size
            for start in range(0, len(todo), bs):
                part = todo[start : start + bs]
                batch = collate_pairs(part, torch.ones(len(part)), self.tokenizer.pad_token_id)
                batch = {k: (v.to(self.device) if torch.is_tensor(v) else v) for k, v in batch.items()}
                if self.reference_mode == "adapters_off" or self._reference is not None:
                    ref = self._online_reference(batch)
                else:  # full fine-tuning at step 0, no copy loaded: the policy is the reference
                    ref = self._sequence_logps(self.policy, batch)
                self.ref_cache.put_many(zip(batch["chosen_keys"] + batch["rejected_keys"], ref.tolist()))
            return len(todo)

        for pair in pairs:
            buffer.append(pair)
            seen += 1
            if len(buffer) == chunk:
                missing_total += flush(buffer)
                buffer = []
        if buffer:
            missing_total += flush(buffer)
        if not dry_run:
            log.info("reference cache: %d pair(s) in the stream, %d computed now, %d entries in %s",
                     seen, missing_total, len(self.ref_cache), self.ref_cache.path)
        return missing_total

    # -- steps ------------------------------------------------------------------------------------------
    def _pair_losses(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        B = len(batch["ids"])
        seq = self._sequence_logps(self.policy, batch)
        ref_c, ref_r = self.reference_logps(batch)
        # counts and weights arrive as int64 / Python floats (immune to half-precision input casting)
        chosen_tokens = batch["chosen_tokens"].to(device=seq.device, dtype=torch.float32)
        rejected_tokens = batch["rejected_tokens"].to(device=seq.device, dtype=torch.float32)
        logps = PairLogps(seq[:B], seq[B:], ref_c, ref_r, chosen_tokens, rejected_tokens)
        losses, chosen_rewards, rejected_rewards = self.loss_fn(logps)
        if self.nll_alpha:
            losses = losses + self.nll_alpha * nll_term(logps.policy_chosen, logps.chosen_tokens)
        weights = torch.as_tensor(batch["weights"], dtype=torch.float64)  # fp64 until the product with the losses
        out = {
            "losses": losses.detach(),
            "weights": weights.to(device=losses.device, dtype=torch.float32),
            "chosen_rewards": chosen_rewards,
            "rejected_rewards": rejected_rewards,
            "policy_chosen_logps": logps.policy_chosen.detach(),
            "policy_rejected_logps": logps.policy_rejected.detach(),
            "chosen_tokens": chosen_tokens,
            "rejected_tokens": rejected_tokens,
        }
        if ref_c is not None:
            out.update({"ref_chosen_logps": ref_c.detach(), "ref_rejected_logps": ref_r.detach()})
        return weighted_mean(losses, weights), out

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        ref_tokens = 0 if self.ref_cache is not None or self.reference_mode == "none" else int(batch["num_tokens"])
        self.flops_per_batch = self.estimate_flops(int(batch["num_tokens"]), int(batch["sum_sq_len"]), backward=True, extra_forward_tokens=ref_tokens)
        loss, out = self._pair_losses(batch)
        self._record("train", batch, out)
        return {"loss": loss, **out, "ids": batch["ids"]}

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        loss, out = self._pair_losses(batch)
        self._record("val", batch, out)
        return {"loss": loss, **out, "ids": batch["ids"]}

    def _record(self, stage: str, batch: dict[str, Any], out: dict[str, torch.Tensor]) -> None:
        metrics = self.step_metrics[stage]
        metrics.add(out, padding_fraction=1.0 - int(batch["num_tokens"]) / batch["input_ids"].numel())
        if stage == "train" and batch["micro_index"] == batch["micro_count"] - 1:
            values = {**metrics.compute(prefix="train/"), **batch["weight_stats"]}
            step_loss = values.pop("train/loss")
            self.log("train/loss", step_loss, prog_bar=True, on_step=True, on_epoch=False, batch_size=len(batch["ids"]))
            self.log_dict(values, on_step=True, on_epoch=False, batch_size=len(batch["ids"]))
            metrics.reset()

    def on_validation_epoch_end(self) -> None:
        metrics = self.step_metrics["val"]
        if metrics.count:
            self.log_dict(metrics.compute(prefix="val/"), on_epoch=True)
        metrics.reset()

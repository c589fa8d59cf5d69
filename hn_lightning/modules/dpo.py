"""Weighted DPO against an explicit frozen reference (arXiv 2512.19728). The module only wires the
model, the pure losses in :mod:`hn_lightning.losses` and the metrics together."""

from __future__ import annotations

import logging
from typing import Any

import torch
from jsonargparse import lazy_instance
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable

from hn_lightning.errors import check_range
from hn_lightning.losses.dpo import PairLogps, PreferenceLoss, SigmoidDPO, nll_term, weighted_mean
from hn_lightning.losses.logprobs import chunked_token_logprobs, gather_targets, sequence_logprobs
from hn_lightning.models import ModelConfig
from hn_lightning.models.forward import disable_dropout, forward_hidden, output_head
from hn_lightning.modules.base import KEY, CausalLMModule
from hn_lightning.modules.ranks import Ranks
from hn_lightning.modules.reference import Reference, ReferenceConfig
from hn_lightning.modules.step_metrics import StepMetrics

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
        check_range(f"{KEY}.nll_alpha", nll_alpha, 0, why="a negative NLL weight pushes the chosen completions down")
        if reference is not None:
            check_range(f"{KEY}.reference.batch_size", reference.batch_size, 1)
        super().__init__(model, optimizer, scheduler, logprob_chunk_size)
        self.loss_fn = loss
        self.nll_alpha = nll_alpha
        self.reference = Reference(reference or ReferenceConfig(), self.is_peft, loss.requires_reference)
        self.step_metrics = {"train": StepMetrics(), "val": StepMetrics()}
        self.hparams.update({"loss": repr(loss), "reference": vars(self.reference.config), "nll_alpha": nll_alpha})

    @property
    def reference_mode(self) -> str:
        """``copy``, ``adapters_off`` or ``none``."""
        return self.reference.mode

    @property
    def needs_reference_precompute(self) -> bool:
        return self.reference.uses_cache

    @property
    def ref_cache(self):
        """The reference's on-disk cache (None unless ``reference.precompute``)."""
        return self.reference.cache

    # -- models ---------------------------------------------------------------------------------------
    def configure_model(self) -> None:
        if self.policy is not None:
            return
        super().configure_model()
        n = disable_dropout(self.policy)  # dropout would make policy != reference at step 0
        if n:
            log.info("disabled %d dropout setting(s) in the policy", n)
        self.reference.load(self.model_config, self.model_dir)
        if self.reference.model is None:
            log.info("reference: %s", self.reference.describe())

    def setup(self, stage: str) -> None:
        super().setup(stage)
        self.reference.to(self.device)
        dm = self.trainer.datamodule if self.trainer is not None else None
        cfg = getattr(dm, "cfg", None)
        self.reference.open_cache(self.model_dir, self.tokenizer, self.model_config, getattr(cfg, "max_length", 0),
                                  getattr(cfg, "system_prompt", None), Ranks.of(self.trainer))

    def on_fit_start(self) -> None:
        self.reference.to(self.device)

    def on_train_start(self) -> None:
        """The reference precompute pass (sharded over ranks), before the first step."""
        dm = self.trainer.datamodule
        self.reference.prepare(dm.iter_pairs_for_reference, self.policy, self._sequence_logps, self.tokenizer.pad_token_id,
                               self.device, Ranks.of(self.trainer), resumed=self.global_step > 0)

    # -- log-probs --------------------------------------------------------------------------------------
    def _sequence_logps(self, model: torch.nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        """``[2B]`` summed completion log-probs of the ``[chosen_1..B; rejected_1..B]`` sequences (one per
        padded row, or several per packed row, named by ``sequence_ids``)."""
        hidden = forward_hidden(model, batch["input_ids"], position_ids=batch["position_ids"])
        h, targets, seqs = gather_targets(hidden, batch["input_ids"], batch["loss_mask"], batch.get("sequence_ids"))
        token_logps = chunked_token_logprobs(h, output_head(model), targets, self.logprob_chunk_size)
        return sequence_logprobs(token_logps, seqs, 2 * len(batch["ids"]))

    # -- steps ------------------------------------------------------------------------------------------
    def _pair_losses(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        B = len(batch["ids"])
        seq = self._sequence_logps(self.policy, batch)
        ref_c, ref_r = self.reference.logps(batch, self.policy, self._sequence_logps)
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
        ref_tokens = int(batch["num_tokens"]) if self.reference.costs_forward else 0
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
            # over all pairs of the step on all ranks; weight stats come from the stream, global already
            values = {**metrics.compute("train/", Ranks.of(self.trainer).gather), **batch["weight_stats"]}
            step_loss = values.pop("train/loss")
            self.log("train/loss", step_loss, prog_bar=True, on_step=True, on_epoch=False, batch_size=len(batch["ids"]))
            self.log_dict(values, on_step=True, on_epoch=False, batch_size=len(batch["ids"]))
            metrics.reset()

    def on_validation_epoch_end(self) -> None:
        metrics = self.step_metrics["val"]
        values = metrics.compute("val/", Ranks.of(self.trainer).gather)  # every rank calls it, even with no pairs
        if values:
            self.log_dict(values, on_epoch=True)
        metrics.reset()

"""The two benchmark workers: our DPOModule (Lightning) and TRL's DPOTrainer, on the same pairs."""

from __future__ import annotations

from pathlib import Path

from dpo_bench.probes import MemoryProbe, StepClock, _optimizer_kwargs, _records


def run_ours(args, packing: str = "none") -> dict:
    from functools import partial

    import lightning as L
    import torch
    from lightning.pytorch.callbacks import Callback

    from hn_lightning.data import PreferenceDataModule
    from hn_lightning.env import configure_environment
    from hn_lightning.losses import SigmoidDPO
    from hn_lightning.models import LoraSettings, ModelConfig
    from hn_lightning.modules import DPOModule, ReferenceConfig

    configure_environment()
    torch.manual_seed(args.seed)
    probe_cuda = torch.cuda.is_available()
    probe = MemoryProbe(probe_cuda)  # baseline: after the imports, before any model is loaded
    clock = StepClock(probe_cuda)

    class Timer(Callback):
        def on_train_start(self, trainer, pl_module):
            probe.start_training()
            clock.start()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            # loss_mask, not chosen_tokens/rejected_tokens: bf16-true precision rounds float batch tensors
            clock.add_micro_batch(int(batch["num_tokens"]), int(batch["input_ids"].numel()),
                                  int(batch["loss_mask"].sum()), len(batch["ids"]))
            if trainer.global_step > len(clock.marks) - 1:
                clock.step_end()

    model_cfg = ModelConfig(
        name_or_path=args.model, dtype=args.dtype, attn_implementation=args.attn, finetuning=args.setting,
        lora=LoraSettings(r=args.lora_r, alpha=args.lora_alpha, dropout=0.0),
        gradient_checkpointing=args.gradient_checkpointing,
    )
    module = DPOModule(
        model_cfg,
        loss=SigmoidDPO(beta=args.beta),
        reference=ReferenceConfig(precompute=args.precompute_ref, cache_dir=str(Path(args.workdir) / "ref_cache")),
        optimizer=partial(torch.optim.AdamW, **_optimizer_kwargs(args)),
    )
    data = PreferenceDataModule(
        train_files=[args.pairs_file], max_length=args.max_length, micro_batch_size=args.micro_batch_size,
        shuffle=False, weighting=args.weighting, packing=packing,
    )
    precision = args.precision
    if precision == "auto":
        precision = "bf16-true" if probe_cuda and args.dtype == "bfloat16" else "32-true"
    trainer = L.Trainer(
        accelerator="gpu" if probe_cuda else "cpu", devices=1, precision=precision,
        max_steps=args.warmup_steps + args.steps, accumulate_grad_batches=args.accumulate,
        gradient_clip_val=args.max_grad_norm or None, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0,
        callbacks=[Timer()], default_root_dir=str(Path(args.workdir) / "ours_root"),
    )
    trainer.fit(module, datamodule=data)
    out = {"framework": "ours", "packing": packing, "precision": precision, "reference": module.reference_mode,
           "trainable_params": sum(p.numel() for p in module.parameters() if p.requires_grad),
           **clock.summary(args.warmup_steps), **probe.result()}
    return out


def run_trl(args) -> dict:
    cuda = _cuda_available()
    import torch
    import trl
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, TrainerCallback
    from trl import DPOConfig, DPOTrainer

    from hn_lightning import SYSTEM_PROMPT
    from hn_lightning.env import configure_environment
    from hn_lightning.models import LORA_TARGETS, load_tokenizer, resolve_model_dir
    from hn_lightning.models.gguf import fix_special_tokens
    from hn_lightning.models.loader import resolve_attn_implementation, resolve_dtype

    configure_environment()
    torch.manual_seed(args.seed)
    probe = MemoryProbe(cuda)
    clock = StepClock(cuda)

    # the same local directory, tokenizer fixes and attention kernel as build_policy uses for ours
    model_dir = resolve_model_dir(args.model)
    tokenizer = load_tokenizer(model_dir)
    model = AutoModelForCausalLM.from_pretrained(
        str(model_dir), dtype=resolve_dtype(args.dtype), attn_implementation=resolve_attn_implementation(args.attn))
    fix_special_tokens(tokenizer, model)
    if args.setting == "lora":
        peft_config = LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=0.0,
                                 target_modules=list(LORA_TARGETS), bias="none", task_type="CAUSAL_LM")
    else:
        peft_config = None
    system = [{"role": "system", "content": SYSTEM_PROMPT}]  # our PreferenceDataModule's default system prompt
    dataset = Dataset.from_list([
        {"prompt": [*system, {"role": "user", "content": r["prompt"]}],
         "chosen": [{"role": "assistant", "content": r["chosen"]}],
         "rejected": [{"role": "assistant", "content": r["rejected"]}]}
        for r in _records(args.pairs_file)
    ])
    config = DPOConfig(
        output_dir=str(Path(args.workdir) / "trl_out"), seed=args.seed,
        per_device_train_batch_size=args.micro_batch_size, gradient_accumulation_steps=args.accumulate,
        max_steps=args.warmup_steps + args.steps, learning_rate=args.lr, lr_scheduler_type="constant",
        warmup_steps=0, weight_decay=0.0, optim=args.optim, max_grad_norm=args.max_grad_norm,
        beta=args.beta, loss_type=["sigmoid"], max_length=args.max_length, pad_to_multiple_of=8,
        precompute_ref_log_probs=args.precompute_ref,
        bf16=args.dtype == "bfloat16" or (args.dtype == "auto" and cuda), fp16=False,
        gradient_checkpointing=args.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if args.gradient_checkpointing else None,
        train_sampling_strategy="sequential",  # the same pair order and micro-batches as ours (shuffle=False)
        report_to=[], save_strategy="no", eval_strategy="no", logging_steps=10, disable_tqdm=True,
        dataloader_num_workers=0, use_cpu=not cuda,
    )

    class Timed(DPOTrainer):
        def training_step(self, model, inputs, *rest, **kw):
            mask = inputs["attention_mask"]
            clock.add_micro_batch(int(mask.sum()), int(mask.numel()), int(inputs["completion_mask"].sum()),
                                  mask.shape[0] // 2)
            return super().training_step(model, inputs, *rest, **kw)

    class Timer(TrainerCallback):
        def on_train_begin(self, a, state, control, **kw):
            probe.start_training()
            clock.start()

        def on_step_end(self, a, state, control, **kw):
            clock.step_end()

    trainer = Timed(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                    peft_config=peft_config, callbacks=[Timer()])
    trainer.train()
    return {"framework": "trl", "trl_version": trl.__version__, "precision": "bf16 autocast" if config.bf16 else "fp32",
            "reference": "adapters_off" if peft_config is not None else ("precomputed" if args.precompute_ref else "copy"),
            "trainable_params": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
            **clock.summary(args.warmup_steps), **probe.result()}


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


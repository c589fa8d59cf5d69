"""DPO training throughput and peak memory: our DPOModule (Lightning) against TRL's DPOTrainer.

Both frameworks train on the same model weights and the same synthetic math-like pairs, with the same
micro-batch, gradient accumulation, max_length, optimizer, learning rate, beta, LoRA settings (or full
fine-tuning with a frozen reference copy) and pair order. Each (framework, fine-tuning) run is a fresh
subprocess, so its peak memory is its own. Model loading and the first ``--warmup_steps`` optimizer
steps are excluded from the timing; the next ``--steps`` optimizer steps are measured.

    # CPU smoke (tiny random Qwen2, fp32), both fine-tuning modes
    python benchmarks/dpo_throughput.py --model tiny-qwen2 --dtype float32 --finetuning lora,full
    # the issue's target on one H100: Qwen2.5-1.5B shape, full fine-tune, bf16
    python benchmarks/dpo_throughput.py --model qwen2.5-coder-1.5b-instruct --dtype bfloat16 --finetuning full \\
        --micro_batch_size 4 --accumulate 4 --max_length 1024 --warmup_steps 3 --steps 10

TRL is not a dependency of this project. Install it next to the venv, without touching torch or
transformers, and point ``--trl_path`` (default ``/tmp/trl/site-packages``) at it:

    pip install --target /tmp/trl/site-packages --no-deps trl==1.16.0 datasets==5.2.0 pyarrow pandas \\
        "dill<0.4.2" "multiprocess<0.70.20" xxhash python-dateutil six

The folder name must contain ``site-packages``: dill (used by ``datasets`` to fingerprint datasets)
pickles modules from any other folder by value, and ``Dataset.from_list`` then fails with
``PicklingError: Can't pickle <class 'MonthDayNano'>``.

Without an importable TRL the peer rows are skipped (and say so).

Synthetic pairs (seeded, written to ``<workdir>/synthetic_pairs.jsonl`` in our pair schema; TRL gets a
``datasets.Dataset`` of the same records as conversational prompt/chosen/rejected):
  * question: math-word-problem sentences, Normal(120, 40) tokens, clipped to [30, 300]; rendered with
    our system prompt and the model's chat template (+ ~35 tokens);
  * chosen / rejected: calculation steps ending in ``The final answer is $\\boxed{N}$.``, each
    LogNormal(median 200, sigma 0.5) tokens, clipped to [16, max_length - question - 60]; the rejected
    completion shares a random prefix of the chosen steps, then diverges (a hard-negative shape).
Lengths are hit at sentence granularity; the token counts each framework actually processed are
measured and reported (``tok/pair``), so a tokenization mismatch would show.

Measurements:
  * step time: wall clock between consecutive optimizer-step ends (CUDA synchronized); it includes
    everything in the training loop (data loading/collation, reference forward, policy forward and
    backward, optimizer step, the framework's own metrics);
  * pairs/s = pairs per optimizer step / mean step time; non-pad tokens/s counts every non-padding
    position of every sequence fed to the policy (prompt + chosen and prompt + rejected), the reference
    forward over the same tokens is not counted again;
  * peak memory: CUDA ``max_memory_allocated`` over the whole subprocess. On CPU: the process's RSS
    high-water mark (``getrusage(RUSAGE_SELF).ru_maxrss``) minus its RSS after imports and before any
    model is loaded (``peak_gib``), and the highest RSS sampled every 10 ms during training minus the same
    baseline (``train_peak_gib``, excludes loading transients). Both therefore count the model(s), the
    optimizer state and activations, like ``max_memory_allocated`` does on a GPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import random
import resource
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "benchmarks" / "results" / "dpo_throughput"
DEFAULT_TRL_PATH = "/tmp/trl/site-packages"
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
               "TOKENIZERS_PARALLELISM": "false", "WANDB_DISABLED": "true"}

# -- synthetic math-like pairs -------------------------------------------------------------------------
NAMES = ["Natalia", "Marion", "Stephen", "Aisha", "Tom", "Priya", "Carlos", "Mei", "Olga", "Kwame", "Lena", "Ravi"]
ITEMS = ["apples", "marbles", "books", "stickers", "cookies", "pencils", "tickets", "shells", "coins", "cupcakes"]
PLACES = ["the market", "school", "the fair", "the library", "the bakery", "the park"]


def _question_sentence(rng: random.Random) -> str:
    n, it, pl = rng.choice(NAMES), rng.choice(ITEMS), rng.choice(PLACES)
    a, b, c = rng.randint(2, 90), rng.randint(2, 40), rng.randint(2, 12)
    return rng.choice([
        f"{n} has {a} {it} and buys {b} more at {pl}.",
        f"Each bag holds {c} {it}, and {n} fills {b} bags before going to {pl}.",
        f"At {pl}, {n} sells {it} for ${c} each and sells {a} of them on Monday.",
        f"{n} gives away {b} {it} to friends, which is {c} fewer than last week.",
        f"On Tuesday {n} collects twice as many {it} as on Monday, plus {b} extra.",
        f"A box of {it} costs ${a}, and {n} has a coupon for {c} percent off.",
    ])


def _step_sentence(rng: random.Random) -> str:
    it = rng.choice(ITEMS)
    a, b, c = rng.randint(2, 500), rng.randint(2, 90), rng.randint(2, 12)
    return rng.choice([
        f"First, {a} + {b} = {a + b} {it} in total.",
        f"Each group has {c} {it}, so {b} groups hold {b} * {c} = {b * c} {it}.",
        f"After giving away {b}, there are {a + b} - {b} = {a} {it} left.",
        f"Half of {2 * a} is {2 * a} / 2 = {a}, so that step gives {a} {it}.",
        f"The discount is {c}% of ${a * 100}, which is {a * 100} * {c} / 100 = ${a * c}.",
        f"Adding the two days gives {a} + {2 * a + b} = {3 * a + b} {it}.",
    ])


def _fill(rng: random.Random, tokenizer, target: int, make, start: list[str] | None = None) -> list[str]:
    lines = list(start or [])
    n = sum(len(tokenizer(s, add_special_tokens=False)["input_ids"]) + 1 for s in lines)
    while n < target:
        s = make(rng)
        lines.append(s)
        n += len(tokenizer(s, add_special_tokens=False)["input_ids"]) + 1
    return lines


def synthetic_pairs(tokenizer, n: int, max_length: int, seed: int) -> list[dict]:
    """``n`` pair records in our schema; lengths as documented in the module docstring."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        q_len = int(min(300, max(30, rng.gauss(120, 40))))
        cap = max(16, max_length - q_len - 60)
        c_len, r_len = (int(min(cap, max(16, math.exp(rng.gauss(math.log(200), 0.5))))) for _ in range(2))
        question = _fill(rng, tokenizer, q_len - 12, _question_sentence)
        question = " ".join(question) + f" How many {rng.choice(ITEMS)} are there at the end?"
        answer = rng.randint(10, 5000)
        chosen = _fill(rng, tokenizer, c_len - 12, _step_sentence)
        shared = rng.randint(0, max(0, len(chosen) - 1))
        rejected = _fill(rng, tokenizer, r_len - 12, _step_sentence, start=chosen[:shared])
        records.append({
            "id": f"synthetic-{seed}-{i}",
            "prompt": question,
            "chosen": "\n".join([*chosen, f"The final answer is $\\boxed{{{answer}}}$."]),
            "rejected": "\n".join([*rejected, f"The final answer is $\\boxed{{{answer + rng.randint(1, 9)}}}$."]),
            "w_raw": round(rng.uniform(0.2, 3.0), 4),
            "meta": {"source": "benchmarks/dpo_throughput.py synthetic", "question_tokens_target": q_len,
                     "chosen_tokens_target": c_len, "rejected_tokens_target": r_len},
        })
    return records


# -- measurement helpers (run inside the worker subprocess) ----------------------------------------------
def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: fall back to the high-water mark
        return _maxrss_bytes()


def _maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


class MemoryProbe:
    """Peak memory of this process: CUDA allocator stats, or RSS relative to a pre-load baseline."""

    def __init__(self, cuda: bool):
        self.cuda = cuda
        self.baseline = _rss_bytes()
        self.train_peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()

    def start_training(self) -> None:
        if self.cuda or self._thread is not None:
            return

        def sample() -> None:
            while not self._stop.is_set():
                self.train_peak = max(self.train_peak, _rss_bytes())
                time.sleep(0.01)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()

    def result(self) -> dict:
        gib = 2**30
        if self.cuda:
            import torch

            return {"memory_method": "torch.cuda.max_memory_allocated (whole subprocess)",
                    "peak_gib": round(torch.cuda.max_memory_allocated() / gib, 3),
                    "reserved_gib": round(torch.cuda.max_memory_reserved() / gib, 3)}
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return {"memory_method": "CPU RSS: ru_maxrss - RSS after imports (peak_gib); sampled RSS during training - same baseline (train_peak_gib)",
                "peak_gib": round((_maxrss_bytes() - self.baseline) / gib, 3),
                "train_peak_gib": round((max(self.train_peak, self.baseline) - self.baseline) / gib, 3),
                "baseline_rss_gib": round(self.baseline / gib, 3),
                "maxrss_gib": round(_maxrss_bytes() / gib, 3)}


class StepClock:
    """Marks the end of every optimizer step and the tokens fed to the policy in it."""

    def __init__(self, cuda: bool):
        self.cuda = cuda
        self.marks: list[float] = []
        self.step_tokens: list[int] = []
        self.step_positions: list[int] = []
        self.step_completion: list[int] = []
        self.step_pairs: list[int] = []
        self._tokens = self._positions = self._completion = self._pairs = 0

    def _now(self) -> float:
        if self.cuda:
            import torch

            torch.cuda.synchronize()
        return time.perf_counter()

    def start(self) -> None:
        self.marks = [self._now()]

    def add_micro_batch(self, tokens: int, positions: int, completion: int, pairs: int) -> None:
        self._tokens += tokens
        self._positions += positions
        self._completion += completion
        self._pairs += pairs

    def step_end(self) -> None:
        self.marks.append(self._now())
        self.step_tokens.append(self._tokens)
        self.step_positions.append(self._positions)
        self.step_completion.append(self._completion)
        self.step_pairs.append(self._pairs)
        self._tokens = self._positions = self._completion = self._pairs = 0

    def summary(self, warmup: int) -> dict:
        times = [b - a for a, b in zip(self.marks, self.marks[1:])]
        if len(times) <= warmup:
            raise RuntimeError(f"only {len(times)} optimizer steps ran; need more than {warmup} warm-up steps")
        sel = slice(warmup, None)
        t = sum(times[sel])
        pairs, tokens = sum(self.step_pairs[sel]), sum(self.step_tokens[sel])
        positions, completion = sum(self.step_positions[sel]), sum(self.step_completion[sel])
        return {
            "step_times_s": [round(x, 4) for x in times],
            "measured_steps": len(times[sel]),
            "step_s": round(t / len(times[sel]), 4),
            "pairs_per_s": round(pairs / t, 4),
            "tokens_per_s": round(tokens / t, 2),
            "tokens_per_pair": round(tokens / pairs, 1),
            "completion_tokens_per_pair": round(completion / pairs, 1),
            "padding_fraction": round(1 - tokens / positions, 4),
            "pairs_measured": pairs,
        }


def _optimizer_kwargs(args) -> dict:
    return {"lr": args.lr, "weight_decay": 0.0, "fused": args.optim == "adamw_torch_fused"}


def _records(path: str) -> list[dict]:
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


# -- workers -------------------------------------------------------------------------------------------
def run_ours(args) -> dict:
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
        shuffle=False, weighting=args.weighting,
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
    out = {"framework": "ours", "precision": precision, "reference": module.reference_mode,
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


# -- parent: orchestrate, collect, render --------------------------------------------------------------
def machine_info() -> dict:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    info = {"cpu": cpu, "cpu_cores": os.cpu_count(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "platform": platform.platform()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    for name in ("transformers", "lightning", "peft"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            pass
    try:
        info["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                     text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def _trl_env(trl_path: str) -> dict:
    env = {**os.environ, **OFFLINE_ENV}
    if trl_path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (trl_path, str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def trl_available(trl_path: str) -> tuple[bool, str]:
    proc = subprocess.run([sys.executable, "-c", "import trl, datasets; print(trl.__version__)"],
                          capture_output=True, text=True, env=_trl_env(trl_path))
    if proc.returncode == 0:
        return True, proc.stdout.strip().splitlines()[-1]
    return False, (proc.stderr.strip().splitlines() or ["import failed"])[-1]


def run_worker(framework: str, setting: str, args, pairs_file: Path, workdir: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", framework, "--setting", setting,
           "--pairs_file", str(pairs_file), "--workdir", str(workdir), *args.worker_argv]
    env = _trl_env(args.trl_path) if framework == "trl" else {**os.environ, **OFFLINE_ENV,
                                                              "PYTHONPATH": str(REPO)}
    log_path = workdir / f"{framework}-{setting}.log"
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            return {"framework": framework, "finetuning": setting, "error": f"timed out after {args.timeout}s", "log": str(log_path)}
    wall = round(time.perf_counter() - t0, 1)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        lines = log_path.read_text().splitlines()
        last = next((x for x in reversed(lines) if "Error" in x and not x.startswith(" ")), lines[-1] if lines else "")
        return {"framework": framework, "finetuning": setting, "error": f"exit {proc.returncode}: {last}",
                "log_tail": "\n".join(lines[-30:]), "log": str(log_path)}
    return {**json.loads(line[len("RESULT "):]), "finetuning": setting, "wall_s": wall, "log": str(log_path)}


def _fmt(x, nd=2) -> str:
    return "-" if x is None else (f"{x:,.{nd}f}" if isinstance(x, float) else str(x))


def render_table(inv: dict) -> list[str]:
    s = inv["settings"]
    cpu = "train_peak_gib" in json.dumps(inv["rows"])
    head = ["finetuning", "framework", "step (s)", "pairs/s", "non-pad tok/s", "tok/pair", "compl. tok/pair",
            "padding", "peak GiB", *(["train-peak GiB"] if cpu else []), "ours / TRL pairs/s", "ours / TRL peak"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|"]
    by_key = {(r["finetuning"], r["framework"]): r for r in inv["rows"]}
    for r in inv["rows"]:
        if "error" in r or "skipped" in r:
            why = r.get("skipped") or r["error"].splitlines()[0][:160]
            lines.append(f"| {r['finetuning']} | {r['framework']} | " + " | ".join(["-"] * (len(head) - 3)) + f" | {why} |")
            continue
        peer = by_key.get((r["finetuning"], "trl"))
        ratio_speed = ratio_mem = "-"
        if r["framework"] == "ours" and peer and "error" not in peer and "skipped" not in peer:
            ratio_speed = f"**{r['pairs_per_s'] / peer['pairs_per_s']:.2f}x**"
            ratio_mem = f"**{r['peak_gib'] / peer['peak_gib']:.2f}x**" if peer["peak_gib"] > 0 else "-"
        cells = [r["finetuning"], r["framework"], _fmt(r["step_s"], 3), _fmt(r["pairs_per_s"], 3), _fmt(r["tokens_per_s"], 1),
                 _fmt(r["tokens_per_pair"], 1), _fmt(r["completion_tokens_per_pair"], 1),
                 f"{100 * r['padding_fraction']:.1f}%", _fmt(r["peak_gib"], 3),
                 *([_fmt(r.get("train_peak_gib"), 3)] if cpu else []), ratio_speed, ratio_mem]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Settings: model `{s['model']}`, dtype {s['dtype']}, micro-batch {s['micro_batch_size']} pairs x "
                 f"accumulate {s['accumulate']} = {s['micro_batch_size'] * s['accumulate']} pairs/step, max_length {s['max_length']}, "
                 f"{s['warmup_steps']} warm-up + {s['steps']} measured steps, optimizer {s['optim']} lr {s['lr']}, "
                 f"max_grad_norm {s['max_grad_norm']}, beta {s['beta']}, LoRA r={s['lora_r']} alpha={s['lora_alpha']} (when LoRA), "
                 f"gradient checkpointing {'on' if s['gradient_checkpointing'] else 'off'}, reference "
                 f"{'precomputed' if s['precompute_ref'] else 'online'}, ours weighting {s['weighting']}.")
    details = []
    for r in inv["rows"]:
        if "error" in r or "skipped" in r:
            continue
        details.append(f"{r['finetuning']}/{r['framework']}: precision {r['precision']}, reference {r['reference']}, "
                       f"{r['trainable_params']:,} trainable params, step times {r['step_times_s']} s, "
                       f"subprocess wall {r['wall_s']} s" + (f", TRL {r['trl_version']}" if r.get("trl_version") else ""))
    if details:
        lines += ["", "Per run: " + "; ".join(details) + "."]
    return lines


GPU_COMMAND = ("python benchmarks/dpo_throughput.py --model qwen2.5-coder-1.5b-instruct --dtype bfloat16 "
               "--finetuning full --micro_batch_size 4 --accumulate 4 --max_length 1024 --warmup_steps 3 --steps 10 "
               "--frameworks ours,trl --trl_path /tmp/trl/site-packages --append")

DIFFERENCES = """\
What the two frameworks compute per optimizer step (same pairs, same order, same micro-batches):

* **Loss.** Both: sigmoid DPO, beta 0.1, sequence log-prob = sum over completion tokens, chosen and rejected
  concatenated into one forward of `2 x micro_batch` rows, dropout off. Ours multiplies each pair's loss by
  its normalized verifier weight (`weighting: normalized`, per optimizer step); TRL's loss is unweighted.
  The weighting costs a few scalar operations.
* **Log-probs.** Ours (`hn_lightning.losses.logprobs`): runs the decoder to the last hidden states, gathers
  only the completion positions, applies the LM head in 1024-token chunks with an fp32 logsumexp, each chunk
  checkpointed (its logits are recomputed in the backward). TRL 1.16 (`add_fused_lm_head`): also never
  materializes `[B, T, V]` logits; its `_ChunkedLogProbFunction` tiles 4096 tokens x 32768 vocabulary
  entries, accumulates online-logsumexp statistics in fp32 and recomputes the tiles in the backward. On
  CUDA (Triton) it scores only completion positions; **on CPU (no Triton) it scores every position, prompt
  and padding included**, so on CPU TRL does roughly (prompt + completion) / completion times our LM-head
  work. TRL also computes per-token entropy, mean logit and top-1 agreement for its logged metrics.
* **Attention/padding.** Both right-pad and round widths up to a multiple of 8. Ours passes
  `attention_mask=None` with per-row `position_ids` (padding gets its own restarted segment); TRL passes an
  `attention_mask`. Same attention kernel (SDPA here; flash-attention-2 on a GPU when installed).
* **Reference.** LoRA: both disable the adapters and run the frozen base under `no_grad` (no second model).
  Full fine-tuning: both hold a frozen copy of the starting model and run it online each micro-batch.
* **Precision.** Weights in `--dtype` for both. Ours on CPU runs Lightning `32-true` (no autocast; LoRA
  adapters stay fp32), on CUDA with bf16 `bf16-true` (adapters and optimizer state bf16 too), as in
  `configs/dpo_demo.yaml` / `configs/dpo.yaml`. TRL with a bf16 model uses `bf16=True` (autocast; PEFT
  keeps adapters fp32 but autocast runs them in bf16). With fp32 adapters and no autocast, PEFT casts each
  adapted projection's input to fp32 and keeps that copy for the backward, which costs activation memory
  (see the 0.5B runs; `--precision bf16-true` selects Lightning's bf16-true for ours on CPU too).
* **Loop overhead.** Ours streams and tokenizes the JSONL inside the training loop (counted in the step
  time); TRL tokenizes the whole dataset before training (not counted). Both use `num_workers=0`.
"""


def render_markdown(doc: dict) -> str:
    out = [
        "# DPO training throughput and peak memory: ours (DPOModule) vs TRL DPOTrainer",
        "",
        "Generated by `benchmarks/dpo_throughput.py` (its docstring has the full method). Every (framework,",
        "fine-tuning) cell is a fresh subprocess; model loading and the warm-up optimizer steps are excluded from",
        "the timing. pairs/s and non-pad tokens/s are steady-state training rates; `tok/pair` counts every",
        "non-padding position fed to the policy per pair (prompt + chosen + prompt + rejected) and `compl. tok/pair`",
        "the completion tokens, as each framework measured them (equal values = both saw identical token counts).",
        "",
        "## The GPU target was NOT measured",
        "",
        "The issue's target (one H100, Qwen2.5-1.5B shape, full fine-tune: >= 1.3x TRL's pairs/s at <= 0.7x its",
        "peak memory) was **not measured**: no GPU was available to this session. The numbers below are CPU",
        "numbers and say nothing about the H100 target (on CPU the cost structure differs: see the notes). To",
        "measure it on one CUDA GPU (with TRL installed as in the script's docstring):",
        "",
        "```",
        GPU_COMMAND,
        "```",
        "",
        "Memory there is `torch.cuda.max_memory_allocated` of each subprocess. Add `--gradient_checkpointing` for",
        "the memory-saving variant (both frameworks), `--finetuning lora,full` for both modes, and",
        "`--model qwen2.5-coder-0.5b-instruct` for the 0.5B shape.",
        "",
        "## Memory on CPU",
        "",
        "`peak GiB` = the subprocess's RSS high-water mark (`getrusage(RUSAGE_SELF).ru_maxrss`) minus its RSS",
        "after imports, before any model is loaded; `train-peak GiB` = the highest RSS sampled every 10 ms during",
        "training minus the same baseline (excludes loading transients). Both include the model(s), optimizer",
        "state and activations, like `max_memory_allocated` on a GPU. RSS also counts allocator caching, so it",
        "is coarser than the CUDA number.",
        "",
        "## What differs between the two",
        "",
        DIFFERENCES,
    ]
    if doc.get("summary"):
        out[out.index("## Memory on CPU"):out.index("## Memory on CPU")] = ["## Findings", "", doc["summary"].strip(), ""]
    for i, inv in enumerate(doc["invocations"], 1):
        m = inv["machine"]
        out += [
            f"## Run {i}: `{inv['settings']['model']}` ({inv['settings']['dtype']}, {inv['settings']['finetuning']})",
            "",
            f"Date: {inv['date']}. Machine: {m.get('gpu') or m['cpu']}, {m['cpu_cores']} cores, torch {m['torch']} "
            f"({m['torch_threads']} threads), transformers {m.get('transformers')}, lightning {m.get('lightning')}, "
            f"peft {m.get('peft')}, git {m.get('git', '?')}. Load average (1/5/15 min) before "
            f"{inv['loadavg_before']}, after {inv['loadavg_after']}"
            + (" — other jobs shared this CPU, so absolute rates are noisy"
               + ("; the two frameworks ran back to back" if len(inv["rows"]) > len(inv["settings"]["finetuning"].split(",")) else "")
               if max(inv['loadavg_before'][0], inv['loadavg_after'][0]) > 0.5 * m['cpu_cores'] else "") + ".",
            "",
            "```",
            inv["command"],
            "```",
            "",
            *render_table(inv),
            "",
        ]
        if inv.get("pairs_stats"):
            ps = inv["pairs_stats"]
            out += [f"Pairs: {ps['n']} synthetic records (seed {inv['settings']['seed']}); text-only token lengths "
                    f"(no chat template) mean/median/max: question {ps['question']}, chosen {ps['chosen']}, rejected {ps['rejected']}.", ""]
        if inv.get("note"):
            out += [inv["note"], ""]
    return "\n".join(out).rstrip() + "\n"


def _stats(values: list[int]) -> str:
    v = sorted(values)
    return f"{sum(v) / len(v):.0f}/{v[len(v) // 2]}/{v[-1]}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny-qwen2", help="registered name (tiny-qwen2, smollm2-135m-instruct, "
                        "qwen2.5-coder-0.5b-instruct, qwen2.5-coder-1.5b-instruct) or a local HF directory")
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    parser.add_argument("--finetuning", default="lora", help="lora, full, or both comma-separated (lora,full)")
    parser.add_argument("--frameworks", default="ours,trl")
    parser.add_argument("--pairs", type=int, default=None,
                        help="synthetic pairs to generate (default: exactly enough for warm-up + measured steps)")
    parser.add_argument("--micro_batch_size", type=int, default=2)
    parser.add_argument("--accumulate", type=int, default=2)
    parser.add_argument("--max_length", type=int, default=512)
    parser.add_argument("--steps", type=int, default=3, help="measured optimizer steps")
    parser.add_argument("--warmup_steps", type=int, default=2, help="optimizer steps run before timing starts")
    parser.add_argument("--lr", type=float, default=5e-6)
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--lora_r", type=int, default=16)
    parser.add_argument("--lora_alpha", type=int, default=32)
    parser.add_argument("--optim", default="adamw_torch_fused", choices=["adamw_torch_fused", "adamw_torch"],
                        help="torch.optim.AdamW with fused=True (TRL's default on torch>=2.8) or without, for both")
    parser.add_argument("--max_grad_norm", type=float, default=1.0, help="gradient clipping for both (0: off)")
    parser.add_argument("--gradient_checkpointing", action="store_true", help="on for both (TRL's own default is on)")
    parser.add_argument("--precompute_ref", action="store_true", help="precomputed reference log-probs for both")
    parser.add_argument("--attn", default="auto", choices=["auto", "sdpa", "eager", "flash_attention_2"])
    parser.add_argument("--precision", default="auto", help="Lightning precision for ours (auto: bf16-true on CUDA "
                        "with bf16 weights, else 32-true, as in configs/dpo.yaml and configs/dpo_demo.yaml)")
    parser.add_argument("--weighting", default="normalized", choices=["normalized", "none"], help="ours' pair weighting")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trl_path", default=DEFAULT_TRL_PATH if Path(DEFAULT_TRL_PATH).is_dir() else "",
                        help="directory with TRL installed (prepended to PYTHONPATH of the TRL subprocess)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output prefix: writes <out>.json and <out>.md")
    parser.add_argument("--append", action="store_true", help="add this invocation to an existing <out>.json")
    parser.add_argument("--note", default="", help="free text printed under this invocation's table")
    parser.add_argument("--render", action="store_true", help="only re-render <out>.md from <out>.json (no runs)")
    parser.add_argument("--summary_file", help="with --render: Markdown file stored as the findings section")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per subprocess")
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a new temporary folder)")
    parser.add_argument("--worker", choices=["ours", "trl"], help=argparse.SUPPRESS)
    parser.add_argument("--setting", choices=["lora", "full"], help=argparse.SUPPRESS)
    parser.add_argument("--pairs_file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        result = (run_ours if args.worker == "ours" else run_trl)(args)
        print("RESULT " + json.dumps(result), flush=True)
        return

    out = Path(args.out)
    if args.render:
        doc = json.loads(out.with_suffix(".json").read_text())
        if args.summary_file:
            doc["summary"] = Path(args.summary_file).read_text()
            out.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
        out.with_suffix(".md").write_text(render_markdown(doc))
        print(f"wrote {out.with_suffix('.md')}")
        return
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    settings = [s.strip() for s in args.finetuning.split(",") if s.strip()]
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    if not set(settings) <= {"lora", "full"} or not set(frameworks) <= {"ours", "trl"}:
        parser.error("--finetuning takes lora/full and --frameworks ours/trl")
    needed = args.micro_batch_size * args.accumulate * (args.warmup_steps + args.steps)
    n_pairs = args.pairs or needed
    if n_pairs < needed:
        parser.error(f"--pairs {n_pairs} < {needed} pairs needed for {args.warmup_steps + args.steps} steps (no second epoch)")
    argv_in = list(sys.argv[1:] if argv is None else argv)
    passthrough = ("--model", "--dtype", "--micro_batch_size", "--accumulate", "--max_length", "--steps", "--warmup_steps",
                   "--lr", "--beta", "--lora_r", "--lora_alpha", "--optim", "--max_grad_norm", "--attn", "--precision",
                   "--weighting", "--seed")
    args.worker_argv = [x for k in passthrough for x in (k, str(getattr(args, k[2:])))]
    args.worker_argv += [f for f in ("--gradient_checkpointing", "--precompute_ref") if getattr(args, f[2:])]

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="hn_dpo_throughput_"))
    workdir.mkdir(parents=True, exist_ok=True)
    from hn_lightning.env import configure_environment
    from hn_lightning.models import load_tokenizer, resolve_model_dir

    configure_environment()
    tokenizer = load_tokenizer(resolve_model_dir(args.model))
    records = synthetic_pairs(tokenizer, n_pairs, args.max_length, args.seed)
    pairs_file = workdir / "synthetic_pairs.jsonl"
    with open(pairs_file, "w") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in records)
    count = lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    pairs_stats = {"n": len(records), **{k: _stats([count(r[k]) for r in records]) for k in ("prompt", "chosen", "rejected")}}
    pairs_stats["question"] = pairs_stats.pop("prompt")
    print(f"{len(records)} pairs -> {pairs_file}; text tokens mean/median/max: {pairs_stats}", flush=True)

    trl_ok, trl_msg = trl_available(args.trl_path) if "trl" in frameworks else (False, "not requested")
    load_before = [round(x, 2) for x in os.getloadavg()]
    rows = []
    for setting in settings:
        for framework in frameworks:
            if framework == "trl" and not trl_ok:
                rows.append({"framework": "trl", "finetuning": setting, "skipped": f"TRL not importable ({trl_msg})"})
                print(f"{setting}/trl: skipped: {trl_msg}", flush=True)
                continue
            print(f"{setting}/{framework}: running ...", flush=True)
            row = run_worker(framework, setting, args, pairs_file, workdir)
            rows.append(row)
            print(f"{setting}/{framework}: " + json.dumps({k: v for k, v in row.items() if k != "log"}), flush=True)
    load_after = [round(x, 2) for x in os.getloadavg()]

    invocation = {
        "command": "python benchmarks/dpo_throughput.py " + " ".join(shlex.quote(a) for a in argv_in),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "settings": {k: getattr(args, k) for k in ("model", "dtype", "finetuning", "frameworks", "micro_batch_size", "accumulate",
                                                  "max_length", "steps", "warmup_steps", "lr", "beta", "lora_r", "lora_alpha", "optim",
                                                  "max_grad_norm", "gradient_checkpointing", "precompute_ref", "attn", "precision",
                                                  "weighting", "seed")} | {"pairs": n_pairs},
        "pairs_stats": pairs_stats,
        "rows": rows,
        "note": args.note,
    }
    doc = {"benchmark": "dpo_throughput", "invocations": []}
    if args.append and out.with_suffix(".json").is_file():
        doc = json.loads(out.with_suffix(".json").read_text())
    doc["invocations"].append(invocation)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
    out.with_suffix(".md").write_text(render_markdown(doc))
    print("\n" + "\n".join(render_table(invocation)))
    print(f"\nwrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()

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
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dpo_bench.report import render_markdown, render_table
from dpo_bench.synthetic import synthetic_pairs
from dpo_bench.workers import run_ours, run_trl

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "benchmarks" / "results" / "dpo_throughput"
DEFAULT_TRL_PATH = "/tmp/trl/site-packages"
FRAMEWORKS = {"ours": "none", "ours-packed": "rows", "ours-flat": "flat", "trl": None}
"""Benchmark rows: ours with each ``data.packing`` layout, and TRL's DPOTrainer."""
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
               "TOKENIZERS_PARALLELISM": "false", "WANDB_DISABLED": "true"}


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


def _stats(values: list[int]) -> str:
    v = sorted(values)
    return f"{sum(v) / len(v):.0f}/{v[len(v) // 2]}/{v[-1]}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny-qwen2", help="registered name (tiny-qwen2, smollm2-135m-instruct, "
                        "qwen2.5-coder-0.5b-instruct, qwen2.5-coder-1.5b-instruct) or a local HF directory")
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    parser.add_argument("--finetuning", default="lora", help="lora, full, or both comma-separated (lora,full)")
    parser.add_argument("--frameworks", default="ours,trl", help="any of ours (padded rows), ours-packed "
                        "(data.packing rows), ours-flat (data.packing flat), trl")
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
    parser.add_argument("--worker", choices=list(FRAMEWORKS), help=argparse.SUPPRESS)
    parser.add_argument("--setting", choices=["lora", "full"], help=argparse.SUPPRESS)
    parser.add_argument("--pairs_file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        result = run_trl(args) if args.worker == "trl" else {**run_ours(args, FRAMEWORKS[args.worker]), "framework": args.worker}
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
    if not set(settings) <= {"lora", "full"} or not set(frameworks) <= set(FRAMEWORKS):
        parser.error(f"--finetuning takes lora/full and --frameworks {'/'.join(FRAMEWORKS)}")
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

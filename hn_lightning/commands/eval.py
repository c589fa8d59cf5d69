r"""``eval``: GSM8K / MATH accuracy of a model under the Step-DPO protocol.

    python cli.py eval --model qwen2.5-coder-0.5b-instruct --task gsm8k --limit 50
    python cli.py eval --model runs/hf_model --task gsm8k,math --out runs/eval/sft
    python cli.py eval --model tiny-qwen2 --task my.jsonl --field_question problem --field_answer solution

Defaults follow shared/docs/eval-protocol.md: the ``qwen2-boxed`` prompt (plain ChatML string), greedy
decoding, up to 2048 new tokens, Step-DPO's answer checker. Tasks: ``gsm8k`` (1319), ``math`` (5000,
full MATH test), ``math500``, or a JSONL path with ``--field_*`` mapping. Generation uses vLLM when it is
installed and a CUDA GPU is present, Hugging Face ``generate`` otherwise (batched, left-padded, KV
cache, length-sorted); ``--dtype auto`` is bfloat16 on a GPU or a CPU with native bf16, else float32.

Output, per task, under ``--out`` (default ``runs/eval/<model>``)::

    <task>/samples.jsonl   prompt, completion, extracted answer, gold, verdict, tokens, seconds
    <task>/summary.json    accuracy, Wilson 95% CI, by subject and level (MATH), throughput

**Resumable.** Items are written as they finish; rerunning the same command skips the items already
in ``samples.jsonl`` (a torn last line is dropped). Other settings in the same folder are refused
(``--overwrite`` starts over).

**Several devices.** ``--devices N`` (or torchrun / SLURM, or ``--rank k --world_size N``) runs N ranks:
items are cut into shards of ``--shard_size`` (the same shards, batches and seeds for any N), rank k
generates shards k, k+N, ... into ``<task>/ranks/samples-rank<k>.jsonl``, and the last rank to finish
merges ``samples.jsonl`` (item order) and writes ``summary.json``: the same records and accuracy as one
process. A rank that died is rerun alone with ``--rank k --world_size N``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    from hn_lightning.answers import MODES
    from hn_lightning.config_tools import OneLineArgumentParser
    from hn_lightning.evaluation.prompts import PROMPT_STYLES
    from hn_lightning.evaluation.sharded import DEFAULT_SHARD_SIZE
    from hn_lightning.models import DEFAULT_MODEL
    from hn_lightning.ranks import add_rank_arguments

    ap = OneLineArgumentParser(prog="eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL,
                    help=f"registered name, HF directory, .gguf file or Hub id org/name[@revision] (default {DEFAULT_MODEL})")
    ap.add_argument("--task", default="gsm8k", help="gsm8k, math, math500 (shipped), or a data name or path (gsm8k:train, hf:..., a JSONL file); several comma-separated")
    ap.add_argument("--limit", type=int, default=None, help="evaluate the first N items of each task")
    ap.add_argument("--subset_seed", type=int, default=None, help="with --limit: a fixed random subset of N instead")
    ap.add_argument("--out", default=None, help="output folder (default runs/eval/<model>)")
    ap.add_argument("--prompt", choices=PROMPT_STYLES, default="qwen2-boxed",
                    help="qwen2-boxed (protocol), sft-system (the paper's SFT system prompt), chat-template")
    ap.add_argument("--system", default=None, help="override the prompt's system message")
    ap.add_argument("--checker", choices=MODES, default="stepdpo", help="answer checker (default: Step-DPO's)")
    ap.add_argument("--checker_timeout", type=float, default=5.0, help="seconds per sympy / math-verify call")
    gen = ap.add_argument_group("generation")
    gen.add_argument("--batch_size", type=int, default=8, help="prompts per generate call (HF backend)")
    gen.add_argument("--max_new_tokens", type=int, default=2048, help="protocol: 2048")
    gen.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (protocol)")
    gen.add_argument("--top_p", type=float, default=1.0)
    gen.add_argument("--seed", type=int, default=0, help="sampling seed (unused when greedy)")
    gen.add_argument("--calculator", action="store_true",
                     help="GSM8K's calculator: after '<<expr=' the result and '>>' are written for the model (HF backend)")
    gen.add_argument("--requeue_fraction", type=float, default=0.5,
                     help="HF backend: stop a batch when at most this fraction still runs and continue those rows later (0: off)")
    gen.add_argument("--dtype", choices=["auto", "float32", "bfloat16", "float16"], default="auto",
                     help="auto: bfloat16 on a GPU or a CPU with native bf16, else float32 (HN_LIGHTNING_NO_BF16=1: float32)")
    gen.add_argument("--backend", choices=["auto", "hf", "cb", "vllm"], default="auto",
                     help="auto: vllm if installed on a GPU, else hf (HF generate); cb: continuous batching, paged KV cache")
    gen.add_argument("--cb_max_requests", type=int, default=16,
                     help="cb backend: sequences decoded together (CPU attention cost grows with its square; GPU: e.g. 256)")
    gen.add_argument("--cb_page_size", type=int, default=32, help="cb backend: tokens per KV-cache page")
    gen.add_argument("--cb_max_batch_tokens", type=int, default=512, help="cb backend: tokens per forward (prefill chunk)")
    gen.add_argument("--attn_implementation", default="auto")
    gen.add_argument("--trust_remote_code", action="store_true", help="allow model code from the checkpoint to run")
    fields = ap.add_argument_group("field mapping for JSONL tasks (dotted paths allowed)")
    for name in ("question", "answer", "id", "subject", "level"):
        fields.add_argument(f"--field_{name}", default=None)
    ap.add_argument("--overwrite", action="store_true", help="discard earlier samples in the output folder")
    ap.add_argument("--shard_size", type=int, default=DEFAULT_SHARD_SIZE,
                    help="items per shard: generated in one call, the unit spread over ranks (results depend on it, "
                         "not on the number of ranks)")
    add_rank_arguments(ap)
    ap.add_argument("--no_progress", action="store_true", help="no progress bar")
    return ap


def _default_out(model: str) -> Path:
    name = Path(model).name if ("/" in model or model.endswith(".gguf")) else model
    return Path("runs") / "eval" / re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _summary_tables(summary: dict[str, Any]):
    from rich.table import Table

    lo, hi = summary["ci95"] or (None, None)
    table = Table(title=f"eval: {summary['task']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("problems", summary["n"]), ("correct", summary["correct"]),
        ("accuracy", _pct(summary["accuracy"])), ("95% CI (Wilson)", f"{_pct(lo)} - {_pct(hi)}"),
        ("finish reasons", ", ".join(f"{k} {v}" for k, v in sorted(summary["finish_reasons"].items()))),
        ("mean new tokens", f"{summary['mean_tokens']:.0f}" if summary["mean_tokens"] else "-"),
        ("tokens/s", f"{summary['tokens_per_sec']:.1f}" if summary["tokens_per_sec"] else "-"),
        ("problems/s", f"{summary['problems_per_sec']:.3f}" if summary["problems_per_sec"] else "-"),
        ("generation time (s)", summary["generation_seconds"]),
        ("this run: new / resumed", f"{summary['this_run']['new_items']} / {summary['this_run']['resumed_items']}"),
        ("checks with error / timeout", f"{summary['checks_with_error']} / {summary['checks_timed_out']}"),
    ]
    for k, v in rows:
        table.add_row(k, str(v))
    tables = [table]
    for key, title in (("by_subject", "subject"), ("by_level", "level")):
        if key in summary:
            t = Table(title=f"{summary['task']} by {title}")
            for col in (title, "n", "accuracy", "95% CI"):
                t.add_column(col, justify="left" if col == title else "right")
            for group, s in summary[key].items():
                t.add_row(group, str(s["n"]), _pct(s["accuracy"]), f"{_pct(s['ci95'][0])} - {_pct(s['ci95'][1])}")
            tables.append(t)
    return tables


def _run_task(console, engine, items, settings, generation, out_dir: Path, checker, args, rank) -> dict[str, Any]:
    """Evaluate one task under a rich progress bar (done / total, running accuracy, ETA)."""
    from hn_lightning.evaluation.runner import evaluate_items
    from hn_lightning.progress import progress_bar

    stats = {"n": 0, "correct": 0}
    with progress_bar(console=console, enabled=not args.no_progress, extra="acc {task.fields[acc]}", plain_fields=("acc",)) as progress:
        bar = progress.add_task(settings.task, total=len(items), acc="-")

        def on_start(total: int, done: int) -> None:
            progress.update(bar, total=total)
            if done:
                console.print(f"{settings.task}: resuming, {done} of {total} items already done")
            progress.update(bar, completed=done)

        def on_record(record: dict[str, Any]) -> None:
            stats["n"] += 1
            stats["correct"] += int(record["correct"])
            progress.update(bar, advance=1, acc=f"{100 * stats['correct'] / stats['n']:.1f}%")

        return evaluate_items(engine, items, settings, generation, out_dir, checker=checker,
                              overwrite=args.overwrite, on_start=on_start, on_record=on_record, rank=rank,
                              shard_size=args.shard_size)


def check_flags(args: argparse.Namespace) -> None:
    """The documented range of every numeric flag, before anything is loaded (one line each)."""
    from hn_lightning.errors import check_range

    check_range("--limit", args.limit, 1, optional=True, why="the number of items per task")
    for flag, low in (("batch_size", 1), ("max_new_tokens", 1), ("shard_size", 1), ("cb_max_requests", 1),
                      ("cb_max_batch_tokens", 1), ("cb_page_size", 4), ("devices", 1)):
        check_range(f"--{flag}", getattr(args, flag), low)
    check_range("--temperature", args.temperature, 0, why="0 is greedy")
    check_range("--top_p", args.top_p, 0, 1, low_open=True)
    check_range("--requeue_fraction", args.requeue_fraction, 0, 1, high_open=True, why="0 turns requeueing off")
    check_range("--checker_timeout", args.checker_timeout, 0, low_open=True)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    check_flags(args)
    from hn_lightning.ranks import launch_local, rank_from_env, setup_rank_device, without_flag

    rank = rank_from_env(args.rank, args.world_size)
    if args.devices > 1 and not rank.distributed:
        return launch_local("eval", without_flag(argv, "--devices"), args.devices)
    setup_rank_device(rank)
    from rich.console import Console

    from hn_lightning.answers import AnswerChecker
    from hn_lightning.errors import UserError
    from hn_lightning.evaluation.engine import eval_dtype, load_engine
    from hn_lightning.evaluation.generate import GenerationConfig
    from hn_lightning.evaluation.runner import RunSettings, SettingsMismatch
    from hn_lightning.evaluation.tasks import FieldMap, load_task, task_name, task_source
    from hn_lightning.io import Output, check_writable, refuse_overlap

    console = Console(stderr=True)
    tasks = [t.strip() for t in args.task.split(",") if t.strip()]
    fields = FieldMap(args.field_question, args.field_answer, args.field_id, args.field_subject, args.field_level)
    try:
        loaded = {t: load_task(t, args.limit, fields, args.subset_seed) for t in tasks}
        generation = GenerationConfig(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
                                      batch_size=args.batch_size, seed=args.seed, requeue_fraction=args.requeue_fraction,
                                      calculator=args.calculator)
        if args.shard_size < 1:
            raise ValueError(f"--shard_size must be >= 1, got {args.shard_size}")
    except ValueError as exc:  # bad --limit / generation settings (JsonlError and missing files pass through)
        if isinstance(exc, UserError):
            raise
        raise UserError(str(exc)) from exc
    for t, items in loaded.items():
        if not items:  # an empty task file would report "0/0" and exit 0
            raise UserError(f"task {t!r} has no items to evaluate"
                            + (" (--limit 0)" if args.limit == 0 else " (the file is empty or holds only blank lines)"))
    out_root = Path(args.out) if args.out else _default_out(args.model)
    # before --overwrite deletes anything: no task file may lie in a folder this run writes
    refuse_overlap([(f"task {t!r}", task_source(t)) for t in loaded],
                   [Output("--out", out_root / task_name(t), folder=True) for t in loaded])
    check_writable("--out", out_root, folder=True)
    dtype = eval_dtype(args.dtype)
    console.print(f"loading {args.model} ({dtype})")
    from hn_lightning.evaluation.cb_engine import PagedCacheSettings

    try:
        cache = PagedCacheSettings(max_requests=args.cb_max_requests, page_size=args.cb_page_size,
                                   max_batch_tokens=args.cb_max_batch_tokens)
    except ValueError as exc:
        raise UserError(f"--cb_*: {exc}") from exc
    if args.calculator and args.backend not in ("auto", "hf"):
        raise UserError(f"--calculator works with the hf backend only, not --backend {args.backend}")
    engine = load_engine(args.model, backend="hf" if args.calculator else args.backend, dtype=dtype,
                         trust_remote_code=args.trust_remote_code, attn_implementation=args.attn_implementation, cache=cache)
    console.print(f"backend: {engine.name}{' with calculator' if args.calculator else ''}; prompt: {args.prompt}; checker: {args.checker}; "
                  f"max_new_tokens: {args.max_new_tokens}; batch_size: {args.batch_size}")
    summaries = []
    for t, items in loaded.items():
        name = task_name(t)
        settings = RunSettings(task=name, prompt=args.prompt, system=args.system, checker=args.checker,
                               max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
                               seed=args.seed, model=args.model, calculator=args.calculator,
                               extra={"dtype": dtype, "backend": engine.name, "batch_size": args.batch_size,
                                      "limit": args.limit, "subset_seed": args.subset_seed, "source": t,
                                      "shard_size": args.shard_size})
        try:
            summary = _run_task(console, engine, items, settings, generation, out_root / name,
                                AnswerChecker(args.checker, timeout_s=args.checker_timeout), args, rank)
        except SettingsMismatch as exc:
            raise SettingsMismatch(f"{exc} (--overwrite)") from None
        if not summary["complete"]:
            console.print(f"{name}: {rank.label()} wrote its shards ({summary['this_run']['new_items']} new items); "
                          f"{summary['missing']} item(s) of other ranks are not written yet: the last rank to finish "
                          f"merges {summary['files']['samples']} and writes the summary")
            continue
        summaries.append(summary)
        for table in _summary_tables(summary):
            console.print(table)
        console.print(f"samples: {summary['files']['samples']}\nsummary: {summary['files']['summary']}")
    for s in summaries:
        lo, hi = s["ci95"] or (None, None)
        print(f"{s['task']}: accuracy {_pct(s['accuracy'])} ({s['correct']}/{s['n']}, 95% CI {_pct(lo)}-{_pct(hi)}), "
              f"{s['generation_seconds']:.0f} s generation, {s['tokens_per_sec'] or 0:.1f} tokens/s -> {s['files']['summary']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

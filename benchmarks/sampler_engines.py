"""Sampler engines side by side in one process: HF ``generate`` (``hf``) vs continuous batching (``cb``).

    python benchmarks/sampler_engines.py --model qwen2.5-coder-0.5b-instruct --prompts 40 --max_new_tokens 64 \\
        --out benchmarks/results/sampler_engines

The same GSM8K *test* prompts (the evaluation protocol's ``qwen2-boxed`` prompt) go through every engine,
greedy (one completion each) and sampled (``--samples`` K per prompt, temperature 0.8, top-p 0.95, raw
log-probs on, as mining asks for them), model loaded once, engines run one after the other on the same
weights, after one untimed 2-token warm-up call per engine. Reported per engine and mode: wall seconds, generated tokens, tokens/s, and for greedy how many
completions equal the HF engine's token for token. Optional engines: ``cb-compile`` (``compile_level=1``)
and ``hf-static`` (HF ``generate`` with ``cache_implementation="static"``, one call per batch).

Writes ``<out>.json`` and ``<out>.md`` (command, machine, load average before and after).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def machine() -> str:
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor() or "?") if Path("/proc/cpuinfo").is_file() else platform.processor()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, {gpu}, torch {torch.__version__} ({torch.get_num_threads()} threads)"


def static_generate(model, tokenizer, prompts, config):
    """HF ``generate`` with a static KV cache, one left-padded call per ``batch_size`` prompts (no requeue)."""
    import torch

    from hn_lightning.evaluation.generate import prompt_token_ids
    from hn_lightning.evaluation.hf_batch import hf_settings, left_pad, warpers
    from hn_lightning.evaluation.tokens import stop_token_ids

    stops = stop_token_ids(tokenizer, model)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, len(prompts), config.batch_size):
            rows = [prompt_token_ids(tokenizer, p) for p in prompts[start:start + config.batch_size]
                    for _ in range(config.num_return_sequences)]
            ids, mask = left_pad(rows, pad, device)
            torch.manual_seed(config.seed + start)
            settings = hf_settings(config.max_new_tokens, not config.greedy, stops, pad)
            res = model.generate(input_ids=ids, attention_mask=mask, cache_implementation="static",
                                 logits_processor=warpers(config.temperature, config.top_p, None), **settings)
            for row in res.sequences[:, ids.shape[1]:].tolist():
                n = next((i + 1 for i, t in enumerate(row) if t in stops), len(row))
                out.append([type("G", (), {"token_ids": row[:n], "num_tokens": n})()])
    return out


def run_engine(name, model, tokenizer, prompts, config, args):
    from hn_lightning.evaluation.cb_engine import PagedCacheSettings, generate_continuous
    from hn_lightning.evaluation.generate import generate

    cache = PagedCacheSettings(max_requests=args.cb_max_requests, page_size=args.cb_page_size,
                               max_batch_tokens=args.cb_max_batch_tokens, compile_level=1 if name == "cb-compile" else 0)
    start = time.perf_counter()
    if name == "hf":
        outs = generate(model, tokenizer, prompts, config)
    elif name in ("cb", "cb-compile"):
        outs = generate_continuous(model, tokenizer, prompts, config, cache)
    elif name == "hf-static":
        outs = static_generate(model, tokenizer, prompts, config)
    else:
        raise SystemExit(f"unknown engine {name!r}")
    seconds = time.perf_counter() - start
    tokens = sum(g.num_tokens for o in outs for g in o)
    return outs, {"engine": name, "seconds": round(seconds, 2), "tokens": tokens,
                  "tokens_per_s": round(tokens / seconds, 3), "completions": sum(len(o) for o in outs)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="qwen2.5-coder-0.5b-instruct")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--prompts", type=int, default=40, help="first N GSM8K test problems")
    p.add_argument("--max_new_tokens", type=int, default=64)
    p.add_argument("--samples", type=int, default=4, help="K for the sampled mode")
    p.add_argument("--modes", default="greedy,sampled")
    p.add_argument("--engines", default="hf,cb", help="hf, cb, cb-compile, hf-static (comma-separated)")
    p.add_argument("--batch_size", type=int, default=8, help="hf: prompts per generate call (x K rows)")
    p.add_argument("--cb_max_requests", type=int, default=16)
    p.add_argument("--cb_page_size", type=int, default=32)
    p.add_argument("--cb_max_batch_tokens", type=int, default=512)
    p.add_argument("--out", default="benchmarks/results/sampler_engines")
    args = p.parse_args()

    from hn_lightning.evaluation.generate import GenerationConfig
    from hn_lightning.evaluation.prompts import qwen2_boxed
    from hn_lightning.evaluation.tasks import load_task
    from hn_lightning.models import ModelConfig, load_for_inference

    load_before = [round(x, 2) for x in os.getloadavg()]
    model, tokenizer = load_for_inference(ModelConfig(name_or_path=args.model, dtype=args.dtype))
    prompts = [qwen2_boxed(item.question) for item in load_task("gsm8k", limit=args.prompts)]
    rows, greedy_ref = [], None
    warm = GenerationConfig(max_new_tokens=2, batch_size=1)
    for name in args.engines.split(","):  # kernels, allocator, first-call costs: outside the timings
        run_engine(name, model, tokenizer, prompts[:1], warm, args)
    for mode in args.modes.split(","):
        sampled = mode == "sampled"
        config = GenerationConfig(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                                  temperature=0.8 if sampled else 0.0, top_p=0.95 if sampled else 1.0,
                                  num_return_sequences=args.samples if sampled else 1, return_logprobs=sampled, seed=0)
        for name in args.engines.split(","):
            outs, row = run_engine(name, model, tokenizer, prompts, config, args)
            row["mode"] = f"sampled K={args.samples}" if sampled else "greedy"
            if not sampled:
                ids = [o[0].token_ids for o in outs]
                greedy_ref = greedy_ref or (ids if name == "hf" else None)
                if greedy_ref is not None:
                    row["equal_to_hf"] = sum(a == b for a, b in zip(ids, greedy_ref))
                    row["first_divergence"] = [next((t for t, (x, y) in enumerate(zip(a, b)) if x != y), None)
                                               for a, b in zip(ids, greedy_ref) if a != b]
            rows.append(row)
            print(json.dumps(row), flush=True)
    for row in rows:
        base = next((r for r in rows if r["engine"] == "hf" and r["mode"] == row["mode"]), None)
        row["speed_vs_hf"] = round(row["tokens_per_s"] / base["tokens_per_s"], 3) if base else None
    result = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
              "command": "python " + " ".join([sys.argv[0].replace(str(REPO) + "/", "")] + sys.argv[1:]),
              "model": args.model, "dtype": str(next(model.parameters()).dtype), "prompts": len(prompts),
              "max_new_tokens": args.max_new_tokens, "loadavg_before": load_before,
              "loadavg_after": [round(x, 2) for x in os.getloadavg()], "rows": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(out.with_suffix(".json"))
    md = [f"# Sampler engines, {result['date']}", "", f"`{result['command']}`", "",
          f"{result['machine']}; {args.model} ({result['dtype']}), {len(prompts)} GSM8K test prompts, max_new_tokens "
          f"{args.max_new_tokens}; load average {load_before} before, {result['loadavg_after']} after.", "",
          "| mode | engine | wall s | tokens | tokens/s | vs hf | greedy equal to hf |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        md.append(f"| {r['mode']} | {r['engine']} | {r['seconds']} | {r['tokens']} | {r['tokens_per_s']} | "
                  f"{r['speed_vs_hf']} | {r.get('equal_to_hf', '-')}{'/' + str(len(prompts)) if 'equal_to_hf' in r else ''} |")
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()

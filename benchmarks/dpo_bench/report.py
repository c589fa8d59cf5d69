"""Render the DPO throughput benchmark's JSON into Markdown tables."""

from __future__ import annotations

import json


def _fmt(x, nd=2) -> str:
    return "-" if x is None else (f"{x:,.{nd}f}" if isinstance(x, float) else str(x))


def _ratios(row: dict, peer: dict | None, applies: bool) -> tuple[str, str]:
    """``(pairs/s ratio, peak-memory ratio)`` of ``row`` over ``peer`` as bold cells, or dashes."""
    if not applies or not peer or "error" in peer or "skipped" in peer:
        return "-", "-"
    mem = f"**{row['peak_gib'] / peer['peak_gib']:.2f}x**" if peer["peak_gib"] > 0 else "-"
    return f"**{row['pairs_per_s'] / peer['pairs_per_s']:.2f}x**", mem


def render_table(inv: dict) -> list[str]:
    s = inv["settings"]
    cpu = "train_peak_gib" in json.dumps(inv["rows"])
    head = ["finetuning", "framework", "step (s)", "pairs/s", "non-pad tok/s", "tok/pair", "compl. tok/pair",
            "padding", "peak GiB", *(["train-peak GiB"] if cpu else []), "ours / TRL pairs/s", "ours / TRL peak",
            "/ padded pairs/s", "/ padded peak"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|"]
    by_key = {(r["finetuning"], r["framework"]): r for r in inv["rows"]}
    for r in inv["rows"]:
        if "error" in r or "skipped" in r:
            why = r.get("skipped") or r["error"].splitlines()[0][:160]
            lines.append(f"| {r['finetuning']} | {r['framework']} | " + " | ".join(["-"] * (len(head) - 3)) + f" | {why} |")
            continue
        ratio_speed, ratio_mem = _ratios(r, by_key.get((r["finetuning"], "trl")), r["framework"].startswith("ours"))
        vs_padded = _ratios(r, by_key.get((r["finetuning"], "ours")), r["framework"] in ("ours-packed", "ours-flat"))
        cells = [r["finetuning"], r["framework"], _fmt(r["step_s"], 3), _fmt(r["pairs_per_s"], 3), _fmt(r["tokens_per_s"], 1),
                 _fmt(r["tokens_per_pair"], 1), _fmt(r["completion_tokens_per_pair"], 1),
                 f"{100 * r['padding_fraction']:.1f}%", _fmt(r["peak_gib"], 3),
                 *([_fmt(r.get("train_peak_gib"), 3)] if cpu else []), ratio_speed, ratio_mem, *vs_padded]
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


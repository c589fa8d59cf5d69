"""DPO step cost on one device: completion-only chunked log-probs vs full-vocabulary logits, and an
online reference vs a precomputed one.

Each variant runs in a fresh subprocess so peak memory (CUDA max allocated, or peak RSS on CPU) is its
own. Synthetic GSM8K-like pairs: prompt ~120 tokens, completions ~200 tokens each.

    python benchmarks/dpo_step.py --model qwen2.5-coder-0.5b-instruct --dtype bfloat16 --pairs 4 --steps 3

Variants (policy = LoRA r=16 on a frozen base unless --full):
  chunked        ours: hidden states at completion positions only, LM head in 1024-token checkpointed
                 chunks, fp32 logsumexp; reference = adapters off (online)
  chunked-cache  the same with reference log-probs read from a precomputed cache (no reference forward)
  full-fp32      logits for every position, upcast to fp32, log_softmax (OpenRLHF-style)
  bf16-row       logits for every position in the model dtype, per-row log_softmax (TRL's bf16 path)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

VARIANTS = ("chunked", "chunked-cache", "full-fp32", "bf16-row")


def run_variant(args) -> dict:
    import torch

    from hn_lightning.env import configure_environment
    from hn_lightning.losses.dpo import sigmoid_dpo_loss
    from hn_lightning.losses.logprobs import chunked_token_logprobs, gather_targets, sequence_logprobs
    from hn_lightning.models import LoraSettings, ModelConfig, build_policy
    from hn_lightning.models.forward import forward_hidden, output_head
    from hn_lightning.modules.reference import adapters_disabled

    configure_environment()
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cfg = ModelConfig(name_or_path=args.model, dtype=args.dtype, finetuning="full" if args.full else "lora",
                      lora=LoraSettings(r=16, alpha=32), gradient_checkpointing=args.gc)
    model, tok, _ = build_policy(cfg)
    model.to(device).train()
    B, P, C = args.pairs, args.prompt_tokens, args.completion_tokens
    T = P + C
    ids = torch.randint(100, 20000, (2 * B, T), device=device)
    mask = torch.zeros(2 * B, T, dtype=torch.bool, device=device)
    mask[:, P:] = True
    pos = torch.arange(T, device=device).expand(2 * B, T)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6)

    def seq_logps_chunked(m):
        hidden = forward_hidden(m, ids, position_ids=pos)
        h, targets, rows = gather_targets(hidden, ids, mask)
        return sequence_logprobs(chunked_token_logprobs(h, output_head(m), targets, 1024), rows, 2 * B)

    def seq_logps_full(m, fp32: bool):
        logits = m(input_ids=ids, position_ids=pos, use_cache=False).logits[:, :-1]
        tgt = ids[:, 1:]
        if fp32:
            lp = logits.float().log_softmax(-1).gather(-1, tgt[..., None]).squeeze(-1)
        else:
            lp = torch.stack([row.log_softmax(-1).gather(-1, t[:, None]).squeeze(-1) for row, t in zip(logits, tgt)])
        return (lp * mask[:, 1:]).sum(-1).float()

    fn = {"chunked": seq_logps_chunked, "chunked-cache": seq_logps_chunked,
          "full-fp32": lambda m: seq_logps_full(m, True), "bf16-row": lambda m: seq_logps_full(m, False)}[args.variant]
    cached = None
    times = []
    for step in range(args.steps + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        if args.variant == "chunked-cache":
            if cached is None:
                with adapters_disabled(model) if not args.full else torch.no_grad():
                    cached = seq_logps_chunked(model).detach()
            ref = cached
        else:
            with adapters_disabled(model) if not args.full else torch.no_grad():
                ref = fn(model).detach()
        pol = fn(model)
        loss = sigmoid_dpo_loss(pol[:B], pol[B:], ref[:B], ref[B:]).mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step > 0:  # step 0 is warm-up (and fills the cache)
            times.append(time.perf_counter() - t0)
    from hn_lightning.callbacks.throughput import peak_memory_gib

    tokens = 2 * B * T
    step_s = sum(times) / len(times)
    return {"variant": args.variant, "device": str(device), "dtype": args.dtype, "pairs": B, "seq_len": T,
            "step_s": round(step_s, 3), "tokens_per_s": round(tokens / step_s, 1), "peak_gib": round(peak_memory_gib(device), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--prompt_tokens", type=int, default=120)
    parser.add_argument("--completion_tokens", type=int, default=200)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="full fine-tuning instead of LoRA (reference = no_grad policy)")
    parser.add_argument("--gc", action="store_true", help="gradient checkpointing")
    parser.add_argument("--variant", choices=VARIANTS, help="run one variant in this process (internal)")
    args = parser.parse_args()
    if args.variant:
        print("RESULT " + json.dumps(run_variant(args)), flush=True)
        return
    rows = []
    for variant in VARIANTS:
        cmd = [sys.executable, __file__, "--variant", variant, *sys.argv[1:]]
        out = subprocess.run(cmd, capture_output=True, text=True)
        line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            print(f"{variant}: failed\n{out.stderr[-2000:]}")
            continue
        rows.append(json.loads(line[7:]))
        print(json.dumps(rows[-1]), flush=True)
    print("\n| variant | tokens/s | step (s) | peak memory (GiB) |\n| --- | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['variant']} | {r['tokens_per_s']} | {r['step_s']} | {r['peak_gib']} |")


if __name__ == "__main__":
    main()

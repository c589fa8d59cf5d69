"""Continuous batching with a paged KV cache (transformers' ``ContinuousBatchingManager``), beside HF ``generate``.

    from hn_lightning.evaluation.cb_engine import PagedCacheSettings, generate_continuous
    outs = generate_continuous(model, tokenizer, prompts, GenerationConfig(max_new_tokens=256), PagedCacheSettings())

Every (prompt, sample) is one request of the manager; at most ``max_requests`` are decoded together and a
finished request's slot is refilled at once (no padding steps, no requeue). With
``num_return_sequences = K`` the prompt is prefilled once and its KV blocks are shared by the K samples.

The paged cache is sized explicitly from the workload, never from "free memory" (transformers' default
takes 90 % of what it believes is free, which on a CPU is the machine's RAM and ran out of memory):
``num_blocks = max_requests * ceil((longest prompt + max_new_tokens) / page_size) + 1``; a request never
waits for blocks, and a larger cache would only make the attention masks bigger.

Decoding settings match :func:`hn_lightning.evaluation.generate.generate`: explicit (nothing from the
checkpoint's ``generation_config.json`` but its stop ids), temperature then top-p, ``top_k`` off, no
repetition penalty. Greedy decoding gives the same tokens as the HF engine in float32 (tested); in bf16 a
different batch composition may change a near tie (the HF engine has the same property across batch sizes).
Sampling is seeded (``config.seed``) and reproduces exactly for the same prompts and settings, but draws
from the RNG in a different order than HF ``generate``, so sampled texts differ between engines.

Log-probs (``return_logprobs``) are the raw (temperature 1, unwarped) ``log p(token | prefix)``, as the HF
engine records. The manager reports the log-prob *after* temperature/top-p; when those are identities
(greedy, or temperature 1 with top-p 1) that value is used, otherwise the completions are scored again by
one teacher-forced forward pass (:func:`forced_logprobs`, fp32 log-softmax of the LM head).

On a CPU (transformers' SDPA path) every decode step attends over the KV of *all* running requests,
masked, so attention costs grow with ``max_requests**2``; keep ``max_requests`` modest there
(``benchmarks/RESULTS.md`` has the measurements). On a GPU with flash attention the manager uses a
block-table decode path without that cost.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from hn_lightning.evaluation.generate import Generation, GenerationConfig, encode_prompts
from hn_lightning.evaluation.tokens import stop_token_ids, token_pieces

__all__ = ["PagedCacheSettings", "CBEngine", "generate_continuous", "forced_logprobs", "cache_blocks"]


@dataclass
class PagedCacheSettings:
    """How the continuous-batching engine sizes its paged KV cache and its batches."""

    max_requests: int = 16
    """Sequences decoded together (each sample of each prompt is one). On a CPU attention cost grows with
    its square (see the module doc); on a GPU raise it (e.g. 256)."""
    page_size: int = 32
    """Tokens per cache page (block). Small pages waste less memory on short sequences."""
    max_batch_tokens: int = 512
    """Tokens per forward pass: prefill is cut into chunks of at most this many tokens, mixed with decode steps."""
    compile_level: int = 0
    """transformers' ``default_compile_level`` for the manager's forward (0: eager; 1-3: ``torch.compile``
    with growing autotuning). Measured on a CPU in ``benchmarks/RESULTS.md``."""

    def __post_init__(self) -> None:
        from hn_lightning.errors import check_range

        for name, low in (("max_requests", 1), ("page_size", 4), ("max_batch_tokens", 1)):
            check_range(f"cb.{name}", getattr(self, name), low)
        check_range("cb.compile_level", self.compile_level, 0, 3)


def cache_blocks(prompt_lengths: list[int], max_new_tokens: int, settings: PagedCacheSettings, samples: int = 1) -> int:
    """Pages the cache needs so that ``max_requests`` of the longest requests fit at once (+1 spare);
    ``samples`` requests per prompt."""
    longest = max(prompt_lengths) + max_new_tokens
    rows = min(settings.max_requests, len(prompt_lengths) * samples)
    return max(1, rows) * math.ceil(longest / settings.page_size) + 1


def _hf_configs(tokenizer, model, config: GenerationConfig, settings: PagedCacheSettings, lengths: list[int]):
    from transformers import GenerationConfig as HFGenerationConfig
    from transformers.generation.configuration_utils import ContinuousBatchingConfig

    stops = stop_token_ids(tokenizer, model, config.stop_token_ids)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]
    sample = not config.greedy
    gen = HFGenerationConfig(
        max_new_tokens=config.max_new_tokens, do_sample=sample, temperature=config.temperature if sample else 1.0,
        top_p=config.top_p if sample else 1.0, top_k=0 if sample else None, repetition_penalty=1.0,
        num_return_sequences=config.num_return_sequences, eos_token_id=stops, pad_token_id=pad, use_cache=True,
    )
    warped = sample and (config.temperature != 1.0 or config.top_p < 1.0)
    cb = ContinuousBatchingConfig(
        page_size=settings.page_size,
        num_blocks=cache_blocks(lengths, config.max_new_tokens, settings, config.num_return_sequences),
        max_batch_tokens=settings.max_batch_tokens, max_requests_per_batch=min(settings.max_requests, len(lengths) * config.num_return_sequences),
        return_logprobs=config.return_logprobs and not warped, seed=config.seed,
        default_compile_level=settings.compile_level, use_async_batching=False,
    )
    return gen, cb, stops, warped


@torch.inference_mode()
def forced_logprobs(model, sequences: list[tuple[list[int], list[int]]], batch_size: int = 8) -> list[list[float]]:
    """``log p(new[t] | prompt, new[:t])`` of every ``(prompt_ids, new_ids)``, by a teacher-forced forward pass
    over right-padded batches (fp32 log-softmax of the LM head on the completion positions only)."""
    from hn_lightning.losses.logprobs import chunked_token_logprobs, gather_targets
    from hn_lightning.models.forward import forward_hidden, output_head

    device = next(model.parameters()).device
    head = output_head(model)
    out: list[list[float]] = []
    for start in range(0, len(sequences), batch_size):
        batch = sequences[start:start + batch_size]
        width = max(len(p) + len(n) for p, n in batch)
        ids = torch.zeros((len(batch), width), dtype=torch.long)
        attn = torch.zeros((len(batch), width), dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.bool)
        for r, (p, n) in enumerate(batch):
            ids[r, :len(p) + len(n)] = torch.tensor(p + n, dtype=torch.long)
            attn[r, :len(p) + len(n)] = 1
            mask[r, len(p):len(p) + len(n)] = True
        hidden = forward_hidden(model, ids.to(device), attention_mask=attn.to(device))
        h, targets, rows = gather_targets(hidden, ids.to(device), mask.to(device))
        logps, rows = chunked_token_logprobs(h, head, targets).cpu(), rows.cpu()
        out += [logps[rows == r].tolist() for r in range(len(batch))]
    return out


def _to_generation(tokenizer, ids: list[int], stops: list[int], seconds: float, logprobs: list[float] | None,
                   want_logprobs: bool) -> Generation:
    reason = "stop" if ids and ids[-1] in stops else "length"
    text = tokenizer.decode(ids[:-1] if reason == "stop" else ids, skip_special_tokens=True)
    gen = Generation(text=text, token_ids=list(ids), finish_reason=reason, num_tokens=len(ids), seconds=seconds)
    if want_logprobs:
        gen.token_logprobs = list(logprobs or [])
        gen.tokens = token_pieces(tokenizer, ids, text)
    return gen


def generate_continuous(model, tokenizer, prompts: list[str], config: GenerationConfig | None = None,
                        settings: PagedCacheSettings | None = None,
                        on_done: Callable[[int, list[Generation]], None] | None = None) -> list[list[Generation]]:
    """``config.num_return_sequences`` completions per prompt, in the order of ``prompts`` (the HF engine's
    contract; ``config.batch_size`` and ``requeue_fraction`` do not apply, ``settings.max_requests`` does).

    The caller's torch RNG and the model's train/eval modes are restored afterwards; ``on_done(i, gens)``
    runs once all samples of prompt ``i`` are finished. A request that fails inside the manager raises.
    """
    config = config or GenerationConfig()
    settings = settings or PagedCacheSettings()
    if not prompts:
        return []
    encoded = encode_prompts(tokenizer, prompts)
    k = config.num_return_sequences
    gen_cfg, cb_cfg, stops, rescore = _hf_configs(tokenizer, model, config, settings, [len(e) for e in encoded])
    want = config.return_logprobs
    results: list[list[Generation] | None] = [None] * len(prompts)
    pending: dict[int, dict[str, object]] = {}
    to_score: list[tuple[int, list, float]] = []

    def _finish(i: int, done: list, seconds: float, logps: list) -> None:
        results[i] = [_to_generation(tokenizer, list(r.generated_tokens), stops, seconds, lp, want)
                      for r, lp in zip(done, logps)]
        if on_done is not None:
            on_done(i, results[i])

    modes = {m: m.training for m in model.modules()}
    model.eval()
    start = time.perf_counter()
    try:
        device = next(model.parameters()).device  # the manager seeds the global RNGs: restore the caller's
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), \
                model.continuous_batching_context_manager(
                generation_config=gen_cfg, continuous_batching_config=cb_cfg, block=True, timeout=None,
                warmup=settings.compile_level > 0) as manager:
            parents = manager.add_requests(inputs=encoded, max_new_tokens=config.max_new_tokens)
            owner = {rid: i for i, rid in enumerate(parents)}
            names = {i: [rid] + [f"{rid}__child#{j}" for j in range(k - 1)] for i, rid in enumerate(parents)}
            left = len(prompts) * k
            while left:
                result = manager.get_result(timeout=1)
                if result is None:
                    if not manager.is_running():
                        raise RuntimeError("the continuous batching thread stopped before all requests finished")
                    continue
                if not result.is_finished():
                    continue
                if result.error is not None:
                    raise RuntimeError(f"continuous batching request {result.request_id} failed: {result.error}")
                left -= 1
                i = owner[result.request_id.split("__child#")[0]]
                pending.setdefault(i, {})[result.request_id] = result
                if len(pending[i]) < k:
                    continue
                finished = pending.pop(i)
                done = [finished[name] for name in names[i]]
                seconds = (time.perf_counter() - start) / max(1, len(prompts) * k - left)
                if want and rescore:  # scored after the manager has stopped (it shares the model)
                    to_score.append((i, done, seconds))
                    continue
                logps = [list(r.logprobs) for r in done] if want else [None] * k
                _finish(i, done, seconds, logps)
        if to_score:
            flat = forced_logprobs(model, [(encoded[i], list(r.generated_tokens)) for i, done, _ in to_score
                                           for r in done])
            for n, (i, done, seconds) in enumerate(to_score):
                _finish(i, done, seconds, flat[n * k:(n + 1) * k])
    finally:
        for m, was_training in modes.items():
            m.training = was_training
    return results  # type: ignore[return-value]


class CBEngine:
    """The continuous-batching engine behind the :class:`~hn_lightning.evaluation.engine.Engine` interface."""

    name = "cb"

    def __init__(self, model, tokenizer, settings: PagedCacheSettings | None = None) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.settings = settings or PagedCacheSettings()

    def generate(self, prompts: list[str], config: GenerationConfig,
                 on_done: Callable[[int, list[Generation]], None] | None = None) -> list[list[Generation]]:
        return generate_continuous(self.model, self.tokenizer, prompts, config, self.settings, on_done=on_done)

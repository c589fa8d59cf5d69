"""Batched generation with Hugging Face ``generate``: left padding, KV cache, length-sorted batches.

The same engine serves the evaluation harness (greedy) and the mining pipeline (sampling with
log-probs)::

    from hn_lightning.evaluation.generate import GenerationConfig, generate
    outs = generate(model, tokenizer, prompts, GenerationConfig(max_new_tokens=512, batch_size=8))
    outs[i][j].text   # j-th sample for prompts[i] (input order, whatever the batch order was)

Decoding settings are passed explicitly, so a model directory's ``generation_config.json``
(Qwen's ships ``temperature=0.7, top_p=0.8, top_k=20, repetition_penalty=1.05``) never changes
what "greedy" means here. Only its eos ids are used, as stop tokens.

``return_logprobs=True`` records ``log p(token | prefix)`` of every generated token under the
policy at temperature 1, from the *raw* logits (a logits processor placed before any temperature
or top-p warping), one step at a time, so memory stays ``O(batch x vocab)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from hn_lightning.evaluation.calculator import CalculatorProcessor
from hn_lightning.evaluation.hf_batch import run_segment
from hn_lightning.evaluation.tokens import stop_token_ids, token_pieces

__all__ = ["GenerationConfig", "Generation", "generate", "prompt_token_ids", "encode_prompts"]


@dataclass
class GenerationConfig:
    """How to decode. Defaults are the Step-DPO evaluation protocol (greedy, 2048 new tokens)."""

    max_new_tokens: int = 2048
    """Upper bound on generated tokens per completion (the protocol's ``max_tokens``)."""
    temperature: float = 0.0
    """0 means greedy decoding; > 0 samples at this temperature."""
    top_p: float = 1.0
    """Nucleus sampling mass (only when sampling); 1.0 keeps the whole distribution."""
    num_return_sequences: int = 1
    """Completions per prompt (> 1 needs sampling)."""
    batch_size: int = 8
    """Prompts per ``generate`` call (each expands to ``batch_size * num_return_sequences`` rows)."""
    seed: int = 0
    """Seed for sampling; batch ``k`` uses ``seed + k`` in a forked RNG, so the caller's RNG is untouched."""
    return_logprobs: bool = False
    """Also return each generated token's raw log-prob (temperature 1) and its decoded text."""
    stop_token_ids: list[int] | None = None
    """Extra stop ids; the tokenizer's eos and the model's ``generation_config.eos_token_id`` always stop."""
    requeue_fraction: float = 0.5
    """A batch stops early once at most this fraction of its rows still runs; those rows continue in a
    later batch with other long rows (their prompt + partial completion re-encoded). Saves the padding
    steps a looping completion would cost every finished row (on a CPU, a step costs ~ its width).
    0 disables it (one ``generate`` call per batch, as plain HF)."""
    calculator: bool = False
    """GSM8K's calculator: after ``<<expr=`` the result and ``>>`` are written for the model
    (:mod:`hn_lightning.evaluation.calculator`; forced tokens have log-prob 0). HF engine only."""

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.num_return_sequences < 1 or self.batch_size < 1:
            raise ValueError("num_return_sequences and batch_size must be >= 1")
        if not 0.0 <= self.requeue_fraction < 1.0:
            raise ValueError(f"requeue_fraction must be in [0, 1), got {self.requeue_fraction}")
        if self.num_return_sequences > 1 and self.temperature == 0:
            raise ValueError("num_return_sequences > 1 needs sampling (temperature > 0): greedy copies would be identical")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass
class Generation:
    """One completion."""

    text: str
    """Decoded completion (special tokens such as the final eos removed)."""
    token_ids: list[int]
    """Generated ids, including the stop token when ``finish_reason == "stop"``; no padding."""
    finish_reason: str
    """``"stop"`` (a stop token was generated) or ``"length"`` (``max_new_tokens`` reached)."""
    num_tokens: int
    """``len(token_ids)``."""
    seconds: float
    """This completion's equal share of the wall time of the batch(es) it was generated in."""
    token_logprobs: list[float] | None = None
    """``log p(token_ids[t] | prompt, token_ids[:t])`` at temperature 1, from raw logits (when requested)."""
    tokens: list[str] | None = field(default=None)
    """Decoded text of each generated token; ``"".join(tokens) == text`` (when requested)."""


def prompt_token_ids(tokenizer, prompt: str) -> list[int]:
    """Token ids of a prompt string, as vLLM would encode it (``add_special_tokens=True``: no BOS for Qwen)."""
    return list(tokenizer(prompt, add_special_tokens=True)["input_ids"])


def encode_prompts(tokenizer, prompts: list[str]) -> list[list[int]]:
    """:func:`prompt_token_ids` of every prompt; an empty one (no tokens) is an error for every engine."""
    encoded = [prompt_token_ids(tokenizer, p) for p in prompts]
    if any(len(e) == 0 for e in encoded):
        raise ValueError("an empty prompt cannot be generated from (it encodes to no tokens)")
    return encoded


@dataclass
class _Row:
    """One completion being built: prompt index, sample number, ids so far."""

    prompt: int
    sample: int
    prompt_ids: list[int]
    new_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    seconds: float = 0.0
    reason: str | None = None

    @property
    def length(self) -> int:
        return len(self.prompt_ids) + len(self.new_ids)


def _finish(tokenizer, row: _Row, return_logprobs: bool) -> Generation:
    ids = row.new_ids
    text = tokenizer.decode(ids[:-1] if row.reason == "stop" else ids, skip_special_tokens=True)
    gen = Generation(text=text, token_ids=list(ids), finish_reason=row.reason or "length", num_tokens=len(ids),
                     seconds=row.seconds)
    if return_logprobs:
        gen.token_logprobs = list(row.logprobs)
        gen.tokens = token_pieces(tokenizer, ids, text)
    return gen


def generate(model, tokenizer, prompts: list[str], config: GenerationConfig | None = None,
             on_done: Callable[[int, list[Generation]], None] | None = None) -> list[list[Generation]]:
    """Generate ``config.num_return_sequences`` completions for every prompt (HF ``generate``).

    Rows (prompt x sample) are sorted by length, longest first (memory trouble shows at once), and
    cut into batches of ``batch_size * num_return_sequences`` rows, left-padded, decoded with the KV
    cache. A batch stops early when at most ``requeue_fraction`` of its rows still run; those rows
    are continued later, batched with other long rows (see :mod:`hn_lightning.evaluation.hf_batch`).
    Results come back in the order of ``prompts``.

    The model is in eval mode and under ``torch.inference_mode()`` for the call; the train/eval mode
    of every submodule is restored afterwards, and the caller's torch RNG is untouched (sampling
    runs in a forked RNG seeded with ``seed + batch number``).

    ``on_done(prompt_index, generations)`` is called as soon as all samples of a prompt are finished.
    """
    config = config or GenerationConfig()
    if not prompts:
        return []
    encoded = encode_prompts(tokenizer, prompts)
    stop_ids = stop_token_ids(tokenizer, model, config.stop_token_ids)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop_ids[0]
    n = config.num_return_sequences
    calculator = CalculatorProcessor(tokenizer) if config.calculator else None
    queue = sorted((_Row(i, j, encoded[i]) for i in range(len(prompts)) for j in range(n)), key=lambda r: -r.length)
    width = config.batch_size * n
    waiting: list[_Row] = []  # rows handed back by a batch, continued together later
    finished: dict[int, list[_Row]] = {}
    results: list[list[Generation] | None] = [None] * len(prompts)
    modes = {m: m.training for m in model.modules()}
    model.eval()
    batch_no = 0
    try:
        with torch.inference_mode():
            while queue or waiting:
                if len(waiting) >= width or not queue:
                    waiting.sort(key=lambda r: -r.length)
                    batch, waiting = waiting[:width], waiting[width:]
                else:
                    batch, queue = queue[:width], queue[width:]
                outs = run_segment(
                    model, [r.prompt_ids + r.new_ids for r in batch],
                    [config.max_new_tokens - len(r.new_ids) for r in batch],
                    stop_ids=stop_ids, pad_id=pad_id, temperature=config.temperature, top_p=config.top_p,
                    seed=config.seed + batch_no, return_logprobs=config.return_logprobs,
                    requeue_fraction=config.requeue_fraction, calculator=calculator,
                )
                batch_no += 1
                for row, out in zip(batch, outs):
                    row.new_ids += out.new_ids
                    row.logprobs += out.logprobs or []
                    row.seconds += out.seconds
                    if out.reason == "requeue":
                        waiting.append(row)
                        continue
                    row.reason = out.reason
                    done = finished.setdefault(row.prompt, [])
                    done.append(row)
                    if len(done) == n:
                        done.sort(key=lambda r: r.sample)
                        results[row.prompt] = [_finish(tokenizer, r, config.return_logprobs) for r in done]
                        if on_done is not None:
                            on_done(row.prompt, results[row.prompt])
    finally:
        for m, was_training in modes.items():
            m.training = was_training
    return results  # type: ignore[return-value]

"""Sampling backends: Hugging Face ``generate`` (always available) and vLLM (GPU, when installed).

Both return, per prompt and in input order, ``num_samples``
:class:`~hn_lightning.evaluation.generate.Generation` objects with per-token log-probs under the
policy at temperature 1 (unwarped) and the text piece of each token.

Seeding: the candidates stage hands each shard the per-problem seeds of its problems
(:func:`hn_lightning.mining.ids.derive_seed`). vLLM seeds every request with its problem's seed;
the HF backend seeds the shard with its first problem's seed (``generate`` then seeds its k-th
``generate`` call with ``seed + k``: one RNG drives a batched call). Shards are a fixed function of
the problem order, so a resumed run regenerates a shard from the same seeds either way.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Protocol

import torch

from hn_lightning.evaluation.generate import Generation, GenerationConfig, generate
from hn_lightning.evaluation.tokens import token_pieces
from hn_lightning.mining.config import PolicyConfig, SamplingConfig

log = logging.getLogger(__name__)

__all__ = ["Sampler", "HFSampler", "CBSampler", "VLLMSampler", "choose_backend", "vllm_output_to_generations"]


class Sampler(Protocol):
    """What the candidates stage needs from a backend."""

    name: str

    def sample(self, prompts: list[str], seeds: list[int]) -> list[list[Generation]]:
        """``num_samples`` generations per rendered prompt, in input order."""
        ...


def choose_backend(requested: str) -> str:
    """``auto`` -> ``vllm`` when vLLM is importable and CUDA is available, else ``hf``."""
    if requested != "auto":
        return requested
    if torch.cuda.is_available() and importlib.util.find_spec("vllm") is not None:
        return "vllm"
    return "hf"


def _refuse_calculator(cfg: SamplingConfig, backend: str) -> None:
    if cfg.calculator:
        from hn_lightning.errors import UserError

        raise UserError(f"candidates.sampling.calculator needs the hf backend; backend {backend} cannot run it "
                        "(set candidates.sampling.backend: hf)")


class HFSampler:
    """Batched sampling with :func:`hn_lightning.evaluation.generate.generate` (KV cache, left padding)."""

    name = "hf"

    def __init__(self, model, tokenizer, cfg: SamplingConfig):
        self.model, self.tokenizer, self.cfg = model, tokenizer, cfg

    def generation_config(self, seeds: list[int], **extra) -> GenerationConfig:
        """The sampling settings of one shard, seeded with its first problem's seed."""
        cfg = self.cfg
        return GenerationConfig(
            max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature, top_p=cfg.top_p,
            num_return_sequences=cfg.num_samples, seed=seeds[0] if seeds else 0, return_logprobs=True,
            calculator=cfg.calculator, **extra,
        )

    def sample(self, prompts: list[str], seeds: list[int]) -> list[list[Generation]]:
        gen_cfg = self.generation_config(seeds, batch_size=max(1, self.cfg.hf_batch_size))
        return generate(self.model, self.tokenizer, prompts, gen_cfg)


class CBSampler(HFSampler):
    """Continuous batching (:func:`hn_lightning.evaluation.cb_engine.generate_continuous`), seeded like
    :class:`HFSampler` (the shard's first problem seed); log-probs are raw (a teacher-forced pass when
    temperature or top-p warp the sampling distribution)."""

    name = "cb"

    def __init__(self, model, tokenizer, cfg: SamplingConfig):
        _refuse_calculator(cfg, self.name)
        super().__init__(model, tokenizer, cfg)

    def sample(self, prompts: list[str], seeds: list[int]) -> list[list[Generation]]:
        from hn_lightning.evaluation.cb_engine import generate_continuous

        return generate_continuous(self.model, self.tokenizer, prompts, self.generation_config(seeds), self.cfg.cb)


def vllm_output_to_generations(request_output, tokenizer) -> list[Generation]:
    """Convert one vLLM ``RequestOutput`` (``n`` completions) to :class:`Generation` objects.

    The sampled token's log-prob is read from each step's logprob dict; token texts are rebuilt with
    :func:`token_pieces` so that they join to ``text`` exactly (as the HF backend does).
    """
    gens = []
    for comp in request_output.outputs:
        ids = list(comp.token_ids)
        logprobs = None
        if comp.logprobs is not None:
            logprobs = [float(step[tid].logprob) for step, tid in zip(comp.logprobs, ids)]
        reason = "length" if comp.finish_reason == "length" else "stop"
        gens.append(Generation(
            text=comp.text, token_ids=ids, finish_reason=reason, num_tokens=len(ids), seconds=0.0,
            token_logprobs=logprobs, tokens=token_pieces(tokenizer, ids, comp.text) if logprobs is not None else None,
        ))
    return gens


class VLLMSampler:
    """vLLM offline engine; one request per problem, seeded with the problem's seed, ``n = num_samples``.

    Log-probs: the engine is created with ``logprobs_mode="raw_logprobs"`` where the installed vLLM
    knows it (the sampled token's log-prob under the unwarped model distribution, as the HF backend
    records); older versions are used as they are, and a warning says so.
    """

    name = "vllm"

    def __init__(self, model_dir: Path, tokenizer, policy: PolicyConfig, cfg: SamplingConfig):
        _refuse_calculator(cfg, self.name)
        from vllm import LLM

        self.tokenizer, self.cfg = tokenizer, cfg
        from hn_lightning.models.dtype import resolve_dtype_name

        dtype = resolve_dtype_name(policy.dtype)  # our auto rule, not vLLM's (fp16 for fp32 checkpoints)
        kwargs = dict(model=str(model_dir), dtype=dtype, gpu_memory_utilization=cfg.vllm_gpu_memory_utilization,
                      max_model_len=cfg.vllm_max_model_len, trust_remote_code=policy.trust_remote_code,
                      enable_prefix_caching=True, seed=0)
        try:
            self.llm = LLM(**kwargs, logprobs_mode="raw_logprobs")
        except TypeError:
            log.warning("this vLLM has no logprobs_mode: log-probs are whatever it returns by default")
            self.llm = LLM(**kwargs)

    def sample(self, prompts: list[str], seeds: list[int]) -> list[list[Generation]]:
        from vllm import SamplingParams

        cfg = self.cfg
        params = [SamplingParams(n=cfg.num_samples, temperature=cfg.temperature, top_p=cfg.top_p,
                                 max_tokens=cfg.max_new_tokens, seed=seed, logprobs=0) for seed in seeds]
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        return [vllm_output_to_generations(o, self.tokenizer) for o in outputs]

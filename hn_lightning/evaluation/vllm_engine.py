"""A small vLLM engine (GPU only). UNTESTED in this repository's CI: vLLM cannot be installed on the
CPU machines. Written against vLLM's stable offline API: ``LLM(model=dir, dtype=...)``,
``SamplingParams(n, temperature, top_p, max_tokens, seed, logprobs, stop_token_ids)``,
``LLM.generate(prompts, sampling_params)`` returning ``RequestOutput.outputs[j]`` with ``text``,
``token_ids``, ``finish_reason`` and ``logprobs``.

Log-probs: with ``logprobs=0`` vLLM returns the sampled token's log-prob at each step. The engine asks
for ``logprobs_mode="raw_logprobs"`` (before temperature and top-p, which is what
:class:`GenerationConfig` promises) where the installed vLLM knows that argument; older releases are
used as they are.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch

from hn_lightning.evaluation.generate import Generation, GenerationConfig
from hn_lightning.evaluation.tokens import stop_token_ids, token_pieces

__all__ = ["VLLMEngine"]


def _model_stop_ids(model_dir: Path) -> list[int]:
    try:
        from transformers import GenerationConfig as HFGenerationConfig

        eos = HFGenerationConfig.from_pretrained(str(model_dir)).eos_token_id
    except (OSError, ValueError):
        return []
    return [eos] if isinstance(eos, int) else list(eos or [])


class VLLMEngine:
    """vLLM offline inference on a model directory. Requests go in chunks of ``chunk_size`` prompts, so
    an interrupted evaluation loses at most one chunk."""

    name = "vllm"

    def __init__(self, model_dir: str | Path, dtype: str = "bfloat16", trust_remote_code: bool = False,
                 chunk_size: int = 256, **llm_kwargs) -> None:
        if not torch.cuda.is_available():
            raise RuntimeError("VLLMEngine needs a CUDA GPU")
        from vllm import LLM

        from hn_lightning.models import load_tokenizer

        self.model_dir = Path(model_dir)
        self.tokenizer = load_tokenizer(self.model_dir, trust_remote_code)
        self.chunk_size = chunk_size
        kwargs = dict(model=str(self.model_dir), dtype=dtype, trust_remote_code=trust_remote_code, **llm_kwargs)
        try:  # raw (unwarped) log-probs where this vLLM lets us say so
            self.llm = LLM(**kwargs, logprobs_mode="raw_logprobs")
        except TypeError:
            self.llm = LLM(**kwargs)
        self._model_stops = _model_stop_ids(self.model_dir)

    def _params(self, config: GenerationConfig, seed: int | None):
        from vllm import SamplingParams

        return SamplingParams(
            n=config.num_return_sequences,
            temperature=config.temperature,
            top_p=config.top_p,
            max_tokens=config.max_new_tokens,
            repetition_penalty=1.0,
            seed=seed,
            logprobs=0 if config.return_logprobs else None,
            stop_token_ids=stop_token_ids(self.tokenizer, None, self._model_stops + list(config.stop_token_ids or [])),
            skip_special_tokens=True,
        )

    def _convert(self, out, config: GenerationConfig, seconds: float) -> Generation:
        ids = list(out.token_ids)
        gen = Generation(text=out.text, token_ids=ids, finish_reason="stop" if out.finish_reason == "stop" else "length",
                         num_tokens=len(ids), seconds=seconds)
        if config.return_logprobs:
            gen.token_logprobs = [float(step[tok].logprob) for step, tok in zip(out.logprobs or [], ids)]
            gen.tokens = token_pieces(self.tokenizer, ids, out.text)
        return gen

    def generate(self, prompts: list[str], config: GenerationConfig,
                 on_done: Callable[[int, list[Generation]], None] | None = None) -> list[list[Generation]]:
        results: list[list[Generation]] = []
        for lo in range(0, len(prompts), self.chunk_size):
            chunk = prompts[lo: lo + self.chunk_size]
            params = [self._params(config, None if config.greedy else config.seed + lo + i) for i in range(len(chunk))]
            start = time.perf_counter()
            outputs = self.llm.generate(chunk, params, use_tqdm=False)
            share = (time.perf_counter() - start) / max(1, len(chunk) * config.num_return_sequences)
            for i, request in enumerate(outputs):
                gens = [self._convert(o, config, share) for o in request.outputs]
                results.append(gens)
                if on_done is not None:
                    on_done(lo + i, gens)
        return results

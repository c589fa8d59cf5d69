"""Shared helpers of the CLI probe suites (tests/test_cli_probes_*.py): write small inputs, run ``cli.py``,
check that a run ended with exactly one ``error:`` line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_utils import REPO, retarget_config, run_cli_raw

PAIRS = [json.loads(line) for line in open(REPO / "data" / "demo_pairs.jsonl")]
"""Real preference pairs (GSM8K train, synthetic rejections) to build probe inputs from."""

TINY = {"name_or_path": "tiny-qwen2", "dtype": "float32"}


def write_lines(path: Path, lines: list) -> Path:
    """A JSONL file from dicts (dumped) and bytes (written as they are)."""
    path.write_bytes(b"".join((ln if isinstance(ln, bytes) else json.dumps(ln).encode()) + b"\n" for ln in lines))
    return path


def one_error_line(proc, *needles: str) -> str:
    """The run ended with exit code 2, no traceback, no usage block and one ``error:`` line holding ``needles``."""
    out = proc.stdout[-2000:] + proc.stderr[-4000:]
    assert proc.returncode == 2, f"rc {proc.returncode}\n{out}"
    assert "Traceback" not in proc.stderr and "usage:" not in proc.stderr, out
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, out
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def dpo_config(tmp_path: Path, train: str | Path, model: dict | None = None, **data) -> str:
    return str(retarget_config("dpo_demo.yaml", tmp_path, "dpo.yaml", {**TINY, "finetuning": "lora", **(model or {})},
                               {"train_files": [str(train)], **data}))


def sft_config(tmp_path: Path, train: str | Path, **data) -> str:
    return str(retarget_config("sft_demo.yaml", tmp_path, "sft.yaml", TINY,
                               {"train_files": [str(train)], "max_examples": None, "val_fraction": 0.0, **data}))


def fit(tmp_path: Path, config: str, *extra: str, env: dict | None = None):
    return run_cli_raw(["fit", "--config", config, "--trainer.max_steps", "2", *extra], cwd=tmp_path, timeout=600, env=env)

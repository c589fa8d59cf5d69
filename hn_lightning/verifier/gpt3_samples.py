"""The labelled GPT-3 GSM8K samples as verifier inputs, for the benchmarks.

``shared/data/sampled_solutions/gsm8k_test_gpt3_model_solutions.jsonl`` holds 1319 GSM8K *test*
questions with four GPT-3 solutions each and an ``is_correct`` label. They are used for evaluation
and benchmarks only (speed, separation), never to train or tune anything.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from pathlib import Path

from hn_lightning.paths import shared_data_dir
from hn_lightning.verifier.records import VerifierInput

SAMPLES = shared_data_dir() / "sampled_solutions" / "gsm8k_test_gpt3_model_solutions.jsonl"
MODELS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")
_GOLD = re.compile(r"A:\s*(.+?)\s*$")

__all__ = ["SAMPLES", "MODELS", "load_samples", "machine"]


def load_samples(limit_questions: int | None = None, path: Path = SAMPLES) -> tuple[list[VerifierInput], list[bool]]:
    """Every (question, model) sample as a VerifierInput, with its ``is_correct`` label.

    The reference is ``ground_truth`` (it ends ``A: N``); the gold is that ``N``.
    """
    inputs, labels = [], []
    with open(path, encoding="utf-8") as fh:
        for qi, line in enumerate(fh):
            if limit_questions is not None and qi >= limit_questions:
                break
            rec = json.loads(line)
            last = rec["ground_truth"].strip().splitlines()[-1]
            m = _GOLD.search(last)
            if not m:
                raise ValueError(f"{path}:{qi + 1}: ground_truth does not end with 'A: N'")
            for model in MODELS:
                inputs.append(VerifierInput(id=f"{qi}:{model}", question=rec["question"], reference=rec["ground_truth"],
                                            gold=m.group(1), prediction=rec[model]["solution"]))
                labels.append(bool(rec[model]["is_correct"]))
    return inputs, labels


def machine() -> dict:
    """CPU model, cores, load average (the box is shared; the load is part of the result)."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5).stdout.strip()
    except Exception:
        rev = ""
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "loadavg": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
            "torch": torch.__version__, "git": rev or None}

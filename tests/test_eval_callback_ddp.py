"""MathEvalCallback under DDP with two CPU processes (gloo): each rank evaluates its shards of the subset,
the per-problem verdicts are all-gathered, every rank logs the same accuracy, and the merged samples are
those of one process (learning rate 0, so both runs evaluate the same policy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli_utils import REPO
from tests.conftest import write_jsonl

SCRIPT = r'''
import json, sys
from functools import partial
from pathlib import Path

import lightning as L
import torch

from hn_lightning.callbacks.evaluation import MathEvalCallback
from hn_lightning.data import SFTDataModule
from hn_lightning.models import LoraSettings, ModelConfig
from hn_lightning.modules import SFTModule

out, devices = Path(sys.argv[1]), int(sys.argv[2])
L.seed_everything(0)
module = SFTModule(ModelConfig(name_or_path="tiny-qwen2", dtype="float32", finetuning="lora", lora=LoraSettings(r=4, alpha=8)),
                   optimizer=partial(torch.optim.SGD, lr=0.0))
data = SFTDataModule(train_files=[sys.argv[3]], max_length=64, batch_size=1, seed=3)
cb = MathEvalCallback(tasks=[sys.argv[4]], every_n_steps=None, limit=5, max_new_tokens=5, batch_size=2, shard_size=2,
                      out_dir=str(out / "eval"))
trainer = L.Trainer(accelerator="cpu", devices=devices, strategy="ddp" if devices > 1 else "auto", max_steps=1,
                    logger=False, enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                    default_root_dir=str(out), num_sanity_val_steps=0, callbacks=[cb])
trainer.fit(module, data)
(out / f"metrics-rank{trainer.global_rank}.json").write_text(json.dumps(cb.last_metrics))
'''


def _run(tmp_path: Path, name: str, devices: int, sft: Path, task: Path) -> Path:
    out = tmp_path / name
    out.mkdir()
    script = tmp_path / "fit_eval.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(script), str(out), str(devices), str(sft), str(task)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return out


def _records(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for r in rows:
        r.pop("seconds")
    return sorted(rows, key=lambda r: r["id"])


def test_callback_splits_over_two_ddp_ranks_and_logs_one_gathered_accuracy(tmp_path):
    sft = write_jsonl(tmp_path / "sft.jsonl", [{"question": f"What is {i} + 1?", "solution": f"It is $\\boxed{{{i + 1}}}$."}
                                               for i in range(8)])
    # golds that a random model's five greedy tokens may or may not hit: accuracy is not forced to 0 or 1
    task = write_jsonl(tmp_path / "task.jsonl", [{"id": f"t{i}", "question": f"What is {i} times 3?", "answer": str(3 * i)}
                                                 for i in range(5)])
    one = _run(tmp_path, "one", 1, sft, task)
    two = _run(tmp_path, "two", 2, sft, task)
    step = next((two / "eval").iterdir()).name
    folder = two / "eval" / step / "task"
    assert sorted(p.name for p in (folder / "ranks").iterdir()) == ["samples-rank00000.jsonl", "samples-rank00001.jsonl"]
    assert len((folder / "ranks" / "samples-rank00000.jsonl").read_text().splitlines()) == 3  # shards 0 and 2: items 0, 1, 4
    merged = _records(folder / "samples.jsonl")
    assert merged == _records(one / "eval" / step / "task" / "samples.jsonl")
    m0, m1, m_one = (json.loads((d / f).read_text()) for d, f in
                     ((two, "metrics-rank0.json"), (two, "metrics-rank1.json"), (one, "metrics-rank0.json")))
    assert m0["eval/task_acc"] == m1["eval/task_acc"] == m_one["eval/task_acc"]
    assert m0["eval/task_acc"] == sum(r["correct"] for r in merged) / len(merged)

"""``python cli.py demo``: every stage wired to the next, on the tiny model (random weights, so mining
finds no pairs and the DPO stage must say so), and an interrupted demo resumes without redoing stages."""

from __future__ import annotations

import json

from hn_lightning.commands.demo import count_pairs, pairs_per_step, summary_markdown
from tests.cli_utils import run_cli
from tests.conftest import write_jsonl

ARGS = ["demo", "--model", "tiny-qwen2", "--out", "demo", "--sft_steps", "1", "--mine_problems", "2",
        "--mine_samples", "2", "--dpo_steps", "1", "--eval_problems", "2", "--eval_max_new_tokens", "8"]


def test_demo_runs_every_stage_on_the_tiny_model_and_resumes(tmp_path):
    proc = run_cli(ARGS, cwd=tmp_path)
    out = tmp_path / "demo"
    assert (out / "sft" / "hf_model" / "config.json").is_file()
    funnel = json.loads((out / "mine" / "funnel.json").read_text())
    assert funnel["input"] == 4 and funnel["problems"] == 2           # 2 problems x 2 samples
    hardneg = count_pairs(out / "mine" / "pairs" / "hardneg")
    assert hardneg == funnel["paired"]
    summary = json.loads((out / "summary.json").read_text())
    trained = [m["name"] for m in summary["models"]]
    if hardneg < pairs_per_step():                                   # random weights: nothing to pair
        assert "skipping DPO on the hardneg arm" in proc.stdout and "dpo_hardneg" not in trained
    else:
        assert "dpo_hardneg" in trained and (out / "dpo_hardneg" / "hf_model" / "config.json").is_file()
    sft = summary["models"][0]
    assert sft["name"] == "sft" and sft["n"] == 2 and 0 <= sft["correct"] <= 2
    assert (out / "eval" / "sft" / "gsm8k" / "samples.jsonl").is_file()
    assert (out / "summary.md").read_text().startswith("# hn_lightning demo")
    assert "Demo finished" in proc.stdout

    mtime = (out / "sft" / "hf_model" / "config.json").stat().st_mtime
    again = run_cli(ARGS, cwd=tmp_path)                  # a rerun redoes nothing
    assert (out / "sft" / "hf_model" / "config.json").stat().st_mtime == mtime
    assert "Demo finished" in again.stdout


def test_count_pairs_and_summary_table(tmp_path):
    assert count_pairs(tmp_path / "missing") == 0
    write_jsonl(tmp_path / "p" / "shard-00000.jsonl", [{"id": "a"}, {"id": "b"}, ""])
    write_jsonl(tmp_path / "p" / "shard-00001.jsonl", [{"id": "c"}])
    assert count_pairs(tmp_path / "p") == 3
    text = summary_markdown({"sft_model": "s", "mine_dir": "m", "seconds": {"sft": 1.0, "total": 2.0}, "models": [
        {"name": "sft", "n": 20, "correct": 5, "accuracy": 0.25, "ci95": [0.11, 0.47]},
        {"name": "dpo_hardneg", "pairs": 47, "n": 20, "correct": 6, "accuracy": 0.3, "ci95": [0.15, 0.52]}]})
    assert "| sft | - | 5/20 = 25.0% | 11.0-47.0% |" in text
    assert "| dpo_hardneg | 47 | 6/20 = 30.0% | 15.0-52.0% |" in text

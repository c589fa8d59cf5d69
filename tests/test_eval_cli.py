"""``python cli.py eval`` end to end in a subprocess on the tiny model, then rerun: it resumes."""

from __future__ import annotations

import json

from cli_utils import run_cli


def test_eval_command_end_to_end_and_resume(tmp_path):
    out = tmp_path / "eval"
    args = ["eval", "--model", "tiny-qwen2", "--task", "gsm8k,math", "--limit", "3", "--max_new_tokens", "8",
            "--batch_size", "2", "--out", str(out), "--no_progress"]
    proc = run_cli(args, cwd=tmp_path, timeout=600)
    for task in ("gsm8k", "math"):
        summary = json.loads((out / task / "summary.json").read_text())
        records = [json.loads(line) for line in (out / task / "samples.jsonl").read_text().splitlines()]
        assert summary["n"] == 3 and len(records) == 3 and summary["finish_reasons"] == {"length": 3}
        assert summary["generated_tokens"] == 24 and summary["tokens_per_sec"] > 0
        assert summary["settings"]["max_new_tokens"] == 8 and summary["settings"]["prompt"] == "qwen2-boxed"
        assert set(records[0]) >= {"id", "prompt", "completion", "extracted", "gold", "correct", "num_tokens", "seconds"}
        assert f"{task}: accuracy" in proc.stdout
    math_summary = json.loads((out / "math" / "summary.json").read_text())
    assert "by_subject" in math_summary and "by_level" in math_summary
    ids = {json.loads(line)["id"] for line in (out / "gsm8k" / "samples.jsonl").read_text().splitlines()}
    assert ids == {"GSM8K_0", "GSM8K_1", "GSM8K_2"}  # the first three (written in finishing order)

    again = run_cli(args[:4] + ["gsm8k"] + args[5:], cwd=tmp_path, timeout=600)
    assert "resuming, 3 of 3 items already done" in again.stderr
    summary = json.loads((out / "gsm8k" / "summary.json").read_text())
    assert summary["this_run"] == {**summary["this_run"], "new_items": 0, "resumed_items": 3}
    assert len((out / "gsm8k" / "samples.jsonl").read_text().splitlines()) == 3

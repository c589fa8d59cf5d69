"""No command may destroy its own input: an output (or an output folder) that resolves to an input, through
``./``, ``..``, a symbolic link or a hard link, is refused with one line before anything is touched.

Before the fix ``verify --input X --output X --overwrite`` deleted X and then failed on the missing input.
"""

from __future__ import annotations

import json
import os

import pytest

from hn_lightning.errors import UserError
from hn_lightning.io import Output, refuse_overlap
from tests.cli_utils import run_cli_raw

Q = "A shop sells 3 pens at $2 each. How much do 3 pens cost?"
REF = "3 * 2 = $6.\n#### 6"


def _samples(path, n: int = 3):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"id": f"s{i}", "question": Q, "reference": REF, "gold": "6",
                                        "prediction": f"3 * 2 = {6 + i}.\nThe answer is {6 + i}."}) + "\n" for i in range(n)))
    return path.read_bytes()


# ------------------------------------------------------------------------------------------------ unit
def test_same_file_in_every_spelling_is_refused(tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text("{}\n")
    (tmp_path / "sub").mkdir()
    os.symlink(f, tmp_path / "link.jsonl")
    os.link(f, tmp_path / "hard.jsonl")
    for spelling in (f, tmp_path / "." / "a.jsonl", tmp_path / "sub" / ".." / "a.jsonl", tmp_path / "link.jsonl",
                     tmp_path / "hard.jsonl"):
        with pytest.raises(UserError, match="is the same file as --output"):
            refuse_overlap([("--input", f)], [Output("--output", spelling)])


def test_input_inside_an_output_folder_or_a_folder_holding_the_output_is_refused(tmp_path):
    f = tmp_path / "run" / "data" / "x.jsonl"
    f.parent.mkdir(parents=True)
    f.write_text("{}\n")
    with pytest.raises(UserError, match="lies inside the output folder out"):
        refuse_overlap([("problems", f)], [Output("out", tmp_path / "run", folder=True)])
    with pytest.raises(UserError, match="is a folder that holds the output"):
        refuse_overlap([("train_files", f.parent)], [Output("--output", f.parent / "scored.jsonl")])


def test_distinct_paths_pass(tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text("{}\n")
    refuse_overlap([("--input", f)], [Output("--output", tmp_path / "a.jsonl.out"),
                                      Output("out", tmp_path / "run", folder=True), Output("x", tmp_path / "ab.jsonl")])


# ------------------------------------------------------------------------------------------------ CLI
def _one_error_line(proc, *needles):
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, proc.stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("spelling", ["same", "dot", "symlink"])
@pytest.mark.parametrize("overwrite", [True, False])
def test_verify_never_overwrites_its_input(tmp_path, spelling, overwrite):
    inp = tmp_path / "scored.jsonl"
    before = _samples(inp)
    out = {"same": str(inp), "dot": "./scored.jsonl", "symlink": str(tmp_path / "alias.jsonl")}[spelling]
    if spelling == "symlink":
        os.symlink(inp, tmp_path / "alias.jsonl")
    proc = run_cli_raw(["verify", "--input", str(inp), "--output", out, "--no_progress",
                        *(["--overwrite"] if overwrite else [])], cwd=tmp_path, timeout=300)
    _one_error_line(proc, "is the same file as --output", "choose another --output")
    assert inp.read_bytes() == before
    assert not (tmp_path / "scored.jsonl.parts").exists()


def test_eval_refuses_a_task_file_inside_the_folder_it_writes(tmp_path):
    task = tmp_path / "runs" / "mytask" / "mytask.jsonl"
    task.parent.mkdir(parents=True)
    task.write_text(json.dumps({"id": "1", "question": Q, "answer": "6"}) + "\n")
    before = task.read_bytes()
    proc = run_cli_raw(["eval", "--model", "tiny-qwen2", "--task", str(task), "--out", str(tmp_path / "runs"),
                        "--overwrite", "--no_progress"], cwd=tmp_path, timeout=300)
    _one_error_line(proc, "lies inside the output folder --out")
    assert task.read_bytes() == before


def test_mine_refuses_problems_inside_its_output_folder(tmp_path):
    problems = tmp_path / "mine" / "problems.jsonl"
    problems.parent.mkdir(parents=True)
    problems.write_text(json.dumps({"question": Q, "answer": "6", "solution": REF}) + "\n")
    before = problems.read_bytes()
    proc = run_cli_raw(["mine", "--out", str(tmp_path / "mine"), "--problems.gsm8k", "null", "--problems.math", "null",
                        "--problems.custom", json.dumps([{"path": str(problems)}]), "--overwrite", "true"],
                       cwd=tmp_path, timeout=300)
    _one_error_line(proc, "lies inside the output folder out")
    assert problems.read_bytes() == before

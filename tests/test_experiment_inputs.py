"""An experiment never reports a cell trained or evaluated on inputs other than the ones it names.

Every cell records the content fingerprints of what decides its result (pair files, held-out files, the
starting policy, the eval task file and settings); a finished cell whose inputs changed is refused with
one line naming the cell and the file, or (``on_change: rerun``) only what the change invalidates is
rerun. Every arm's inputs are checked before the first cell trains, and no input may lie in a folder the
experiment writes. Through the CLI on the tiny model (1-step cells, 2 evaluation problems, 4 new tokens).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from hn_lightning.errors import UserError
from hn_lightning.experiments.inputs import Inputs, discard, reconcile
from hn_lightning.experiments.layout import Layout
from hn_lightning.experiments.preflight import preflight
from tests.cli_utils import REPO, run_cli_raw
from tests.conftest import write_jsonl
from tests.test_dpo_module import pairs_file


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in open(path) if line.strip()]


def _config(tmp_path: Path, **overrides) -> dict:
    pairs = _read(pairs_file(tmp_path, 8))
    write_jsonl(tmp_path / "a.jsonl", pairs[:4])
    write_jsonl(tmp_path / "b.jsonl", pairs[4:])
    write_jsonl(tmp_path / "problems.jsonl", [{"id": f"p{i}", "question": f"What is {i} + 2?", "answer": str(i + 2)}
                                              for i in range(2)])
    config = {
        "out": str(tmp_path / "exp"), "base_config": "configs/dpo_demo.yaml", "policy": "tiny-qwen2",
        "model": {"dtype": "float32"}, "max_steps": 1, "kl": None,
        "grid": {"arms": [{"name": "a", "train_files": [str(tmp_path / "a.jsonl")]},
                          {"name": "b", "train_files": [str(tmp_path / "b.jsonl")]}],
                 "losses": [{"name": "sigmoid", "args": {"beta": 0.1}}], "seeds": [0]},
        "eval": {"task": str(tmp_path / "problems.jsonl"), "limit": 2, "max_new_tokens": 4, "batch_size": 2},
        "bootstrap": 100,
    }
    config.update(overrides)
    return config


def _experiment(tmp_path: Path, config: dict, *extra: str):
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(config))
    return run_cli_raw(["experiment", "--config", str(path), *extra], cwd=REPO, timeout=900)


def _one_error(proc, *needles: str) -> str:
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _stamps(cell: Path) -> dict[str, int]:
    return {name: (cell / name).stat().st_mtime_ns for name in ("train.json", "cell.json")}


# ------------------------------------------------------------------------------------------------ CLI
def test_a_changed_arm_file_or_eval_set_is_refused_or_rerun(tmp_path):
    config = _config(tmp_path)
    proc = _experiment(tmp_path, config)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cells = tmp_path / "exp" / "cells"
    a, b = cells / "a-sigmoid-w0.3-s0", cells / "b-sigmoid-w0.3-s0"
    first = {c: _stamps(c) for c in (a, b)}
    recorded = json.loads((a / "cell.json").read_text())["inputs"]
    assert recorded["train"][f"train file {tmp_path / 'a.jsonl'}"] and recorded["train"]["policy"] == "name:tiny-qwen2"

    # arm a's file changes by content alone (same size, same mtime): refused, naming the cell and the file
    before = (tmp_path / "a.jsonl").stat()
    pairs = _read(tmp_path / "a.jsonl")
    pairs[0], pairs[1] = pairs[1], pairs[0]
    write_jsonl(tmp_path / "a.jsonl", pairs)
    os.utime(tmp_path / "a.jsonl", ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (tmp_path / "a.jsonl").stat().st_size == before.st_size
    proc = _experiment(tmp_path, config)
    line = _one_error(proc, "cell a-sigmoid-w0.3-s0", f"train file {tmp_path / 'a.jsonl'} changed", "on_change: rerun")
    assert "restore it" in line and "experiment: cell 1/2" not in proc.stdout  # judged before any cell runs
    assert {c: _stamps(c) for c in (a, b)} == first  # nothing touched

    # on_change: rerun retrains that cell only
    proc = _experiment(tmp_path, config, "--on_change", "rerun")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "cell a-sigmoid-w0.3-s0: train file" in proc.stdout and "rerunning it" in proc.stdout
    assert _stamps(a)["train.json"] != first[a]["train.json"] and _stamps(b) == first[b]
    assert json.loads((a / "cell.json").read_text())["inputs"]["train"] != recorded["train"]
    second = {c: _stamps(c) for c in (a, b)}

    # the eval task file changes: refused for the first cell; with rerun both cells are re-evaluated, not retrained
    problems = _read(tmp_path / "problems.jsonl")
    write_jsonl(tmp_path / "problems.jsonl", [dict(p, answer="7") for p in problems])
    _one_error(_experiment(tmp_path, config), "cell a-sigmoid-w0.3-s0", f"eval task {tmp_path / 'problems.jsonl'} changed")
    proc = _experiment(tmp_path, config, "--on_change", "rerun")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("rerunning it") == 2  # each cell once
    for cell in (a, b):
        assert _stamps(cell)["train.json"] == second[cell]["train.json"]  # the trained model is kept
        assert _stamps(cell)["cell.json"] != second[cell]["cell.json"]
        assert {r["gold"] for r in _read(cell / "eval" / "problems" / "samples.jsonl")} == {"7"}  # the new file's


def test_a_missing_file_of_the_second_arm_stops_before_the_first_cell(tmp_path):
    config = _config(tmp_path)
    config["grid"]["arms"][1]["train_files"] = [str(tmp_path / "missing.jsonl")]
    _one_error(_experiment(tmp_path, config), "arm 'b' train_files", str(tmp_path / "missing.jsonl"))
    assert not (tmp_path / "exp" / "cells").exists()


def test_an_arm_file_inside_a_folder_the_experiment_writes_is_refused(tmp_path):
    config = _config(tmp_path)
    inside = tmp_path / "exp" / "split" / "a.jsonl"
    inside.parent.mkdir(parents=True)
    inside.write_bytes((tmp_path / "a.jsonl").read_bytes())
    before = inside.read_bytes()
    config["grid"]["arms"][0]["train_files"] = [str(inside)]
    config["val_split"] = 0.25  # the split would rewrite <out>/split
    _one_error(_experiment(tmp_path, config), "arm 'a' train_files", "lies inside the output folder out",
               str(tmp_path / "exp" / "split"))
    assert inside.read_bytes() == before and sorted(p.name for p in inside.parent.iterdir()) == ["a.jsonl"]
    assert not (tmp_path / "exp" / "cells").exists()


# ------------------------------------------------------------------------------------------------ units
def _cfg(**kw):
    return SimpleNamespace(on_change=kw.get("on_change", "refuse"), accept_unrecorded=kw.get("accept_unrecorded", False))


def test_an_unrecorded_stage_is_refused_kept_or_rerun_as_asked(tmp_path):
    """A cell finished by a version that recorded no inputs (only its settings digest)."""
    marker, started = tmp_path / "cell.json", tmp_path / "settings.json"
    marker.write_text(json.dumps({"settings": "s1", "outcomes": {}}))
    current = {"train": {"settings": "t", "train file x": "abc"}}
    with pytest.raises(UserError, match="recorded none of its inputs.*accept_unrecorded: true.*on_change: rerun"):
        reconcile("cell c", marker, started, "s1", lambda: current, _cfg())
    assert reconcile("cell c", marker, started, "s1", lambda: current, _cfg(on_change="rerun")) == {"*"}
    assert reconcile("cell c", marker, started, "s1", lambda: current, _cfg(accept_unrecorded=True)) == set()
    assert json.loads(marker.read_text())["inputs"] == current  # today's inputs recorded as its own
    current["train"]["train file x"] = "def"  # from now on a change is a change
    with pytest.raises(UserError, match=r"train file x changed \(content abc -> def\) since it was made"):
        reconcile("cell c", marker, started, "s1", lambda: current, _cfg(accept_unrecorded=True))
    # other settings are refused, with an input record or without (then the record is not even computed)
    with pytest.raises(UserError, match="made with other settings"):
        reconcile("cell c", marker, started, "s2", lambda: json.loads(marker.read_text())["inputs"], _cfg())
    marker.write_text(json.dumps({"settings": "s1"}))
    with pytest.raises(UserError, match="made with other settings"):
        reconcile("cell c", marker, started, "s2", lambda: 1 / 0, _cfg(accept_unrecorded=True))


def test_only_the_changed_groups_are_stale(tmp_path):
    marker = tmp_path / "cell.json"
    old = {"train": {"settings": "t", "policy": "p"}, "eval": {"eval task x": "1", "settings": "e"},
           "eval_math": {"eval task math500": "2", "settings": "e"}}
    marker.write_text(json.dumps({"settings": "s", "inputs": old}))
    new = json.loads(json.dumps(old))
    new["eval_math"]["settings"] = "f"
    assert reconcile("cell c", marker, tmp_path / "none", "s", lambda: new, _cfg(on_change="rerun")) == {"eval_math"}
    with pytest.raises(UserError, match="its eval_math settings changed since it was made"):
        reconcile("cell c", marker, tmp_path / "none", "s", lambda: new, _cfg())


def test_each_file_is_hashed_once_by_content(tmp_path, monkeypatch):
    import hn_lightning.models.gguf as gguf

    f = tmp_path / "a.jsonl"
    f.write_text('{"x": 1}\n')
    calls = []
    real = gguf.sha256_file
    monkeypatch.setattr(gguf, "sha256_file", lambda p, *a: calls.append(p) or real(p, *a))
    inputs = Inputs()
    os.symlink(f, tmp_path / "link.jsonl")
    one = inputs.files("train file", [str(f)])
    assert inputs.files("train file", [str(tmp_path / "link.jsonl"), str(tmp_path)]) and len(calls) == 1
    assert one == {f"train file {f}": real(f)[:16]}
    assert inputs.files("problems file", ["gsm8k:train"]).keys() == {"problems file gsm8k:train"}  # by name, not cache path


def test_a_model_folder_is_fingerprinted_by_its_weights_and_config(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"0" * 64)
    fp = Inputs().policy(str(model))
    (model / "model.safetensors").write_bytes(b"1" * 64)
    assert Inputs().policy(str(model)) != fp
    (model / "model.safetensors").write_bytes(b"0" * 64)
    (model / "tokenizer_config.json").write_text('{"chat_template": "x"}')
    assert Inputs().policy(str(model)) not in (fp, Inputs().policy("tiny-qwen2"))
    with pytest.raises(UserError, match="policy nowhere: no such model folder"):
        Inputs().policy("nowhere")


def test_inputs_under_out_but_outside_its_folders_are_fine(tmp_path):
    from hn_lightning.commands.experiment import config_from_args

    config = _config(tmp_path)
    data = tmp_path / "exp" / "data"
    data.mkdir(parents=True)
    (tmp_path / "a.jsonl").rename(data / "a.jsonl")
    config["grid"]["arms"][0]["train_files"] = [str(data / "a.jsonl")]
    (tmp_path / "experiment.yaml").write_text(yaml.safe_dump(config))
    cfg, _ = config_from_args(["--config", str(tmp_path / "experiment.yaml")])
    preflight(cfg, Layout(cfg.out), Inputs())  # passes: nothing under <out>/data is written
    # a folder holding <out> would read the experiment's own outputs next time
    cfg.grid.arms[0].train_files = [str(tmp_path / "exp")]
    with pytest.raises(UserError, match="is a folder that holds the output"):
        preflight(cfg, Layout(cfg.out), Inputs())
    cfg.grid.arms[0].train_files = [str(tmp_path / "exp" / "**" / "*.jsonl")]
    with pytest.raises(UserError, match="is a folder that holds the output"):
        preflight(cfg, Layout(cfg.out), Inputs())


def test_discard_removes_a_folder_in_one_step(tmp_path):
    cell = tmp_path / "cells" / "c"
    (cell / "eval").mkdir(parents=True)
    (cell / "eval" / "x").write_text("1")
    (tmp_path / "cells" / ".c.discarded").mkdir()  # left by an interrupted delete
    discard(cell)
    assert not cell.exists() and list((tmp_path / "cells").iterdir()) == []
    discard(cell)  # nothing there: nothing to do


def _mined(tmp_path: Path, **kw):
    from hn_lightning.experiments.config import ArmSpec, ExperimentConfig, GridSpec
    from hn_lightning.mining.config import MineConfig, ProblemsConfig

    write_jsonl(tmp_path / "problems.jsonl", [{"question": "What is 1 + 1?", "answer": "2"}])
    mine = MineConfig(problems=ProblemsConfig(gsm8k=str(tmp_path / "problems.jsonl"), math=None))
    return ExperimentConfig(grid=GridSpec(arms=[ArmSpec("hardneg", mined="hardneg")]), out=str(tmp_path / "exp"),
                            policy="tiny-qwen2", mine=mine, kl=None, **kw)


def test_a_cell_of_a_mined_arm_records_the_mined_pairs_by_content(tmp_path):
    from hn_lightning.experiments.cells import cell_inputs, cell_run_config
    from hn_lightning.experiments.config import cells

    cfg = _mined(tmp_path)
    shard = Path(cfg.out) / "mining" / "pairs" / "hardneg" / "pairs-00000.jsonl"
    shard.parent.mkdir(parents=True)
    write_jsonl(shard, _read(pairs_file(tmp_path, 2)))
    cell = cells(cfg.grid)[0]
    run = cell_run_config(cfg, cell, Path(cfg.out) / "cells" / cell.id)
    before = cell_inputs(cfg, cell, Path(cfg.out), run, "fp", Inputs())
    assert before["train"][f"training pairs {shard}"] and "eval" in before
    write_jsonl(shard, _read(pairs_file(tmp_path, 1)))  # re-mined: other pairs, same path and settings
    after = cell_inputs(cfg, cell, Path(cfg.out), run, "fp", Inputs())
    assert after["train"][f"training pairs {shard}"] != before["train"][f"training pairs {shard}"]


def test_mining_from_a_changed_problem_file_is_refused_or_redone(tmp_path):
    from hn_lightning.experiments.mining import mine_once

    cfg = _mined(tmp_path)
    layout = Layout(cfg.out)
    layout.mining.mkdir(parents=True)
    layout.mining_manifest.write_text("{}")  # mining started by a version that recorded no inputs
    with pytest.raises(UserError, match="mining: .*recorded none of its inputs"):
        mine_once(cfg, Path(cfg.out))
    key = f"problems file {tmp_path / 'problems.jsonl'}"
    layout.mining_inputs.write_text(json.dumps({"inputs": {"pairs": {"policy": "name:tiny-qwen2", key: "0" * 16}}}))
    with pytest.raises(UserError, match=f"mining: {key} changed .* since it was made"):
        mine_once(cfg, Path(cfg.out))
    assert layout.mining_manifest.is_file()  # refused: nothing deleted


def test_sft_on_changed_data_is_refused(tmp_path):
    from hn_lightning.config_tools import write_config
    from hn_lightning.experiments.config import SFTSpec
    from hn_lightning.experiments.policy import run_sft, sft_run_config
    from hn_lightning.experiments.stages import settings_hash

    write_jsonl(tmp_path / "sft.jsonl", [{"question": "1 + 1?", "answer": "2"}])
    sft = yaml.safe_load((REPO / "configs" / "sft_demo.yaml").read_text())
    sft["data"]["init_args"]["train_files"] = [str(tmp_path / "sft.jsonl")]
    write_config(sft, tmp_path / "sft.yaml")
    cfg = _mined(tmp_path, sft=SFTSpec(config=str(tmp_path / "sft.yaml"), max_steps=1))
    layout = Layout(cfg.out)
    settings = settings_hash(sft_run_config(cfg, layout.root), None, None)
    layout.sft.path.mkdir(parents=True)
    key = f"SFT data file {tmp_path / 'sft.jsonl'}"
    layout.sft_marker.write_text(json.dumps({"settings": settings, "inputs": {
        "train": {"settings": settings, "policy": "name:tiny-qwen2", key: "0" * 16}}}))
    with pytest.raises(UserError, match=f"SFT: {key} changed .* since it was made; restore it, or set on_change: rerun"):
        run_sft(cfg, layout.root)
    assert layout.sft_marker.is_file()

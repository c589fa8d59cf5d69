"""The testbed's data names wherever data is taken: generated into the cache once, checked against their
manifest, keyed by the generator's fingerprint, refused as training data for test and ood, and read by SFT
(annotations kept, the eval prompt's instruction), mining (the annotated reference) and eval."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from hn_lightning.catalog import TestDataRefused, refuse_test_files, resolve_spec, why_test_data
from hn_lightning.testbed import splits


@pytest.fixture
def small_testbed(tmp_path, monkeypatch):
    """A fresh cache, and splits of 30 problems (the names and files as shipped, sizes cut for speed)."""
    monkeypatch.setenv("HN_LIGHTNING_CACHE", str(tmp_path / "cache"))
    for name, spec in splits.SPLITS.items():
        monkeypatch.setitem(splits.SPLITS, name, dataclasses.replace(spec, size=30))
    monkeypatch.setattr(splits, "_ready", {})
    return tmp_path / "cache" / "datasets" / "testbed" / splits.fingerprint()


def test_names_generate_once_into_the_fingerprinted_cache(small_testbed):
    paths = {n: resolve_spec(n) for n in splits.DATA_NAMES}
    assert {n: p.name for n, p in paths.items()} == {"testbed:train": "train.jsonl", "testbed:test": "test.jsonl",
                                                    "testbed:ood": "ood_test.jsonl"}
    assert all(p.parent == small_testbed for p in paths.values())
    lines = paths["testbed:test"].read_text().splitlines()
    assert len(lines) == 30 and json.loads(lines[0])["id"] == "testbed-test-00000"
    manifest = json.loads((small_testbed / "test.jsonl.manifest.json").read_text())
    assert manifest["records"] == 30 and manifest["fingerprint"] == small_testbed.name
    stamp = paths["testbed:test"].stat().st_mtime_ns
    splits._ready.clear()
    assert resolve_spec("testbed:test") == paths["testbed:test"] and paths["testbed:test"].stat().st_mtime_ns == stamp


def test_a_damaged_cached_file_is_regenerated(small_testbed):
    path = resolve_spec("testbed:test")
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    splits._ready.clear()
    assert resolve_spec("testbed:test").read_bytes() == good


def test_the_fingerprint_follows_the_generator_source(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(splits.Path(splits.__file__).parent, copy)
    assert splits.fingerprint(copy) == splits.fingerprint()
    templates = copy / "templates.py"
    templates.write_text(templates.read_text().replace("times as many", "times as much", 1))
    assert splits.fingerprint(copy) != splits.fingerprint()


def test_test_and_ood_are_refused_as_training_data(small_testbed):
    for name in ("testbed:test", "testbed:ood"):
        path = resolve_spec(name)
        assert why_test_data(path) and why_test_data(str(path))
        with pytest.raises(TestDataRefused):
            refuse_test_files([path], allow=False)
    refuse_test_files([resolve_spec("testbed:train")], allow=False)


def test_sft_keeps_annotations_and_takes_the_eval_instruction(small_testbed, tiny_model_dir):
    from hn_lightning.data.chat import render_prompt
    from hn_lightning.data.sft_datamodule import SFTDataModule
    from hn_lightning.evaluation.prompts import BOXED_INSTRUCTION, build_prompt
    from hn_lightning.io.jsonl import SkipPolicy

    dm = SFTDataModule(train_files=["testbed:train"], tokenizer=str(tiny_model_dir), instruction=BOXED_INSTRUCTION)
    dm.tokenizer = dm._resolve_tokenizer()
    conversations = dm._read(["testbed:train"], SkipPolicy())
    first = json.loads(resolve_spec("testbed:train").read_text().splitlines()[0])
    system, user, assistant = conversations[0]
    assert user["content"] == f"{first['question']}\n{BOXED_INSTRUCTION}"
    assert assistant["content"] == first["solution"] and "<<" in assistant["content"]
    assert render_prompt(dm.tokenizer, [system, user]) == build_prompt("sft-system", first["question"])
    with pytest.raises(TestDataRefused):
        SFTDataModule(train_files=["testbed:test"], tokenizer=str(tiny_model_dir)).setup("fit")


def test_mining_and_eval_read_the_names(small_testbed):
    from hn_lightning.evaluation.tasks import load_task
    from hn_lightning.mining.config import ProblemsConfig, ProblemSource
    from hn_lightning.mining.problems import load_problems

    source = ProblemSource(path="testbed:train", gold_field="answer", reference_field="solution")
    problems = load_problems(ProblemsConfig(gsm8k=None, math=None, custom=[source], shuffle=False))
    assert len(problems) == 30 and problems[0].id == "testbed-train-0"
    assert "<<" in problems[0].reference and problems[0].reference.endswith("$.")
    with pytest.raises(TestDataRefused):
        load_problems(ProblemsConfig(gsm8k=None, math=None, custom=[dataclasses.replace(source, path="testbed:test")]))
    items = load_task("testbed:ood", limit=3)
    assert [i.id for i in items] == ["testbed-ood-00000", "testbed-ood-00001", "testbed-ood-00002"]
    assert all(i.level in (7, 8) and "####" in i.gold for i in items)


def test_the_testbed_configs_parse():
    from hn_lightning.commands.mine import config_from_args
    from tests.cli_utils import REPO

    _, cfg, _ = config_from_args(["--config", str(REPO / "configs" / "mine_testbed.yaml")])
    assert cfg.candidates.sampling.calculator and cfg.candidates.sampling.backend == "hf"
    assert [(s.path, s.reference_field) for s in cfg.problems.custom] == [("testbed:train", "solution")]
    assert cfg.problems.gsm8k is None and cfg.problems.math is None and not cfg.problems.allow_test_data
    sft = (REPO / "configs" / "sft_testbed.yaml").read_text()
    assert "train_files: [testbed:train]" in sft and f'instruction: "{cfg.prompt.instruction}"'.replace("\\", "\\\\") in sft

"""Data by name: the shipped datasets and their manifest, MATH-500, the test-set rule, unresolvable names."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest

from hn_lightning.catalog import (
    TestDataRefused,
    expand_paths,
    refuse_test_files,
    resolve_data_file,
    shipped,
    why_test_data,
)
from hn_lightning.catalog.resolve import DataNotFound, resolve_spec
from hn_lightning.catalog.shipped import (
    ASSETS_DIR,
    ShippedDataError,
    dataset_names,
    load_manifest,
    materialize,
)
from hn_lightning.data.sft_datamodule import SFTDataModule
from hn_lightning.io.jsonl import read_jsonl
from hn_lightning.mining.config import ProblemsConfig
from hn_lightning.mining.problems import load_problems
from tests.conftest import require_shared_data, write_jsonl

NAMES = {"gsm8k:train": 7473, "gsm8k:test": 1319, "math:train": 7500, "math:test": 5000, "math500": 500}


def test_every_name_resolves_to_a_verified_file_with_the_manifest_count():
    assert dataset_names() == list(NAMES)
    manifest = load_manifest()["datasets"]
    for name, n in NAMES.items():
        path = resolve_data_file(name)
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == manifest[name]["sha256"]
        assert len(read_jsonl(path)) == n == manifest[name]["records"]
    assert read_jsonl(resolve_data_file("gsm8k:train"))[0]["question"].startswith("Natalia sold clips")
    assert {"problem", "solution", "answer", "subject", "level", "unique_id", "in_math500"} <= set(read_jsonl(resolve_data_file("math:test"))[0])


def test_only_gsm8k_and_math_ship():
    files = sorted(str(p.relative_to(ASSETS_DIR)) for p in ASSETS_DIR.rglob("*") if p.is_file())
    assert files == ["README.md", "gsm8k/test.jsonl.xz", "gsm8k/train.jsonl.xz", "manifest.json",
                     "math/test.jsonl.xz", "math/train.jsonl.xz"]


def test_math500_is_the_marked_subset_in_prm800k_order():
    math_test = read_jsonl(resolve_data_file("math:test"))
    m500 = read_jsonl(resolve_data_file("math500"))
    marked = {r["unique_id"]: r for r in math_test if r["in_math500"]}
    assert len(m500) == 500 and {r["unique_id"] for r in m500} == set(marked)
    for r in m500:
        assert r == {k: v for k, v in marked[r["unique_id"]].items() if k != "in_math500"}
    assert m500[0]["unique_id"] == "test/precalculus/807.json"  # PRM800K order, not the sorted-path order
    # byte for byte PRM800K's math_splits/test.jsonl: its Git LFS oid
    digest = hashlib.sha256(resolve_data_file("math500").read_bytes()).hexdigest()
    assert digest == "35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132"


def test_shipped_files_equal_the_shared_sources_when_present():
    shared = require_shared_data("gsm8k/train.jsonl", "math/math500_test.jsonl")
    for name, rel in [("gsm8k:train", "gsm8k/train.jsonl"), ("gsm8k:test", "gsm8k/test.jsonl"),
                      ("math:train", "math/train.jsonl"), ("math:test", "math/test.jsonl"), ("math500", "math/math500_test.jsonl")]:
        assert resolve_data_file(name).read_bytes() == (shared / rel).read_bytes(), name


@pytest.fixture
def assets_copy(tmp_path):
    copy = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, copy)
    return copy


def test_a_truncated_package_file_is_a_clear_error_naming_it(assets_copy, tmp_path):
    xz = assets_copy / "gsm8k" / "test.jsonl.xz"
    xz.write_bytes(xz.read_bytes()[:-1000])
    with pytest.raises(ShippedDataError, match=r"gsm8k/test\.jsonl\.xz is corrupt or truncated"):
        materialize("gsm8k:test", assets_copy, tmp_path / "cache")
    # the derived MATH-500 names its source too
    xz = assets_copy / "math" / "test.jsonl.xz"
    xz.write_bytes(xz.read_bytes()[:5000] + b"x" + xz.read_bytes()[5001:])
    with pytest.raises(ShippedDataError, match=r"math/test\.jsonl\.xz is corrupt"):
        materialize("math500", assets_copy, tmp_path / "cache")


def test_a_manifest_mismatch_after_decompression_names_the_file_and_counts(assets_copy, tmp_path):
    manifest = json.loads((assets_copy / "manifest.json").read_text())
    manifest["datasets"]["gsm8k:test"]["records"] = 1320
    (assets_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ShippedDataError, match=r"gsm8k/test\.jsonl\.xz is corrupt or truncated: 1319 records.*expected 1320"):
        materialize("gsm8k:test", assets_copy, tmp_path / "cache")


def test_verification_runs_once_per_process_and_a_bad_cached_copy_is_rebuilt(assets_copy, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    calls = []
    check = shipped._check
    monkeypatch.setattr(shipped, "_check", lambda data, entry, what: (calls.append(what), check(data, entry, what)))
    path = materialize("gsm8k:test", assets_copy, cache)
    assert len(calls) == 1 and materialize("gsm8k:test", assets_copy, cache) == path and len(calls) == 1
    good = path.read_bytes()
    path.write_bytes(good[:-10])                       # a cached copy that went bad (a new process)
    shipped._verified.clear()
    assert materialize("gsm8k:test", assets_copy, cache).read_bytes() == good
    assert calls[1].startswith("cached copy") and calls[2].startswith("shipped dataset file")


def test_test_splits_are_refused_by_name_link_and_folder(tmp_path, tokenizer):
    for name in ("gsm8k:test", "math:test", "math500"):
        with pytest.raises(TestDataRefused, match=name):
            refuse_test_files([resolve_data_file(name)], allow=False)
    refuse_test_files([resolve_data_file("gsm8k:train"), resolve_data_file("math:train")], allow=False)
    # a symlink with an innocent name that points at a test file
    link = tmp_path / "mine" / "train.jsonl"
    link.parent.mkdir()
    os.symlink(resolve_data_file("gsm8k:test"), link)
    assert "link to" in why_test_data(link)
    # a folder named test/, given as a folder or as a file inside it
    inside = write_jsonl(tmp_path / "data" / "test" / "gsm.jsonl", read_jsonl(resolve_data_file("gsm8k:train"))[:4])
    assert why_test_data(inside) == "it lies in a folder named 'test'"
    assert why_test_data(tmp_path / "data" / "train" / "x.jsonl") is None
    # a workspace further up named test (a checkout under ~/test/) says nothing about the data
    assert why_test_data(tmp_path / "test" / "checkout" / "data" / "train.jsonl") is None
    for spec in (str(link), str(tmp_path / "data"), str(inside), "math500"):
        dm = SFTDataModule(train_files=[spec], max_length=512)
        dm.tokenizer = tokenizer
        with pytest.raises(TestDataRefused):
            dm.setup("fit")
    forced = SFTDataModule(train_files=[str(tmp_path / "data")], max_length=512, allow_test_data=True)
    forced.tokenizer = tokenizer
    forced.setup("fit")
    assert forced.stats.records == 4
    with pytest.raises(TestDataRefused, match="math:test"):
        load_problems(ProblemsConfig(gsm8k=None, math="math:test"))
    with pytest.raises(TestDataRefused, match="link to"):
        load_problems(ProblemsConfig(gsm8k=str(link), math=None))


def test_an_unresolvable_name_lists_what_was_tried_and_the_names(tmp_path):
    with pytest.raises(DataNotFound) as err:
        expand_paths(["gsm8k:tain"])
    msg = str(err.value)
    assert "Tried a shipped dataset name" in msg and "gsm8k:tain does not exist" in msg
    assert "Did you mean 'gsm8k:train'?" in msg and "gsm8k:train, gsm8k:test, math:train, math:test, math500" in msg
    assert "hf:<org>/<name>[:<config>]:<split>" in msg
    with pytest.raises(DataNotFound, match="shared data folder"):
        resolve_data_file("shared:nowhere/x.jsonl")
    with pytest.raises(DataNotFound, match="cannot find problem data 'nope.jsonl'"):
        load_problems(ProblemsConfig(gsm8k="nope.jsonl", math=None))
    assert resolve_spec(str(tmp_path / "plain.jsonl")) == tmp_path / "plain.jsonl"  # plain paths pass through


def test_synthetic_demo_pairs_come_from_the_shipped_gsm8k_train(tmp_path):
    from hn_lightning.data.synthetic_pairs import make_synthetic_pairs

    pairs = read_jsonl(make_synthetic_pairs(tmp_path / "pairs.jsonl", n=5, seed=3))
    questions = {r["question"] for r in read_jsonl(resolve_data_file("gsm8k:train"))}
    assert len(pairs) == 5 and all(p["prompt"] in questions and p["chosen"] != p["rejected"] for p in pairs)
    assert all(p["meta"]["source"].startswith("gsm8k:train:") for p in pairs)


def test_eval_takes_any_data_name_as_a_task():
    from hn_lightning.evaluation.tasks import load_task, task_name

    items = load_task("gsm8k:train", limit=2)
    assert items[0].question.startswith("Natalia sold clips") and items[0].gold.endswith("#### 72")
    assert task_name("gsm8k:train") == "gsm8k-train" and task_name("hf:acme/x:main:test") == "x-main-test"
    with pytest.raises(DataNotFound, match=r"cannot find task \(named tasks: gsm8k, math, math500\) or data 'gsm8k:tset'.*Did you mean 'gsm8k:test'"):
        load_task("gsm8k:tset")

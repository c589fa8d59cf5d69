"""Hugging Face ``datasets`` as data: local ``save_to_disk`` folders and ``hf:`` ids (offline), field mapping."""

from __future__ import annotations

import pytest

datasets = pytest.importorskip("datasets", reason="the optional 'hf' extra (pip install 'hn_lightning[hf]')")

from hn_lightning.catalog import (  # noqa: E402
    TestDataRefused,
    hub,  # noqa: E402
    resolve_data_file,
)
from hn_lightning.catalog.hub import HubSpec, parse_hf_spec  # noqa: E402
from hn_lightning.data.sft_datamodule import SFTDataModule  # noqa: E402
from hn_lightning.io.jsonl import JsonlError, read_jsonl  # noqa: E402
from hn_lightning.mining.config import ProblemsConfig, ProblemSource  # noqa: E402
from hn_lightning.mining.problems import load_problems, source_name  # noqa: E402


def _rows(n: int, offset: int = 0) -> dict[str, list]:
    return {
        "prompt": [f"What is {i} + {i}?" for i in range(offset, offset + n)],
        "response": [f"{i} + {i} = {2 * i}. The answer is $\\boxed{{{2 * i}}}$." for i in range(offset, offset + n)],
        "final": [str(2 * i) for i in range(offset, offset + n)],
    }


def test_parse_hf_spec():
    assert parse_hf_spec("hf:openai/gsm8k:main:train") == HubSpec("openai/gsm8k", "main", "train")
    assert parse_hf_spec("hf:HuggingFaceH4/MATH-500:test") == HubSpec("HuggingFaceH4/MATH-500", None, "test")
    for bad in ("hf:openai/gsm8k", "hf:a:b:c:d", "hf::train"):
        with pytest.raises(ValueError, match=r"hf:<org>/<name>\[:<config>\]:<split>"):
            parse_hf_spec(bad)


def test_sft_reads_a_saved_dataset_folder_with_a_field_mapping(tmp_path, tokenizer):
    folder = tmp_path / "my_sft"
    datasets.Dataset.from_dict(_rows(6)).save_to_disk(str(folder))
    dm = SFTDataModule(train_files=[str(folder)], max_length=256, fields={"question": "prompt", "solution": "response"})
    dm.tokenizer = tokenizer
    dm.setup("fit")
    assert dm.stats.records == 6
    exported = resolve_data_file(str(folder))
    assert read_jsonl(exported)[2] == {k: v[2] for k, v in _rows(6).items()}
    # without the mapping the shape is unknown: file:line error on the exported file
    plain = SFTDataModule(train_files=[str(folder)], max_length=256)
    plain.tokenizer = tokenizer
    with pytest.raises(JsonlError, match="unrecognised SFT record"):
        plain.setup("fit")
    wrong = SFTDataModule(train_files=[str(folder)], max_length=256, fields={"question": "query", "solution": "response"})
    wrong.tokenizer = tokenizer
    with pytest.raises(JsonlError, match=r"missing field\(s\) \['query'\]"):
        wrong.setup("fit")


def test_mining_reads_a_dataset_dict_split_and_refuses_its_test_split(tmp_path):
    folder = tmp_path / "my_problems"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(_rows(5)),
                          "test": datasets.Dataset.from_dict(_rows(2, 100))}).save_to_disk(str(folder))
    source = ProblemSource(f"{folder}:train", name="mine", question_field="prompt", gold_field="final", reference_field="response")
    problems = load_problems(ProblemsConfig(gsm8k=None, math=None, custom=[source], shuffle=False))
    assert [p.id for p in problems] == [f"mine-{i}" for i in range(5)]
    assert problems[3].question == "What is 3 + 3?" and problems[3].gold == "6" and "boxed{6}" in problems[3].reference
    assert source_name(f"{folder}:train") == "my-problems-train"  # the default id prefix
    test_source = ProblemSource(f"{folder}:test", name="t", question_field="prompt", gold_field="final")
    with pytest.raises(TestDataRefused, match="test"):
        load_problems(ProblemsConfig(gsm8k=None, math=None, custom=[test_source]))
    assert len(load_problems(ProblemsConfig(gsm8k=None, math=None, custom=[test_source], allow_test_data=True))) == 2
    with pytest.raises(FileNotFoundError, match=r"splits \['test', 'train'\]; name one as"):
        resolve_data_file(str(folder))


def test_hf_ids_load_through_the_datasets_library_and_keep_their_split(tmp_path, monkeypatch):
    calls = []

    def fake_load(repo, config, split):
        calls.append((repo, config, split))
        return datasets.Dataset.from_dict(_rows(3))

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    monkeypatch.setenv("HN_LIGHTNING_CACHE", str(tmp_path / "cache"))
    path = resolve_data_file("hf:acme/mathqa:main:test")
    assert calls == [("acme/mathqa", "main", "test")] and path.name == "test.jsonl"
    assert len(read_jsonl(path)) == 3
    assert source_name("hf:acme/mathqa:main:test") == "acme-mathqa-main-test"
    with pytest.raises(TestDataRefused, match="hf:acme/mathqa:main:test"):
        load_problems(ProblemsConfig(gsm8k=None, math=None, custom=[ProblemSource("hf:acme/mathqa:main:test", question_field="prompt", gold_field="final")]))


def test_an_uncached_hub_dataset_offline_says_so(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True, raising=False)
    with pytest.raises(FileNotFoundError, match=r"Hub dataset acme/not-cached .*HF_HUB_OFFLINE=1"):
        hub.materialize_hub(parse_hf_spec("hf:acme/not-cached:train"))

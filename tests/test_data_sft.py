"""SFT data: record shapes, chat rendering, packing, malformed input, test-file refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hn_lightning import SYSTEM_PROMPT
from hn_lightning.catalog import TestDataRefused, looks_like_test_file
from hn_lightning.data.chat import render_conversation, render_prompt
from hn_lightning.data.packing import collate_rows, pack_examples
from hn_lightning.data.records import gsm8k_solution, to_messages
from hn_lightning.data.sft_datamodule import SFTDataModule
from hn_lightning.io.jsonl import JsonlError
from tests.conftest import write_jsonl


def test_gsm8k_answer_becomes_boxed_cot():
    answer = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nShe sold 48+24 = <<48+24=72>>72 clips.\n#### 1,072"
    out = gsm8k_solution(answer)
    assert "<<" not in out and "####" not in out
    assert out.endswith("The final answer is $\\boxed{1072}$.")
    assert gsm8k_solution(answer, "raw") == answer


@pytest.mark.parametrize(
    "record, user",
    [
        ({"question": "Q?", "solution": "S"}, "Q?"),
        ({"problem": "P?", "solution": "S"}, "P?"),
        ({"question": "Q?", "answer": "x = 1\n#### 1"}, "Q?"),
        ({"messages": [{"role": "user", "content": "M?"}, {"role": "assistant", "content": "S"}]}, "M?"),
    ],
)
def test_record_shapes_get_the_paper_system_prompt(record, user):
    messages = to_messages(record, "f.jsonl", 3, SYSTEM_PROMPT)
    assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert messages[1] == {"role": "user", "content": user}
    assert messages[-1]["role"] == "assistant"


def test_unknown_record_shape_names_file_and_line():
    with pytest.raises(JsonlError, match=r"f\.jsonl:7: unrecognised SFT record with keys \['foo'\]"):
        to_messages({"foo": 1}, "f.jsonl", 7, SYSTEM_PROMPT)


def test_render_keeps_exact_prompt_boundary(tokenizer):
    messages = to_messages({"question": "What is 2+3?", "solution": "2+3=5. $\\boxed{5}$"}, "f", 1, SYSTEM_PROMPT)
    rendered = render_conversation(tokenizer, messages)
    prompt_text = render_prompt(tokenizer, messages[:-1])
    assert SYSTEM_PROMPT in prompt_text and prompt_text.endswith("<|im_start|>assistant\n")
    assert tokenizer.decode(rendered.input_ids[: rendered.prompt_len]) == prompt_text
    assert tokenizer.decode(rendered.input_ids[rendered.prompt_len :]) == "2+3=5. $\\boxed{5}$<|im_end|>\n"


def test_pack_examples_is_a_partition_within_capacity():
    lengths = [5, 9, 3, 7, 2, 10, 1, 6]
    rows = pack_examples(lengths, max_length=10)
    assert sorted(i for r in rows for i in r) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in r) <= 10 for r in rows)
    assert len(rows) == 5  # sum 43 -> at least 5 rows of 10
    assert rows == pack_examples(lengths, max_length=10)  # deterministic
    with pytest.raises(ValueError):
        pack_examples([11], 10)


def test_collate_resets_positions_and_masks_boundaries():
    from hn_lightning.data.chat import Rendered

    a, b = Rendered([1, 2, 3, 4], prompt_len=2), Rendered([5, 6, 7], prompt_len=1)
    batch = collate_rows([[a, b]], pad_id=0, completion_only=False, pad_to_multiple_of=8)
    assert batch["input_ids"].tolist() == [[1, 2, 3, 4, 5, 6, 7, 0]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 3, 0, 1, 2, 0]]
    # all tokens but each example's first (no prediction across the boundary) and the padding
    assert batch["loss_mask"].tolist() == [[False, True, True, True, False, True, True, False]]
    assert int(batch["num_tokens"]) == 7 and int(batch["sum_sq_len"]) == 16 + 9
    only = collate_rows([[a, b]], pad_id=0, completion_only=True, pad_to_multiple_of=8)
    assert only["loss_mask"].tolist() == [[False, False, True, True, False, True, True, False]]


def test_malformed_line_fails_with_file_and_line(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"question": "Q", "solution": "S"}, "{not json", {"question": "Q2", "solution": "S2"}])
    dm = SFTDataModule(train_files=[str(path)], max_length=64)
    dm.tokenizer = tokenizer
    with pytest.raises(JsonlError, match=r"bad\.jsonl:2: invalid JSON"):
        dm.setup("fit")


def test_skip_policy_counts_malformed_lines(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"question": "Q", "solution": "S"}, "{not json", {"oops": 1}, {"question": "Q2", "solution": "S2"}])
    dm = SFTDataModule(train_files=[str(path)], max_length=64, on_error="skip")
    dm.tokenizer = tokenizer
    dm.setup("fit")
    assert dm.stats.records == 2 and dm.stats.skipped_malformed == 2


def test_test_files_are_refused_unless_forced(tokenizer):
    assert looks_like_test_file(Path("data/gsm8k/test.jsonl"))
    assert looks_like_test_file(Path("data/stepdpo/MATH_test_data.jsonl"))
    assert looks_like_test_file(Path("data/math/math500_test.jsonl"))
    assert not looks_like_test_file(Path("data/math/train.jsonl"))
    dm = SFTDataModule(train_files=["gsm8k:test"], max_length=64)
    dm.tokenizer = tokenizer
    with pytest.raises(TestDataRefused, match="gsm8k:test"):
        dm.setup("fit")
    forced = SFTDataModule(train_files=["gsm8k:test"], max_length=512, allow_test_data=True, max_examples=4)
    forced.tokenizer = tokenizer
    forced.setup("fit")
    assert forced.stats.records == 4


def test_default_data_is_gsm8k_and_math_train(tokenizer):
    dm = SFTDataModule(max_length=1024, max_examples=50, seed=1)
    dm.tokenizer = tokenizer
    dm.setup("fit")
    assert dm.stats.records == 50
    batch = next(iter(dm.train_dataloader()))
    assert batch["input_ids"].shape[0] == 1 and batch["input_ids"].shape[1] <= 1024
    assert int(batch["num_targets"]) > 0
    assert batch["loss_mask"].dtype == torch.bool

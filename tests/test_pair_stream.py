"""The streaming preference DataModule: validation errors, skips, truncation, workers, resume state."""

from __future__ import annotations

import json

import pytest
import torch

from hn_lightning.catalog import TestDataRefused
from hn_lightning.data import PreferenceDataModule
from hn_lightning.data.pairs import OverlongPrompt, tokenize_pair, validate_pair
from hn_lightning.io.jsonl import JsonlError
from tests.conftest import write_jsonl


def pair(i, **kw):
    rec = {"id": f"p{i}", "prompt": f"What is {i} + {i}?", "chosen": f"{i} + {i} = {2 * i}. $\\boxed{{{2 * i}}}$",
           "rejected": f"{i} + {i} = {2 * i + 1}. $\\boxed{{{2 * i + 1}}}$", "w_raw": 1.0 + i % 3}
    rec.update(kw)
    return rec


def dm_for(path, tokenizer, **kw):
    dm = PreferenceDataModule(train_files=[str(path)], max_length=128, **kw)
    dm.tokenizer = tokenizer
    dm.setup("fit")
    return dm


def test_validate_pair_messages():
    assert validate_pair(pair(1)) is None
    assert "missing required field 'chosen'" in validate_pair({k: v for k, v in pair(1).items() if k != "chosen"})
    assert "finite number >= 0" in validate_pair(pair(1, w_raw=-2))
    assert "finite number >= 0" in validate_pair(pair(1, w_raw=float("inf")))
    assert "needed by the configured weighting" in validate_pair({k: v for k, v in pair(1).items() if k != "w_raw"}, need_w_raw=True)
    assert "identical" in validate_pair(pair(1, rejected=pair(1)["chosen"]))


def test_bad_line_is_an_error_with_file_and_line(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / "pairs.jsonl", [pair(0), pair(1), pair(2, w_raw=-1.0), pair(3)])
    dm = dm_for(path, tokenizer)
    with pytest.raises(JsonlError, match=r"pairs\.jsonl:3: 'w_raw' must be a finite number >= 0, got -1.0"):
        list(dm.train_dataloader())
    path2 = write_jsonl(tmp_path / "broken.jsonl", [pair(0), '{"id": "x", "prompt": ', pair(1)])
    with pytest.raises(JsonlError, match=r"broken\.jsonl:2: invalid JSON"):
        list(dm_for(path2, tokenizer).train_dataloader())


def test_skip_policy_counts_bad_lines(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / "pairs.jsonl", [pair(0), "nope", pair(1, w_raw="x"), pair(2), pair(3), pair(4)])
    dm = dm_for(path, tokenizer, on_error="skip", shuffle=False, micro_batch_size=2)
    batches = list(dm.train_dataloader())
    ids = [i for b in batches for i in b["ids"]]
    assert ids == ["p0", "p2", "p3", "p4"]
    assert dm.train_stream.report.malformed == 2 and dm.train_stream.report.records == 4


def test_incomplete_last_step_is_dropped_and_counted(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / "pairs.jsonl", [pair(i) for i in range(5)])
    dm = dm_for(path, tokenizer, shuffle=False, micro_batch_size=2)
    ids = [i for b in dm.train_dataloader() for i in b["ids"]]
    assert ids == ["p0", "p1", "p2", "p3"] and dm.train_stream.report.dropped_incomplete == 1


def test_truncation_keeps_prompt_and_cuts_completions(tokenizer):
    long = pair(1, chosen="step. " * 200, rejected="other. " * 200)
    tp = tokenize_pair(long, tokenizer, max_length=96, system_prompt="sys")
    assert tp.truncated and len(tp.prompt_ids) + len(tp.chosen_ids) == 96 == len(tp.prompt_ids) + len(tp.rejected_ids)
    assert tokenizer.decode(tp.prompt_ids).endswith("<|im_start|>assistant\n")
    with pytest.raises(OverlongPrompt, match="pair p1: prompt has"):
        tokenize_pair(pair(1, prompt="word " * 200), tokenizer, max_length=96, system_prompt=None)


def test_overlong_prompts_are_reported_not_silently_dropped(tmp_path, tokenizer, caplog):
    path = write_jsonl(tmp_path / "pairs.jsonl", [pair(0), pair(1, prompt="word " * 300), pair(2)])
    dm = dm_for(path, tokenizer, shuffle=False, micro_batch_size=2)
    with caplog.at_level("WARNING"):
        ids = [i for b in dm.train_dataloader() for i in b["ids"]]
    assert ids == ["p0", "p2"] and dm.train_stream.report.overlong == 1
    assert "pair p1: prompt has" in caplog.text
    dm_raise = dm_for(path, tokenizer, shuffle=False, micro_batch_size=2, overlong="raise")
    with pytest.raises(OverlongPrompt):
        list(dm_raise.train_dataloader())


def test_batches_hold_chosen_then_rejected_with_completion_masks(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / "pairs.jsonl", [pair(i) for i in range(4)])
    batch = next(iter(dm_for(path, tokenizer, shuffle=False, micro_batch_size=2).train_dataloader()))
    assert batch["input_ids"].shape[0] == 4 and len(batch["weights"]) == 2
    for row, side in ((0, "chosen"), (2, "rejected")):
        text = tokenizer.decode(batch["input_ids"][row][batch["loss_mask"][row]])
        assert text == pair(0)[side] + "<|im_end|>\n"
    assert int(batch["chosen_tokens"][0]) == int(batch["loss_mask"][0].sum())


def test_half_precision_input_casting_leaves_weights_and_lengths_exact(tmp_path, tokenizer):
    """Lightning's bf16-true/16-true cast every floating tensor of a batch; weights and lengths must survive."""
    from lightning.pytorch.plugins.precision import HalfPrecision

    long_answer = " ".join(f"step {i} gives {i * 7}." for i in range(80))    # > 256 tokens
    recs = [pair(0, w_raw=1.2345, chosen=long_answer), pair(1, w_raw=3.1)]
    path = write_jsonl(tmp_path / "pairs.jsonl", recs)
    dm = PreferenceDataModule(train_files=[str(path)], max_length=1024, shuffle=False, micro_batch_size=2)
    dm.tokenizer = tokenizer
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert int(batch["chosen_tokens"][0]) > 256
    for precision in ("bf16-true", "16-true"):
        cast = HalfPrecision(precision).convert_input(batch)
        assert cast["weights"] == batch["weights"]                               # exact Python floats
        assert torch.equal(cast["chosen_tokens"], batch["chosen_tokens"])       # int64, untouched
        assert torch.equal(cast["rejected_tokens"], batch["rejected_tokens"])
        assert not any(torch.is_tensor(v) and v.is_floating_point() for v in cast.values())


def test_workers_produce_the_same_batches_in_the_same_order(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / "pairs.jsonl", [pair(i) for i in range(16)])
    base = [b["ids"] for b in dm_for(path, tokenizer, micro_batch_size=2, shuffle_buffer=5, seed=3).train_dataloader()]
    two = [b["ids"] for b in dm_for(path, tokenizer, micro_batch_size=2, shuffle_buffer=5, seed=3, num_workers=2).train_dataloader()]
    assert base == two and len(base) == 8
    assert [i for b in base for i in b] != [f"p{i}" for i in range(16)]  # shuffled
    other_seed = [b["ids"] for b in dm_for(path, tokenizer, micro_batch_size=2, shuffle_buffer=5, seed=4).train_dataloader()]
    assert other_seed != base


def test_test_files_are_refused(tmp_path, tokenizer):
    with pytest.raises(TestDataRefused, match="sampled_solutions"):
        dm_for(write_jsonl(tmp_path / "sampled_solutions" / "pool.jsonl", [pair(0)]), tokenizer)
    # the guard looks at file names, so a user's own pair shards pass
    ok = write_jsonl(tmp_path / "train_pairs.jsonl", [pair(0)])
    assert dm_for(ok, tokenizer)._paths == [ok]


def test_shipped_demo_pairs_are_valid(tokenizer):
    from hn_lightning.paths import REPO_ROOT

    records = [json.loads(line) for line in open(REPO_ROOT / "data" / "demo_pairs.jsonl")]
    assert len(records) == 96 and all(validate_pair(r, need_w_raw=True) is None for r in records)
    assert len({r["id"] for r in records}) == 96
    w = torch.tensor([r["w_raw"] for r in records])
    assert float(w.std()) > 0.1


def test_ranks_split_each_global_batch_and_share_its_weights(tmp_path, tokenizer):
    """With 2 ranks, each optimizer step's global batch (normalized once) is split between the ranks."""
    from hn_lightning.catalog import expand_paths
    from hn_lightning.data.pair_stream import PairStream, StreamConfig

    path = write_jsonl(tmp_path / "pairs.jsonl", [pair(i, w_raw=float(i + 1)) for i in range(8)])
    paths = expand_paths([str(path)])

    def run(world, rank):
        cfg = StreamConfig(micro_batch_size=1, accumulate=2, world_size=world, rank=rank, max_length=128, shuffle=False)
        return [(m["ids"], m["weights"]) for _, micro in PairStream(paths, tokenizer, cfg) for m in micro]

    single = run(1, 0)  # 2 pairs per step -> 4 steps; 1 rank
    r0, r1 = run(2, 0), run(2, 1)  # 4 pairs per step -> 2 steps, 2 pairs per rank
    assert [i for ids, _ in r0 for i in ids] == ["p0", "p1", "p4", "p5"]
    assert [i for ids, _ in r1 for i in ids] == ["p2", "p3", "p6", "p7"]
    # weights normalized over the 4-pair global batch: raw 1..4 -> mean 2.5
    w0 = torch.tensor([x for _, w in r0[:2] for x in w])
    w1 = torch.tensor([x for _, w in r1[:2] for x in w])
    unit = torch.tensor([1.0, 2.0, 3.0, 4.0]) / 2.5
    torch.testing.assert_close(torch.cat([w0, w1]), 1 + 0.3 * (unit - 1))
    assert len(single) == 8


def test_held_out_pairs_fewer_than_one_step_all_validate(tmp_path, tokenizer):
    """Validation counts every held-out pair once, in micro-batches, even when they make less than one
    optimizer step (3 pairs, 2 x 2 pairs per step); an empty held-out file validates nothing."""
    train = write_jsonl(tmp_path / "train.jsonl", [pair(i) for i in range(8)])
    val = write_jsonl(tmp_path / "val.jsonl", [pair(i, id=f"v{i}") for i in range(3)])
    dm = PreferenceDataModule(train_files=[str(train)], val_files=[str(val)], max_length=128, micro_batch_size=2,
                              shuffle=False)
    dm.tokenizer = tokenizer
    dm.setup("fit")
    dm.cfg.accumulate = 2  # what setup takes from the Trainer's accumulate_grad_batches
    batches = list(dm.val_dataloader())
    assert [len(b["ids"]) for b in batches] == [2, 1]
    assert [i for b in batches for i in b["ids"]] == ["v0", "v1", "v2"]
    empty = write_jsonl(tmp_path / "empty.jsonl", [])
    dm.val_files = [str(empty)]
    assert list(dm.val_dataloader()) == []

"""What each rank reads (no model, no process group): the pair stream's per-rank slices of every global
batch and the SFT sampler's per-rank blocks are exactly one process's micro-batches with accumulation."""

from __future__ import annotations

import torch

from hn_lightning.data.pair_stream import PairStream, StreamConfig
from hn_lightning.data.resumable import ResumableShuffleSampler
from tests.conftest import write_jsonl
from tests.test_pair_stream import pair


def _steps(path, tokenizer, **cfg):
    return list(PairStream([path], tokenizer, StreamConfig(max_length=128, shuffle_buffer=5, seed=3, **cfg)))


def test_ranks_split_each_global_batch_whose_weights_are_normalized_over_all_ranks(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / "pairs.jsonl", [pair(i, w_raw=0.1 + (5 * i % 7)) for i in range(26)])
    one = _steps(path, tokenizer, micro_batch_size=2, accumulate=4)  # 1 process: 8 pairs per step
    ranks = [_steps(path, tokenizer, micro_batch_size=2, accumulate=2, world_size=2, rank=r) for r in (0, 1)]
    assert len(one) == len(ranks[0]) == len(ranks[1]) == 3  # 26 pairs: 3 steps of 8, 2 dropped on every rank
    for (i, micro), (i0, micro0), (i1, micro1) in zip(one, *ranks):
        assert i == i0 == i1
        # rank 0 holds the step's first two micro-batches, rank 1 the last two: same pairs, same weights
        for a, b in zip(micro, micro0 + micro1):
            assert a["ids"] == b["ids"]
            assert a["weights"] == b["weights"]
            assert a["weight_stats"] == b["weight_stats"]  # global statistics on every rank
        w = torch.tensor([x for m in micro for x in m["weights"]], dtype=torch.float64)
        raw = torch.tensor([0.1 + (5 * int(p[1:]) % 7) for m in micro for p in m["ids"]], dtype=torch.float64)
        torch.testing.assert_close(w, (1 + 0.3 * (raw / raw.mean() - 1)).clamp(0.5, 2.0))  # normalized over all 8
    assert len(set(ids for _, m in ranks[0] for b in m for ids in b["ids"]) & set(ids for _, m in ranks[1] for b in m for ids in b["ids"])) == 0


def test_pair_stream_resume_skips_the_same_steps_on_every_rank(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / "pairs.jsonl", [pair(i) for i in range(16)])
    for rank in (0, 1):
        stream = PairStream([path], tokenizer, StreamConfig(max_length=128, micro_batch_size=1, accumulate=2, world_size=2, rank=rank))
        full = [m["ids"] for _, micro in stream for m in micro]
        stream.resume = (0, 2)  # the checkpoint's (epoch, optimizer steps done): the same number on every rank
        assert [m["ids"] for _, micro in stream for m in micro] == full[2 * 2:]


def test_sft_sampler_blocks_per_rank_equal_accumulated_micro_batches():
    n, block = 23, 2
    one = list(ResumableShuffleSampler(n, seed=5))
    ranks = [list(ResumableShuffleSampler(n, seed=5, rank=r, world=2, block=block)) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == len(ResumableShuffleSampler(n, 5, rank=0, world=2, block=block)) == 10
    for s in range(5):  # optimizer step s with accumulate 1: rank r's micro-batch = one process's micro-batch 2s + r
        assert ranks[0][s * block:(s + 1) * block] == one[(2 * s) * block:(2 * s + 1) * block]
        assert ranks[1][s * block:(s + 1) * block] == one[(2 * s + 1) * block:(2 * s + 2) * block]
    # resume after 3 micro-batches per rank (global position 3 x 2 x 2 = 12): the rest of each rank's share
    for r in (0, 1):
        sampler = ResumableShuffleSampler(n, seed=5, rank=r, world=2, block=block)
        sampler.resume_at(0, 12)
        assert list(sampler) == ranks[r][3 * block:]

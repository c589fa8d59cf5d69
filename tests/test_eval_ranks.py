"""``eval`` on several ranks: items are cut into shards that do not depend on the number of ranks (same
batches, same sampling seeds), rank k generates shards k, k+N, ..., and the last rank to finish merges
``samples.jsonl`` and writes the summary: the same records and accuracy as one process. A rank rerun
alone completes the merge. The in-training callback's split + all-gather of per-problem verdicts is
checked with a fake world of two ranks."""

from __future__ import annotations

import json

import pytest
import torch

from hn_lightning.errors import UserError
from hn_lightning.evaluation.generate import GenerationConfig
from hn_lightning.evaluation.runner import RunSettings, evaluate_items
from hn_lightning.evaluation.sharded import (
    combine_rank_correctness,
    item_shards,
    rank_correctness,
    shard_seed,
)
from hn_lightning.ranks import RankSpec, rank_from_env, without_flag
from tests.cli_utils import run_cli_raw
from tests.test_eval_runner import ScriptedEngine, _answers, _items


class RecordingEngine(ScriptedEngine):
    """:class:`ScriptedEngine` that remembers each call's prompts and seed (what decides its batches)."""

    def __init__(self, answers):
        super().__init__(answers)
        self.calls: list[tuple[tuple[str, ...], int]] = []

    def generate(self, prompts, config, on_done=None):
        self.calls.append((tuple(prompts), config.seed))
        return super().generate(prompts, config, on_done)


def _records(path):
    out = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for r in out:
        r.pop("seconds")
    return sorted(out, key=lambda r: r["id"])


def test_two_ranks_write_what_one_process_writes(tmp_path):
    items = _items(7)
    gen = GenerationConfig(seed=5)
    one = RecordingEngine(_answers(items))
    ref = evaluate_items(one, items, RunSettings(task="toy"), gen, tmp_path / "one", shard_size=2)
    assert [seed for _, seed in one.calls] == [shard_seed(5, j) for j in range(4)]

    engines = {k: RecordingEngine(_answers(items)) for k in (0, 1)}
    first = evaluate_items(engines[1], items, RunSettings(task="toy"), gen, tmp_path / "two", shard_size=2, rank=RankSpec(1, 2))
    assert not first["complete"] and first["missing"] == 4 and not (tmp_path / "two" / "summary.json").exists()
    assert not (tmp_path / "two" / "samples.jsonl").exists()
    last = evaluate_items(engines[0], items, RunSettings(task="toy"), gen, tmp_path / "two", shard_size=2, rank=RankSpec(0, 2))
    assert last["complete"] and last["missing"] == 0
    # the same engine calls (prompts and seeds), only spread over ranks: shards 0, 2 on rank 0, shards 1, 3 on rank 1
    assert sorted(engines[0].calls + engines[1].calls) == sorted(one.calls)
    assert [len(c[0]) for c in engines[1].calls] == [2, 1]
    assert _records(tmp_path / "two" / "samples.jsonl") == _records(tmp_path / "one" / "samples.jsonl")
    merged = [json.loads(line)["id"] for line in (tmp_path / "two" / "samples.jsonl").read_text().splitlines()]
    assert merged == [it.id for it in items]  # the merge is in item order
    summary = json.loads((tmp_path / "two" / "summary.json").read_text())
    for key in ("n", "correct", "accuracy", "ci95"):
        assert summary[key] == ref[key]


def test_a_single_process_finishes_what_dead_ranks_left(tmp_path):
    items = _items(5)
    gen = GenerationConfig()
    evaluate_items(ScriptedEngine(_answers(items)), items, RunSettings(task="toy"), gen, tmp_path, shard_size=2,
                   rank=RankSpec(0, 3))
    engine = ScriptedEngine(_answers(items))
    summary = evaluate_items(engine, items, RunSettings(task="toy"), gen, tmp_path, shard_size=2)
    assert summary["complete"] and summary["n"] == 5 and summary["this_run"]["new_items"] == 3
    assert len(engine.asked) == 3  # only the items rank 0 (shard 0 of 3) had not written
    assert len(_records(tmp_path / "samples.jsonl")) == 5


def test_other_settings_and_overwrite_are_refused_with_ranks(tmp_path):
    items = _items(4)
    evaluate_items(ScriptedEngine({}), items, RunSettings(task="toy"), GenerationConfig(), tmp_path, shard_size=2,
                   rank=RankSpec(0, 2))
    from hn_lightning.evaluation.runner import SettingsMismatch

    with pytest.raises(SettingsMismatch):
        evaluate_items(ScriptedEngine({}), items, RunSettings(task="toy", max_new_tokens=5), GenerationConfig(), tmp_path,
                       shard_size=2, rank=RankSpec(1, 2))
    with pytest.raises(UserError, match="overwrite"):
        evaluate_items(ScriptedEngine({}), items, RunSettings(task="toy"), GenerationConfig(), tmp_path, shard_size=2,
                       rank=RankSpec(1, 2), overwrite=True)


def test_gathered_verdicts_of_a_fake_world_equal_one_process(tmp_path):
    """The callback's logic: each rank evaluates its shards, verdict vectors are all-gathered and combined."""
    items = _items(9)
    ids = [it.id for it in items]
    single: dict[str, bool] = {}
    evaluate_items(ScriptedEngine(_answers(items)), items, RunSettings(task="toy"), GenerationConfig(), tmp_path / "one",
                   shard_size=2, on_record=lambda r: single.__setitem__(r["id"], r["correct"]))
    vectors = []
    for k in range(3):
        mine: dict[str, bool] = {}
        evaluate_items(ScriptedEngine(_answers(items)), items, RunSettings(task="toy"), GenerationConfig(),
                       tmp_path / "three", shard_size=2, rank=RankSpec(k, 3),
                       on_record=lambda r, m=mine: m.__setitem__(r["id"], r["correct"]))
        assert set(mine) == {it.id for j in RankSpec(k, 3).mine(range(5)) for it in item_shards(items, 2)[j]}
        vectors.append(rank_correctness(ids, mine))
    combined = combine_rank_correctness(torch.stack(vectors))  # what strategy.all_gather returns: [W, N]
    assert combined.tolist() == [single[i] for i in ids]
    assert 0 < float(combined.float().mean()) < 1
    assert combine_rank_correctness(rank_correctness(ids, single)).tolist() == [single[i] for i in ids]  # one rank: [N]
    with pytest.raises(RuntimeError, match="no rank"):
        combine_rank_correctness(torch.stack(vectors[:2]))


def test_rank_from_flags_torchrun_and_slurm():
    assert rank_from_env(environ={}) == RankSpec(0, 1, 0)
    assert rank_from_env(environ={"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == RankSpec(3, 4, 1)
    assert rank_from_env(environ={"SLURM_PROCID": "5", "SLURM_NTASKS": "8", "SLURM_LOCALID": "1"}) == RankSpec(5, 8, 1)
    assert rank_from_env(1, 2, environ={"RANK": "0", "WORLD_SIZE": "4"}) == RankSpec(1, 2, 0)  # flags win
    with pytest.raises(UserError, match="together"):
        rank_from_env(1, None, environ={})
    with pytest.raises(UserError, match="not in 0..1"):
        rank_from_env(2, 2, environ={})
    assert RankSpec(1, 3).mine(range(8)) == [1, 4, 7]
    assert without_flag(["--devices", "2", "--x", "1", "--devices=3"], "--devices") == ["--x", "1"]


def run_cli(args, cwd, timeout):
    """``cli.py`` with one torch thread per process (float32 reductions depend on the thread count)."""
    proc = run_cli_raw(args, cwd=cwd, timeout=timeout, env={"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def test_eval_cli_two_ranks_and_a_rank_rerun_equal_one_process(tmp_path):
    """tiny-qwen2, sampling at temperature 1 (so the per-shard seeds matter): ``--devices 2``, and ranks run one
    at a time (``--rank k --world_size 2``: a rank that died, rerun alone), against one process."""
    args = ["eval", "--model", "tiny-qwen2", "--task", "gsm8k", "--limit", "5", "--max_new_tokens", "6", "--temperature",
            "1.0", "--seed", "3", "--shard_size", "2", "--batch_size", "2", "--no_progress", "--dtype", "float32"]
    run_cli([*args, "--out", str(tmp_path / "one")], cwd=tmp_path, timeout=600)
    run_cli([*args, "--out", str(tmp_path / "two"), "--devices", "2"], cwd=tmp_path, timeout=600)
    first = run_cli([*args, "--out", str(tmp_path / "seq"), "--rank", "1", "--world_size", "2"], cwd=tmp_path, timeout=600)
    assert "not written yet" in " ".join(first.stderr.split()) and not (tmp_path / "seq" / "gsm8k" / "summary.json").exists()
    run_cli([*args, "--out", str(tmp_path / "seq"), "--rank", "0", "--world_size", "2"], cwd=tmp_path, timeout=600)
    ref = _records(tmp_path / "one" / "gsm8k" / "samples.jsonl")
    assert len({r["completion"] for r in ref}) > 1  # sampled: the seeds decide the completions
    for run in ("two", "seq"):
        assert _records(tmp_path / run / "gsm8k" / "samples.jsonl") == ref
        a, b = (json.loads((tmp_path / r / "gsm8k" / "summary.json").read_text()) for r in ("one", run))
        assert (a["n"], a["correct"], a["accuracy"], a["finish_reasons"]) == (b["n"], b["correct"], b["accuracy"], b["finish_reasons"])

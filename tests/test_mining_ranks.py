"""``mine`` on several ranks: the shards of candidates and score are spread over ranks (rank k takes
problem batches k, k+N, ...), the last rank to finish completes each stage and runs filter and pair, and
the outputs are byte for byte those of one process with the same seed. A rank that never ran (died) is
run alone afterwards and completes the merge. Synthetic sampler (no model), the real MathVerifier."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hn_lightning.commands.mine import config_from_args
from hn_lightning.errors import UserError
from hn_lightning.mining import MiningPipeline
from hn_lightning.mining.shards import shard_paths
from hn_lightning.ranks import RankSpec
from tests.cli_utils import REPO, run_cli_raw

ARGS = ["--config", str(REPO / "configs" / "mine_demo.yaml"), "--problems.limit", "6",
        "--policy.name_or_path", "tiny-qwen2", "--policy.dtype", "float32",
        "--candidates.sampling.backend", "synthetic", "--candidates.sampling.num_samples", "4",
        "--candidates.sampling.problems_per_batch", "2", "--progress", "false"]
"""6 problems in 3 problem batches (shards): rank 0 of 2 writes shards 0 and 2, rank 1 shard 1."""

OUTPUTS = ("problems.jsonl", "candidates", "scored", "filtered", "pairs/hardneg", "pairs/random", "pairs/shuffled",
           "funnel.json")


def cfg(out: Path):
    return config_from_args([*ARGS, "--out", str(out)])[1]


@pytest.fixture(scope="module")
def verifier():
    from hn_lightning.verifier import MathVerifier, VerifierConfig

    return MathVerifier(VerifierConfig.from_dict(dict(cfg(Path("unused")).scoring.verifier)))


@pytest.fixture(scope="module")
def single(tmp_path_factory, verifier) -> Path:
    """One process, every stage, one torch thread (like each rank below: float32 reductions depend on the
    thread count): the reference."""
    import torch

    out = tmp_path_factory.mktemp("single") / "mine"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        MiningPipeline(cfg(out), verifier=verifier).run()
    finally:
        torch.set_num_threads(threads)
    return out


def files(out: Path) -> dict[str, bytes]:
    """Every output file (relative path -> bytes) of :data:`OUTPUTS`."""
    found = {}
    for name in OUTPUTS:
        p = out / name
        for f in ([p] if p.is_file() else shard_paths(p)):
            found[str(f.relative_to(out))] = f.read_bytes()
    return found


def test_a_rank_that_runs_alone_waits_and_the_other_completes_the_merge(single, tmp_path, verifier):
    out = tmp_path / "mine"
    first = MiningPipeline(cfg(out), verifier=verifier, rank=RankSpec(1, 2)).run()
    assert first["candidates"]["waiting"] and first["score"]["waiting"] and "filter" not in first
    assert [p.name for p in shard_paths(out / "candidates")] == ["shard-00001.jsonl"]
    assert not (out / "funnel.json").exists()
    manifest = json.loads((out / "manifest.json").read_text())["stages"]
    assert not manifest["candidates"]["complete"] and not manifest["score"]["complete"]

    second = MiningPipeline(cfg(out), verifier=verifier, rank=RankSpec(0, 2)).run()  # e.g. rank 0 rerun after a crash
    assert not second["candidates"].get("waiting") and not second["score"].get("waiting")
    assert second["pair"]["funnel"] == json.loads((single / "funnel.json").read_text())
    assert files(out) == files(single), "two ranks must write exactly what one process writes"
    manifest = json.loads((out / "manifest.json").read_text())["stages"]
    assert all(manifest[s]["complete"] for s in ("candidates", "score", "filter", "pair"))

    again = MiningPipeline(cfg(out), verifier=verifier, rank=RankSpec(1, 2)).run()  # a late rank finds it all done
    assert "filter" not in again and files(out) == files(single)


def test_two_rank_processes_equal_one_process(single, tmp_path):
    out = tmp_path / "mine2"
    proc = run_cli_raw(["mine", *ARGS, "--out", str(out), "--devices", "2"], cwd=tmp_path, timeout=900,
                       env={"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "rank" in proc.stdout + proc.stderr  # one rank reported that it finished its shards first
    assert files(out) == files(single)
    assert json.loads((out / "funnel.json").read_text())["identities"] == json.loads((single / "funnel.json").read_text())["identities"]


def test_overwrite_is_refused_with_several_ranks(tmp_path, verifier):
    with pytest.raises(UserError, match="overwrite"):
        MiningPipeline(cfg(tmp_path / "m"), verifier=verifier, rank=RankSpec(0, 2)).run(overwrite=True)

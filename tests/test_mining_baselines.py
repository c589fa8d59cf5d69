"""The control arms: the random-uniform arm never sees verifier scores; the shuffled arm permutes weights."""

from __future__ import annotations

import dataclasses
import json
import random
import shutil

import pytest

from hn_lightning.mining import CandidatesConfig, MineConfig, MiningPipeline, ProblemsConfig, SamplingConfig
from hn_lightning.mining.baselines import AnswerOnly, answer_only_items, random_pair_plan, shuffled_pairs
from hn_lightning.mining.config import FilterConfig
from hn_lightning.mining.problems import load_problems
from hn_lightning.mining.shards import read_records, shard_paths, write_shard
from hn_lightning.mining.synthetic import KINDS, SyntheticSampler
from hn_lightning.verifier import VerifierResult


def items(n_problems=5, per=4):
    return [AnswerOnly(f"p{i}#s{k}", f"p{i}", k % 2 == 0) for i in range(n_problems) for k in range(per)]


def test_answer_only_items_carry_no_verifier_field():
    names = {f.name for f in dataclasses.fields(AnswerOnly)}
    assert names == {"id", "problem_id", "correct"}
    assert not names & {f.name for f in dataclasses.fields(VerifierResult)} - {"id"}


def test_the_planner_refuses_anything_but_answer_only_items():
    with pytest.raises(TypeError):
        random_pair_plan([{"id": "a", "problem_id": "p", "correct": False, "w_raw": 1.0}], 1, 0, "policy", lambda p: True)
    scored = {"id": "a", "problem_id": "p", "completion": "x = 1", "finish_reason": "stop",
              "answer": {"correct": False, "extracted": ["1"]}, "scores": {"w_raw": 1.0}}
    with pytest.raises(ValueError, match="candidate records"):
        answer_only_items([scored], FilterConfig())


def test_random_plan_is_seeded_uniform_and_pairs_within_a_problem():
    its = items()
    plan = random_pair_plan(its, 6, seed=0, chosen_mode="policy_then_reference", has_reference=lambda p: True)
    assert plan == random_pair_plan(list(reversed(its)), 6, 0, "policy_then_reference", lambda p: True)  # input order irrelevant
    assert plan != random_pair_plan(its, 6, 1, "policy_then_reference", lambda p: True)
    correct = {it.id: it.correct for it in its}
    assert len(plan) == 6 and len({r for r, _ in plan}) == 6
    for rej, ch in plan:
        assert not correct[rej] and correct[ch] and rej.split("#")[0] == ch.split("#")[0]
    # fewer eligible rejected samples than requested: all of them, no more
    assert len(random_pair_plan(its, 100, 0, "policy", lambda p: True)) == 10
    # no correct sample and no reference: nothing to pair
    wrong_only = [AnswerOnly("q#s0", "q", False)]
    assert random_pair_plan(wrong_only, 5, 0, "policy_then_reference", lambda p: False) == []
    assert random_pair_plan(wrong_only, 5, 0, "policy_then_reference", lambda p: True) == [("q#s0", None)]


def test_shuffled_pairs_permute_weights_only():
    pairs = [{"id": f"x{i}", "prompt": "q", "chosen": "a", "rejected": f"b{i}", "w_raw": float(i), "meta": {"arm": "hardneg"}}
             for i in range(20)]
    shuf = shuffled_pairs(pairs, seed=0)
    assert shuf == shuffled_pairs(pairs, seed=0)
    assert sorted(p["w_raw"] for p in shuf) == [p["w_raw"] for p in pairs]
    assert [p["w_raw"] for p in shuf] != [p["w_raw"] for p in pairs]
    assert [(p["id"], p["rejected"]) for p in shuf] == [(p["id"], p["rejected"]) for p in pairs]
    assert all(p["meta"]["arm"] == "shuffled" for p in shuf) and pairs[0]["meta"]["arm"] == "hardneg"


@pytest.fixture(scope="module")
def run(tmp_path_factory, tokenizer):
    from hn_lightning.verifier import MathVerifier

    cfg = MineConfig(out=str(tmp_path_factory.mktemp("mine") / "run"), progress=False,
                     problems=ProblemsConfig(math=None, limit=6),
                     candidates=CandidatesConfig(sampling=SamplingConfig(num_samples=len(KINDS), problems_per_batch=3)))
    pipe = MiningPipeline(cfg, tokenizer=tokenizer, verifier=MathVerifier(),
                          sampler=SyntheticSampler(load_problems(cfg.problems), len(KINDS)))
    pipe.run()
    return pipe


def test_random_arm_is_built_without_scores_or_decisions(run):
    """Delete scored/ and filtered/: the random arm comes out identical."""
    n = len(read_records(run.out / "pairs" / "hardneg"))
    problems = run.problems()
    before = run._random_arm(n, problems)
    hidden = run.out / "hidden"
    hidden.mkdir()
    for sub in ("scored", "filtered"):
        shutil.move(str(run.out / sub), str(hidden / sub))
    try:
        assert run._random_arm(n, problems) == before
    finally:
        for sub in ("scored", "filtered"):
            shutil.move(str(hidden / sub), str(run.out / sub))


def test_permuting_the_scores_leaves_the_random_arm_unchanged(run):
    """Shuffle the verifier scores across samples and rerun filter + pair: the hard-negative arm may
    change, the random arm (for the same pair count) may not."""
    n = len(read_records(run.out / "pairs" / "hardneg"))
    random_before = run._random_arm(n, run.problems())
    written_before = read_records(run.out / "pairs" / "random")
    rng = random.Random(0)
    for path in shard_paths(run.out / "scored"):
        recs = [json.loads(line) for line in path.read_text().splitlines()]
        scores = [r["scores"] for r in recs]
        rng.shuffle(scores)
        write_shard(path.parent, int(path.stem.split("-")[1]), [{**r, "scores": s} for r, s in zip(recs, scores)])
    run.run(["filter", "pair"], overwrite=True)
    assert run._random_arm(n, run.problems()) == random_before
    n_after = len(read_records(run.out / "pairs" / "hardneg"))
    if n_after == n:
        assert read_records(run.out / "pairs" / "random") == written_before

"""Every stage end to end on GSM8K train problems with a deterministic synthetic policy and the real
MathVerifier: funnel arithmetic, pairs the DPO DataModule reads, resumption after a crash, settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hn_lightning.catalog import TestDataRefused
from hn_lightning.data import PreferenceDataModule
from hn_lightning.data.pairs import validate_pair
from hn_lightning.mining import (
    CandidatesConfig,
    MineConfig,
    MiningPipeline,
    ProblemsConfig,
    SamplingConfig,
    StageSettingsChanged,
)
from hn_lightning.mining.problems import load_problems
from hn_lightning.mining.shards import read_records, shard_paths
from hn_lightning.mining.synthetic import KINDS, SyntheticSampler

N_PROBLEMS = 6


def make_cfg(out: Path, **kw) -> MineConfig:
    return MineConfig(
        out=str(out), progress=False,
        problems=ProblemsConfig(math=None, limit=N_PROBLEMS),
        candidates=CandidatesConfig(sampling=SamplingConfig(num_samples=len(KINDS), problems_per_batch=2)),
        **kw,
    )


@pytest.fixture(scope="module")
def verifier():
    from hn_lightning.verifier import MathVerifier

    return MathVerifier()


def pipeline(cfg, tokenizer, verifier, **kw) -> tuple[MiningPipeline, SyntheticSampler]:
    sampler = SyntheticSampler(load_problems(cfg.problems), cfg.candidates.sampling.num_samples)
    return MiningPipeline(cfg, tokenizer=tokenizer, verifier=verifier, sampler=sampler, **kw), sampler


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tokenizer, verifier):
    """One uninterrupted run (the reference for the resume tests)."""
    out = tmp_path_factory.mktemp("mine") / "run"
    pipe, _ = pipeline(make_cfg(out), tokenizer, verifier)
    pipe.run()
    return out


def arm(out: Path, name: str) -> list[dict]:
    return read_records(out / "pairs" / name)


def test_funnel_adds_up_and_matches_the_synthetic_kinds(finished):
    f = json.loads((finished / "funnel.json").read_text())
    assert all(f["identities"].values()), f["identities"]
    assert f["input"] == N_PROBLEMS * len(KINDS)
    assert f["input"] == f["degenerate"]["removed"] + f["trivially_correct"]["removed"] + f["trivially_wrong"]["removed"] \
        + f["selection"]["removed"] + f["hard_negatives"]
    # truncated, loop and no-answer samples are degenerate, each under its own rule
    assert f["degenerate"]["removed_by"]["truncated"] == N_PROBLEMS
    assert f["degenerate"]["removed_by"]["repetition"] == N_PROBLEMS
    assert f["degenerate"]["removed_by"]["no_answer"] == N_PROBLEMS
    # low-confidence near misses fail "confident"; off-track answers never become hard negatives
    decisions = {d["id"]: d for d in read_records(finished / "filtered")}
    for pid in {d["problem_id"] for d in decisions.values()}:
        assert decisions[f"{pid}#s{KINDS.index('unsure_miss')}"]["hard_negative"] is False
        assert decisions[f"{pid}#s{KINDS.index('off_track')}"]["hard_negative"] is False
        assert decisions[f"{pid}#s{KINDS.index('correct')}"]["removed_at"] == "trivially_correct"
    hard = [d for d in decisions.values() if d["hard_negative"]]
    assert hard and all(d["id"].endswith(f"#s{KINDS.index('near_miss')}") for d in hard)
    assert f["paired"] == f["hard_negatives"] == len(arm(finished, "hardneg"))
    report = (finished / "report.md").read_text()
    for needle in ("## Funnel", "What each threshold removes", "## w_raw of the hard-negative pairs", "## Example pairs", "## Timing"):
        assert needle in report


def test_pairs_follow_the_schema_and_carry_scores(finished):
    hard = arm(finished, "hardneg")
    for p in hard:
        assert validate_pair(p, need_w_raw=True) is None
        assert p["scores"]["rejected"]["answer_correct"] is False
        assert p["scores"]["chosen"]["answer_correct"] is True          # the policy's own correct sample
        assert set(p["scores"]["rejected"]) >= {"s_sem", "s_struct", "s_order", "s_logic", "s_sym", "s_ans",
                                                "wrongness", "absurdity", "confidence", "ppl", "w_raw"}
        assert p["w_raw"] == p["scores"]["rejected"]["w_raw"]
        assert p["prompt"].endswith("within \\boxed{}.") and p["meta"]["chosen_source"] == "policy"
    rnd = arm(finished, "random")
    assert len(rnd) == len(hard)
    for p in rnd:
        assert validate_pair(p, need_w_raw=True, need_weight=True) is None
        assert p["w_raw"] == 1.0 and p["weight"] == 1.0 and "scores" not in p


def test_shuffled_arm_is_a_permutation_of_the_weights(finished):
    hard, shuf = arm(finished, "hardneg"), arm(finished, "shuffled")
    assert [p["id"] for p in hard] == [p["id"] for p in shuf]
    assert [(p["chosen"], p["rejected"]) for p in hard] == [(p["chosen"], p["rejected"]) for p in shuf]
    assert sorted(p["w_raw"] for p in hard) == sorted(p["w_raw"] for p in shuf)
    by_id = {p["id"]: p["w_raw"] for p in hard}
    assert all(by_id[p["meta"]["w_raw_from"]] == p["w_raw"] for p in shuf)


@pytest.mark.parametrize("name,weighting", [("hardneg", "normalized"), ("random", "none"), ("shuffled", "normalized")])
def test_preference_datamodule_reads_every_arm(finished, tokenizer, name, weighting):
    dm = PreferenceDataModule(train_files=[str(finished / "pairs" / name)], max_length=512, micro_batch_size=2,
                              weighting=weighting, shuffle=False)
    dm.tokenizer = tokenizer
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    assert batches, f"no batches from pairs/{name}"
    b = batches[0]
    assert len(b["ids"]) == 2 and len(b["weights"]) == 2
    if weighting == "none":
        assert b["weights"] == [1.0, 1.0]
    assert dm.train_stream.report.records == len(arm(finished, name))
    assert dm.train_stream.report.overlong == 0


def test_pair_prompt_is_the_sampling_prompt(finished, tokenizer):
    """tokenize_pair (what DPO trains on) renders exactly the prompt the candidates were sampled from."""
    from hn_lightning import SYSTEM_PROMPT
    from hn_lightning.data.chat import encode
    from hn_lightning.data.pairs import tokenize_pair
    from hn_lightning.mining.config import PromptConfig
    from hn_lightning.mining.prompts import rendered_prompt

    p = arm(finished, "hardneg")[0]
    sampled = rendered_prompt(tokenizer, p["prompt"], PromptConfig())
    assert tokenize_pair(p, tokenizer, 2048, SYSTEM_PROMPT).prompt_ids == encode(tokenizer, sampled)
    assert sampled.endswith("<|im_start|>assistant\n") and SYSTEM_PROMPT in sampled


class Crash(RuntimeError):
    pass


def crash_at(stage: str, index: int):
    def hook(s: str, i: int) -> None:
        if s == stage and i == index:
            raise Crash(f"simulated crash after {s} shard {i}")
    return hook


@pytest.mark.parametrize("stage", ["candidates", "score", "filter"])
def test_resume_after_a_crash_loses_and_duplicates_nothing(stage, finished, tmp_path, tokenizer, verifier):
    out = tmp_path / "run"
    cfg = make_cfg(out)
    pipe, _ = pipeline(cfg, tokenizer, verifier, on_shard=crash_at(stage, 1))
    with pytest.raises(Crash):
        pipe.run()
    stage_dir = pipe.stage_dir(stage)
    assert [p.name for p in shard_paths(stage_dir)] == ["shard-00000.jsonl", "shard-00001.jsonl"]
    (stage_dir / ".shard-00002.jsonl.abc.tmp").write_text('{"id": "half-written')   # a writer killed mid-shard
    assert not pipe.manifest.is_complete(stage)

    resumed, sampler = pipeline(cfg, tokenizer, verifier)
    resumed.run()
    assert not (stage_dir / ".shard-00002.jsonl.abc.tmp").exists()
    if stage == "candidates":
        assert sampler.calls == 1          # only the one batch that was never written is sampled again
    for sub in ("candidates", "scored", "filtered", "pairs/hardneg", "pairs/random", "pairs/shuffled"):
        got, want = read_records(out / sub), read_records(finished / sub)
        ids = [r["id"] for r in got]
        assert len(ids) == len(set(ids)), f"duplicates in {sub}"
        assert got == want, f"{sub} differs from an uninterrupted run"
    assert json.loads((out / "funnel.json").read_text()) == json.loads((finished / "funnel.json").read_text())
    seconds = json.loads((out / "manifest.json").read_text())["stages"][stage]["seconds"]
    assert seconds > 0


def test_changed_sampling_settings_refuse_to_resume_and_filters_redo(finished, tmp_path, tokenizer, verifier):
    out = tmp_path / "run"
    pipe, _ = pipeline(make_cfg(out), tokenizer, verifier)
    pipe.run()
    changed = make_cfg(out)
    changed.candidates.sampling.temperature = 0.5
    with pytest.raises(StageSettingsChanged):
        pipeline(changed, tokenizer, verifier)[0].run()
    # new selection thresholds: candidates and scores are reused, filter and pair redone
    strict = make_cfg(out)
    strict.selection.min_confidence = 0.999
    again, sampler = pipeline(strict, tokenizer, verifier)
    res = again.run()
    assert sampler.calls == 0
    assert res["pair"]["hardneg"] == 0
    assert res["filter"]["hard_negatives"] == 0
    # --overwrite from candidates starts over
    again, sampler = pipeline(changed, tokenizer, verifier)
    again.run(overwrite=True)
    assert sampler.calls == 3


def test_test_files_are_refused(tmp_path, tokenizer, verifier):
    cfg = make_cfg(tmp_path / "run")
    cfg.problems.gsm8k = "gsm8k:test"
    with pytest.raises(TestDataRefused):
        MiningPipeline(cfg, tokenizer=tokenizer, verifier=verifier).run(["candidates"])


def test_paged_cache_settings_enter_the_fingerprint_only_for_the_cb_engine(tmp_path):
    """`sampling.cb` (paged-cache sizes) changes what the cb engine samples, nothing else: with another
    backend it must not change the candidates fingerprint (runs mined before the field existed resume)."""
    from dataclasses import replace

    from hn_lightning.mining.stage_runner import StageRunner

    def fp(backend: str, max_requests: int) -> str:
        cfg = make_cfg(tmp_path / f"{backend}{max_requests}")
        s = cfg.candidates.sampling
        cfg.candidates.sampling = replace(s, backend=backend, cb=replace(s.cb, max_requests=max_requests))
        return StageRunner(cfg).fingerprints()["candidates"]

    assert fp("hf", 16) == fp("hf", 4)
    assert fp("cb", 16) != fp("cb", 4)
    assert fp("cb", 16) != fp("hf", 16)

"""Mining with a real (tiny) policy: the CLI end to end, teacher-forced log-probs, offline-pool ingestion."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
import torch
import yaml

from hn_lightning.mining import MineConfig, MiningPipeline
from hn_lightning.mining.config import (
    CandidatesConfig,
    IngestConfig,
    IngestFields,
    ProblemsConfig,
    PromptConfig,
)
from hn_lightning.mining.prompts import rendered_prompt, user_turn
from hn_lightning.mining.samplers import choose_backend, vllm_output_to_generations
from hn_lightning.mining.shards import read_records
from tests.cli_utils import REPO
from tests.conftest import write_jsonl


@pytest.fixture(scope="module")
def tiny_model(tiny_model_dir):
    from hn_lightning.models import ModelConfig, load_causal_lm

    return load_causal_lm(ModelConfig(name_or_path=str(tiny_model_dir), dtype="float32"), tiny_model_dir).eval()


def test_cli_runs_every_stage_with_a_tiny_policy(tmp_path):
    """``cli.py mine --config ...`` (in process, to keep the suite fast) with the shipped demo config,
    a tiny policy and 2 problems; then ``cli.py mine report`` rewrites the report."""
    from hn_lightning.commands.mine import main

    cfg = yaml.safe_load((REPO / "configs" / "mine_demo.yaml").read_text())
    cfg["out"] = str(tmp_path / "run")
    cfg["policy"] = {"name_or_path": "tiny-qwen2", "dtype": "float32"}
    cfg["problems"]["limit"] = 2
    cfg["candidates"]["sampling"].update(num_samples=2, max_new_tokens=8, problems_per_batch=1)
    cfg["progress"] = False
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["--config", str(path)]) == 0
    out = tmp_path / "run"
    cands = read_records(out / "candidates")
    assert [c["id"] for c in cands] == [f"{p}#s{k}" for p in dict.fromkeys(c["problem_id"] for c in cands) for k in range(2)]
    for c in cands:
        assert len(c["token_logprobs"]) == len(c["tokens"]) == c["num_tokens"] <= 8
        assert all(lp <= 0 for lp in c["token_logprobs"]) and c["logprobs_source"] == "sampling"
        assert "".join(c["tokens"]) == c["completion"]
    assert len(read_records(out / "scored")) == len(cands) == 4
    funnel = json.loads((out / "funnel.json").read_text())
    assert funnel["input"] == 4 and all(funnel["identities"].values())
    manifest = json.loads((out / "manifest.json").read_text())
    assert all(manifest["stages"][s]["complete"] for s in ("candidates", "score", "filter", "pair"))
    for arm in ("hardneg", "random", "shuffled"):
        assert (out / "pairs" / arm / "shard-00000.jsonl").is_file()
    (out / "report.md").unlink()
    assert main(["report", "--config", str(path)]) == 0
    assert "## Funnel" in (out / "report.md").read_text()


def test_teacher_forced_logprobs_match_a_full_forward(tiny_model, tokenizer):
    from hn_lightning.data.chat import encode
    from hn_lightning.mining.teacher_forcing import teacher_forced_logprobs

    prompts = [rendered_prompt(tokenizer, user_turn(q, PromptConfig()), PromptConfig()) for q in ("What is 2+3?", "Add 7 and 9.")]
    completions = ["2 + 3 = 5, so the answer is $\\boxed{5}$.", "7 + 9 = 16.\nThe final answer is $\\boxed{16}$."]
    res = teacher_forced_logprobs(tiny_model, tokenizer, prompts, completions, batch_size=2)
    for prompt, completion, r in zip(prompts, completions, res):
        p_ids, c_ids = encode(tokenizer, prompt), encode(tokenizer, completion)
        with torch.no_grad():
            logits = tiny_model(torch.tensor([p_ids + c_ids])).logits[0].float()
        ref = torch.log_softmax(logits, -1)[len(p_ids) - 1: -1].gather(-1, torch.tensor(c_ids)[:, None]).squeeze(-1)
        assert len(r.token_logprobs) == len(c_ids) and not r.truncated
        assert torch.allclose(torch.tensor(r.token_logprobs), ref, atol=1e-4)
        assert "".join(r.tokens) == completion
    short = teacher_forced_logprobs(tiny_model, tokenizer, prompts[:1], completions[:1],
                                    max_length=len(encode(tokenizer, prompts[0])) + 3)[0]
    assert short.truncated and len(short.token_logprobs) == 3


def test_ingest_a_pool_with_teacher_forced_logprobs(tmp_path, tiny_model, tokenizer):
    from hn_lightning.catalog import resolve_data_file
    from hn_lightning.verifier import MathVerifier

    gsm = [json.loads(line) for line in open(resolve_data_file("gsm8k:train"), encoding="utf-8")][:2]
    pool = [
        {"uid": "a", "q": gsm[0]["question"], "out": "48/2 = 24 in May. 48 + 24 = 72.\nThe final answer is $\\boxed{72}$."},
        {"uid": "b", "q": gsm[0]["question"], "out": "48/2 = 24 in May. 48 + 24 = 74.\nThe final answer is $\\boxed{74}$.",
         "lp": [-0.1, -0.2], "toks": ["48", "/2 ..."]},
        {"uid": "c", "q": gsm[1]["question"], "out": "12/60 = 0.2 per minute. 0.2 x 50 = 10.\nThe final answer is $\\boxed{10}$."},
        {"uid": "d", "q": "What is 1+1?", "out": "1 + 1 = 2. $\\boxed{2}$", "gold": "2", "ref": "1 + 1 = 2."},
    ]
    write_jsonl(tmp_path / "pool.jsonl", pool)
    cfg = MineConfig(
        out=str(tmp_path / "run"), progress=False, problems=ProblemsConfig(math=None),
        candidates=CandidatesConfig(mode="ingest", ingest=IngestConfig(
            files=[str(tmp_path / "pool.jsonl")], shard_size=3, batch_size=2,
            fields=IngestFields(id="uid", question="q", completion="out", gold="gold", reference="ref",
                                token_logprobs="lp", tokens="toks", finish_reason=None))),
    )
    pipe = MiningPipeline(cfg, model=tiny_model, tokenizer=tokenizer, verifier=MathVerifier())
    pipe.run()
    cands = {c["pool_id"]: c for c in read_records(pipe.out / "candidates")}
    assert cands["a"]["id"] == "gsm8k-train-0#p0" and cands["b"]["id"] == "gsm8k-train-0#p1"
    assert cands["a"]["answer"]["correct"] and not cands["b"]["answer"]["correct"]
    assert cands["a"]["logprobs_source"] == "teacher_forced" and cands["b"]["logprobs_source"] == "pool"
    assert cands["b"]["token_logprobs"] == [-0.1, -0.2]
    assert cands["d"]["problem_id"].startswith("pool-") and cands["d"]["answer"]["correct"]
    for c in cands.values():
        assert len(c["token_logprobs"]) == len(c["tokens"])
    assert len(list((pipe.out / "candidates").glob("shard-*.jsonl"))) == 2
    scored = {r["pool_id"]: r for r in read_records(pipe.out / "scored")}
    assert scored["a"]["scores"]["ppl"] is not None and scored["a"]["scores"]["confidence"] is not None
    problems = {p.id for p in pipe.problems()}
    assert {"gsm8k-train-0", "gsm8k-train-1", cands["d"]["problem_id"]} == problems
    assert all(json.loads((pipe.out / "funnel.json").read_text())["identities"].values())


def test_vllm_outputs_convert_to_generations(tokenizer):
    ids = tokenizer("The answer is 4.", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    steps = [{t: SimpleNamespace(logprob=-0.5, decoded_token="?")} for t in ids]
    out = SimpleNamespace(outputs=[SimpleNamespace(text="The answer is 4.", token_ids=ids, finish_reason="stop", logprobs=steps),
                                   SimpleNamespace(text="The", token_ids=ids[:1], finish_reason="length", logprobs=steps[:1])])
    gens = vllm_output_to_generations(out, tokenizer)
    assert [g.finish_reason for g in gens] == ["stop", "length"]
    assert gens[0].token_logprobs == [-0.5] * len(ids) and "".join(gens[0].tokens) == "The answer is 4."
    assert gens[1].num_tokens == 1 and math.isclose(gens[1].token_logprobs[0], -0.5)
    assert choose_backend("hf") == "hf"
    assert choose_backend("auto") in ("hf", "vllm")

"""The continuous-batching engine (transformers' paged KV cache) against the HF ``generate`` engine on a tiny
Qwen2 in float32: greedy tokens equal token for token (stop tokens, input order, refilled slots), seeded
sampling reproduces, raw token log-probs equal a teacher-forced forward (reported by the manager when
sampling is unwarped, rescored when it is warped), the cache is sized from the workload, and the engine is
selectable in ``eval`` and ``mine``."""

from __future__ import annotations

import pytest
import torch

from hn_lightning.evaluation.cb_engine import (
    CBEngine,
    PagedCacheSettings,
    cache_blocks,
    forced_logprobs,
    generate_continuous,
)
from hn_lightning.evaluation.generate import GenerationConfig, generate, prompt_token_ids
from hn_lightning.evaluation.prompts import qwen2_boxed
from tests.test_eval_generate import QUESTIONS

SMALL = PagedCacheSettings(max_requests=3, page_size=8, max_batch_tokens=64)  # fewer slots than rows: refills


def _prompts():
    return [qwen2_boxed(q) for q in QUESTIONS]


def _ids(outs):
    return [[g.token_ids for g in o] for o in outs]


def _teacher_forced(model, tok, prompt: str, ids: list[int]) -> torch.Tensor:
    p = prompt_token_ids(tok, prompt)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([p + ids])).logits[0].float()
    return torch.log_softmax(logits[len(p) - 1: -1], dim=-1).gather(1, torch.tensor(ids)[:, None]).squeeze(1)


def test_greedy_equals_hf_engine_token_for_token_with_stops_and_order(varied_model):
    model, tok = varied_model
    prompts = _prompts()
    free = _ids(generate(model, tok, prompts, GenerationConfig(max_new_tokens=14, batch_size=6)))
    assert len({tuple(x[0]) for x in free}) == len(prompts)  # distinct completions: the order is checkable
    stops = [free[i][0][3] for i in (0, 2, 4)]  # three rows stop early: their slots are refilled at once
    cfg = GenerationConfig(max_new_tokens=14, batch_size=6, stop_token_ids=stops)
    want = generate(model, tok, prompts, cfg)
    seen: list[int] = []
    got = generate_continuous(model, tok, prompts, cfg, SMALL, on_done=lambda i, gens: seen.append(i))
    assert _ids(got) == _ids(want)
    assert sorted(seen) == list(range(len(prompts)))
    for g, w in zip(got, want):
        assert (g[0].finish_reason, g[0].text, g[0].num_tokens) == (w[0].finish_reason, w[0].text, w[0].num_tokens)
    assert {g[0].finish_reason for g in got} == {"stop", "length"}


def test_sampling_reproduces_under_a_seed_and_restores_rng_and_modes(varied_model):
    model, tok = varied_model
    prompts = _prompts()[:3]
    cfg = GenerationConfig(max_new_tokens=6, temperature=1.0, num_return_sequences=3, seed=11)
    model.train()
    model.model.layers[0].eval()
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    a = generate_continuous(model, tok, prompts, cfg, SMALL)
    assert torch.equal(torch.get_rng_state(), before)
    assert model.training and not model.model.layers[0].training and model.model.layers[1].training
    model.eval()
    b = generate_continuous(model, tok, prompts, cfg, SMALL)
    assert _ids(a) == _ids(b) and all(len(o) == 3 for o in a)
    assert len({tuple(g.token_ids) for g in a[0]}) > 1  # the K samples of one prompt differ
    c = generate_continuous(model, tok, prompts, GenerationConfig(**{**cfg.__dict__, "seed": 12}), SMALL)
    assert _ids(a) != _ids(c)


@pytest.mark.parametrize("temperature,top_p", [(0.0, 1.0), (1.0, 1.0), (0.7, 0.9)])
def test_token_logprobs_equal_teacher_forced_raw_logprobs(varied_model, temperature, top_p):
    """Greedy / unwarped: the manager's own log-probs; warped: rescored. Both are the raw policy's."""
    model, tok = varied_model
    prompts = _prompts()[:4]
    k = 1 if temperature == 0 else 2
    cfg = GenerationConfig(max_new_tokens=10, temperature=temperature, top_p=top_p, num_return_sequences=k,
                           return_logprobs=True, seed=3)
    outs = generate_continuous(model, tok, prompts, cfg, SMALL)
    for prompt, out in zip(prompts, outs):
        for g in out:
            assert len(g.token_logprobs) == len(g.tokens) == g.num_tokens == 10
            want = _teacher_forced(model, tok, prompt, g.token_ids)
            torch.testing.assert_close(torch.tensor(g.token_logprobs), want, atol=2e-4, rtol=0)
            assert "".join(g.tokens) == g.text
    if temperature == 0:  # and the HF engine's capture gives the same numbers
        hf = generate(model, tok, prompts, GenerationConfig(max_new_tokens=10, batch_size=4, return_logprobs=True))
        for o, h in zip(outs, hf):
            torch.testing.assert_close(torch.tensor(o[0].token_logprobs), torch.tensor(h[0].token_logprobs),
                                       atol=1e-4, rtol=0)


def test_forced_logprobs_pads_rows_of_different_lengths(varied_model):
    model, tok = varied_model
    p = prompt_token_ids(tok, _prompts()[1])
    rows = [(p, [11, 12, 13]), (p[:5], [7]), (p[:9], [100, 200, 300, 400, 5])]
    got = forced_logprobs(model, rows, batch_size=2)
    for (prompt, new), values in zip(rows, got):
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([prompt + new])).logits[0].float()
        want = torch.log_softmax(logits[len(prompt) - 1: -1], -1).gather(1, torch.tensor(new)[:, None]).squeeze(1)
        torch.testing.assert_close(torch.tensor(values), want, atol=2e-5, rtol=0)


def test_cache_sizing_and_settings_validation():
    s = PagedCacheSettings(max_requests=16, page_size=32)
    # the longest request is 100 + 156 = 256 tokens = 8 pages; 3 requests only need 3 rows (+1 spare page)
    assert cache_blocks([40, 100, 7], 156, s) == 3 * 8 + 1
    assert cache_blocks([100] * 40, 157, s) == 16 * 9 + 1  # 257 tokens: 9 pages
    assert cache_blocks([100] * 2, 156, s, samples=4) == 8 * 8 + 1
    with pytest.raises(ValueError, match="page_size"):
        PagedCacheSettings(page_size=2)
    with pytest.raises(ValueError, match="compile_level"):
        PagedCacheSettings(compile_level=4)


def test_engine_is_selectable_in_eval_and_mine(varied_model):
    from hn_lightning.commands.eval import build_parser
    from hn_lightning.evaluation.engine import select_backend
    from hn_lightning.mining.config import SamplingConfig
    from hn_lightning.mining.samplers import CBSampler

    assert select_backend("cb") == "cb"
    args = build_parser().parse_args(["--backend", "cb", "--cb_max_requests", "4"])
    assert (args.backend, args.cb_max_requests) == ("cb", 4)
    model, tok = varied_model
    engine = CBEngine(model, tok, SMALL)
    assert engine.name == "cb" and len(engine.generate(_prompts()[:2], GenerationConfig(max_new_tokens=3))) == 2
    cfg = SamplingConfig(backend="cb", num_samples=2, max_new_tokens=4, cb=SMALL)
    out = CBSampler(model, tok, cfg).sample(_prompts()[:2], seeds=[5, 6])
    assert [len(o) for o in out] == [2, 2] and all(g.token_logprobs is not None for o in out for g in o)


@pytest.mark.parametrize("engine", ["hf", "cb"])
def test_an_empty_prompt_is_refused_by_both_engines(varied_model, engine):
    model, tok = varied_model
    run = generate if engine == "hf" else generate_continuous
    with pytest.raises(ValueError, match="empty prompt"):
        run(model, tok, ["What is 1+1?", ""], GenerationConfig(max_new_tokens=2))

"""The generation engine on a tiny Qwen2: input order despite length sorting, batched == unbatched greedy
(left padding, row requeueing), stop tokens, raw token log-probs == a teacher-forced forward pass, token
pieces, seeded sampling that leaves the caller's RNG and the model's train mode alone."""

from __future__ import annotations

import pytest
import torch

from hn_lightning.evaluation.generate import GenerationConfig, generate, prompt_token_ids
from hn_lightning.evaluation.prompts import qwen2_boxed

QUESTIONS = ["What is 1+1?", "Compute " + "2*" * 9 + "2.", "x?", "Janet has 16 eggs and eats three. How many are left?",
             "Solve $x^2 = 4$.", "Name a prime"]


def _prompts():
    return [qwen2_boxed(q) for q in QUESTIONS]


def _ids(outs):
    return [o[0].token_ids for o in outs]


def test_batched_greedy_equals_unbatched_in_input_order(varied_model):
    model, tok = varied_model
    prompts = _prompts()
    lengths = [len(prompt_token_ids(tok, p)) for p in prompts]
    assert len(set(lengths)) == len(lengths)  # sorting really reorders them
    cfg = dict(max_new_tokens=12)
    single = [generate(model, tok, [p], GenerationConfig(batch_size=1, **cfg))[0] for p in prompts]
    batched = generate(model, tok, prompts, GenerationConfig(batch_size=4, **cfg))
    plain = generate(model, tok, prompts, GenerationConfig(batch_size=6, requeue_fraction=0.0, **cfg))
    assert _ids(batched) == _ids(single) == _ids(plain)
    assert len({tuple(x) for x in _ids(single)}) == len(prompts)  # distinct completions: order is checkable
    for out in batched:
        g = out[0]
        assert g.finish_reason == "length" and g.num_tokens == 12 == len(g.token_ids) and g.seconds > 0
        assert g.text == tok.decode(g.token_ids, skip_special_tokens=True)


def test_stop_tokens_and_requeued_rows_match_unbatched(varied_model, monkeypatch):
    import sys

    gen_mod = sys.modules["hn_lightning.evaluation.generate"]  # the package re-exports the function under this name
    model, tok = varied_model
    prompts = _prompts()
    free = _ids(generate(model, tok, prompts, GenerationConfig(max_new_tokens=16, batch_size=6)))
    # make four of the six rows stop early (at their 3rd token), so a batch of 6 hands the rest back
    stops = [free[i][2] for i in (0, 1, 2, 3)]
    cfg = dict(max_new_tokens=16, stop_token_ids=stops, return_logprobs=True)
    segments: list[list[str]] = []

    def spy(*args, **kwargs):
        outs = run_segment(*args, **kwargs)
        segments.append([o.reason for o in outs])
        return outs

    run_segment = gen_mod.run_segment
    monkeypatch.setattr(gen_mod, "run_segment", spy)
    batched = generate(model, tok, prompts, GenerationConfig(batch_size=6, **cfg))
    monkeypatch.undo()
    assert len(segments) == 2 and "requeue" in segments[0] and "requeue" not in segments[1]  # continued later
    single = [generate(model, tok, [p], GenerationConfig(batch_size=1, **cfg))[0] for p in prompts]
    assert _ids(batched) == _ids(single)
    for i in (0, 1, 2, 3):
        g = batched[i][0]
        assert g.finish_reason == "stop" and g.token_ids[-1] in stops and g.num_tokens <= 3
        assert g.text == tok.decode(g.token_ids[:-1], skip_special_tokens=True)
    reasons = [b[0].finish_reason for b in batched]
    assert "length" in reasons
    for b, s in zip(batched, single):
        torch.testing.assert_close(torch.tensor(b[0].token_logprobs), torch.tensor(s[0].token_logprobs), atol=1e-4, rtol=0)


def _teacher_forced(model, tok, prompt: str, ids: list[int]) -> torch.Tensor:
    p = prompt_token_ids(tok, prompt)
    full = torch.tensor([p + ids])
    with torch.no_grad():
        logits = model(input_ids=full).logits[0].float()
    logps = torch.log_softmax(logits[len(p) - 1: -1], dim=-1)
    return logps.gather(1, torch.tensor(ids)[:, None]).squeeze(1)


@pytest.mark.parametrize("temperature,top_p", [(0.0, 1.0), (0.7, 0.9)])
def test_token_logprobs_equal_teacher_forced_raw_logprobs(varied_model, temperature, top_p):
    """Greedy and warped sampling alike: the log-probs are the policy's at temperature 1 (unwarped)."""
    model, tok = varied_model
    prompts = _prompts()[:4]
    cfg = GenerationConfig(max_new_tokens=10, batch_size=4, temperature=temperature, top_p=top_p,
                           return_logprobs=True, seed=3)
    outs = generate(model, tok, prompts, cfg)
    for prompt, out in zip(prompts, outs):
        g = out[0]
        assert len(g.token_logprobs) == len(g.tokens) == g.num_tokens
        want = _teacher_forced(model, tok, prompt, g.token_ids)
        torch.testing.assert_close(torch.tensor(g.token_logprobs), want, atol=2e-4, rtol=0)
        assert "".join(g.tokens) == g.text


def test_token_pieces_handle_split_characters(tokenizer):
    from hn_lightning.evaluation.tokens import token_pieces

    text = "Price: 5€ — ok ✓ 数学 😀!"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    pieces = token_pieces(tokenizer, ids)
    assert "".join(pieces) == text and len(pieces) == len(ids)
    assert "\ufffd" not in "".join(pieces)
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert token_pieces(tokenizer, ids + [eos])[-1] == ""  # a skipped special token adds no text


def test_sampling_is_seeded_and_leaves_rng_and_train_mode_alone(varied_model):
    model, tok = varied_model
    prompts = _prompts()[:2]
    cfg = GenerationConfig(max_new_tokens=5, batch_size=1, temperature=1.0, num_return_sequences=3, seed=11)
    model.train()
    model.model.layers[0].eval()  # a mixed state must come back exactly
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    a = generate(model, tok, prompts, cfg)
    assert torch.equal(torch.get_rng_state(), before)
    assert model.training and not model.model.layers[0].training and model.model.layers[1].training
    model.eval()
    b = generate(model, tok, prompts, cfg)
    assert [[g.token_ids for g in o] for o in a] == [[g.token_ids for g in o] for o in b]
    assert all(len(o) == 3 for o in a)
    assert len({tuple(g.token_ids) for g in a[0]}) > 1  # the samples of one prompt differ
    c = generate(model, tok, prompts, GenerationConfig(**{**cfg.__dict__, "seed": 12}))
    assert [[g.token_ids for g in o] for o in a] != [[g.token_ids for g in o] for o in c]


def test_checkpoint_generation_defaults_do_not_leak_into_greedy(varied_model):
    model, tok = varied_model
    prompts = _prompts()[:2]
    cfg = GenerationConfig(max_new_tokens=8, batch_size=2)
    want = _ids(generate(model, tok, prompts, cfg))
    saved = model.generation_config
    try:
        model.generation_config = saved.__class__(**{**saved.to_dict(), "do_sample": True, "temperature": 0.7,
                                                     "top_k": 20, "top_p": 0.8, "repetition_penalty": 1.5})
        assert _ids(generate(model, tok, prompts, cfg)) == want
    finally:
        model.generation_config = saved


def test_config_validation_and_backend_selection():
    from hn_lightning.evaluation.engine import select_backend

    with pytest.raises(ValueError, match="needs sampling"):
        GenerationConfig(num_return_sequences=2)
    with pytest.raises(ValueError, match="top_p"):
        GenerationConfig(top_p=0.0)
    if not torch.cuda.is_available():
        assert select_backend("auto") == "hf"
        with pytest.raises(RuntimeError, match="CUDA"):
            select_backend("vllm")

"""Completion-only chunked log-probs against an fp64 full-logits reference; packed attention isolation."""

from __future__ import annotations

import pytest
import torch

from hn_lightning.losses.logprobs import chunked_token_logprobs, gather_targets, sequence_logprobs


def test_chunked_logprobs_match_fp64_full_logits():
    torch.manual_seed(0)
    B, T, H, V = 3, 11, 16, 97
    hidden = torch.randn(B, T, H, dtype=torch.float32, requires_grad=True)
    head = torch.nn.Linear(H, V, bias=False)
    ids = torch.randint(0, V, (B, T))
    mask = torch.rand(B, T) > 0.3
    mask[:, 0] = False
    h, targets, rows = gather_targets(hidden, ids, mask)
    got = sequence_logprobs(chunked_token_logprobs(h, head, targets, chunk_size=4), rows, B)

    # reference: full logits in fp64, shift, mask, sum
    logits = (hidden.double() @ head.weight.double().T).log_softmax(-1)
    per_tok = logits[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1)
    want = (per_tok * mask[:, 1:].double()).sum(-1)
    torch.testing.assert_close(got.double(), want, rtol=1e-6, atol=1e-5)

    # gradients through the checkpointed chunks equal the full-logits gradients
    g_chunk = torch.autograd.grad(got.sum(), [hidden, head.weight])
    hidden2 = hidden.detach().double().requires_grad_()
    w2 = head.weight.detach().double().requires_grad_()
    lp = (hidden2 @ w2.T).log_softmax(-1)[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1)
    g_full = torch.autograd.grad((lp * mask[:, 1:].double()).sum(), [hidden2, w2])
    for a, b in zip(g_chunk, g_full):
        torch.testing.assert_close(a.double(), b, rtol=1e-5, atol=1e-5)


def test_bf16_hidden_keeps_fp32_logsumexp():
    torch.manual_seed(0)
    hidden = torch.randn(64, 32)
    head = torch.nn.Linear(32, 50_000, bias=False)
    targets = torch.randint(0, 50_000, (64,))
    ref = (hidden.double() @ head.weight.double().T).log_softmax(-1).gather(-1, targets[:, None]).squeeze(-1)
    got = chunked_token_logprobs(hidden.bfloat16(), head.bfloat16(), targets, chunk_size=16)
    assert got.dtype == torch.float32
    # error comes from bf16 inputs only, not from a bf16 logsumexp over 50k classes
    assert (got.double() - ref).abs().max() < 0.1


def test_first_position_cannot_be_a_target():
    with pytest.raises(ValueError):
        gather_targets(torch.zeros(1, 3, 2), torch.zeros(1, 3, dtype=torch.long), torch.tensor([[True, True, False]]))


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_rows_never_attend_across_sequences(tiny_model_dir, attn):
    """Logits of a packed row equal the logits of each sequence run alone."""
    from transformers import AutoModelForCausalLM

    from hn_lightning.models.forward import forward_hidden

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32, attn_implementation=attn).eval()
    torch.manual_seed(1)
    seqs = [torch.randint(0, 1000, (n,)) for n in (7, 4, 9)]
    packed = torch.cat(seqs)[None]
    positions = torch.cat([torch.arange(len(s)) for s in seqs])[None]
    with torch.no_grad():
        hp = forward_hidden(model, packed, position_ids=positions)[0]
        alone = torch.cat([forward_hidden(model, s[None])[0] for s in seqs])
        # and without the position reset, sequences *do* leak into each other (the test can fail)
        leaky = forward_hidden(model, packed, position_ids=torch.arange(packed.shape[1])[None])[0]
    torch.testing.assert_close(hp, alone, rtol=1e-4, atol=1e-4)
    assert (leaky[7:] - alone[7:]).abs().max() > 1e-3


def test_flash_attention_batches_are_laid_into_one_row(tiny_model_dir, monkeypatch):
    """FlashAttention reads packed sequences from position_ids only in a one-row batch, so forward_hidden
    lays several packed rows end to end for it; the result equals each row run on its own."""
    from types import SimpleNamespace

    from transformers import AutoModelForCausalLM

    from hn_lightning.models import forward

    assert forward.packs_single_row_only(SimpleNamespace(config=SimpleNamespace(_attn_implementation="flash_attention_2")))
    assert not forward.packs_single_row_only(SimpleNamespace(config=SimpleNamespace(_attn_implementation="sdpa")))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float64, attn_implementation="sdpa").eval()
    torch.manual_seed(2)
    ids = torch.randint(0, 1000, (2, 11))
    # two packed rows of width 11 (sequences 7 + 4 and 8 + 3), every row starting a sequence at position 0
    positions = torch.stack([torch.cat([torch.arange(n) for n in (7, 4)]), torch.cat([torch.arange(n) for n in (8, 3)])])
    calls = []
    real = model.model.forward
    monkeypatch.setattr(model.model, "forward", lambda **kw: calls.append(kw["input_ids"].shape) or real(**kw))
    with torch.no_grad():
        per_row = torch.cat([forward.forward_hidden(model, ids[b : b + 1], position_ids=positions[b : b + 1]) for b in range(2)])
        monkeypatch.setattr(forward, "packs_single_row_only", lambda m: True)
        laid = forward.forward_hidden(model, ids, position_ids=positions)
    assert calls[-1] == (1, 22)
    torch.testing.assert_close(laid, per_row, rtol=1e-10, atol=1e-10)

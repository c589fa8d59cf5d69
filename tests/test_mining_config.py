"""Mining configs and problems: shipped YAML files parse, every key is documented, problems load as documented."""

from __future__ import annotations

import pytest

from hn_lightning.catalog import TestDataRefused
from hn_lightning.commands.mine import config_from_args
from hn_lightning.mining.config import ProblemsConfig, ProblemSource
from hn_lightning.mining.problems import load_problems, source_name
from tests.cli_utils import REPO
from tests.conftest import write_jsonl


@pytest.mark.parametrize("name", ["mine.yaml", "mine_demo.yaml"])
def test_shipped_configs_parse(name):
    stage, cfg, overwrite = config_from_args(["--config", str(REPO / "configs" / name)])
    assert stage == "all" and not overwrite
    assert cfg.problems.gsm8k == "gsm8k:train" and not cfg.problems.allow_test_data
    assert cfg.scoring.verifier["fine_channel"] == "gated"
    assert cfg.selection.elevated_dims == ["s_struct", "s_order", "s_logic", "s_sym"]


def test_demo_config_is_the_documented_demo():
    _, cfg, _ = config_from_args(["--config", str(REPO / "configs" / "mine_demo.yaml")])
    assert cfg.problems.limit == 20 and cfg.problems.math is None
    assert cfg.policy.name_or_path == "qwen2.5-coder-0.5b-instruct" and cfg.policy.dtype == "auto"


def test_stage_word_overrides_and_print_config(capsys):
    stage, cfg, overwrite = config_from_args(["filter", "--config", str(REPO / "configs" / "mine_demo.yaml"),
                                              "--selection.min_confidence", "0.7", "--overwrite", "true"])
    assert stage == "filter" and overwrite and cfg.selection.min_confidence == 0.7
    with pytest.raises(SystemExit):
        config_from_args(["--print_config"])
    printed = capsys.readouterr().out
    # every threshold is printed with its documentation
    for key in ("trivially_wrong_min_absurdity:", "min_confidence:", "near_miss_rel_tol:", "max_missed_steps:",
                "random_pool:", "chosen_strategy:", "num_samples:"):
        assert key in printed
    assert "# ``trivially_wrong``: wrongness above this" in printed


def test_gsm8k_and_math_problems():
    problems = load_problems(ProblemsConfig(shuffle=False, limit_per_source=2))
    assert [p.id for p in problems] == ["gsm8k-train-0", "gsm8k-train-1", "math-train-0", "math-train-1"]
    g = problems[0]
    assert g.gold.endswith("#### 72") and "<<" not in g.reference and g.reference.endswith("$\\boxed{72}$.")
    m = problems[2]
    assert m.gold == "0" and "\\boxed{0}" in m.reference and m.source == "math-train"
    a = load_problems(ProblemsConfig(math=None, limit=5, seed=1))
    assert a == load_problems(ProblemsConfig(math=None, limit=5, seed=1))            # seeded subset
    assert a != load_problems(ProblemsConfig(math=None, limit=5, seed=2))
    assert source_name("gsm8k:train") == "gsm8k-train" and source_name("math:train") == "math-train"


def test_custom_sources_and_test_file_refusal(tmp_path):
    path = write_jsonl(tmp_path / "mine" / "extra.jsonl", [
        {"uid": "x1", "body": {"q": "What is 3*4?"}, "ans": 12, "sol": "3*4 = 12. $\\boxed{12}$"},
        {"uid": "x2", "body": {"q": "What is 5-1?"}, "ans": "4"},
    ])
    cfg = ProblemsConfig(gsm8k=None, math=None, shuffle=False, custom=[
        ProblemSource(path=str(path), question_field="body.q", gold_field="ans", reference_field="sol", id_field="uid")])
    problems = load_problems(cfg)
    assert [(p.id, p.question, p.gold) for p in problems] == [("mine-extra-x1", "What is 3*4?", "12"),
                                                            ("mine-extra-x2", "What is 5-1?", "4")]
    assert problems[1].reference == ""
    with pytest.raises(TestDataRefused):
        load_problems(ProblemsConfig(gsm8k="gsm8k:test", math=None))
    assert load_problems(ProblemsConfig(gsm8k="gsm8k:test", math=None, allow_test_data=True, limit=1))


def test_a_stage_before_its_input_exits_with_a_message(tmp_path, capsys):
    from hn_lightning.commands.mine import main

    assert main(["score", "--config", str(REPO / "configs" / "mine_demo.yaml"), "--out", str(tmp_path / "run")]) == 2
    assert "has not completed" in capsys.readouterr().err.replace("\n", " ")

"""Parser errors keep the one-line promise (issue 27): an unknown ``class_path``, a value outside a Literal's
choices, an unknown key or command, a missing required flag give one ``error:`` line (with the choices
where there are choices) and exit code 2, not a 15-line usage block and a parser dump; ``--help`` still
prints the usage. The hook is the parsers' own (jsonargparse's ``exit_on_error=False``, argparse's
``error``); the line is built from the exception chain, not from scraped output."""

from __future__ import annotations

import pytest

from tests.cli_utils import REPO, run_cli_raw
from tests.probe_utils import PAIRS, dpo_config, one_error_line, write_lines

MINE = ["mine", "--config", str(REPO / "configs" / "mine_demo.yaml")]

PROBES = {
    "unknown_loss_class": (["--model.init_args.loss.class_path", "hn_lightning.losses.Nope"],
                           ["model.init_args.loss: module 'hn_lightning.losses' has no attribute 'Nope'",
                            "choices: hn_lightning.losses.SigmoidDPO", "hn_lightning.losses.SimPO", "hn_lightning.losses.ORPO"]),
    "unknown_model_class": (["--model", "hn_lightning.modules.Nope"],
                            ["model: module 'hn_lightning.modules' has no attribute 'Nope'",
                             "choices: hn_lightning.modules.DPOModule, hn_lightning.modules.SFTModule"]),
    "literal_choice": (["--data.init_args.weighting", "linear"],
                       ["data.init_args.weighting: 'linear' is not one of the choices; choices: normalized, none, precomputed"]),
    "nested_literal": (["--model.init_args.model.dtype", "fp8"], ["model.init_args.model.dtype: 'fp8' is not one of the choices",
                                                                  "choices: auto, float32, bfloat16, float16"]),
    "wrong_type": (["--trainer.max_steps", "ten"], ["trainer.max_steps: ", "ten"]),
    "unknown_key": (["--trainer.max_stepz", "3"], ["unrecognized arguments: --trainer.max_stepz 3"]),
}


@pytest.mark.parametrize("case", sorted(PROBES))
def test_fit_parser_errors_are_one_line(tmp_path, case):
    args, needles = PROBES[case]
    cfg = dpo_config(tmp_path, write_lines(tmp_path / "train.jsonl", PAIRS[:4]))
    proc = run_cli_raw(["fit", "--config", cfg, *args], cwd=tmp_path, timeout=300)
    one_error_line(proc, *needles)
    assert len(proc.stderr.strip().splitlines()) <= 3, proc.stderr  # no usage block, no Namespace dump


COMMANDS = {
    "no_command": ([], ["no command given; choices: fit, validate, test, predict, verify, eval, mine"]),
    "unknown_command": (["trian"], ["unknown command 'trian'; choices: fit,"]),
    "mine_stage": ([*MINE[:1], "scroe"], ["mine: unknown stage 'scroe'; choices: all, candidates, score, filter, pair, report"]),
    "mine_literal": ([*MINE, "--candidates.sampling.backend", "vlm"],
                     ["candidates.sampling.backend: 'vlm' is not one of the choices; choices: auto, hf, cb, vllm, synthetic"]),
    "mine_unknown_key": ([*MINE, "--problems.limt", "3"], ["unrecognized arguments: --problems.limt 3"]),
    "mine_missing_config": (["mine", "--config", "nope.yaml"], ["nope.yaml"]),
    "verify_missing_flag": (["verify", "--input", "x.jsonl"], ["verify: the following arguments are required: --output"]),
    "verify_choice": (["verify", "--input", "x", "--output", "y", "--on_error", "ignore"],
                      ["verify: argument --on_error: invalid choice: 'ignore' (choose from 'raise', 'skip')"]),
    "eval_choice": (["eval", "--prompt", "chatml"], ["eval: argument --prompt: invalid choice: 'chatml'", "'qwen2-boxed'"]),
    "eval_type": (["eval", "--limit", "ten"], ["eval: argument --limit: invalid int value: 'ten'"]),
}


@pytest.mark.parametrize("case", sorted(COMMANDS))
def test_command_parser_errors_are_one_line(tmp_path, case):
    args, needles = COMMANDS[case]
    proc = run_cli_raw(args, cwd=tmp_path, timeout=300)
    one_error_line(proc, *needles)
    assert len(proc.stderr.strip().splitlines()) <= 2, proc.stderr


@pytest.mark.parametrize("command", [["fit"], ["mine"], ["verify"], ["eval"]])
def test_help_still_prints_the_usage(tmp_path, command):
    proc = run_cli_raw([*command, "--help"], cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage:" in proc.stdout and "error:" not in proc.stderr

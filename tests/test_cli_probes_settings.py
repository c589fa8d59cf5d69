"""Settings that would silently invert or disable the method are refused where the config is read, with one
line naming the key, the value and the allowed range (issue 27): a negative beta (the preference trained
reversed), ``dataset_weight_lambda`` outside [0, 1], a clip range that leaves out 1 (every weight the same
value), ``micro_batch_size 0`` (a division by zero), ``--trainer.max_steps 0`` (exit 0 with the untrained
model exported as the result), and every other documented range of the losses, modules, data modules,
verifier, mining and eval settings. All w_raw = 0 is degenerate but legal: one warning, counted in the logs.

The exhaustive tables run in-process (milliseconds); the probes through ``python cli.py`` check that each
command presents the error as one line, before any model loads.
"""

from __future__ import annotations

import pytest

from hn_lightning.errors import SettingError
from tests.cli_utils import REPO, metrics, run_cli_raw
from tests.probe_utils import PAIRS, TINY, dpo_config, fit, one_error_line, sft_config, write_lines

# ------------------------------------------------------------------------------------------ in-process tables
DPO_DATA = {
    "lambda_above_1": ({"dataset_weight_lambda": 1.5}, "data.init_args.dataset_weight_lambda = 1.5", "[0, 1]"),
    "lambda_negative": ({"dataset_weight_lambda": -0.5}, "data.init_args.dataset_weight_lambda = -0.5", "reverses"),
    "min_above_max": ({"dataset_weight_min": 3.0}, "data.init_args.dataset_weight_min = 3.0", "(0, 1]"),
    "min_zero": ({"dataset_weight_min": 0.0}, "dataset_weight_min = 0.0", "(0, 1]"),
    "min_negative": ({"dataset_weight_min": -1.0}, "dataset_weight_min = -1.0", "(0, 1]"),
    "max_below_1": ({"dataset_weight_max": 0.8}, "dataset_weight_max = 0.8", ">= 1"),
    "max_negative": ({"dataset_weight_max": -2.0}, "dataset_weight_max = -2.0", ">= 1"),
    "micro_batch_0": ({"micro_batch_size": 0}, "micro_batch_size = 0", ">= 1"),
    "max_length_1": ({"max_length": 1}, "max_length = 1", ">= 2"),
    "shuffle_buffer_0": ({"shuffle_buffer": 0}, "shuffle_buffer = 0", ">= 1"),
    "num_workers_negative": ({"num_workers": -1}, "num_workers = -1", ">= 0"),
    "packing_length_0": ({"packing": "rows", "packing_length": 0}, "packing_length = 0", ">= 1"),
    "lambda_nan": ({"dataset_weight_lambda": float("nan")}, "dataset_weight_lambda = nan", "[0, 1]"),
}


@pytest.mark.parametrize("case", sorted(DPO_DATA))
def test_preference_data_ranges(case):
    from hn_lightning.data import PreferenceDataModule

    kwargs, key, allowed = DPO_DATA[case]
    with pytest.raises(SettingError) as err:
        PreferenceDataModule(train_files=["unused.jsonl"], **kwargs)
    assert key in str(err.value) and allowed in str(err.value) and "\n" not in str(err.value)


def test_preference_data_degenerate_but_legal_settings_warn(caplog):
    from hn_lightning.data import PreferenceDataModule

    for kwargs in ({"dataset_weight_lambda": 0.0}, {"dataset_weight_min": 1.0, "dataset_weight_max": 1.0}):
        caplog.clear()
        PreferenceDataModule(train_files=["unused.jsonl"], **kwargs)
        assert "gives every pair the same weight" in caplog.text
    caplog.clear()
    PreferenceDataModule(train_files=["unused.jsonl"], weighting="none", dataset_weight_lambda=0.0)  # weighting off anyway
    assert "same weight" not in caplog.text


SFT_DATA = {
    "val_fraction_1": ({"val_fraction": 1.0}, "val_fraction = 1.0"),
    "val_fraction_negative": ({"val_fraction": -0.1}, "val_fraction = -0.1"),
    "batch_size_0": ({"batch_size": 0}, "batch_size = 0"),
    "max_length_0": ({"max_length": 0}, "max_length = 0"),
    "max_examples_0": ({"max_examples": 0}, "max_examples = 0"),
    "num_workers_negative": ({"num_workers": -2}, "num_workers = -2"),
}


@pytest.mark.parametrize("case", sorted(SFT_DATA))
def test_sft_data_ranges(case):
    from hn_lightning.data import SFTDataModule

    kwargs, key = SFT_DATA[case]
    with pytest.raises(SettingError, match=f"data.init_args.{key} is out of range"):
        SFTDataModule(train_files=["unused.jsonl"], **kwargs)


LOSSES = {
    "sigmoid_beta_negative": ("SigmoidDPO", {"beta": -0.1}, "beta = -0.1", "trains the preference reversed"),
    "sigmoid_beta_zero": ("SigmoidDPO", {"beta": 0.0}, "beta = 0.0", "> 0"),
    "sigmoid_smoothing_half": ("SigmoidDPO", {"label_smoothing": 0.5}, "label_smoothing = 0.5", "[0, 0.5)"),
    "robust_beta_negative": ("RobustDPO", {"beta": -1.0}, "beta = -1.0", "> 0"),
    "robust_smoothing_negative": ("RobustDPO", {"label_smoothing": -0.1}, "label_smoothing = -0.1", "[0, 0.5)"),
    "ipo_beta_zero": ("IPO", {"beta": 0.0}, "beta = 0.0", "> 0"),
    "hinge_beta_negative": ("Hinge", {"beta": -0.1}, "beta = -0.1", "> 0"),
    "simpo_beta_negative": ("SimPO", {"beta": -2.0}, "beta = -2.0", "> 0"),
    "simpo_gamma_negative": ("SimPO", {"gamma": -0.5}, "gamma = -0.5", ">= 0"),
    "orpo_beta_negative": ("ORPO", {"beta": -0.1}, "beta = -0.1", "> 0"),
}


@pytest.mark.parametrize("case", sorted(LOSSES))
def test_loss_ranges(case):
    import hn_lightning.losses as losses

    name, kwargs, key, allowed = LOSSES[case]
    with pytest.raises(losses.LossSettingError) as err:
        getattr(losses, name)(**kwargs)
    assert f"model.init_args.loss.init_args.{key} is out of range for {name}" in str(err.value) and allowed in str(err.value)


def test_module_ranges_before_the_model_is_resolved():
    from hn_lightning.models import LoraSettings, ModelConfig
    from hn_lightning.modules import DPOModule
    from hn_lightning.modules.base import check_model_settings
    from hn_lightning.modules.reference import ReferenceConfig

    lora = lambda **kw: ModelConfig(name_or_path="no-such-model", finetuning="lora", lora=LoraSettings(**kw))  # noqa: E731
    for cfg, chunk, key in ((lora(r=0), 1024, "model.lora.r = 0"), (lora(alpha=0), 1024, "model.lora.alpha = 0"),
                            (lora(dropout=1.0), 1024, "model.lora.dropout = 1.0"), (lora(), 0, "logprob_chunk_size = 0")):
        with pytest.raises(SettingError, match=f"model.init_args.{key} is out of range"):
            check_model_settings(cfg, chunk)
    check_model_settings(ModelConfig(finetuning="full", lora=LoraSettings(r=0)), 1024)  # LoRA settings unused: fine
    # a model name that does not resolve: the range error comes first, nothing is loaded
    with pytest.raises(SettingError, match=r"model.init_args.nll_alpha = -1.0 is out of range"):
        DPOModule(ModelConfig(name_or_path="no-such-model"), nll_alpha=-1.0)
    with pytest.raises(SettingError, match=r"model.init_args.reference.batch_size = 0 is out of range"):
        DPOModule(ModelConfig(name_or_path="no-such-model"), reference=ReferenceConfig(batch_size=0))


VERIFIER = {
    "threshold_above_1": ({"hard_negative_min_wrongness": 1.5}, "hard_negative_min_wrongness = 1.5"),
    "severity_negative": ({"sym_slip_severity": -0.1}, "sym_slip_severity = -0.1"),
    "temperature_zero": ({"confidence_temperature": 0}, "confidence_temperature = 0"),
    "timeout_zero": ({"answer_timeout_s": 0}, "answer_timeout_s = 0"),
    "max_steps_zero": ({"max_steps": 0}, "max_steps = 0"),
    "batch_size_zero": ({"batch_size": 0}, "batch_size = 0"),
    "relevance_band_inverted": ({"relevance_low": 0.6}, "relevance_high = 0.55"),
    "gap_positive": ({"nw_gap": 0.5}, "nw_gap = 0.5"),
    "sem_weights_negative": ({"sem_weights": {"drift": -1.0}}, "sem_weights = "),
    "sem_weights_unknown": ({"sem_weights": {"drfit": 1.0}}, "sem_weights = "),
    "neutral_ppl_below_1": ({"neutral_ppl": 0.5}, "neutral_ppl = 0.5"),
}


@pytest.mark.parametrize("case", sorted(VERIFIER))
def test_verifier_ranges(case):
    from hn_lightning.verifier import VerifierConfig

    values, key = VERIFIER[case]
    with pytest.raises(SettingError, match=f"VerifierConfig.{key}"):
        VerifierConfig.from_dict(values)


MINING = {
    "problems_limit_0": ("ProblemsConfig", {"limit": 0}, "problems.limit = 0"),
    "problems_per_source_0": ("ProblemsConfig", {"limit_per_source": 0}, "problems.limit_per_source = 0"),
    "samples_0": ("SamplingConfig", {"num_samples": 0}, "candidates.sampling.num_samples = 0"),
    "temperature_0": ("SamplingConfig", {"temperature": 0.0}, "candidates.sampling.temperature = 0.0"),
    "top_p_above_1": ("SamplingConfig", {"top_p": 1.5}, "candidates.sampling.top_p = 1.5"),
    "ingest_batch_0": ("IngestConfig", {"batch_size": 0}, "candidates.ingest.batch_size = 0"),
    "scoring_batch_0": ("ScoringConfig", {"batch_size": 0}, "scoring.batch_size = 0"),
    "scoring_verifier_key": ("ScoringConfig", {"verifier": {"nope": 1}}, "scoring.verifier: unknown VerifierConfig keys"),
    "scoring_verifier_range": ("ScoringConfig", {"verifier": {"gate_max_sem_wrong": 2}}, "scoring.verifier: VerifierConfig.gate_max_sem_wrong = 2"),
    "filter_fraction": ("FilterConfig", {"min_alnum_fraction": 1.5}, "filters.min_alnum_fraction = 1.5"),
    "filter_ngram_0": ("FilterConfig", {"repetition_ngram": 0}, "filters.repetition_ngram = 0"),
    "selection_band_inverted": ("SelectionConfig", {"min_wrongness": 0.9}, "selection.max_wrongness = 0.85"),
    "selection_dims_unknown": ("SelectionConfig", {"elevated_dims": ["s_nope"]}, "selection.elevated_dims = ['s_nope']"),
    "selection_progress_negative": ("SelectionConfig", {"progress_weight": -1.0}, "selection.progress_weight = -1.0"),
    "pairing_cap_0": ("PairingConfig", {"max_pairs_per_problem": 0}, "pairing.max_pairs_per_problem = 0"),
    "report_bins_0": ("ReportConfig", {"histogram_bins": 0}, "report.histogram_bins = 0"),
}


@pytest.mark.parametrize("case", sorted(MINING))
def test_mining_ranges(case):
    import hn_lightning.mining.config as mc

    name, kwargs, key = MINING[case]
    with pytest.raises(SettingError) as err:
        getattr(mc, name)(**kwargs)
    assert key in str(err.value), str(err.value)


EVAL_FLAGS = {
    "--limit": ("-1", "--limit = -1"), "--batch_size": ("0", "--batch_size = 0"), "--max_new_tokens": ("0", "--max_new_tokens = 0"),
    "--temperature": ("-0.5", "--temperature = -0.5"), "--top_p": ("1.5", "--top_p = 1.5"),
    "--requeue_fraction": ("1", "--requeue_fraction = 1.0"), "--checker_timeout": ("0", "--checker_timeout = 0.0"),
    "--shard_size": ("0", "--shard_size = 0"), "--devices": ("0", "--devices = 0"),
}


@pytest.mark.parametrize("flag", sorted(EVAL_FLAGS))
def test_eval_flag_ranges(flag):
    from hn_lightning.commands.eval import build_parser, check_flags

    value, key = EVAL_FLAGS[flag]
    with pytest.raises(SettingError, match=f"^{key} is out of range"):
        check_flags(build_parser().parse_args([flag, value]))


# ------------------------------------------------------------------------------------------ through the CLI
FIT_PROBES = {
    "negative_beta": ("dpo", ["--model.init_args.loss.init_args.beta", "-0.1"],
                      "model.init_args.loss.init_args.beta = -0.1 is out of range for SigmoidDPO: allowed > 0"),
    "lambda_negative": ("dpo", ["--data.init_args.dataset_weight_lambda", "-0.5"],
                        "data.init_args.dataset_weight_lambda = -0.5 is out of range: allowed [0, 1]"),
    "min_above_max": ("dpo", ["--data.init_args.dataset_weight_min", "3"], "data.init_args.dataset_weight_min = 3"),
    "micro_batch_0": ("dpo", ["--data.init_args.micro_batch_size", "0"], "data.init_args.micro_batch_size = 0 is out of range: allowed >= 1"),
    "lora_rank_0": ("dpo", ["--model.init_args.model.lora.r", "0"], "model.init_args.model.lora.r = 0 is out of range"),
    "max_steps_0": ("dpo", ["--trainer.max_steps", "0"], "trainer.max_steps = 0 is out of range: allowed >= 1, or -1"),
    "max_epochs_0": ("sft", ["--trainer.max_steps", "-1", "--trainer.max_epochs", "0"], "trainer.max_epochs = 0 is out of range"),
    "sft_batch_0": ("sft", ["--data.init_args.batch_size", "0"], "data.init_args.batch_size = 0 is out of range"),
}


@pytest.mark.parametrize("case", sorted(FIT_PROBES))
def test_fit_refuses_out_of_range_settings_in_one_line(tmp_path, case):
    kind, extra, expect = FIT_PROBES[case]
    train = write_lines(tmp_path / "train.jsonl", PAIRS[:8] if kind == "dpo" else [{"question": "q", "solution": "s"}])
    cfg = dpo_config(tmp_path, train) if kind == "dpo" else sft_config(tmp_path, train)
    proc = run_cli_raw(["fit", "--config", cfg, *extra], cwd=tmp_path, timeout=300)
    one_error_line(proc, expect)
    assert "Run finished" not in proc.stdout
    assert not list(tmp_path.rglob("hf_model")), "nothing may be exported"


COMMAND_PROBES = {
    "mine_temperature_0": (["mine", "--config", str(REPO / "configs" / "mine_demo.yaml"), "--candidates.sampling.temperature", "0"],
                           "candidates.sampling.temperature = 0.0 is out of range: allowed > 0"),
    "mine_limit_0": (["mine", "--config", str(REPO / "configs" / "mine_demo.yaml"), "--problems.limit", "0"],
                     "problems.limit = 0 is out of range: allowed >= 1 or null (0 mines nothing)"),
    "mine_verifier_override": (["mine", "--config", str(REPO / "configs" / "mine_demo.yaml"), "--scoring.verifier", '{"batch_size": 0}'],
                               "scoring.verifier: VerifierConfig.batch_size = 0 is out of range"),
    "mine_cb_page_size": (["mine", "--config", str(REPO / "configs" / "mine_demo.yaml"), "--candidates.sampling.cb.page_size", "2"],
                          "cb.page_size = 2 is out of range: allowed >= 4"),
    "mine_devices_0": (["mine", "--config", str(REPO / "configs" / "mine_demo.yaml"), "--devices", "0"], "--devices = 0 is out of range"),
    "verify_set": (["verify", "--input", "in.jsonl", "--output", "out.jsonl", "--set", "max_steps=0"],
                   "VerifierConfig.max_steps = 0 is out of range: allowed >= 1"),
    "verify_batch_0": (["verify", "--input", "in.jsonl", "--output", "out.jsonl", "--batch_size", "0"], "--batch_size = 0 is out of range"),
    "verify_limit_0": (["verify", "--input", "in.jsonl", "--output", "out.jsonl", "--limit", "0"], "--limit = 0 is out of range"),
    "eval_top_p": (["eval", "--model", "tiny-qwen2", "--task", "gsm8k", "--top_p", "1.5"], "--top_p = 1.5 is out of range: allowed (0, 1]"),
}


@pytest.mark.parametrize("case", sorted(COMMAND_PROBES))
def test_commands_refuse_out_of_range_settings_in_one_line(tmp_path, case):
    args, expect = COMMAND_PROBES[case]
    write_lines(tmp_path / "in.jsonl", [{"id": "a", "question": "1+1?", "reference": "2", "gold": "2", "prediction": "2"}])
    one_error_line(run_cli_raw(args, cwd=tmp_path, timeout=300), expect)
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "runs").exists()


def test_all_zero_raw_weights_warn_once_and_are_counted(tmp_path):
    """Uniform weights from w_raw all 0 are legal (the normalization defines them) but not what the method
    means: one warning for the run, and every such step counted in ``data/zero_weight_steps``. (The run's
    output also shows the training bar's plain progress lines off a terminal.)"""
    train = write_lines(tmp_path / "zero.jsonl", [{**p, "id": f"z{i}", "w_raw": 0.0} for i, p in enumerate(PAIRS[:8])])
    proc = fit(tmp_path, dpo_config(tmp_path, train, {**TINY, "finetuning": "lora"}, max_length=256), "--export.out_dir=null",
               env={"HN_LIGHTNING_PROGRESS_EVERY": "0,0"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    # the same run, off a terminal: the training bar prints plain lines (done/total, rate, ETA, loss)
    assert any(ln.startswith("train: 2/2 steps (100%)") and ", loss " in ln for ln in proc.stdout.splitlines()), proc.stdout[-3000:]
    assert proc.stderr.count("has w_raw 0: its weights are uniform") == 1, proc.stderr[-4000:]
    counted = [float(r["data/zero_weight_steps"]) for r in metrics(tmp_path / "run") if r.get("data/zero_weight_steps")]
    assert counted and counted[-1] == 2.0, counted  # 8 pairs, 4 per step: both steps
    assert "(2 with every w_raw 0: uniform weights)" in proc.stderr

"""A clean first impression: the CLI prints no warning a user cannot act on (hn_lightning/quiet.py)."""

from __future__ import annotations

import logging
import re
import warnings

from tests.cli_utils import REPO, retarget_config, run_cli


def test_expected_warnings_are_silenced_and_others_are_not():
    from hn_lightning.quiet import DROPPED_LOG_LINES, EXPECTED_WARNINGS, silence_expected_noise

    samples = {
        r"LightningCLI's args": "LightningCLI's args parameter is intended to run from within Python like if ...",
        r"`isinstance\(treespec": "`isinstance(treespec, LeafSpec)` is deprecated, use ...",
        r"`is_gradient_checkpointing`": "`is_gradient_checkpointing` is deprecated and will be removed in v6.",
        r"Found \d+": "Found 171 module(s) in eval mode at the start of training. This may lead to ...",
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        silence_expected_noise()
        for (pattern, category, why), (key, text) in zip(EXPECTED_WARNINGS, samples.items()):
            assert pattern.startswith(key) and why
            warnings.warn(text, category, stacklevel=1)
        warnings.warn("the data has 0 pairs", UserWarning, stacklevel=1)  # anything else still shows
    assert [str(w.message) for w in caught] == ["the data has 0 pairs"]

    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    for name, prefixes in DROPPED_LOG_LINES.items():
        logger = logging.getLogger(name)
        handler = Keep()
        logger.addHandler(handler)
        try:
            logger.warning(prefixes[0] + " ...")
            logger.warning("something else")
        finally:
            logger.removeHandler(handler)
    assert records == ["something else"] * len(DROPPED_LOG_LINES)


def test_cli_fit_prints_no_warnings(tmp_path, monkeypatch):
    """One LoRA DPO step of the demo config on the tiny model with a frozen reference copy (eval-mode
    modules; PEFT, bitsandbytes and Lightning imported): stderr carries no warning. With
    HN_LIGHTNING_NO_BF16=1 (what an AVX2-only CPU gets) the config's ``dtype: auto`` trains in float32."""
    monkeypatch.setenv("HN_LIGHTNING_NO_BF16", "1")
    config = retarget_config("dpo_demo.yaml", tmp_path, "dpo.yaml", {"name_or_path": "tiny-qwen2"},
                             {"train_files": [str(REPO / "data" / "demo_pairs.jsonl")]})
    proc = run_cli(["fit", "--config", str(config), "--trainer.max_steps", "1", "--model.init_args.reference.mode", "copy",
                    "--data.init_args.max_length", "128"], cwd=tmp_path, timeout=900)
    assert "Run finished." in proc.stdout
    assert "reference: a frozen copy" in proc.stderr and "LoRA r=8" in proc.stderr
    assert proc.stderr.count("dtype auto -> float32 (HN_LIGHTNING_NO_BF16 is set)") == 1
    assert "(torch.float32, 9.8M params)" in proc.stderr
    noisy = [line for line in proc.stderr.splitlines() if re.search(r"Warning\b|warnings\.warn|Tip:|deprecated|Failed to load", line)]
    assert not noisy, proc.stderr

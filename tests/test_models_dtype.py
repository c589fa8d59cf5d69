"""``dtype: auto``: one decision (GPU / CPU bf16 probe, HN_LIGHTNING_NO_BF16), cached and logged once,
used by training, evaluation and mining alike."""

from __future__ import annotations

import logging

import pytest
import torch

from hn_lightning.models import dtype as dtype_mod


@pytest.fixture
def fresh_auto(monkeypatch):
    """A clean cache for :func:`auto_dtype` before and after the test; the env override unset."""
    monkeypatch.delenv(dtype_mod.FORCE_FLOAT32_ENV, raising=False)
    dtype_mod.auto_dtype.cache_clear()
    yield
    dtype_mod.auto_dtype.cache_clear()


def _probe(native: bool):
    return lambda: (native, "native bf16 (test)" if native else "no native bf16 (test)")


@pytest.mark.parametrize("native, expected", [(True, "bfloat16"), (False, "float32")])
def test_auto_follows_the_probe_and_logs_once(fresh_auto, monkeypatch, caplog, native, expected):
    from hn_lightning.evaluation.engine import eval_dtype
    from hn_lightning.models import ModelConfig
    from hn_lightning.models.loader import resolve_dtype

    monkeypatch.setattr(dtype_mod, "probe_native_bf16", _probe(native))
    monkeypatch.setattr(logging.getLogger("hn_lightning"), "propagate", True)  # the CLI turns it off
    with caplog.at_level(logging.INFO, logger="hn_lightning.models.dtype"):
        assert dtype_mod.auto_dtype() == expected
        assert eval_dtype("auto") == expected  # eval, training and mining share the decision
        assert resolve_dtype(ModelConfig().dtype) == getattr(torch, expected)
        assert dtype_mod.resolve_dtype_name("auto") == expected
    lines = [r.getMessage() for r in caplog.records if r.name == "hn_lightning.models.dtype"]
    assert lines == [f"dtype auto -> {expected} ({'native bf16 (test)' if native else 'no native bf16 (test)'})"]


def test_env_override_forces_float32(fresh_auto, monkeypatch):
    monkeypatch.setattr(dtype_mod, "probe_native_bf16", _probe(True))
    monkeypatch.setenv(dtype_mod.FORCE_FLOAT32_ENV, "1")
    assert dtype_mod.auto_dtype() == "float32"


def test_explicit_dtypes_are_taken_as_written(fresh_auto, monkeypatch):
    monkeypatch.setattr(dtype_mod, "probe_native_bf16", _probe(False))
    assert dtype_mod.resolve_dtype("bfloat16") == torch.bfloat16
    assert dtype_mod.resolve_dtype("float16") == torch.float16
    with pytest.raises(ValueError, match="dtype must be one of"):
        dtype_mod.resolve_dtype("bf16")


def test_cpu_probe_reads_torch_and_cpuinfo(monkeypatch):
    """Without CUDA: torch's AVX512-BF16/AMX probe, else the cpuinfo flags; AVX2 alone is not native."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    monkeypatch.setattr(dtype_mod, "_cpuinfo_flags", lambda: {"sse4_2", "avx2", "fma"})
    native, reason = dtype_mod.probe_native_bf16()
    assert not native and "AVX2" in reason
    monkeypatch.setattr(dtype_mod, "_cpuinfo_flags", lambda: {"avx2", "avx512f", "avx512_bf16"})
    assert dtype_mod.probe_native_bf16() == (True, "CPU has avx512_bf16 (/proc/cpuinfo)")
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert dtype_mod.probe_native_bf16()[0]


def test_shipped_configs_use_auto():
    """Every model dtype in the shipped configs is ``auto`` (the CPU demos must not force bf16)."""
    import yaml

    from tests.cli_utils import REPO

    found = {}
    for path in sorted((REPO / "configs").glob("*.yaml")):
        cfg = yaml.safe_load(path.read_text())
        model = (((cfg.get("model") or {}).get("init_args") or {}).get("model")) or cfg.get("policy") or {}
        if "dtype" in model:
            found[path.name] = model["dtype"]
    assert {"sft_demo.yaml", "dpo_demo.yaml", "mine_demo.yaml", "sft.yaml", "dpo.yaml", "mine.yaml"} <= set(found)
    assert set(found.values()) == {"auto"}, found

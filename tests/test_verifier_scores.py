"""Golden values: confidence, perplexity, w_raw, answer span, weighted scores, semantic scores, config."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hn_lightning.verifier import (
    VerifierConfig,
    compute_w_raw,
    confidence_from_logprobs,
    perplexity,
    weighted_score,
)
from hn_lightning.verifier.logprobs import answer_token_indices
from hn_lightning.verifier.records import VerifierInput
from hn_lightning.verifier.semantic import semantic_scores


def test_confidence_golden():
    # probabilities 0.9 and 0.7 -> mean 0.8 -> sigmoid((0.8 - 0.5) / 0.1) = sigmoid(3)
    lp = [math.log(0.9), math.log(0.7)]
    assert confidence_from_logprobs(lp) == pytest.approx(1 / (1 + math.exp(-3)))  # 0.952574
    assert confidence_from_logprobs([math.log(0.5)]) == pytest.approx(0.5)
    assert confidence_from_logprobs(lp, center=0.8, temperature=1.0) == pytest.approx(0.5)
    assert confidence_from_logprobs([]) is None


def test_perplexity_golden():
    assert perplexity([math.log(0.5), math.log(0.5)]) == pytest.approx(2.0)
    assert perplexity([math.log(0.5), math.log(0.125)]) == pytest.approx(4.0)  # exp(-(ln .5 + ln .125)/2) = 1/sqrt(1/16)
    assert perplexity([0.0]) == pytest.approx(1.0)
    assert perplexity([]) is None


def test_w_raw_golden_and_neutral_values():
    assert compute_w_raw(0.6, 0.9, 2.0, 10.0) == pytest.approx(0.6 + 0.1 + 0.2)
    # no log-probs: confidence 0.5 and ppl 1.0 stand in -> wrongness + 0.5 + 0.1
    assert compute_w_raw(0.6, None, None, 10.0) == pytest.approx(1.2)
    assert compute_w_raw(0.0, 1.0, 1.0, 4.0) == pytest.approx(0.25)


def test_answer_span_by_character_offsets():
    tokens = ["The", " total", " is", " 4", "2", ".", " The", " answer", " is", " 7", "2", "."]
    idx, how = answer_token_indices(tokens, ["72"])
    assert (idx, how) == ([9, 10], "answer")
    idx, how = answer_token_indices(["So ", "\\boxed{", "1", "/2", "}"], ["\\frac{1}{2}"])
    assert (idx, how) == ([2, 3], "boxed")
    idx, how = answer_token_indices(["no", " digits", " here"], [], fallback=2)
    assert (idx, how) == ([1, 2], "fallback")


def test_weighted_score_skips_missing_dimensions():
    dims = {"s_ans": 1.0, "s_sem": 0.2, "s_logic": None}
    assert weighted_score(dims, {"s_ans": 0.35, "s_sem": 0.10, "s_logic": 0.20}) == pytest.approx(0.37 / 0.45)
    assert weighted_score({"s_ans": 0.0}, {"s_ans": 1.0}) == 0.0


def _unit(*xs):
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_semantic_scores_on_hand_made_embeddings():
    q = _unit(1, 0, 0, 0)
    ref = np.stack([_unit(1, 1, 0, 0), _unit(1, 0, 1, 0)])
    same = semantic_scores(q, ref, ref.copy())
    assert same.drift == pytest.approx(0.0) and same.coverage == pytest.approx(1.0)
    assert same.redundancy == 0.0 and same.s_sem == pytest.approx(0.0)
    # a predicted step orthogonal to everything drifts fully; the second reference step is uncovered
    pred = np.stack([_unit(1, 1, 0, 0), _unit(0, 0, 0, 1)])
    res = semantic_scores(q, ref, pred)
    assert res.drift == pytest.approx(0.5)
    assert res.coverage == pytest.approx(0.5)
    assert res.s_sem == pytest.approx(0.4 * 0.5 + 0.4 * 0.5)
    assert any("step 2 drifts" in f for f in res.flags)
    dup = semantic_scores(q, ref, np.stack([ref[0], ref[0], ref[1]]))
    assert dup.redundancy == pytest.approx(0.5)
    assert semantic_scores(q, ref, np.zeros((0, 4), np.float32)).s_sem == 1.0


def test_config_validation_and_overrides():
    cfg = VerifierConfig.from_dict({"fine_channel": "always", "wrongness_weights": {"s_ans": 0.5}})
    assert cfg.fine_channel == "always"
    assert cfg.wrongness_weights["s_ans"] == 0.5 and cfg.wrongness_weights["s_logic"] == 0.20
    with pytest.raises(ValueError, match="unknown VerifierConfig keys"):
        VerifierConfig.from_dict({"nope": 1})
    with pytest.raises(ValueError, match="unknown dimensions"):
        VerifierConfig(wrongness_weights={"s_foo": 1.0})
    with pytest.raises(ValueError):
        VerifierConfig(fine_channel="sometimes")
    with pytest.raises(ValueError):
        VerifierConfig(nli_backend="deberta")


def test_input_validation():
    ok = VerifierInput(id="a", question="q?", reference="r", gold=18, prediction="p")
    ok.validate()
    assert ok.gold == "18"
    bad = [
        dict(question=""), dict(gold=""), dict(gold=[]), dict(prediction=None),
        dict(token_logprobs=[0.5]), dict(token_logprobs=[-0.1], tokens=["a", "b"]), dict(tokens=["a"]),
        dict(token_logprobs=[float("nan")]),
    ]
    for change in bad:
        kwargs = dict(id="a", question="q?", reference="r", gold="1", prediction="p") | change
        with pytest.raises(ValueError):
            VerifierInput(**kwargs).validate()

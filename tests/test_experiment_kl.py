"""The sampled KL estimate: the per-token mean by hand, and a policy equal to its reference gives 0."""

from __future__ import annotations

import math

import pytest
import torch

from hn_lightning.experiments.kl import estimate_kl, sampled_kl_per_token


def test_sampled_kl_per_token_is_the_masked_mean_of_the_log_ratio():
    pol = torch.tensor([[-1.0, -2.0, -0.5], [-0.1, -3.0, -9.0]])
    ref = torch.tensor([[-1.5, -1.0, -0.5], [-0.6, -2.0, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    kl, n = sampled_kl_per_token(pol, ref, mask)
    assert n == 5 and kl == pytest.approx((0.5 - 1.0 + 0.0 + 0.5 - 1.0) / 5)  # the padded -9 is ignored
    assert math.isnan(sampled_kl_per_token(pol, ref, torch.zeros(2, 3))[0])


def test_kl_of_the_reference_against_itself_is_zero_and_seeded(tiny_model_dir):
    prompts = ["What is 2 + 3?", "Add 7 and 9."]
    a = estimate_kl(tiny_model_dir, str(tiny_model_dir), prompts, max_new_tokens=5, seed=3)
    b = estimate_kl(tiny_model_dir, str(tiny_model_dir), prompts, max_new_tokens=5, seed=3)
    assert a["tokens"] == b["tokens"] > 0 and a["prompts"] == 2
    assert a["kl"] == pytest.approx(0.0, abs=1e-6)

"""Reference-free losses (SimPO, ORPO) in the DPO module: no reference model is loaded, no reference cache
is opened, and no reference log-prob is computed (tiny Qwen2, CPU)."""

from __future__ import annotations

import logging

import pytest
import torch

import hn_lightning.modules.dpo as dpo_module
import hn_lightning.modules.reference as reference_module
from hn_lightning.losses import ORPO, SigmoidDPO, SimPO
from hn_lightning.losses.reference_free import orpo_loss, simpo_loss
from hn_lightning.modules import ReferenceConfig
from tests.test_dpo_module import Outputs, data, module, pairs_file, trainer


class Spy:
    """Counts model loads and log-prob forwards, and which model each forward ran."""

    def __init__(self, monkeypatch):
        self.loads, self.forwards = 0, []
        real_load, real_logps = reference_module.load_causal_lm, dpo_module.DPOModule._sequence_logps
        spy = self

        def load(*args, **kwargs):
            spy.loads += 1
            return real_load(*args, **kwargs)

        def logps(mod, model, batch):
            spy.forwards.append(model)
            return real_logps(mod, model, batch)

        def no_adapters_off(policy):
            raise AssertionError("a reference forward with adapters disabled was attempted")

        monkeypatch.setattr(reference_module, "load_causal_lm", load)
        monkeypatch.setattr(dpo_module.DPOModule, "_sequence_logps", logps)
        monkeypatch.setattr(reference_module, "adapters_disabled", no_adapters_off)


def test_reference_dpo_loads_and_runs_a_reference(tmp_path, monkeypatch):
    """The spy's baseline: with SigmoidDPO (full fine-tuning) a frozen copy is loaded and run each step."""
    spy = Spy(monkeypatch)
    m = module(loss=SigmoidDPO(beta=0.1))
    trainer(tmp_path, 1, 1, [Outputs()]).fit(m, data(pairs_file(tmp_path, 2, w_raw=1.0), micro=2))
    assert spy.loads == 1 and m.reference.model is not None
    assert sum(f is m.reference.model for f in spy.forwards) == 1 and sum(f is m.policy for f in spy.forwards) == 1


@pytest.mark.parametrize("finetuning,loss", [("full", SimPO(beta=2.0, gamma=0.5)), ("lora", ORPO(beta=0.1))])
def test_reference_free_loss_has_no_reference(tmp_path, monkeypatch, caplog, finetuning, loss):
    spy = Spy(monkeypatch)
    rec = Outputs()
    cache = tmp_path / "refcache"
    m = module(finetuning, loss=loss, reference=ReferenceConfig(precompute=True, cache_dir=str(cache)))
    assert m.reference_mode == "none"
    with caplog.at_level(logging.WARNING):
        trainer(tmp_path, 2, 2, [rec]).fit(m, data(pairs_file(tmp_path, 8, w_raw=[1.0, 2.0, 3.0, 4.0] * 2), micro=1))
    assert "needs no reference model: ignoring" in caplog.text  # precompute asked for, ignored, said so
    assert spy.loads == 0 and m.reference.model is None and m.ref_cache is None and not cache.exists()
    assert len(spy.forwards) == 4 and all(f is m.policy for f in spy.forwards)  # 4 micro-batches, policy only
    for out in rec.outputs:
        assert not any(k.startswith("ref_") for k in out)
        n_c, n_r = out["chosen_tokens"].double(), out["rejected_tokens"].double()
        a_c, a_r = out["policy_chosen_logps"].double() / n_c, out["policy_rejected_logps"].double() / n_r
        want = simpo_loss(a_c, a_r, 2.0, 0.5) if isinstance(loss, SimPO) else orpo_loss(a_c, a_r, 0.1)
        torch.testing.assert_close(out["losses"].double(), want, rtol=1e-5, atol=1e-6)
        # Lightning divides the micro-batch loss by accumulate_grad_batches (2)
        assert float(out["loss"]) == pytest.approx(float((out["weights"].double() * want).sum()) / 2, rel=1e-5)

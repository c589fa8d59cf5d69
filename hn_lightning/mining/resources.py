"""The heavy objects a mining run may need, each built on first use (or injected).

Only the stage that needs one builds it: ``candidates`` (sample) loads the policy and tokenizer,
``candidates`` (ingest) loads them only for the teacher-forced pass, ``score`` loads the
MathVerifier, ``filter`` and the candidates stage use the answer checker. ``pair`` loads nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hn_lightning.mining.config import MineConfig
from hn_lightning.mining.progress import console

__all__ = ["Resources"]


class Resources:
    """Lazy policy, tokenizer, verifier, answer checker and sampler for one :class:`MineConfig`."""

    def __init__(self, cfg: MineConfig, model=None, tokenizer=None, verifier=None, sampler=None):
        self.cfg = cfg
        self._model, self._tokenizer, self._verifier, self._sampler = model, tokenizer, verifier, sampler
        self._checker = None
        self._model_dir: Path | None = None

    def verifier_config(self):
        """:class:`~hn_lightning.verifier.VerifierConfig` with ``scoring.verifier`` overrides."""
        from hn_lightning.verifier import VerifierConfig

        return VerifierConfig.from_dict(dict(self.cfg.scoring.verifier))

    def answer_settings(self) -> dict[str, Any]:
        """What decides answer correctness (part of the candidates stage's fingerprint)."""
        vc = self.verifier_config()
        return {"mode": vc.answer_mode, "timeout": vc.answer_timeout_s}

    def model_dir(self) -> Path:
        if self._model_dir is None:
            from hn_lightning.models import resolve_model_dir

            self._model_dir = resolve_model_dir(self.cfg.policy.name_or_path, self.cfg.policy.trust_remote_code)
        return self._model_dir

    def tokenizer(self):
        if self._tokenizer is None:
            from hn_lightning.models import load_tokenizer

            self._tokenizer = load_tokenizer(self.model_dir(), self.cfg.policy.trust_remote_code)
        return self._tokenizer

    def model(self):
        """The policy in eval mode (on the GPU when there is one)."""
        if self._model is None:
            from hn_lightning.models import ModelConfig, load_for_inference

            p = self.cfg.policy
            mc = ModelConfig(name_or_path=p.name_or_path, dtype=p.dtype, attn_implementation=p.attn_implementation,
                             trust_remote_code=p.trust_remote_code)
            t0 = time.perf_counter()
            model, _ = load_for_inference(mc, self.model_dir(), tokenizer=self.tokenizer())
            self._model = model
            console.print(f"policy {p.name_or_path} loaded in {time.perf_counter() - t0:.1f}s ({next(model.parameters()).dtype})")
        return self._model

    def verifier(self):
        if self._verifier is None:
            from hn_lightning.verifier import MathVerifier

            self._verifier = MathVerifier(self.verifier_config())
        return self._verifier

    def checker(self):
        """The shared answer checker, in the verifier's answer mode (so ``answer.correct == s_ans == 0``)."""
        if self._checker is None:
            from hn_lightning.answers import AnswerChecker

            vc = self.verifier_config()
            self._checker = AnswerChecker(mode=vc.answer_mode, timeout_s=vc.answer_timeout_s)
        return self._checker

    def sampler(self):
        """The sampling backend (:func:`hn_lightning.mining.samplers.choose_backend`)."""
        if self._sampler is None:
            from hn_lightning.mining.samplers import CBSampler, HFSampler, VLLMSampler, choose_backend

            backend = choose_backend(self.cfg.candidates.sampling.backend)
            console.print(f"sampling backend: {backend}")
            if backend == "synthetic":
                from hn_lightning.mining.problems import load_problems
                from hn_lightning.mining.synthetic import SyntheticSampler

                self._sampler = SyntheticSampler(load_problems(self.cfg.problems), self.cfg.candidates.sampling.num_samples)
            elif backend == "cb":
                self._sampler = CBSampler(self.model(), self.tokenizer(), self.cfg.candidates.sampling)
            elif backend == "vllm":
                self._sampler = VLLMSampler(self.model_dir(), self.tokenizer(), self.cfg.policy, self.cfg.candidates.sampling)
            else:
                self._sampler = HFSampler(self.model(), self.tokenizer(), self.cfg.candidates.sampling)
        return self._sampler
